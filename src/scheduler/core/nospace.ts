/**
 * Recovery from etcd's NOSPACE alarm (PURE). When a member's backend reaches its quota (--quota-backend-bytes) etcd
 * raises NOSPACE and the whole cluster refuses writes (reads and deletes still work) until the alarm is disarmed.
 *
 * Start: the latest probes list a NOSPACE alarm, no episode runs, the backoff (`nospaceNotBefore`) has passed, and
 *   the cluster can be worked on: READY, no re-seed/restore/restart in place/rollout, and a leader agreed by a quorum
 *   of the members (`verdict.agreeing ≥ verdict.quorum`; a failed linearizable read or refused writes do not stop it).
 *   stats.nospace_episodes += 1, LOG error.
 * Steps, one call at a time (maintenance.ts sends and times them out):
 *   compact  COMPACT the highest revision the probes report, physical, through the leader → defrag (a failure is
 *            recorded and the episode goes on: defragmentation still frees what earlier compactions left);
 *   defrag   DEFRAG every member that answered the probes, followers first, the leader last (failures recorded,
 *            the next member is done) → disarm;
 *   disarm   ALARM_DISARM NOSPACE of each member the alarm list names (through the leader) → verify;
 *   verify   a health check sent after the last disarm answers (plan.ts' checkOnChange sends it): no NOSPACE alarm
 *            → outcome `recovered` (LOG info); still NOSPACE → `still-full` (LOG error: the data itself fills the
 *            quota; delete data or raise the quota).
 * Either way the next episode waits a backoff: nospaceBackoffMinMs, doubled for each episode that started within
 *   2 × nospaceBackoffMaxMs of the previous one's end (at most nospaceBackoffMaxMs): an alarm that comes back because
 *   the data fills the quota is retried, never in a loop.
 * A re-seed, restore or rollout starting meanwhile ends the episode (`abandoned`); a lost leader or quorum pauses it.
 * Not persisted (maintenance-state.ts): a restarted scheduler starts a new episode from the next probe.
 */
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {allMembersInOrder, maintenanceBlocker} from './defrag.js'
import {alarmsOf, type NospaceOutcome} from './maintenance-state.js'
import type {SchedulerState} from './state.js'

const MIB = 1024 * 1024
const mib = (n: number | null | undefined): string => (n === null || n === undefined ? '?' : `${(n / MIB).toFixed(1)} MiB`)

/** Member ids the latest probes report a NOSPACE alarm for. */
export function nospaceAlarms(s: SchedulerState): string[] {
  const ids = new Set<string>()
  for (const p of s.health.probes) for (const a of alarmsOf(p)) if (a.alarm === 'NOSPACE') ids.add(a.memberId)
  return [...ids].sort()
}

/** Why a NOSPACE recovery may not work on the cluster now (null: it may). */
export function nospaceBlocker(s: SchedulerState): string | null {
  if (s.phase !== 'READY') return `the scheduler is ${s.phase}`
  const busy = maintenanceBlocker(s)
  if (busy !== null) return busy
  const v = s.health.verdict
  if (v === null || v.leader === null || v.agreeing < v.quorum) return `no leader agreed by a quorum (${v?.reason ?? 'no verdict yet'})`
  return null
}

/** The leader's client URL in the latest probes (else the first member that answered). */
function leaderUrl(s: SchedulerState): string | null {
  const leader = s.health.verdict?.leader ?? null
  const answered = s.health.probes.filter((p) => p.reachable && p.status)
  return (answered.find((p) => p.status!.memberId === leader) ?? answered[0])?.clientUrl ?? null
}

function note(ep: {steps: string[]}, text: string): void {
  ep.steps.push(text)
  if (ep.steps.length > 40) ep.steps.shift()
}

/** Starts, advances or ends the NOSPACE episode; sends at most one call (when none is in flight). */
export function planNospace(ctx: Ctx): void {
  const {s, now} = ctx
  const m = s.maintenance
  const c = s.config
  const ep = m.nospace
  if (ep === null) {
    const alarms = nospaceAlarms(s)
    if (alarms.length === 0 || m.call !== null) return
    if (m.nospaceNotBefore !== null && now < m.nospaceNotBefore) {
      waiting(
        ctx,
        'error',
        `NOSPACE alarm again: etcd refuses writes; the next recovery attempt is at ${new Date(m.nospaceNotBefore).toISOString()} (backoff after the last episode: the data may fill the quota)`,
      )
      return
    }
    const blocked = nospaceBlocker(s)
    if (blocked !== null) {
      waiting(ctx, 'error', `NOSPACE alarm: etcd refuses writes; recovery waits: ${blocked}`)
      return
    }
    const last = m.lastNospace
    m.nospaceStreak = last !== null && now - last.endedAt <= 2 * c.nospaceBackoffMaxMs ? m.nospaceStreak + 1 : 0
    const sizes = s.health.probes.map((p) => p.status?.dbSize ?? 0)
    m.nospace = {
      startedAt: now,
      step: 'compact',
      revision: null,
      defragQueue: [],
      disarmQueue: alarms,
      steps: [],
      defragged: 0,
      failures: 0,
      dbSizeBefore: sizes.length > 0 ? Math.max(...sizes) : null,
      verifyAfterSeq: null,
    }
    m.waiting = null
    s.stats.nospace_episodes++
    emit(
      ctx,
      log('error', 'NOSPACE alarm: etcd refuses writes (backend quota reached); recovering: compact, defragment every member, disarm', {
        members: alarms,
        dbSize: mib(m.nospace.dbSizeBefore),
      }),
    )
  }
  advance(ctx)
}

function advance(ctx: Ctx): void {
  const {s, now} = ctx
  const m = s.maintenance
  const ep = m.nospace!
  const busy = maintenanceBlocker(s)
  if (busy !== null) return finish(ctx, 'abandoned', `NOSPACE recovery abandoned: ${busy}`)
  if (m.call !== null) return
  if (ep.step === 'verify') {
    if (ep.verifyAfterSeq === null || s.health.appliedSeq <= ep.verifyAfterSeq) {
      s.health.checkWanted = true
      return
    }
    if (!s.health.probes.some((p) => Array.isArray(p.alarms))) {
      s.health.checkWanted = true // no member could list the alarms in that check: ask again
      ep.verifyAfterSeq = s.health.seq
      return
    }
    const still = nospaceAlarms(s)
    const inUse = Math.max(0, ...s.health.probes.map((p) => p.status?.dbSizeInUse ?? p.status?.dbSize ?? 0))
    if (still.length === 0) {
      return finish(
        ctx,
        'recovered',
        `NOSPACE recovered: writes accepted again after ${Math.round((now - ep.startedAt) / 1000)} s (compacted at revision ${ep.revision ?? '?'}, ${ep.defragged} member(s) defragmented, db ${mib(ep.dbSizeBefore)} → ${mib(inUse)} in use)`,
      )
    }
    return finish(
      ctx,
      'still-full',
      `NOSPACE persists after compaction and defragmentation: the data itself fills the backend quota (${mib(inUse)} in use). Delete data or raise --etcd-quota-backend-bytes`,
    )
  }
  if (nospaceBlocker(s) !== null) return // no leader/quorum for now: resume when they are back
  const url = leaderUrl(s)
  if (url === null) return
  if (ep.step === 'compact') {
    const rev = Math.max(0, ...s.health.probes.map((p) => p.status?.revision ?? 0))
    ep.revision = rev
    return send(ctx, {type: 'COMPACT', clientUrl: url, revision: rev, physical: true}, '')
  }
  if (ep.step === 'defrag') {
    const next = ep.defragQueue[0]
    if (next) return send(ctx, {type: 'DEFRAG', clientUrl: next.clientUrl, memberId: next.memberId}, next.memberId)
    ep.step = 'disarm'
    // the members that raised it when the episode started, and any since (a list unknown now loses none)
    ep.disarmQueue = [...new Set([...ep.disarmQueue, ...nospaceAlarms(s)])].sort()
  }
  if (ep.step === 'disarm') {
    const id = ep.disarmQueue[0]
    if (id !== undefined) return send(ctx, {type: 'ALARM_DISARM', clientUrl: url, memberId: id, alarm: 'NOSPACE'}, id)
    ep.step = 'verify'
    ep.verifyAfterSeq = s.health.seq
    s.health.checkWanted = true
  }
}

function send(
  ctx: Ctx,
  a:
    | {type: 'COMPACT'; clientUrl: string; revision: number; physical: boolean}
    | {type: 'DEFRAG' | 'ALARM_DISARM'; clientUrl: string; memberId: string; alarm?: 'NOSPACE'},
  memberId: string,
): void {
  const {s, now} = ctx
  s.maintenance.call = {
    kind: a.type,
    clientUrl: a.clientUrl,
    memberId,
    sentAt: now,
    deadline: now + s.config.defragTimeoutMs,
    nospace: true,
  }
  emit(ctx, a as Parameters<typeof emit>[1])
  emit(
    ctx,
    log('info', `NOSPACE recovery: ${a.type}`, {
      clientUrl: a.clientUrl,
      ...(memberId ? {memberId} : {}),
      ...('revision' in a ? {revision: a.revision} : {}),
    }),
  )
}

/** An answer (or timeout) of the episode's call in flight: records it and moves to the next step. */
export function nospaceAnswered(ctx: Ctx, kind: 'COMPACT' | 'DEFRAG' | 'ALARM_DISARM', ok: boolean, what: string): void {
  const ep = ctx.s.maintenance.nospace
  if (ep === null) return
  note(ep, `${kind.toLowerCase()} ${what}: ${ok ? 'ok' : 'failed'}`)
  if (!ok) ep.failures++
  if (kind === 'COMPACT') {
    ep.step = 'defrag'
    ep.defragQueue = allMembersInOrder(ctx.s.health.probes, ctx.s.health.verdict?.leader ?? null)
  } else if (kind === 'DEFRAG') {
    if (ok) ep.defragged++
    ep.defragQueue.shift()
  } else ep.disarmQueue.shift()
}

function finish(ctx: Ctx, outcome: NospaceOutcome, message: string): void {
  const {s, now} = ctx
  const m = s.maintenance
  const ep = m.nospace!
  const c = s.config
  const backoff = Math.min(c.nospaceBackoffMaxMs, c.nospaceBackoffMinMs * 2 ** m.nospaceStreak)
  m.nospace = null
  m.nospaceNotBefore = now + backoff
  const full = outcome === 'still-full' ? `${message}; retrying in ${Math.round(backoff / 1000)} s` : message
  m.lastNospace = {startedAt: ep.startedAt, endedAt: now, outcome, message: full, steps: ep.steps}
  emit(ctx, log(outcome === 'recovered' ? 'info' : 'error', full, {outcome, steps: ep.steps}))
}

/** Logs a waiting reason once (until it changes). */
function waiting(ctx: Ctx, level: 'warn' | 'error', reason: string): void {
  const m = ctx.s.maintenance
  const key = reason.replace(/\s*\(.*$/, '') // once per reason, whatever its details (a verdict's counts)
  if (m.waiting === key) return
  m.waiting = key
  emit(ctx, log(level, reason))
}
