/**
 * Disk-space maintenance, the core's entry points (PURE): the answers of COMPACT / DEFRAG / ALARM_DISARM, and the
 * planner step that runs the NOSPACE recovery (nospace.ts) first and else the routine defragmentation (defrag.ts).
 *
 * One maintenance call in flight at a time (`s.maintenance.call`); an answer that does not match it (late, after a
 * timeout or a restart) is ignored; a call unanswered after defragTimeoutMs counts as failed.
 * Routine defragmentation: DEFRAG{clientUrl, memberId} of the first candidate → Defragmented (stats.defrags += 1)
 *   or DefragFailed (stats.defrag_failures += 1, LOG warn); either way the member waits defragIntervalMs, and the next
 *   defragmentation waits for a verdict from a health check sent after this one ended (`settleSeq`).
 * While it must wait (defrag.ts `defragBlocker`) with candidates due, it says why once (LOG info, "defragmentation
 *   waiting: …"). Rollouts (H9) check `maintenanceBusy` before touching a member.
 */
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {defragBlocker, defragCandidates} from './defrag.js'
import type {SchedulerEvent} from './events.js'
import type {MaintenanceCallKind} from './maintenance-state.js'
import {nospaceAnswered, planNospace} from './nospace.js'
import type {SchedulerState} from './state.js'

export type MaintenanceEvent = Extract<
  SchedulerEvent,
  {type: 'Compacted' | 'CompactFailed' | 'Defragmented' | 'DefragFailed' | 'AlarmDisarmed' | 'AlarmDisarmFailed'}
>

/** A maintenance call is in flight or a NOSPACE recovery is under way (a rollout must wait). */
export function maintenanceBusy(s: SchedulerState): boolean {
  return s.maintenance.call !== null || s.maintenance.nospace !== null
}

export function onMaintenanceEvent(ctx: Ctx, ev: MaintenanceEvent): void {
  const call = ctx.s.maintenance.call
  const kind: MaintenanceCallKind =
    ev.type === 'Compacted' || ev.type === 'CompactFailed'
      ? 'COMPACT'
      : ev.type === 'Defragmented' || ev.type === 'DefragFailed'
        ? 'DEFRAG'
        : 'ALARM_DISARM'
  const memberId = 'memberId' in ev ? ev.memberId : ''
  const matches =
    call !== null &&
    call.kind === kind &&
    (kind === 'COMPACT' ? 'clientUrl' in ev && call.clientUrl === ev.clientUrl : call.memberId === memberId)
  if (!matches) {
    emit(ctx, log('debug', `a late or unexpected ${ev.type} ignored`, {memberId: memberId || null}))
    return
  }
  const ok = ev.type === 'Compacted' || ev.type === 'Defragmented' || ev.type === 'AlarmDisarmed'
  const message = 'message' in ev ? ev.message : null
  ended(ctx, kind, ok, memberId, message)
}

/** The call in flight ended (answered, or timed out: ok false). */
function ended(ctx: Ctx, kind: MaintenanceCallKind, ok: boolean, memberId: string, message: string | null): void {
  const {s, now} = ctx
  const m = s.maintenance
  const call = m.call!
  m.call = null
  if (kind === 'DEFRAG') {
    m.lastDefragAt[memberId] = now
    if (ok) s.stats.defrags++
    else s.stats.defrag_failures++
    if (!call.nospace) m.settleSeq = s.health.seq
    const tookS = Math.round((now - call.sentAt) / 1000)
    emit(
      ctx,
      ok
        ? log('info', `member ${memberId} defragmented in ${tookS} s${call.nospace ? ' (NOSPACE recovery)' : ''}`, {
            clientUrl: call.clientUrl,
            dbSizeBefore: call.dbSize ?? null,
          })
        : log('warn', `defragmenting member ${memberId} failed${call.nospace ? ' (NOSPACE recovery goes on)' : ''}`, {
            clientUrl: call.clientUrl,
            error: message,
          }),
    )
  } else if (!ok) {
    emit(ctx, log('warn', `NOSPACE recovery: ${kind} failed`, {clientUrl: call.clientUrl, memberId: memberId || null, error: message}))
  }
  if (call.nospace) nospaceAnswered(ctx, kind, ok, kind === 'COMPACT' ? `revision ${s.maintenance.nospace?.revision ?? '?'}` : memberId)
}

/** The planner's maintenance step (plan.ts, before checkOnChange). */
export function planMaintenance(ctx: Ctx): void {
  const {s, now} = ctx
  const m = s.maintenance
  if (m.call !== null && now >= m.call.deadline) {
    const c = m.call
    ended(ctx, c.kind, false, c.memberId, `no answer within ${Math.round(s.config.defragTimeoutMs / 1000)} s`)
  }
  planNospace(ctx)
  if (m.nospace !== null || m.call !== null) return
  const due = defragCandidates(s, now)
  if (due.length === 0) {
    if (m.waiting?.startsWith('defragmentation') === true) m.waiting = null
    return
  }
  const blocked = defragBlocker(s)
  if (blocked !== null) {
    const reason = `defragmentation waiting: ${blocked}`
    const key = reason.replace(/\s*\(.*$/, '') // once per reason, whatever its details (a verdict's counts)
    if (m.waiting !== key) {
      m.waiting = key
      emit(ctx, log('info', reason, {due: due.map((d) => d.memberId)}))
    }
    return
  }
  if (s.health.appliedSeq <= m.settleSeq) return // a verdict from a check sent after the last defragmentation first
  m.waiting = null
  const next = due[0]!
  m.call = {
    kind: 'DEFRAG',
    clientUrl: next.clientUrl,
    memberId: next.memberId,
    sentAt: now,
    deadline: now + s.config.defragTimeoutMs,
    nospace: false,
    dbSize: next.dbSize,
  }
  emit(ctx, {type: 'DEFRAG', clientUrl: next.clientUrl, memberId: next.memberId})
  emit(
    ctx,
    log('info', `defragmenting member ${next.memberId}${next.leader ? ' (the leader, last)' : ''}`, {
      clientUrl: next.clientUrl,
      dbSize: next.dbSize,
      dbSizeInUse: next.dbSizeInUse,
      freeFraction: Number(((next.dbSize - next.dbSizeInUse) / next.dbSize).toFixed(3)),
    }),
  )
}

/** Deadlines of the maintenance (for plan.ts nextWake). */
export function maintenanceWakes(s: SchedulerState): number[] {
  const m = s.maintenance
  const t: number[] = []
  if (m.call !== null) t.push(m.call.deadline)
  if (m.nospaceNotBefore !== null) t.push(m.nospaceNotBefore)
  return t
}
