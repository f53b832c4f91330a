/**
 * The executor's decisions, as a pure reducer: `step(state, event) → {state, actions}`.
 * No I/O, no timers, no clock: the driver (driver.ts) turns Mesos events and etcd supervisor events
 * into `CoreEvent`s and performs the returned `CoreAction`s.
 *
 * States (`phase`) and transitions:
 *   idle      --LAUNCH (valid config)----------------> starting   start-etcd
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
import type {KillPolicy, TaskInfo, TaskState, TaskStatus} from '../lib/mesos/types.js'
import {resolveDataDir} from './etcd-args.js'
import {
  decodeFrameworkMessage, parseMemberConfig, type ExecutorToScheduler, type MemberConfig, type ReseedStep,
} from '../lib/member-config.js'

export type Phase = 'idle' | 'starting' | 'running' | 'killing' | 'reseeding' | 'finished'

/** Exit codes of the executor process. */
export const EXIT_OK = 0
export const EXIT_TASK_FAILED = 1
export const EXIT_BAD_ENVIRONMENT = 2
export const EXIT_AGENT_LOST = 3

export interface CoreState {
  phase: Phase
  taskId?: string
  config?: MemberConfig
  /** TaskInfo.kill_policy grace, in ms. */
  taskGraceMs?: number
  /** Last health value reported to Mesos (undefined before TASK_RUNNING). */
  healthy?: boolean
  startingSent: boolean
  /** The re-seed in progress, if any. */
  reseedOp?: string
  /** The re-seed request whose quorum check (a linearizable read through this member) is in progress. */
  quorumCheckOp?: string
  /** Last progress sent per op id (most recent last; bounded). */
  reseedHistory: ExecutorToScheduler[]
  /** Why we are in `killing`. */
  stopReason?: 'kill' | 'shutdown' | 'recovery-timeout'
  /** MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD in ms. */
  shutdownGraceMs: number
  /** Absolute data dir of the member (known when the launch event carried the sandbox). */
  dataDir?: string
}

export type CoreEvent =
  | {type: 'launch'; task: TaskInfo; sandbox?: string}
  | {type: 'kill'; taskId: string; killPolicy?: KillPolicy}
  | {type: 'shutdown'}
  | {type: 'message'; data: string}
  | {type: 'spawned'; pid: number}
  | {type: 'serving'}
  | {type: 'health'; healthy: boolean; detail: string}
  | {type: 'exited'; code: number | null; signal: string | null; removed: boolean; logTail: string}
  | {type: 'stopped'}
  | {type: 'reseed-step'; op: string; step: ReseedStep; message?: string; revision?: number}
  | {type: 'reseed-finished'; op: string; ok: boolean; error?: string; etcdRunning: boolean}
  /** ok: a linearizable read through this member succeeded (its cluster has a working quorum). */
  | {type: 'quorum-checked'; op: string; ok: boolean; detail: string}
  | {type: 'recovery-timeout'}

export type UpdateStatus = Omit<TaskStatus, 'uuid' | 'source' | 'timestamp'>

export type CoreAction =
  | {type: 'update'; status: UpdateStatus}
  | {type: 'start-etcd'; config: MemberConfig}
  | {type: 'stop-etcd'; graceMs: number}
  | {type: 'send'; message: ExecutorToScheduler}
  | {type: 'start-reseed'; op: string}
  | {type: 'check-quorum'; op: string}
  | {type: 'exit'; code: number}
  | {type: 'log'; line: string}

export interface StepResult { state: CoreState; actions: CoreAction[] }

const HISTORY_LIMIT = 32
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

function update(taskId: string, state: TaskState, extra: Partial<UpdateStatus> = {}): CoreAction {
  return {type: 'update', status: {task_id: {value: taskId}, state, ...extra}}
}

/**
 * TaskStatus.data of TASK_STARTING / TASK_RUNNING: base64 JSON {"dataDir": "<absolute data dir>"}, so the
 * scheduler can restart the member in place on its kept data when quorum is lost (see scheduler core inplace.ts).
 */
export function encodeStatusData(dataDir: string): string {
  return Buffer.from(JSON.stringify({dataDir}), 'utf8').toString('base64')
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

function progress(s: CoreState, msg: ExecutorToScheduler): {state: CoreState; action: CoreAction} {
  const history = [...s.reseedHistory.filter((m) => m.op !== msg.op), msg].slice(-HISTORY_LIMIT)
  return {state: {...s, reseedHistory: history}, action: {type: 'send', message: msg}}
}

function stopAll(s: CoreState, reason: 'kill' | 'shutdown' | 'recovery-timeout', killPolicy?: KillPolicy): StepResult {
  const graceMs = graceFor(s, reason, killPolicy)
  return {
    state: {...s, phase: 'killing', stopReason: reason},
    actions: [{type: 'log', line: `stopping etcd (${reason}, grace ${graceMs} ms)`}, {type: 'stop-etcd', graceMs}],
  }
}

function onMessage(s: CoreState, data: string): StepResult {
  const msg = decodeFrameworkMessage(data)
  if (msg === null || msg.type !== 'reseed') {
    return {state: s, actions: [{type: 'log', line: 'ignoring a framework message that is not a reseed request'}]}
  }
  const known = s.reseedHistory.find((m) => m.op === msg.op)
  if (known) return {state: s, actions: [{type: 'log', line: `reseed ${msg.op}: duplicate request, resending step ${known.step}`}, {type: 'send', message: known}]}
  let reason: string | undefined
  if (s.phase === 'reseeding') reason = `another re-seed (${s.reseedOp ?? '?'}) is in progress`
  else if (s.quorumCheckOp !== undefined) reason = `another re-seed (${s.quorumCheckOp}) is in progress (checking quorum)`
  else if (s.phase !== 'running') reason = `etcd is not running (executor state: ${s.phase})`
  if (reason !== undefined) return failOp(s, msg.op, reason)
  if (msg.force) {
    const p = progress(s, {type: 'reseed-progress', op: msg.op, step: 'accepted', message: 'forced: no quorum check'})
    return {
      state: {...p.state, phase: 'reseeding', reseedOp: msg.op},
      actions: [{type: 'log', line: `reseed ${msg.op} accepted (forced: no quorum check)`}, p.action, {type: 'start-reseed', op: msg.op}],
    }
  }
  const p = progress(s, {type: 'reseed-progress', op: msg.op, step: 'accepted', message: "checking this member's quorum first"})
  return {
    state: {...p.state, quorumCheckOp: msg.op},
    actions: [{type: 'log', line: `reseed ${msg.op} accepted; checking first whether a linearizable read through this member succeeds`}, p.action, {type: 'check-quorum', op: msg.op}],
  }
}

function failOp(s: CoreState, op: string, reason: string): StepResult {
  const p = progress(s, {type: 'reseed-progress', op, step: 'failed', message: reason})
  return {state: p.state, actions: [{type: 'log', line: `reseed ${op} refused: ${reason}`}, p.action]}
}

export const QUORUM_REFUSAL = "refused: this member's cluster has a working quorum (a linearizable read through it succeeded); " +
  'not re-seeding a healthy cluster (the scheduler may see only part of it)'

function onQuorumChecked(s: CoreState, e: {op: string; ok: boolean; detail: string}): StepResult {
  if (e.op !== s.quorumCheckOp) return {state: s, actions: []}
  const st: CoreState = {...s}
  delete st.quorumCheckOp
  if (st.phase !== 'running') return failOp(st, e.op, `etcd is not running (executor state: ${st.phase})`)
  if (e.ok) return failOp(st, e.op, QUORUM_REFUSAL)
  return {
    state: {...st, phase: 'reseeding', reseedOp: e.op},
    actions: [{type: 'log', line: `reseed ${e.op}: no working quorum through this member (${e.detail}); re-seeding`}, {type: 'start-reseed', op: e.op}],
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
        config = parseMemberConfig(e.task.data)
      } catch (err) {
        const message = (err as Error).message
        return {
          state: {...s, phase: 'finished', taskId: tid},
          actions: [{type: 'log', line: `task ${tid}: ${message}`}, update(tid, 'TASK_FAILED', {message, reason: 'REASON_TASK_INVALID'}), {type: 'exit', code: EXIT_TASK_FAILED}],
        }
      }
      const next: CoreState = {...s, phase: 'starting', taskId: tid, config}
      if (e.sandbox !== undefined && e.sandbox.startsWith('/')) next.dataDir = resolveDataDir(config, e.sandbox)
      const g = policyMs(e.task.kill_policy)
      if (g !== undefined) next.taskGraceMs = g
      return {state: next, actions: [{type: 'log', line: `task ${tid}: starting etcd member ${config.member.name}`}, {type: 'start-etcd', config}]}
    }
    case 'spawned':
      if (s.phase !== 'starting' || s.startingSent) return none
      return {state: {...s, startingSent: true}, actions: [{type: 'log', line: `etcd started (pid ${e.pid})`}, update(id, 'TASK_STARTING', withData(s))]}
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
          update(id, 'TASK_RUNNING', withData(s, {healthy: e.healthy, message: e.detail, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED'})),
        ],
      }
    case 'exited':
      if (s.phase === 'killing') return step(s, {type: 'stopped'})
      if (s.phase !== 'starting' && s.phase !== 'running') return none
      return {
        state: {...s, phase: 'finished'},
        actions: [
          {type: 'log', line: `etcd ${e.removed ? 'was removed from the cluster' : 'exited'} (code ${String(e.code)}, signal ${String(e.signal)}): TASK_FAILED`},
          update(id, 'TASK_FAILED', {message: exitMessage(e)}),
          {type: 'exit', code: EXIT_TASK_FAILED},
        ],
      }
    case 'stopped': {
      if (s.phase !== 'killing') return none
      const fin: CoreState = {...s, phase: 'finished'}
      if (s.stopReason === 'recovery-timeout') {
        return {state: fin, actions: [{type: 'log', line: 'etcd stopped; exiting because the agent did not come back'}, {type: 'exit', code: EXIT_AGENT_LOST}]}
      }
      return {state: fin, actions: [{type: 'log', line: 'etcd stopped: TASK_KILLED'}, update(id, 'TASK_KILLED'), {type: 'exit', code: EXIT_OK}]}
    }
    case 'kill':
      if (e.taskId !== s.taskId) return {state: s, actions: [{type: 'log', line: `ignoring KILL of unknown task ${e.taskId}`}]}
      if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'reseeding') return stopAll(s, 'kill', e.killPolicy)
      return {state: s, actions: [{type: 'log', line: `KILL of ${e.taskId} while ${s.phase}: nothing to do`}]}
    case 'shutdown':
      if (s.phase === 'idle') return {state: {...s, phase: 'finished'}, actions: [{type: 'log', line: 'SHUTDOWN with no task'}, {type: 'exit', code: EXIT_OK}]}
      if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'reseeding') return stopAll(s, 'shutdown')
      return none
    case 'recovery-timeout':
      if (s.phase === 'idle') {
        return {state: {...s, phase: 'finished'}, actions: [{type: 'log', line: 'agent did not come back within the recovery timeout; exiting'}, {type: 'exit', code: EXIT_AGENT_LOST}]}
      }
      if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'reseeding') {
        const r = stopAll(s, 'recovery-timeout')
        return {state: r.state, actions: [{type: 'log', line: 'agent did not come back within the recovery timeout; stopping etcd and exiting'}, ...r.actions]}
      }
      if (s.phase === 'killing') return {state: {...s, stopReason: 'recovery-timeout'}, actions: []}
      return none
    case 'message':
      return onMessage(s, e.data)
    case 'quorum-checked':
      return onQuorumChecked(s, e)
    case 'reseed-step': {
      if (s.phase !== 'reseeding' || e.op !== s.reseedOp) return none
      const msg: ExecutorToScheduler = {type: 'reseed-progress', op: e.op, step: e.step}
      if (e.message !== undefined) msg.message = e.message
      if (e.revision !== undefined) msg.revision = e.revision
      const p = progress(s, msg)
      return {state: p.state, actions: [{type: 'log', line: `reseed ${e.op}: ${e.step}${e.message ? ` (${e.message})` : ''}`}, p.action]}
    }
    case 'reseed-finished': {
      if (e.op !== s.reseedOp) return none
      const last = s.reseedHistory.find((m) => m.op === e.op)
      const wanted: ReseedStep = e.ok ? 'done' : 'failed'
      let st: CoreState = {...s}
      delete st.reseedOp
      const actions: CoreAction[] = []
      if (last?.step !== wanted) {
        const msg: ExecutorToScheduler = {type: 'reseed-progress', op: e.op, step: wanted}
        if (!e.ok) msg.message = e.error ?? 're-seed failed'
        const p = progress(st, msg)
        st = p.state
        actions.push(p.action)
      }
      actions.unshift({type: 'log', line: `reseed ${e.op} ${e.ok ? 'done' : `failed: ${e.error ?? '?'}`}`})
      if (s.phase !== 'reseeding') return {state: st, actions} // killed meanwhile: the kill path reports
      if (e.ok && st.healthy !== true) {
        // reseedMember's 'done' means a one-member cluster with a linearizable read: healthy.
        actions.push(update(id, 'TASK_RUNNING', {healthy: true, message: 're-seeded: serving as a one-member cluster', reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED'}))
        st = {...st, healthy: true}
      }
      if (e.etcdRunning) return {state: {...st, phase: 'running'}, actions}
      const message = `re-seed failed and etcd is not running: ${e.error ?? 'unknown error'}`
      return {state: {...st, phase: 'finished'}, actions: [...actions, update(id, 'TASK_FAILED', {message}), {type: 'exit', code: EXIT_TASK_FAILED}]}
    }
  }
}
