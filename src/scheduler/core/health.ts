/**
 * Health observations: records facts only (the verdict, the probes in `health.probes`, the livelock timer
 * of quorum.ts, the lost tasks' answers); the planner (plan.ts, reseed.ts) decides from them.
 * Verdicts come from src/lib/etcd/verdict.ts.
 *
 * Periodic: TimerFired('health') → HEALTH_CHECK (running tasks' client URLs) + MEMBER_LIST, re-armed
 *   every healthIntervalMs, whatever the mode (observing never changes the cluster).
 * Verdict size = voting members in the latest member list (else the number of running tasks).
 * Livelock (quorum.ts): no evident quorum continuously for reseedTimeoutMs.
 *   healthy → unhealthy → (reseedTimeoutMs without quorum) → LIVELOCKED: cluster_livelocks += 1 once
 *   per episode; the episode ends when quorum is back. plan.ts starts an automatic re-seed when
 *   livelocked and autoReseed (again reseedTimeoutMs after a failed attempt).
 * `healthy` (stats) starts at 0 and follows each verdict.
 * Lost tasks (see state.ts): a probe of a dead task's client URL sent at/after its `lostAt` decides:
 *   its member answers → `answering` (alive for etcd; LOG warn once); no answer → gone (`lostAt` cleared).
 *   In TOTAL_LOSS, a dead task whose member answers again becomes `answering` (leaves TOTAL_LOSS).
 */
import type {MemberProbe} from '../../lib/etcd/probe.js'
import {healthVerdict} from '../../lib/etcd/verdict.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {memberListDue, sendHealthCheck, sendMemberList} from './observe.js'
import {running} from './mode.js'
import {livelockStep} from './quorum.js'
import {clientUrl, deadTasks, memberOfTask, runningTasks, verdictSize} from './state.js'

export function onHealthTimer(ctx: Ctx): void {
  const {s, now} = ctx
  if (!running(s)) return
  sendHealthCheck(ctx)
  if (memberListDue(s, now)) sendMemberList(ctx)
  s.timers.health = now + s.config.healthIntervalMs
  emit(ctx, {type: 'SET_TIMER', name: 'health', atMs: s.timers.health})
}

/** Answers of overlapping checks can arrive out of order: an answer older than one already applied is ignored. */
export function onHealthObserved(ctx: Ctx, probes: MemberProbe[], seqOrLatest?: number): void {
  const {s, now} = ctx
  if (!running(s)) return
  const h = s.health
  const seq = seqOrLatest ?? Math.max(h.seq, h.appliedSeq + 1)
  if (seq <= h.appliedSeq) return
  const req = h.inFlight.find((r) => r.seq === seq) ?? (h.checkReq?.seq === seq ? h.checkReq : null)
  h.inFlight = h.inFlight.filter((r) => r.seq > seq)
  h.appliedSeq = seq
  h.probes = probes
  h.probesUnplanned = true
  const v = healthVerdict(verdictSize(s), probes)
  const was = s.stats.healthy
  const sentAt = req?.sentAt ?? null
  h.verdict = v
  h.observedAt = now
  h.gen = req?.gen ?? -1
  if (h.checkReq !== null && h.checkReq.seq <= seq) h.checkReq = null
  for (const t of runningTasks(s)) {
    const p = probes.find((x) => x.clientUrl === clientUrl(s, t))
    if (p) t.healthy = p.reachable && p.status !== undefined
  }
  s.stats.healthy = v.healthy ? 1 : 0
  if (v.healthy && was !== 1) {
    s.stats.healthy_since = now
    s.stats.unhealthy_since = null
    emit(ctx, log('info', 'cluster healthy', {reason: v.reason}))
  } else if (!v.healthy && (was === 1 || s.stats.unhealthy_since === null)) {
    s.stats.unhealthy_since = now
    s.stats.healthy_since = null
    emit(ctx, log('warn', 'cluster unhealthy', {reason: v.reason}))
  }
  // Livelock needs the absence of any evidence of a quorum (a read through a member this scheduler still
  // reaches proves one, even if it cannot see the rest: never re-seed a cluster just because of our own partition).
  const change = livelockStep(h, v.quorumEvident, runningTasks(s).length > 0, now, s.config.reseedTimeoutMs)
  if (change === 'back') emit(ctx, log('info', 'quorum is back: livelock episode over'))
  if (change === 'livelocked') {
    s.stats.cluster_livelocks++
    s.stats.last_livelock_at = now
    emit(
      ctx,
      log('error', `quorum lost for ${Math.round((now - (h.lostQuorumSince ?? now)) / 1000)} s: cluster livelocked`, {
        reason: v.reason,
        autoReseed: s.config.autoReseed,
        hint: s.config.autoReseed ? 're-seeding automatically' : 'automatic re-seed is disabled: request a re-seed to recover',
      }),
    )
  }
  judgeLostTasks(ctx, probes, sentAt)
}

/** Decides, from probes sent after their loss, whether tasks the master reported lost are really gone. */
function judgeLostTasks(ctx: Ctx, probes: MemberProbe[], sentAt: number | null): void {
  const {s, now} = ctx
  for (const t of deadTasks(s)) {
    const p = probes.find((x) => x.clientUrl === clientUrl(s, t))
    if (!p) continue
    const member = memberOfTask(s, t)
    const answers = p.reachable && p.status !== undefined && (member === null || p.status.memberId === member.id)
    if (answers && (t.lostAt !== undefined || s.episode === 'TOTAL_LOSS')) {
      if (!t.answering) {
        emit(
          ctx,
          log(
            'warn',
            'Mesos reports this task dead but its etcd member answers: treating it as alive ' +
              '(no member removal, no replacement); reconciling again',
            {taskId: t.taskId, member: t.memberName, state: t.state, reason: t.reason ?? null},
          ),
        )
      }
      t.lostAt ??= now
      t.answering = true
    } else if (!answers && t.lostAt !== undefined && sentAt !== null && sentAt >= t.lostAt) {
      emit(
        ctx,
        log('warn', 'a task Mesos reports dead: its etcd member does not answer either; it is gone', {
          taskId: t.taskId,
          member: t.memberName,
          state: t.state,
          error: p.error ?? null,
        }),
      )
      delete t.lostAt
      delete t.answering
    }
  }
}
