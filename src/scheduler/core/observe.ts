/**
 * Requests for observations (HEALTH_CHECK, MEMBER_LIST), tagged with the topology generation they
 * were sent at, so an answer is only "fresh" if no membership change happened since it was asked.
 * At most one request of each kind in flight (a lost answer times out after memberOpTimeoutMs).
 * HEALTH_CHECK probes the running tasks, plus the tasks the master reported lost that are not
 * confirmed gone, plus (in TOTAL_LOSS) every task in a dead state Mesos may take back. Besides the health
 * timer, plan.ts asks for one when a task became RUNNING or a membership change completed (checkOnChange).
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
  s.health.checkedTasks = runningTasks(s).map((t) => t.taskId)
  s.health.checkWanted = false
  s.health.checkReq = req
  s.health.inFlight.push(req)
  if (s.health.inFlight.length > 32) s.health.inFlight.shift()
  emit(ctx, {type: 'HEALTH_CHECK', clientUrls: urls, seq: req.seq})
}

/**
 * A check as soon as a task reports TASK_RUNNING or a membership change completes (its verdict gates the next
 * change, and a member is only healthy once checked), rather than at the next health interval. One at a time
 * (the answer's step asks again if more changed meanwhile), once per change: a steady cluster is checked on the
 * health timer only, and a task dying asks for nothing (its member is removed, which does).
 */
export function checkOnChange(ctx: Ctx): void {
  const {s, now} = ctx
  const h = s.health
  const covered = new Set(h.checkedTasks ?? [])
  const running = runningTasks(s)
  if (running.length === 0 || (!h.checkWanted && running.every((t) => covered.has(t.taskId)))) return
  if (h.checkReq !== null && now - h.checkReq.sentAt < s.config.memberOpTimeoutMs) return
  sendHealthCheck(ctx)
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
