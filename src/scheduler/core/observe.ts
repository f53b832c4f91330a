/**
 * Requests for observations (HEALTH_CHECK, MEMBER_LIST), tagged with the topology generation they
 * were sent at, so an answer is only "fresh" if no membership change happened since it was asked.
 * At most one request of each kind in flight (a lost answer times out after memberOpTimeoutMs).
 * HEALTH_CHECK probes the running tasks, plus the tasks the master reported lost that are not
 * confirmed gone, plus (in TOTAL_LOSS) every task in a dead state Mesos may take back.
 */
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {via} from './membership.js'
import {clientUrl, deadTasks, isNonFinalDead, runningTasks, unconfirmedLost, type SchedulerState} from './state.js'

export function sendHealthCheck(ctx: Ctx): void {
  const {s, now} = ctx
  const lost =
    s.episode === 'TOTAL_LOSS' ? deadTasks(s).filter((t) => t.lostAt !== undefined || isNonFinalDead(t.state)) : unconfirmedLost(s)
  const urls = [...new Set([...runningTasks(s), ...lost].map((t) => clientUrl(s, t)))]
  if (urls.length === 0) return
  const req = {seq: ++s.health.seq, gen: s.topologyGen, sentAt: now}
  s.health.checkReq = req
  s.health.inFlight.push(req)
  if (s.health.inFlight.length > 32) s.health.inFlight.shift()
  emit(ctx, {type: 'HEALTH_CHECK', clientUrls: urls, seq: req.seq})
}

/** No MEMBER_LIST in flight (or its answer is overdue), and a failed one's retry time has come. */
export function memberListDue(s: SchedulerState, now: number): boolean {
  const req = s.memberListReq
  if (req === null) return true
  return req.retryAt !== undefined ? now >= req.retryAt : now - req.sentAt >= s.config.memberOpTimeoutMs
}

export function sendMemberList(ctx: Ctx): void {
  const {s, now} = ctx
  const urls = via(s)
  if (urls.length === 0) return
  s.memberListReq = {gen: s.topologyGen, sentAt: now}
  emit(ctx, {type: 'MEMBER_LIST', via: urls})
}
