/**
 * The restore half of the executor's pure core (see the state machine in core.ts): a member launched with
 * MemberConfig.restore is restored from a backup (driver → restore.ts) before its etcd starts. Pure: no I/O.
 *
 *   idle     --LAUNCH (restore, initialClusterState new, no requireData)--> starting  restore (restoreOp = op)
 *   starting --restore-step-----------------------------------------------> starting  TASK_STARTING message=<step>
 *   starting --restore-finished ok (restored, or skipped: data present)---> starting  start-etcd
 *   starting --restore-finished failed------------------------------------> finished  TASK_FAILED "restore <op>
 *                                                                                    failed: …", exit 1
 *   killing  --restore-step / restore-finished----------------------------> (same)    a log line only (KILL/SHUTDOWN
 *                                                                                    during the restore: the driver
 *                                                                                    aborts it)
 * A restore is never attempted for a restart in place (requireData: it must find its own data) nor for a member
 * that joins an existing cluster (it gets the data from raft): those start etcd as usual.
 * Invariant: start-etcd is emitted once, after the restore finished (restoreOp is cleared then).
 */
import type {MemberConfig} from '../lib/member-config.js'
import {EXIT_TASK_FAILED, encodeStatusData, update, type CoreAction, type CoreEvent, type CoreState, type StepResult} from './core-types.js'

/** Whether a LAUNCH of `cfg` restores first. */
export function restoresFirst(cfg: MemberConfig): boolean {
  return cfg.restore !== undefined && cfg.initialClusterState === 'new' && cfg.requireData !== true
}

/** The actions that start a launched member: restore first when its config says so, else etcd at once. */
export function startMember(s: CoreState, cfg: MemberConfig): StepResult {
  if (!restoresFirst(cfg)) {
    const actions: CoreAction[] = []
    if (cfg.restore)
      actions.push({
        type: 'log',
        line: `restore ${cfg.restore.op} ignored: ${cfg.requireData ? 'a restart in place' : 'the member joins an existing cluster'}`,
      })
    actions.push({type: 'start-etcd', config: cfg})
    return {state: s, actions}
  }
  const r = cfg.restore!
  return {
    state: {...s, restoreOp: r.op},
    actions: [
      {
        type: 'log',
        line: `restore ${r.op}: backup ${r.fullId}${r.deltaIds.length ? ` + ${r.deltaIds.length} delta(s)` : ''} from ${r.target}`,
      },
      {type: 'restore', config: cfg},
    ],
  }
}

function withData(s: CoreState, message: string): {message: string; data?: string} {
  return s.dataDir !== undefined ? {message, data: encodeStatusData(s.dataDir)} : {message}
}

export function onRestoreStep(s: CoreState, e: Extract<CoreEvent, {type: 'restore-step'}>): StepResult {
  if (s.phase !== 'starting' || s.restoreOp === undefined) return {state: s, actions: []}
  return {
    state: {...s, startingSent: true},
    actions: [{type: 'log', line: e.message}, update(s.taskId ?? '', 'TASK_STARTING', withData(s, e.message))],
  }
}

export function onRestoreFinished(s: CoreState, e: Extract<CoreEvent, {type: 'restore-finished'}>): StepResult {
  if (s.phase !== 'starting' || s.restoreOp === undefined || !s.config) {
    const how = e.ok ? e.message : `failed: ${e.error}`
    return {state: s, actions: s.restoreOp ? [{type: 'log', line: `restore ${s.restoreOp} ended while ${s.phase}: ${how}`}] : []}
  }
  const op = s.restoreOp
  const {restoreOp: _, ...rest} = s
  if (e.ok)
    return {
      state: rest,
      actions: [
        {type: 'log', line: e.message},
        {type: 'start-etcd', config: s.config},
      ],
    }
  const message = `restore ${op} failed: ${e.error}`
  return {
    state: {...rest, phase: 'finished'},
    actions: [{type: 'log', line: message}, update(s.taskId ?? '', 'TASK_FAILED', {message}), {type: 'exit', code: EXIT_TASK_FAILED}],
  }
}
