/** The restore as /stats and GET /restore/<op> show it (restore.ts has the restore): the running one and the last that ended. */
import type {OperationRecord, RestoreProgress, SchedulerState} from './state.js'

/** What /stats and GET /restore/<op> show. */
export function restoreView(s: SchedulerState): {
  running: {
    op: string
    phase: RestoreProgress['phase']
    reason: RestoreProgress['reason']
    from: string
    target: string
    backup: string | null
    deltas: number
    toRevision: number | null
    dataUntil: string | null
    recoveryPointSeconds: number | null
    startedAt: number
    skipped: {id: string; problem: string}[]
  } | null
  last: OperationRecord | null
} {
  const r = s.restore
  const last = [...s.operations].reverse().find((o) => o.kind === 'restore' && o.status !== 'running') ?? null
  return {
    running: r
      ? {
          op: r.op,
          phase: r.phase,
          reason: r.reason,
          from: r.from,
          target: r.target,
          backup: r.plan?.fullId ?? null,
          deltas: r.plan?.deltaIds.length ?? 0,
          toRevision: r.plan?.toRevision ?? r.toRevision,
          dataUntil: r.plan?.dataUntil ?? null,
          recoveryPointSeconds: r.recoveryPointSeconds,
          startedAt: r.startedAt,
          skipped: r.skipped ?? [],
        }
      : null,
    last: last ? {...last} : null,
  }
}
