/**
 * Growing and shrinking one member at a time (after bootstrap).
 *
 * Grow (live < clusterSize, no membership change pending, every live task RUNNING, latest health
 * verdict healthy AND observed after the last membership change, member list fresh, no task reported
 * lost whose etcd member still answers; which offer, how long it is held and when to REVIVE is the
 * offer planner's (offer-planner.ts: wants 'add', 'adding', 'added', 'bootstrap')):
 *   1. take the offer planner's offer on an agent without a member (held); MEMBER_ADD its peer URL
 *      (as a learner with useLearners) → pendingAdd{phase 'adding'}.
 *      Retryable failures are retried while the offer is held: etcd's "not now" refusals (UNHEALTHY_CLUSTER:
 *      it refuses adds ~5 s after peers connect; NO_LEADER) every memberAddRetryMs (at most memberOpRetryMs),
 *      so the add goes through soon after etcd's check passes; others (UNREACHABLE, ...) every memberOpRetryMs.
 *      After offerHoldMs the attempt is abandoned (a late success shows up in the member list as an unbacked
 *      member and is removed after memberGraceMs).
 *   2. MemberAdded → phase 'added' → ACCEPT the held offer: LAUNCH with initialClusterState
 *      'existing' and initialCluster = current members + the new one. If the held offer was rescinded,
 *      wait for an offer from the same agent with the same two ports; after memberGraceMs give up and
 *      let the added-but-never-started member be removed.
 *   3. a running learner is promoted by membership.ts; the next add waits for it.
 * Shrink (live > clusterSize, healthy): mark one task `decommission` (not running first, then learner,
 *   then not the leader, then the newest); membership.ts removes its member, then KILLs it.
 */
import type {InitialPeer} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {memberIndexOf} from './ids.js'
import {accept, allocateMember, launchOperation, logUnusable, planBootstrap, tryMemberConfig} from './launch.js'
import type {MemberOpsStatus} from './membership.js'
import {via} from './membership.js'
import type {OfferRound} from './offer-planner.js'
import {decideWant, launchFailed} from './offer-planner.js'
import type {SchedulerState} from './state.js'
import {answeringTasks, healthFresh, liveTasks, memberOfTask, membershipFresh, peerUrl, runningTasks} from './state.js'
import {sendHealthCheck} from './observe.js'
import {awaitingRelaunch} from './volumes.js'

export function planGrowth(ctx: Ctx, ops: MemberOpsStatus, round: OfferRound): void {
  const {s} = ctx
  if (s.pendingAdd) return progressPendingAdd(ctx, round)
  if (answeringTasks(s).length > 0) return // reported lost, but etcd answers: no replacement, no resize
  if (awaitingRelaunch(s).length > 0) return // relaunched on its volume (relaunch.ts), not replaced
  const live = liveTasks(s)
  const active = live.filter((t) => !t.decommission)
  const size = s.config.clusterSize
  if (active.length > size) return planShrink(ctx)
  if (active.length === size) return
  if (live.length === 0) {
    if (!s.bootstrapped) planBootstrap(ctx, round)
    return
  }
  if (!s.bootstrapped || ops !== 'clear' || ctx.now < s.memberOpRetryAt) return
  if (live.some((t) => t.state !== 'TASK_RUNNING')) return
  if (!healthFresh(s)) return requestHealth(ctx)
  if (!membershipFresh(s)) return
  startAdd(ctx, round)
}

/** Asks for a health check if none was sent since the last membership change. */
export function requestHealth(ctx: Ctx): void {
  const {s, now} = ctx
  if (s.health.gen === s.topologyGen) return
  const req = s.health.checkReq
  if (req && now - req.sentAt < s.config.memberOpTimeoutMs) return
  sendHealthCheck(ctx)
}

/** Asks the offer planner for an offer for a new member; with one (held), adds the member to etcd first. */
function startAdd(ctx: Ctx, round: OfferRound): void {
  const {s, now} = ctx
  const d = decideWant(s, round, {kind: 'add'}, now)
  logUnusable(ctx, d.rejected)
  if (d.type !== 'hold' || !d.match) return
  const m = d.match
  const {memberName, taskId} = allocateMember(s)
  s.pendingAdd = {
    memberName,
    taskId,
    agentId: m.agentId,
    hostname: m.hostname,
    peerPort: m.peerPort,
    clientPort: m.clientPort,
    offerId: m.offerId,
    phase: 'adding',
    startedAt: now,
    attempts: 0,
  }
  sendAdd(ctx)
}

function sendAdd(ctx: Ctx): void {
  const {s, now} = ctx
  const pa = s.pendingAdd!
  const urls = via(s)
  if (urls.length === 0) return
  pa.attempts++
  const url = peerUrl(s, pa)
  s.memberOp = {kind: 'add', peerUrl: url, sentAt: now}
  emit(ctx, {type: 'MEMBER_ADD', peerUrls: [url], learner: s.config.useLearners, via: urls})
  emit(
    ctx,
    log(pa.attempts === 1 ? 'info' : 'debug', 'adding etcd member before launching it', {
      member: pa.memberName,
      peerUrl: url,
      learner: s.config.useLearners,
      attempt: pa.attempts,
    }),
  )
}

function abandon(ctx: Ctx, why: string): void {
  const {s, now} = ctx
  const pa = s.pendingAdd!
  emit(ctx, log('warn', `giving up on adding ${pa.memberName}: ${why}`, {member: pa.memberName, memberId: pa.memberId ?? null}))
  if (pa.memberId !== undefined) s.unbackedSince[pa.memberId] = now - s.config.memberGraceMs
  if (s.membership) s.membership.gen = -1
  s.pendingAdd = null
  s.memberOpRetryAt = now + s.config.memberOpRetryMs
}

function progressPendingAdd(ctx: Ctx, round: OfferRound): void {
  const {s, now} = ctx
  const pa = s.pendingAdd!
  if (pa.offerId !== null && !s.offers[pa.offerId]) pa.offerId = null
  if (pa.phase === 'adding') {
    const d = decideWant(
      s,
      round,
      {kind: 'adding', member: pa.memberName, offerId: pa.offerId, since: pa.startedAt, holdMs: s.config.offerHoldMs},
      now,
    )
    if (d.type === 'give-up') return abandon(ctx, d.reason)
    if (!s.memberOp && now >= s.memberOpRetryAt && s.health.verdict?.healthy) sendAdd(ctx)
    return
  }
  const d = decideWant(
    s,
    round,
    {
      kind: 'added',
      member: pa.memberName,
      agentId: pa.agentId,
      ports: {peer: pa.peerPort, client: pa.clientPort},
      offerId: pa.offerId,
      since: pa.startedAt,
      graceMs: s.config.memberGraceMs,
    },
    now,
  )
  if (d.type === 'give-up') return abandon(ctx, d.reason)
  if (d.type !== 'launch') return
  const match = d.matches[0]!
  const initial = initialClusterFor(s)
  const cfg = tryMemberConfig(ctx, pa.memberName, pa, initial, 'existing')
  if (!cfg) {
    launchFailed(round, d, 'invalid member config')
    return abandon(ctx, 'invalid member config')
  }
  accept(ctx, match.offerId, launchOperation(ctx, match, pa.memberName, pa.taskId, cfg))
  s.pendingAdd = null
}

/** Current members (by name and first peer URL) plus the pending member. */
function initialClusterFor(s: SchedulerState): InitialPeer[] {
  const pa = s.pendingAdd!
  const mine = peerUrl(s, pa)
  const out: InitialPeer[] = []
  if (s.membership) {
    for (const m of s.membership.members) {
      const isMine = m.id === pa.memberId || m.peerUrls.includes(mine)
      const name = isMine ? pa.memberName : m.name
      const url = isMine ? mine : m.peerUrls[0]
      if (name && url && !out.some((p) => p.name === name)) out.push({name, peerUrl: url})
    }
  } else {
    for (const t of runningTasks(s)) out.push({name: t.memberName, peerUrl: peerUrl(s, t)})
  }
  if (!out.some((p) => p.name === pa.memberName)) out.push({name: pa.memberName, peerUrl: mine})
  return out
}

function planShrink(ctx: Ctx): void {
  const {s} = ctx
  if (!healthFresh(s) || s.memberOp) return
  const live = liveTasks(s)
  if (live.some((t) => t.decommission)) return
  const leader = s.health.verdict?.leader ?? null
  const key = (t: (typeof live)[number]): number[] => {
    const m = memberOfTask(s, t)
    return [
      t.state === 'TASK_RUNNING' ? 1 : 0,
      m?.isLearner ? 0 : 1,
      m && m.id === leader ? 1 : 0,
      -(memberIndexOf(s.config.clusterName, t.memberName) ?? 0),
    ]
  }
  const victim = [...live].sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!
    return 0
  })[0]
  if (!victim) return
  victim.decommission = true
  emit(
    ctx,
    log('info', 'cluster is larger than clusterSize: removing one member', {
      member: victim.memberName,
      taskId: victim.taskId,
      live: live.length,
      clusterSize: s.config.clusterSize,
    }),
  )
}
