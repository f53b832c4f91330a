/**
 * Offers and launches, as actions: storing offers, turning the offer planner's decisions
 * (offer-planner.ts: which offer for which launch, hold, decline, REVIVE/SUPPRESS) into ACCEPT /
 * DECLINE / REVIVE / SUPPRESS, building TaskInfo (with the MemberConfig in TaskInfo.data), and the
 * first bootstrap.
 *
 * Offers are held in state only while the offer planner keeps them: during the first bootstrap (to
 * gather `clusterSize` distinct agents, at most bootstrapWaitMs) and for a pending member add (at most
 * offerHoldMs). Every other offer is declined with refuse_seconds at the end of each step.
 * Bootstrap (never bootstrapped, no live task): with matching offers from clusterSize distinct agents
 *   (and hosts, with singleInstancePerHost) launch the whole cluster at once, state 'new', static
 *   initial cluster; after bootstrapWaitMs with fewer, launch one member alone ('new') and grow. During a
 *   restore's bootstrap (restore.ts) every 'new' member carries the MemberRestore.
 * Invariants: one member per agent (per host with singleInstancePerHost); never more launches than
 *   clusterSize - live tasks; PERSIST (task records) precedes ACCEPT in the batch.
 */
import type {Offer, OfferOperation, TaskInfo} from '../../lib/mesos/types.js'
import type {InitialPeer, MemberConfig, MemberRestore} from '../../lib/member-config.js'
import {encodeMemberConfig, validateMemberConfig} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {memberName, randomHex, taskIdFor} from './ids.js'
import {desiredSpec} from './rollout-spec.js'
import type {OfferRound, Rejection} from './offer-planner.js'
import {decideWant, heldOffers, launchFailed, settleOffers} from './offer-planner.js'
import type {OfferMatch} from './offers.js'
import {releaseFor} from './release.js'
import {memberRestore, noteRestoreLaunch} from './restore.js'
import type {SchedulerState, VolumeRecord} from './state.js'
import {bumpTopology, peerUrl} from './state.js'
import {reserveAndCreate, volumeRole} from './volumes.js'

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

/** Answers every held offer the offer planner does not keep: an ACCEPT of DESTROY + UNRESERVE when it holds a
 *  volume and reservation to release (release.ts; first, so that REVIVE/SUPPRESS sees what is left to release),
 *  else a DECLINE (one per offer); then REVIVE/SUPPRESS. */
export function finishOffers(ctx: Ctx, round: OfferRound): void {
  const {s} = ctx
  const filters = {refuse_seconds: s.config.refuseSeconds}
  const held = heldOffers(round)
  for (const id of Object.keys(s.offers).sort()) {
    if (held.has(id)) continue
    const release = releaseFor(ctx, s.offers[id]!.offer)
    if (!release) continue
    delete s.offers[id]
    emit(ctx, {type: 'ACCEPT', offerIds: [id], operations: release, filters})
  }
  const st = settleOffers(s, round)
  for (const o of st.offers) {
    if (o.decision !== 'decline') continue
    delete s.offers[o.offerId]
    emit(ctx, {type: 'DECLINE', offerIds: [o.offerId], filters})
  }
  s.offersWanted = st.offersWanted
  s.declinedWanted = st.declinedWanted
  if (st.signal) emit(ctx, {type: st.signal})
  if (st.afterBusy) emit(ctx, log('debug', 'ready to launch: reviving offers declined while busy'))
}

/** Logs (debug) the held offers a want could not use. */
export function logUnusable(ctx: Ctx, rejected: Rejection[]): void {
  for (const r of rejected) emit(ctx, log('debug', 'offer not usable', {offerId: r.offerId, agentId: r.agentId, reason: r.reason}))
}

/** Allocates the next member name and a task id for it. */
export function allocateMember(s: SchedulerState): {memberName: string; taskId: string} {
  const name = memberName(s.config.clusterName, s.nextMemberIndex++)
  return {memberName: name, taskId: taskIdFor(name, randomHex(s, 8))}
}

export function buildMemberConfig(
  s: SchedulerState,
  name: string,
  m: {hostname: string; peerPort: number; clientPort: number},
  initialCluster: InitialPeer[],
  state: 'new' | 'existing',
): MemberConfig {
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
  if (c.quotaBackendBytes !== undefined) cfg.quotaBackendBytes = c.quotaBackendBytes
  if (c.autoCompaction !== undefined) cfg.autoCompaction = {...c.autoCompaction}
  if (c.tls !== undefined) cfg.tls = {...c.tls}
  if (c.tlsContent !== undefined) cfg.tlsContent = {...c.tlsContent}
  return withRestore(validateMemberConfig(cfg), state === 'new' ? memberRestore(s) : null)
}

/** A restore's bootstrap (restore.ts): members launched 'new' start from the backup. */
function withRestore(cfg: MemberConfig, restore: MemberRestore | null): MemberConfig {
  return restore ? {...cfg, restore} : cfg
}

export function buildTaskInfo(
  s: SchedulerState,
  match: Extract<OfferMatch, {ok: true}>,
  name: string,
  taskId: string,
  cfg: MemberConfig,
): TaskInfo {
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
    labels: {
      labels: [
        {key: 'etcd-mesos/cluster', value: c.clusterName},
        {key: 'etcd-mesos/member', value: name},
      ],
    },
    discovery: {
      visibility: 'EXTERNAL',
      name: c.clusterName,
      ports: {
        ports: [
          {number: match.peerPort, name: 'peer', protocol: 'tcp'},
          {number: match.clientPort, name: 'client', protocol: 'tcp'},
        ],
      },
    },
  }
}

/** Builds and validates a MemberConfig; null (and a LOG) if it is not valid. */
export function tryMemberConfig(
  ctx: Ctx,
  name: string,
  m: {hostname: string; peerPort: number; clientPort: number},
  initialCluster: InitialPeer[],
  state: 'new' | 'existing',
): MemberConfig | null {
  try {
    return buildMemberConfig(ctx.s, name, m, initialCluster, state)
  } catch (err) {
    emit(ctx, log('error', 'cannot build the member config; not launching', {member: name, error: (err as Error).message}))
    return null
  }
}

/**
 * Records the task (persisted before the ACCEPT runs) and returns the operations of its ACCEPT: the LAUNCH, and
 * with a role, for a new member (`volume` 'new'), RESERVE + CREATE before it (volumes.ts; the member's data dir
 * is the volume's container path). `volume` a record: a relaunch on that volume (LAUNCH only, data dir = its
 * container path). null: no volume (today's sandbox data dir).
 */
export function launchOperation(
  ctx: Ctx,
  match: Extract<OfferMatch, {ok: true}>,
  name: string,
  taskId: string,
  cfg: MemberConfig,
  volume: VolumeRecord | null | 'new' = 'new',
): OfferOperation[] {
  const {s, now} = ctx
  const ops: OfferOperation[] = []
  let vol: VolumeRecord | null = volume === 'new' ? null : volume
  if (volume === 'new' && volumeRole(s.config)) {
    const rc = reserveAndCreate(s, match, name, now)
    if (rc) {
      ops.push({type: 'RESERVE', reserve: {resources: rc.reserve}}, {type: 'CREATE', create: {volumes: [rc.volume]}})
      match = rc.match
      vol = rc.record
      s.volumes[vol.persistenceId] = vol
      emit(
        ctx,
        log('info', 'reserving resources and creating a persistent volume for the member', {
          member: name,
          agentId: match.agentId,
          persistenceId: vol.persistenceId,
          role: vol.role,
          reserved: vol.reserved,
        }),
      )
    } else emit(ctx, log('warn', 'no single disk resource to make a volume from: launching without a volume', {member: name}))
  }
  if (vol) cfg = withRestore(validateMemberConfig({...cfg, dataDir: vol.containerPath}), cfg.restore ?? null)
  if (cfg.restore) noteRestoreLaunch(s, taskId)
  s.tasks[taskId] = {
    taskId,
    memberName: name,
    agentId: match.agentId,
    hostname: match.hostname,
    peerPort: match.peerPort,
    clientPort: match.clientPort,
    state: 'TASK_STAGING',
    initialClusterState: cfg.initialClusterState,
    launchedAt: now,
    lastUpdateAt: now,
    ...(vol ? {volumeId: vol.persistenceId} : {}),
    spec: desiredSpec(s.config),
  }
  s.stats.launched_servers++
  s.stats.last_launch_at = now
  bumpTopology(s)
  emit(
    ctx,
    log('info', 'launching etcd member', {
      member: name,
      taskId,
      agentId: match.agentId,
      host: match.hostname,
      peerPort: match.peerPort,
      clientPort: match.clientPort,
      state: cfg.initialClusterState,
      initialCluster: cfg.initialCluster.map((p) => p.name),
      ...(vol ? {volume: vol.persistenceId} : {}),
    }),
  )
  ops.push({type: 'LAUNCH', launch: {task_infos: [buildTaskInfo(s, match, name, taskId, cfg)]}})
  return ops
}

export function accept(ctx: Ctx, offerId: string, ops: OfferOperation | OfferOperation[]): void {
  delete ctx.s.offers[offerId]
  const operations = Array.isArray(ops) ? ops : [ops]
  emit(ctx, {type: 'ACCEPT', offerIds: [offerId], operations, filters: {refuse_seconds: ctx.s.config.refuseSeconds}})
}

/** The first bootstrap: launches what the offer planner chose (the whole cluster, or one member after bootstrapWaitMs). */
export function planBootstrap(ctx: Ctx, round: OfferRound): void {
  const {s, now} = ctx
  const d = decideWant(
    s,
    round,
    {kind: 'bootstrap', size: s.config.clusterSize, waitingSince: s.bootstrapWaitStart, waitMs: s.config.bootstrapWaitMs},
    now,
  )
  logUnusable(ctx, d.rejected)
  if (d.type === 'wait') return
  s.bootstrapWaitStart ??= now
  if (d.type !== 'launch') return
  const chosen = d.matches
  const names = chosen.map(() => allocateMember(s))
  const initial: InitialPeer[] = chosen.map((m, i) => ({name: names[i]!.memberName, peerUrl: peerUrl(s, m)}))
  const cfgs = chosen.map((m, i) => tryMemberConfig(ctx, names[i]!.memberName, m, initial, 'new'))
  if (cfgs.some((c) => c === null)) return launchFailed(round, d, 'invalid member config')
  emit(
    ctx,
    log(
      'info',
      chosen.length > 1 ? 'bootstrapping the whole cluster at once' : 'bootstrapping with one member; the rest will join one at a time',
      {members: initial.map((p) => p.name)},
    ),
  )
  chosen.forEach((m, i) => {
    accept(ctx, m.offerId, launchOperation(ctx, m, names[i]!.memberName, names[i]!.taskId, cfgs[i]!))
  })
  s.bootstrapWaitStart = null
}
