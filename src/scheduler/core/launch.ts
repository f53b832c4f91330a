/**
 * Offers and launches: holding/declining offers, REVIVE/SUPPRESS, building TaskInfo (with the
 * MemberConfig in TaskInfo.data), and the first bootstrap.
 *
 * Offers are held in state only while useful: during the first bootstrap (to gather `clusterSize`
 * distinct agents, at most bootstrapWaitMs) and for a pending member add (at most offerHoldMs). Every
 * other offer is declined with refuse_seconds at the end of each step.
 * REVIVE/SUPPRESS: REVIVE when offers become wanted (MUTABLE and a member missing), SUPPRESS when not.
 *   A usable offer declined while wanted (e.g. a removal still in flight, a health verdict awaited) is
 *   remembered; when growth is next ready and holds no usable offer, REVIVE again (clears the
 *   refuse filter) instead of waiting refuse_seconds.
 * Bootstrap (never bootstrapped, no live task): with matching offers from clusterSize distinct agents
 *   (and hosts, with singleInstancePerHost) launch the whole cluster at once, state 'new', static
 *   initial cluster; after bootstrapWaitMs with fewer, launch one member alone ('new') and grow.
 * Invariants: one member per agent (per host with singleInstancePerHost); never more launches than
 *   clusterSize - live tasks; PERSIST (task records) precedes ACCEPT in the batch.
 */
import type {Offer, OfferOperation, TaskInfo} from '../../lib/mesos/types.js'
import type {InitialPeer, MemberConfig} from '../../lib/member-config.js'
import {encodeMemberConfig, validateMemberConfig} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {memberName, randomHex, taskIdFor} from './ids.js'
import type {OfferConstraints, OfferMatch} from './offers.js'
import {matchOffer} from './offers.js'
import type {SchedulerState} from './state.js'
import {answeringTasks, bumpTopology, liveTasks, peerUrl} from './state.js'
import {mayMutate, subscribed} from './mode.js'

export function onOffers(ctx: Ctx, offers: Offer[]): void {
  const {s, now} = ctx
  for (const o of offers) {
    if (!o?.id?.value || !o.agent_id?.value) continue
    s.offers[o.id.value] = {offer: o, receivedAt: now}
  }
}

export function onRescind(ctx: Ctx, offerId: string): void {
  const {s} = ctx
  delete s.offers[offerId]
  if (s.pendingAdd?.offerId === offerId) s.pendingAdd.offerId = null
}

/** Declines every held offer the planner did not keep this step (one DECLINE per offer). */
export function declineUnkept(ctx: Ctx): void {
  const {s} = ctx
  const wanted = offersWanted(s)
  for (const id of Object.keys(s.offers).sort()) {
    if (ctx.keepOffers.has(id)) continue
    if (wanted && !s.declinedWanted && matchOffer(s.offers[id]!.offer, request(s), constraintsFor(s)).ok) s.declinedWanted = true
    delete s.offers[id]
    emit(ctx, {type: 'DECLINE', offerIds: [id], filters: {refuse_seconds: s.config.refuseSeconds}})
  }
}

export function offersWanted(s: SchedulerState): boolean {
  if (!mayMutate(s)) return false
  const live = liveTasks(s).filter((t) => !t.decommission).length + answeringTasks(s).length
  return live < s.config.clusterSize || (s.pendingAdd !== null && s.pendingAdd.offerId === null)
}

export function planSuppression(ctx: Ctx): void {
  const {s} = ctx
  if (!subscribed(s)) return
  const want = offersWanted(s)
  if (want === s.offersWanted) {
    if (want && ctx.readyForOffer && s.declinedWanted) {
      s.declinedWanted = false
      emit(ctx, {type: 'REVIVE'})
      emit(ctx, log('debug', 'ready to launch: reviving offers declined while busy'))
    }
    return
  }
  s.offersWanted = want
  s.declinedWanted = false
  emit(ctx, want ? {type: 'REVIVE'} : {type: 'SUPPRESS'})
}

export function constraintsFor(s: SchedulerState, extra: OfferConstraints = {}): OfferConstraints {
  const busyAgents = new Set<string>()
  const busyHosts = new Set<string>()
  for (const t of liveTasks(s)) {
    if (s.config.singleInstancePerAgent) busyAgents.add(t.agentId)
    if (s.config.singleInstancePerHost) busyHosts.add(t.hostname)
  }
  for (const st of Object.values(s.strays)) if (st.agentId && s.config.singleInstancePerAgent) busyAgents.add(st.agentId)
  return {busyAgents, busyHosts, ...extra}
}

export function request(s: SchedulerState) {
  const c = s.config
  return {cpus: c.cpus, mem: c.mem, disk: c.disk, executorCpus: c.executorCpus, executorMem: c.executorMem}
}

/** Allocates the next member name and a task id for it. */
export function allocateMember(s: SchedulerState): {memberName: string; taskId: string} {
  const name = memberName(s.config.clusterName, s.nextMemberIndex++)
  return {memberName: name, taskId: taskIdFor(name, randomHex(s, 8))}
}

export function buildMemberConfig(s: SchedulerState, name: string, m: {hostname: string; peerPort: number; clientPort: number}, initialCluster: InitialPeer[], state: 'new' | 'existing'): MemberConfig {
  const c = s.config
  const cfg: MemberConfig = {
    version: 1,
    cluster: {name: c.clusterName, token: s.clusterToken},
    member: {name, host: m.hostname, peerPort: m.peerPort, clientPort: m.clientPort},
    initialCluster,
    initialClusterState: state,
    scheme: c.scheme,
  }
  if (c.dataDir !== undefined) cfg.dataDir = c.dataDir
  if (c.etcdBin !== undefined) cfg.etcdBin = c.etcdBin
  if (c.extraArgs !== undefined) cfg.extraArgs = [...c.extraArgs]
  if (c.tls !== undefined) cfg.tls = {...c.tls}
  return validateMemberConfig(cfg)
}

export function buildTaskInfo(s: SchedulerState, match: Extract<OfferMatch, {ok: true}>, name: string, taskId: string, cfg: MemberConfig): TaskInfo {
  const c = s.config
  return {
    name,
    task_id: {value: taskId},
    agent_id: {value: match.agentId},
    resources: match.taskResources,
    executor: {
      type: 'CUSTOM',
      executor_id: {value: taskId},
      ...(s.frameworkId ? {framework_id: {value: s.frameworkId}} : {}),
      name: `etcd-mesos executor for ${name}`,
      source: c.clusterName,
      command: structuredClone(c.executorCommand),
      resources: match.executorResources,
    },
    data: encodeMemberConfig(cfg),
    labels: {labels: [{key: 'etcd-mesos/cluster', value: c.clusterName}, {key: 'etcd-mesos/member', value: name}]},
    discovery: {
      visibility: 'EXTERNAL',
      name: c.clusterName,
      ports: {ports: [{number: match.peerPort, name: 'peer', protocol: 'tcp'}, {number: match.clientPort, name: 'client', protocol: 'tcp'}]},
    },
  }
}

/** Builds and validates a MemberConfig; null (and a LOG) if it is not valid. */
export function tryMemberConfig(ctx: Ctx, name: string, m: {hostname: string; peerPort: number; clientPort: number}, initialCluster: InitialPeer[], state: 'new' | 'existing'): MemberConfig | null {
  try {
    return buildMemberConfig(ctx.s, name, m, initialCluster, state)
  } catch (err) {
    emit(ctx, log('error', 'cannot build the member config; not launching', {member: name, error: (err as Error).message}))
    return null
  }
}

/** Records the task (persisted before the ACCEPT runs) and returns the LAUNCH operation. */
export function launchOperation(ctx: Ctx, match: Extract<OfferMatch, {ok: true}>, name: string, taskId: string, cfg: MemberConfig): OfferOperation {
  const {s, now} = ctx
  s.tasks[taskId] = {
    taskId, memberName: name, agentId: match.agentId, hostname: match.hostname, peerPort: match.peerPort, clientPort: match.clientPort,
    state: 'TASK_STAGING', initialClusterState: cfg.initialClusterState, launchedAt: now, lastUpdateAt: now,
  }
  s.stats.launched_servers++
  s.stats.last_launch_at = now
  bumpTopology(s)
  emit(ctx, log('info', 'launching etcd member', {
    member: name, taskId, agentId: match.agentId, host: match.hostname, peerPort: match.peerPort, clientPort: match.clientPort,
    state: cfg.initialClusterState, initialCluster: cfg.initialCluster.map((p) => p.name),
  }))
  return {type: 'LAUNCH', launch: {task_infos: [buildTaskInfo(s, match, name, taskId, cfg)]}}
}

export function accept(ctx: Ctx, offerId: string, op: OfferOperation): void {
  delete ctx.s.offers[offerId]
  ctx.keepOffers.delete(offerId)
  emit(ctx, {type: 'ACCEPT', offerIds: [offerId], operations: [op], filters: {refuse_seconds: ctx.s.config.refuseSeconds}})
}

/** Matching held offers, at most one per agent (and host with singleInstancePerHost), oldest first. */
export function distinctMatches(ctx: Ctx): Extract<OfferMatch, {ok: true}>[] {
  const {s} = ctx
  const c = constraintsFor(s)
  const agents = new Set(c.busyAgents)
  const hosts = new Set(c.busyHosts)
  const out: Extract<OfferMatch, {ok: true}>[] = []
  const held = Object.values(s.offers).sort((a, b) => a.receivedAt - b.receivedAt || (a.offer.id.value < b.offer.id.value ? -1 : 1))
  for (const {offer} of held) {
    const m = matchOffer(offer, request(s), {busyAgents: agents, busyHosts: hosts})
    if (!m.ok) {
      emit(ctx, log('debug', 'offer not usable', {offerId: m.offerId, agentId: m.agentId, reason: m.reason}))
      continue
    }
    out.push(m)
    if (s.config.singleInstancePerAgent) agents.add(m.agentId)
    if (s.config.singleInstancePerHost) hosts.add(m.hostname)
  }
  return out
}

export function planBootstrap(ctx: Ctx): void {
  const {s, now} = ctx
  const size = s.config.clusterSize
  const matches = distinctMatches(ctx)
  if (matches.length === 0) return
  s.bootstrapWaitStart ??= now
  const waited = now - s.bootstrapWaitStart >= s.config.bootstrapWaitMs
  if (matches.length < size && !waited) {
    for (const m of matches) ctx.keepOffers.add(m.offerId)
    return
  }
  const chosen = matches.length >= size ? matches.slice(0, size) : matches.slice(0, 1)
  const names = chosen.map(() => allocateMember(s))
  const initial: InitialPeer[] = chosen.map((m, i) => ({name: names[i]!.memberName, peerUrl: peerUrl(s, m)}))
  const cfgs = chosen.map((m, i) => tryMemberConfig(ctx, names[i]!.memberName, m, initial, 'new'))
  if (cfgs.some((c) => c === null)) return
  emit(ctx, log('info', chosen.length > 1 ? 'bootstrapping the whole cluster at once' : 'bootstrapping with one member; the rest will join one at a time', {members: initial.map((p) => p.name)}))
  chosen.forEach((m, i) => accept(ctx, m.offerId, launchOperation(ctx, m, names[i]!.memberName, names[i]!.taskId, cfgs[i]!)))
  s.bootstrapWaitStart = null
}
