/**
 * Pure views of restores for the admin API: the `restore` object of /stats and GET /restore/<op> (README
 * "Restore"). From the core's state only (core/restore.ts restoreView); snake_case like the rest of /stats.
 */
import {restoreView} from './core/restore-view.js'
import type {SchedulerState} from './core/state.js'

export function restoreStatsView(s: SchedulerState) {
  const {running: r, last} = restoreView(s)
  return {
    op: r?.op ?? null,
    phase: r?.phase ?? null,
    reason: r?.reason ?? null,
    from: r?.from ?? null,
    target: r?.target ?? null,
    backup: r?.backup ?? null,
    deltas: r?.deltas ?? null,
    to_revision: r?.toRevision ?? null,
    data_until: r?.dataUntil ?? null,
    recovery_point_seconds: r?.recoveryPointSeconds ?? null,
    started_at: r?.startedAt ?? null,
    skipped: r?.skipped ?? [],
    last: last ? {op: last.op, status: last.status, message: last.message, at: last.updatedAt} : null,
  }
}

/** GET /restore/<op>: null when no restore operation has that id. */
export function restoreOpView(s: SchedulerState, op: string) {
  const rec = s.operations.find((o) => o.op === op && o.kind === 'restore')
  if (!rec) return null
  const {running: r} = restoreView(s)
  const active = r && r.op === op ? r : null
  return {
    op,
    status: rec.status,
    phase: active?.phase ?? null,
    reason: active?.reason ?? null,
    backup: active?.backup ?? null,
    to_revision: active?.toRevision ?? null,
    data_until: active?.dataUntil ?? null,
    recovery_point_seconds: active?.recoveryPointSeconds ?? null,
    skipped: active?.skipped ?? [],
    message: rec.message,
    created_at: rec.createdAt,
    updated_at: rec.updatedAt,
  }
}
