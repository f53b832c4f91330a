/**
 * etcd membership: observations (MEMBER_LIST results) and membership changes (remove/promote here,
 * add in grow.ts). One change in flight at a time (`memberOp`), each bounded by memberOpTimeoutMs;
 * retryable failures wait memberOpRetryMs; etcd's "not now" answers wait memberAddRetryMs (at most memberOpRetryMs):
 * an add refused for now (grow.ts) and a promote refused because the learner is not in sync yet (LEARNER_NOT_READY).
 * Changes are only attempted while the latest health verdict is healthy (they need quorum anyway).
 *
 * Each member is classified as: backed by a live task (or a lost one whose etcd answers, see state.ts);
 *   belonging to a dead task (removed at once);
 *   the pending add's (backed while the add/launch is in progress); or unbacked (e.g. added but never
 *   started, or unknown) — removed once unbacked for memberGraceMs.
 * Priority: remove dead members → shrink (remove, then KILL) → remove unbacked → promote a running
 *   learner. Growth waits until none of these is pending (remove first, then add).
 */
import type {EtcdErrorCode} from '../../lib/etcd/errors.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import type {EtcdMember, SchedulerState, TaskRecord} from './state.js'
import {awaitingRelaunch} from './volumes.js'
import {
  allTasks,
  bumpTopology,
  clientUrl,
  isDeadState,
  liveTasks,
  memberMatchesTask,
  membershipFresh,
  peerUrl,
  runningTasks,
} from './state.js'

export type MemberClass = 'live' | 'dead' | 'pending' | 'unbacked'

export function classifyMember(s: SchedulerState, m: EtcdMember): MemberClass {
  const tasks = allTasks(s).filter((t) => memberMatchesTask(s, m, t))
  if (tasks.some((t) => !isDeadState(t.state) || t.answering === true)) return 'live'
  if (tasks.some((t) => awaitingRelaunch(s).includes(t))) return 'live' // relaunched on its volume (relaunch.ts), not removed
  if (tasks.length > 0) return 'dead'
  const pa = s.pendingAdd
  if (pa && (m.id === pa.memberId || m.peerUrls.includes(peerUrl(s, pa)))) return 'pending'
  return 'unbacked'
}

/** Client URLs to send a member operation through: voters first, members being decommissioned next, learners
 *  last (a learner refuses member operations: "rpc not supported for learner"); `exceptMember` left out. */
export function via(s: SchedulerState, exceptMember?: EtcdMember): string[] {
  const rank = (t: TaskRecord): number =>
    s.membership?.members.some((m) => m.isLearner && memberMatchesTask(s, m, t)) ? 2 : t.decommission ? 1 : 0
  return runningTasks(s)
    .filter((t) => !(exceptMember && memberMatchesTask(s, exceptMember, t)))
    .sort((a, b) => rank(a) - rank(b))
    .map((t) => clientUrl(s, t))
}

function dropDeadRecordsWithoutMember(s: SchedulerState): void {
  if (!s.membership) return
  for (const t of allTasks(s)) {
    if (isDeadState(t.state) && !s.membership.members.some((m) => memberMatchesTask(s, m, t))) delete s.tasks[t.taskId]
  }
}

export function onMemberList(ctx: Ctx, members: EtcdMember[]): void {
  const {s, now} = ctx
  s.membership = {
    members: members.map((m) => ({...m, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls]})),
    observedAt: now,
    gen: s.memberListReq?.gen ?? -1,
  }
  s.memberListReq = null
  const pa = s.pendingAdd
  if (pa && pa.phase === 'adding') {
    const m = members.find((x) => x.peerUrls.includes(peerUrl(s, pa)))
    if (m) {
      pa.phase = 'added'
      pa.memberId = m.id
      if (s.memberOp?.kind === 'add') s.memberOp = null
      emit(ctx, log('info', 'the pending member add is visible in the member list', {member: pa.memberName, memberId: m.id}))
    }
  }
  dropDeadRecordsWithoutMember(s)
}

export function onMemberListFailed(ctx: Ctx, message: string): void {
  const {s, now} = ctx
  s.memberListReq = {gen: s.memberListReq?.gen ?? -1, sentAt: s.memberListReq?.sentAt ?? now, retryAt: now + s.config.memberOpRetryMs}
  emit(ctx, log('warn', 'etcd member list failed', {error: message}))
}

export function onMemberAdded(ctx: Ctx, url: string, member: EtcdMember, members?: EtcdMember[]): void {
  const {s, now} = ctx
  if (s.memberOp?.kind === 'add') s.memberOp = null
  s.memberOpFailures = 0
  bumpTopology(s)
  s.health.checkWanted = true // plan.ts checks the new topology at once (observe.ts checkOnChange)
  if (members) s.membership = {members, observedAt: now, gen: s.topologyGen}
  else if (s.membership && !s.membership.members.some((m) => m.id === member.id)) s.membership.members.push(member)
  const pa = s.pendingAdd
  if (pa && peerUrl(s, pa) === url) {
    pa.phase = 'added'
    pa.memberId = member.id
    emit(ctx, log('info', 'etcd member added', {member: pa.memberName, memberId: member.id, peerUrl: url, learner: member.isLearner}))
    return
  }
  // A member list can show the add before its answer arrives: the member was adopted from it and launched.
  const launched = liveTasks(s).find((t) => peerUrl(s, t) === url)
  if (launched) {
    emit(
      ctx,
      log('info', 'etcd member added (seen in a member list first; its task is already launched)', {
        member: launched.memberName,
        memberId: member.id,
        peerUrl: url,
        learner: member.isLearner,
      }),
    )
    return
  }
  emit(
    ctx,
    log('warn', 'etcd member added for an abandoned launch: it will be removed after the grace period', {
      memberId: member.id,
      peerUrl: url,
    }),
  )
}

/** Add refusals etcd answers with until its own check passes; retried every memberAddRetryMs (the rest: memberOpRetryMs). */
const ADD_REFUSED_FOR_NOW: ReadonlySet<EtcdErrorCode> = new Set(['UNHEALTHY_CLUSTER', 'NO_LEADER'])

export function onMemberAddFailed(ctx: Ctx, url: string, code: EtcdErrorCode, retryable: boolean, message: string): void {
  const {s, now} = ctx
  if (s.memberOp?.kind === 'add') s.memberOp = null
  s.memberOpRetryAt = now + s.config.memberOpRetryMs
  s.memberOpFailures++
  const pa = s.pendingAdd
  if (!pa || peerUrl(s, pa) !== url) return
  if (code === 'PEER_URL_EXISTS' || code === 'TIMEOUT') {
    // it may have been applied: the next member list decides (adopted if present)
    if (s.membership) s.membership.gen = -1
    emit(ctx, log('info', 'member add outcome unknown; checking the member list', {member: pa.memberName, code, message}))
    return
  }
  if (retryable) {
    // etcd answered "not now" (e.g. peers connected < 5 s ago): ask again sooner, as the offer is held meanwhile
    const retryInMs = ADD_REFUSED_FOR_NOW.has(code)
      ? Math.min(s.config.memberAddRetryMs, s.config.memberOpRetryMs)
      : s.config.memberOpRetryMs
    s.memberOpRetryAt = now + retryInMs
    emit(
      ctx,
      log(s.memberOpFailures <= 1 ? 'info' : 'debug', 'etcd refused the member add for now; retrying', {
        member: pa.memberName,
        code,
        message,
        retryInMs,
        attempt: pa.attempts,
      }),
    )
    return
  }
  emit(ctx, log('error', 'etcd member add failed; giving up on this offer', {member: pa.memberName, code, message}))
  s.pendingAdd = null
}

function afterRemoval(ctx: Ctx, memberId: string): void {
  const {s, now} = ctx
  const fresh = membershipFresh(s)
  bumpTopology(s)
  s.health.checkWanted = true // plan.ts checks the new topology at once (observe.ts checkOnChange)
  delete s.unbackedSince[memberId]
  const m = s.membership?.members.find((x) => x.id === memberId)
  if (s.membership) {
    s.membership.members = s.membership.members.filter((x) => x.id !== memberId)
    if (fresh) s.membership.gen = s.topologyGen
  }
  if (!m) return
  for (const t of allTasks(s).filter((x) => memberMatchesTask(s, m, x))) {
    if (isDeadState(t.state)) {
      delete s.tasks[t.taskId]
    } else if (t.killRequestedAt === undefined) {
      t.killRequestedAt = now
      emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
      emit(
        ctx,
        log(t.decommission ? 'info' : 'warn', 'member removed from etcd: killing its task', {taskId: t.taskId, member: t.memberName}),
      )
    }
  }
}

export function onMemberRemoved(ctx: Ctx, memberId: string): void {
  const {s} = ctx
  if (s.memberOp?.kind === 'remove') s.memberOp = null
  s.memberOpFailures = 0
  emit(ctx, log('info', 'etcd member removed', {memberId}))
  afterRemoval(ctx, memberId)
}

export function onMemberRemoveFailed(ctx: Ctx, memberId: string, code: EtcdErrorCode, retryable: boolean, message: string): void {
  const {s, now} = ctx
  if (s.memberOp?.kind === 'remove') s.memberOp = null
  if (code === 'MEMBER_NOT_FOUND') {
    emit(ctx, log('info', 'etcd member already gone', {memberId}))
    afterRemoval(ctx, memberId)
    return
  }
  s.memberOpRetryAt = now + s.config.memberOpRetryMs
  s.memberOpFailures++
  emit(
    ctx,
    log(!retryable ? 'warn' : s.memberOpFailures <= 1 ? 'info' : 'debug', 'etcd member remove failed; will retry', {
      memberId,
      code,
      message,
    }),
  )
}

export function onMemberPromoted(ctx: Ctx, memberId: string): void {
  const {s} = ctx
  if (s.memberOp?.kind === 'promote') s.memberOp = null
  s.memberOpFailures = 0
  const fresh = membershipFresh(s)
  bumpTopology(s)
  s.health.checkWanted = true // plan.ts checks the new topology at once (observe.ts checkOnChange)
  const m = s.membership?.members.find((x) => x.id === memberId)
  if (m) m.isLearner = false
  if (s.membership && fresh) s.membership.gen = s.topologyGen
  emit(ctx, log('info', 'learner promoted to voting member', {memberId}))
}

export function onMemberPromoteFailed(ctx: Ctx, memberId: string, code: EtcdErrorCode, message: string): void {
  const {s, now} = ctx
  if (s.memberOp?.kind === 'promote') s.memberOp = null
  // a learner not caught up yet is usually a few hundred ms from it: asked again as soon as a refused add would be
  s.memberOpRetryAt =
    now + (code === 'LEARNER_NOT_READY' ? Math.min(s.config.memberAddRetryMs, s.config.memberOpRetryMs) : s.config.memberOpRetryMs)
  s.memberOpFailures++
  emit(
    ctx,
    log(code !== 'LEARNER_NOT_READY' ? 'warn' : s.memberOpFailures <= 1 ? 'info' : 'debug', 'learner promotion failed; will retry', {
      memberId,
      code,
      message,
    }),
  )
}

export type MemberOpsStatus = 'busy' | 'blocked' | 'clear'

/** Issues at most one membership change; tells growth whether it may proceed. */
export function planMemberOps(ctx: Ctx): MemberOpsStatus {
  const {s, now} = ctx
  if (s.memberOp) {
    if (now - s.memberOp.sentAt < s.config.memberOpTimeoutMs) return 'busy'
    emit(
      ctx,
      log('warn', 'etcd membership change got no answer in time; retrying', {op: s.memberOp.kind, memberId: s.memberOp.memberId ?? null}),
    )
    s.memberOp = null
  }
  if (!s.membership) return 'blocked'
  const members = s.membership.members
  const classes = new Map(members.map((m) => [m.id, classifyMember(s, m)] as const))
  for (const m of members) {
    if (classes.get(m.id) === 'unbacked') s.unbackedSince[m.id] ??= now
    else delete s.unbackedSince[m.id]
  }
  for (const id of Object.keys(s.unbackedSince)) if (!classes.has(id)) delete s.unbackedSince[id]

  // a decommissioned task whose member is already gone: just kill it
  for (const t of allTasks(s)) {
    if (t.decommission && !isDeadState(t.state) && t.killRequestedAt === undefined && !members.some((m) => memberMatchesTask(s, m, t))) {
      t.killRequestedAt = now
      emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
    }
  }
  const dead = members.filter((m) => classes.get(m.id) === 'dead')
  const shrinking = members.filter((m) => allTasks(s).some((t) => t.decommission && !isDeadState(t.state) && memberMatchesTask(s, m, t)))
  const unbacked = members.filter((m) => classes.get(m.id) === 'unbacked')
  const expired = unbacked.filter((m) => now - s.unbackedSince[m.id]! >= s.config.memberGraceMs)
  const learners = members.filter((m) => m.isLearner && m.name !== '' && runningTasks(s).some((t) => memberMatchesTask(s, m, t)))
  const blocked = dead.length + shrinking.length + unbacked.length + members.filter((m) => m.isLearner).length > 0
  if (now < s.memberOpRetryAt || !s.health.verdict?.healthy) return blocked ? 'blocked' : 'clear'

  const remove = dead[0] ?? shrinking[0] ?? expired[0]
  if (remove) {
    const urls = via(s, remove)
    if (urls.length === 0) return 'blocked'
    s.memberOp = {kind: 'remove', memberId: remove.id, sentAt: now}
    emit(ctx, {type: 'MEMBER_REMOVE', memberId: remove.id, via: urls})
    emit(
      ctx,
      log('info', 'removing etcd member', {
        memberId: remove.id,
        name: remove.name,
        why: classes.get(remove.id) === 'unbacked' ? 'not backed by any task' : dead.includes(remove) ? 'its task ended' : 'shrinking',
      }),
    )
    return 'busy'
  }
  const learner = learners[0]
  if (learner) {
    const urls = via(s, learner)
    if (urls.length === 0) return 'blocked' // no running member but the learner itself, which refuses it
    s.memberOp = {kind: 'promote', memberId: learner.id, sentAt: now}
    emit(ctx, {type: 'MEMBER_PROMOTE', memberId: learner.id, via: urls})
    return 'busy'
  }
  return blocked ? 'blocked' : 'clear'
}
