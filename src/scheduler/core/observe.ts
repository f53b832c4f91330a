/**
 * Requests for observations (HEALTH_CHECK, MEMBER_LIST), tagged with the topology generation they
 * were sent at, so an answer is only "fresh" if no membership change happened since it was asked.
 * At most one request of each kind in flight (a lost answer times out after memberOpTimeoutMs).
 */
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {via} from './membership.js'
import {clientUrl, runningTasks} from './state.js'

export function sendHealthCheck(ctx: Ctx): void {
  const {s, now} = ctx
  const urls = runningTasks(s).map((t) => clientUrl(s, t))
  if (urls.length === 0) return
  s.health.checkReq = {gen: s.topologyGen, sentAt: now}
  emit(ctx, {type: 'HEALTH_CHECK', clientUrls: urls})
}

export function sendMemberList(ctx: Ctx): void {
  const {s, now} = ctx
  const urls = via(s)
  if (urls.length === 0) return
  s.memberListReq = {gen: s.topologyGen, sentAt: now}
  emit(ctx, {type: 'MEMBER_LIST', via: urls})
}
