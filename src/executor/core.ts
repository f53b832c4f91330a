/**
 * The executor's decisions, as a pure reducer: `step(state, event) → {state, actions}`.
 * No I/O, no timers, no clock: the driver (driver.ts) turns Mesos events and etcd supervisor events
 * into `CoreEvent`s and performs the returned `CoreAction`s.
 * This file holds `step` and the task lifecycle; the re-seed transitions (MESSAGE, quorum-checked,
 * reseed-step, reseed-finished) are in core-reseed.ts, the state/event/action types in core-types.ts.
 *
 * States (`phase`) and transitions:
 *   idle      --LAUNCH (valid config)----------------> starting   start-etcd (with MemberConfig.restore: restore
 *                                                                 first, then start-etcd: see core-restore.ts)
 *   idle      --LAUNCH (invalid config)--------------> finished   TASK_FAILED naming the problem, exit 1
 *   idle      --SHUTDOWN-----------------------------> finished   exit 0 (no task, nothing to report)
 *   starting  --spawned (first)----------------------> starting   TASK_STARTING
 *   starting  --serving------------------------------> running    TASK_RUNNING (no health claim yet)
 *   (TASK_STARTING and every TASK_RUNNING carry data = base64 JSON {"dataDir"} when the launch event
 *   carried the sandbox: the scheduler restarts the member in place on it when quorum is lost)
 *   running   --health (first, or changed)-----------> running    TASK_RUNNING healthy=<verdict>
 *   starting|running --exited------------------------> finished   TASK_FAILED (log tail, or "member was
 *                                                                 removed from the cluster"), exit 1
 *   running   --MESSAGE reseed op force--------------> reseeding  progress 'accepted', start-reseed
 *   running   --MESSAGE reseed op (no force)---------> running    progress 'accepted', check-quorum op
 *                                                                 (quorumCheckOp = op; etcd untouched)
 *   running   --quorum-checked op ok-----------------> running    progress 'failed' "refused: … working quorum …"
 *                                                                 (nothing stopped, nothing backed up)
 *   running   --quorum-checked op not ok-------------> reseeding  start-reseed (no leader / read timed out)
 *   other     --quorum-checked op--------------------> (same)     progress 'failed' (etcd is not running)
 *   reseeding --reseed-step--------------------------> reseeding  progress <step>
 *   reseeding --reseed-finished ok-------------------> running    progress 'done' (+ TASK_RUNNING healthy=true
 *                                                                 if the last health sent was not true)
 *   reseeding --reseed-finished failed, etcd up------> running    progress 'failed' (reason)
 *   reseeding --reseed-finished failed, etcd down----> finished   progress 'failed', TASK_FAILED, exit 1
 *   starting|running|reseeding --KILL|SHUTDOWN-------> killing    stop-etcd(grace)
 *   killing   --stopped|exited-----------------------> finished   TASK_KILLED, exit 0
 *   any but finished --recovery-timeout--------------> killing    stop-etcd(grace) then exit 3 (no update:
 *                                                                 the agent is gone)
 * A second LAUNCH (another task id) in any state is answered with TASK_FAILED for that task only.
 * A reseed request while not running is answered 'failed' with the reason; a known op id is answered with
 * its last reported step again (idempotent, also during the quorum check); a reseed during another reseed
 * or during another op's quorum check is 'failed'.
 * Why the quorum check: the scheduler may see only part of the cluster (its own partition); the member
 * sees its own cluster. A re-seed is destructive for every other member, so without `force` it happens
 * only when a linearizable read through this member fails (bounded by the driver, ~2 s).
 * A crashed etcd is NOT restarted: the task fails and the executor exits; the scheduler replaces the member
 * (or, when quorum is lost, relaunches the same member on this agent with the reported data dir).
 *
 * Invariants: no re-seed without force while a linearizable read through this member succeeds; at most
 * one quorum check or re-seed at a time (quorumCheckOp and reseedOp are never both set); at most one etcd process (start-etcd is emitted once, only from idle; reseeding swaps the
 * process inside reseedMember); TASK_RUNNING only after etcd serves on its client URL; exactly one terminal
 * update per launched task; every exit of a launched task happens after its etcd was stopped or had exited.
 */
import type {KillPolicy} from '../lib/mesos/types.js'
import {resolveDataDir, withShippedTls} from './etcd-args.js'
import {parseMemberConfig, type MemberConfig} from '../lib/member-config.js'
import {
  EXIT_AGENT_LOST,
  EXIT_OK,
  EXIT_TASK_FAILED,
  encodeStatusData,
  update,
  type CoreEvent,
  type CoreState,
  type StepResult,
  type UpdateStatus,
} from './core-types.js'
import {onMessage, onQuorumChecked, onReseedFinished, onReseedStep} from './core-reseed.js'
import {onRestoreFinished, onRestoreStep, startMember} from './core-restore.js'

// Every name importers used when all of this lived here (core-types.ts, core-reseed.ts hold the halves).
export {
  EXIT_AGENT_LOST,
  EXIT_BAD_ENVIRONMENT,
  EXIT_OK,
  EXIT_TASK_FAILED,
  encodeStatusData,
  type CoreAction,
  type CoreEvent,
  type CoreState,
  type Phase,
  type StepResult,
  type UpdateStatus,
} from './core-types.js'
export {QUORUM_REFUSAL} from './core-reseed.js'

export const MAX_LOG_TAIL_CHARS = 1500

export function initialState(shutdownGraceMs: number): CoreState {
  return {phase: 'idle', startingSent: false, reseedHistory: [], shutdownGraceMs}
}

/** Grace for SHUTDOWN: the agent kills us after shutdownGraceMs, so keep a margin to report TASK_KILLED. */
export function shutdownGrace(shutdownGraceMs: number): number {
  const margin = Math.min(1000, Math.floor(shutdownGraceMs / 5))
  return Math.max(0, shutdownGraceMs - margin)
}

function policyMs(p: KillPolicy | undefined): number | undefined {
  const ns = p?.grace_period?.nanoseconds
  return typeof ns === 'number' && Number.isFinite(ns) && ns >= 0 ? Math.floor(ns / 1e6) : undefined
}

/** KILL's policy, else the TaskInfo's, else the shutdown grace (minus margin); SHUTDOWN never exceeds that. */
export function graceFor(s: CoreState, reason: 'kill' | 'shutdown' | 'recovery-timeout', killPolicy?: KillPolicy): number {
  const bound = shutdownGrace(s.shutdownGraceMs)
  const chosen = policyMs(killPolicy) ?? s.taskGraceMs ?? bound
  return reason === 'kill' ? chosen : Math.min(chosen, bound)
}

function withData(s: CoreState, extra: Partial<UpdateStatus> = {}): Partial<UpdateStatus> {
  return s.dataDir !== undefined ? {...extra, data: encodeStatusData(s.dataDir)} : extra
}

function tail(text: string): string {
  const t = text.trim()
  return t.length > MAX_LOG_TAIL_CHARS ? `…${t.slice(-MAX_LOG_TAIL_CHARS)}` : t
}

export function exitMessage(e: {code: number | null; signal: string | null; removed: boolean; logTail: string}): string {
  if (e.removed) return 'member was removed from the cluster'
  const how = e.signal ? `killed by ${e.signal}` : `exited with code ${String(e.code)}`
  const t = tail(e.logTail)
  return t ? `etcd ${how}; last log lines:\n${t}` : `etcd ${how} (no log output)`
}

function stopAll(s: CoreState, reason: 'kill' | 'shutdown' | 'recovery-timeout', killPolicy?: KillPolicy): StepResult {
  const graceMs = graceFor(s, reason, killPolicy)
  return {
    state: {...s, phase: 'killing', stopReason: reason},
    actions: [
      {type: 'log', line: `stopping etcd (${reason}, grace ${graceMs} ms)`},
      {type: 'stop-etcd', graceMs},
    ],
  }
}

export function step(s: CoreState, e: CoreEvent): StepResult {
  const none: StepResult = {state: s, actions: []}
  const id = s.taskId ?? ''
  switch (e.type) {
    case 'launch': {
      const tid = e.task.task_id.value
      if (s.phase !== 'idle') {
        if (tid === s.taskId) return {state: s, actions: [{type: 'log', line: `ignoring a repeated LAUNCH of ${tid}`}]}
        const why = `executor already runs task ${id}`
        return {state: s, actions: [{type: 'log', line: `refusing task ${tid}: ${why}`}, update(tid, 'TASK_FAILED', {message: why})]}
      }
      let config: MemberConfig
      try {
        // Shipped TLS files live in the sandbox (the driver writes them before etcd starts).
        config = withShippedTls(parseMemberConfig(e.task.data), e.sandbox?.startsWith('/') ? e.sandbox : '.')
      } catch (err) {
        const message = (err as Error).message
        return {
          state: {...s, phase: 'finished', taskId: tid},
          actions: [
            {type: 'log', line: `task ${tid}: ${message}`},
            update(tid, 'TASK_FAILED', {message, reason: 'REASON_TASK_INVALID'}),
            {type: 'exit', code: EXIT_TASK_FAILED},
          ],
        }
      }
      const next: CoreState = {...s, phase: 'starting', taskId: tid, config}
      if (e.sandbox?.startsWith('/')) next.dataDir = resolveDataDir(config, e.sandbox)
      const g = policyMs(e.task.kill_policy)
      if (g !== undefined) next.taskGraceMs = g
      const started = startMember(next, config)
      return {
        state: started.state,
        actions: [{type: 'log', line: `task ${tid}: starting etcd member ${config.member.name}`}, ...started.actions],
      }
    }
    case 'spawned':
      if (s.phase !== 'starting' || s.startingSent) return none
      return {
        state: {...s, startingSent: true},
        actions: [{type: 'log', line: `etcd started (pid ${e.pid})`}, update(id, 'TASK_STARTING', withData(s))],
      }
    case 'serving':
      if (s.phase !== 'starting') return none
      return {
        state: {...s, phase: 'running'},
        actions: [{type: 'log', line: 'etcd serves on its client URL: TASK_RUNNING'}, update(id, 'TASK_RUNNING', withData(s))],
      }
    case 'health':
      if (s.phase !== 'running' || s.healthy === e.healthy) return none
      return {
        state: {...s, healthy: e.healthy},
        actions: [
          {type: 'log', line: `etcd health changed to ${e.healthy ? 'healthy' : 'unhealthy'}: ${e.detail}`},
          update(
            id,
            'TASK_RUNNING',
            withData(s, {healthy: e.healthy, message: e.detail, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED'}),
          ),
        ],
      }
    case 'exited':
      if (s.phase === 'killing') return step(s, {type: 'stopped'})
      if (s.phase !== 'starting' && s.phase !== 'running') return none
      return {
        state: {...s, phase: 'finished'},
        actions: [
          {
            type: 'log',
            line: `etcd ${e.removed ? 'was removed from the cluster' : 'exited'} (code ${String(e.code)}, signal ${String(e.signal)}): TASK_FAILED`,
          },
          update(id, 'TASK_FAILED', {message: exitMessage(e)}),
          {type: 'exit', code: EXIT_TASK_FAILED},
        ],
      }
    case 'stopped': {
      if (s.phase !== 'killing') return none
      const fin: CoreState = {...s, phase: 'finished'}
      if (s.stopReason === 'recovery-timeout') {
        return {
          state: fin,
          actions: [
            {type: 'log', line: 'etcd stopped; exiting because the agent did not come back'},
            {type: 'exit', code: EXIT_AGENT_LOST},
          ],
        }
      }
      return {
        state: fin,
        actions: [{type: 'log', line: 'etcd stopped: TASK_KILLED'}, update(id, 'TASK_KILLED'), {type: 'exit', code: EXIT_OK}],
      }
    }
    case 'kill':
      if (e.taskId !== s.taskId) return {state: s, actions: [{type: 'log', line: `ignoring KILL of unknown task ${e.taskId}`}]}
      if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'reseeding') return stopAll(s, 'kill', e.killPolicy)
      return {state: s, actions: [{type: 'log', line: `KILL of ${e.taskId} while ${s.phase}: nothing to do`}]}
    case 'shutdown':
      if (s.phase === 'idle')
        return {
          state: {...s, phase: 'finished'},
          actions: [
            {type: 'log', line: 'SHUTDOWN with no task'},
            {type: 'exit', code: EXIT_OK},
          ],
        }
      if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'reseeding') return stopAll(s, 'shutdown')
      return none
    case 'recovery-timeout':
      if (s.phase === 'idle') {
        return {
          state: {...s, phase: 'finished'},
          actions: [
            {type: 'log', line: 'agent did not come back within the recovery timeout; exiting'},
            {type: 'exit', code: EXIT_AGENT_LOST},
          ],
        }
      }
      if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'reseeding') {
        const r = stopAll(s, 'recovery-timeout')
        return {
          state: r.state,
          actions: [{type: 'log', line: 'agent did not come back within the recovery timeout; stopping etcd and exiting'}, ...r.actions],
        }
      }
      if (s.phase === 'killing') return {state: {...s, stopReason: 'recovery-timeout'}, actions: []}
      return none
    case 'message':
      return onMessage(s, e.data)
    case 'quorum-checked':
      return onQuorumChecked(s, e)
    case 'reseed-step':
      return onReseedStep(s, e)
    case 'reseed-finished':
      return onReseedFinished(s, e)
    case 'restore-step':
      return onRestoreStep(s, e)
    case 'restore-finished':
      return onRestoreFinished(s, e)
  }
}
