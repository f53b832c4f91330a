/**
 * Dynamic reservations and persistent volumes (with a role other than '*'): pure helpers on offers and
 * resources. The planners (relaunch.ts, launch.ts, offer-planner.ts) decide; this module only reads and
 * builds resources.
 *
 * A new member: its resources (task and executor cpus and mem, disk, its two ports) are taken from the
 *   UNRESERVED part of an offer, then one ACCEPT holds RESERVE (each resource with one more reservation:
 *   DYNAMIC, the role, the principal, labels etcd-mesos/cluster and etcd-mesos/member), CREATE (the reserved
 *   disk as a volume: persistence id `etcd-mesos.<cluster>.<member>.<hex>`, container path, RW) and LAUNCH
 *   (the reserved resources and the volume). Mesos applies them in order (fixture surprise 36).
 * A relaunch: only the resources reserved for that member (its labels) and its volume (its persistence id).
 * Ownership: a reserved resource is this cluster's when its last reservation has our role and our cluster
 *   label; a volume also needs a persistence id naming our cluster and the same member. Anything else is
 *   never touched.
 */
import type {Label, Offer, ReservationInfo, Resource} from '../../lib/mesos/types.js'
import type {SchedulerConfig} from './config.js'
import {randomHex} from './ids.js'
import type {OfferConstraints, OfferMatch, ResourceRequest} from './offers.js'
import {matchOffer} from './offers.js'
import type {SchedulerState, TaskRecord, VolumeRecord} from './state.js'
import {allTasks, deadTasks, isDeadState, memberOfTask} from './state.js'

export const CLUSTER_LABEL = 'etcd-mesos/cluster'
export const MEMBER_LABEL = 'etcd-mesos/member'
const PID_PREFIX = 'etcd-mesos'

type Match = Extract<OfferMatch, {ok: true}>

/** The role reservations are made for, or null when volumes are off ('*' or no role). */
export function volumeRole(c: SchedulerConfig): string | null {
  return c.role !== undefined && c.role !== '*' ? c.role : null
}

export function isReservedResource(r: Resource): boolean {
  return (
    (r.role !== undefined && r.role !== '*') || (Array.isArray(r.reservations) && r.reservations.length > 0) || r.reservation !== undefined
  )
}

/** The offer with only its unreserved resources (no volume, no reservation), the largest plain disk alone
 *  (a volume is made from one resource). */
export function unreservedView(offer: Offer): Offer {
  const plain = (offer.resources ?? []).filter((r) => !isReservedResource(r) && r.disk === undefined && r.revocable === undefined)
  const disks = plain.filter((r) => r.name === 'disk')
  const biggest = [...disks].sort((a, b) => (b.scalar?.value ?? 0) - (a.scalar?.value ?? 0))[0]
  return {...offer, resources: plain.filter((r) => r.name !== 'disk' || r === biggest)}
}

/** Matches a NEW member: in volume mode only the unreserved part of the offer is looked at. */
export function matchNew(s: SchedulerState, offer: Offer, req: ResourceRequest, c: OfferConstraints): OfferMatch {
  return matchOffer(volumeRole(s.config) ? unreservedView(offer) : offer, req, c)
}

export function persistenceIdFor(s: SchedulerState, member: string): string {
  return `${PID_PREFIX}.${s.config.clusterName}.${member}.${randomHex(s, 8)}`
}

/** {cluster, member} of one of our persistence ids (cluster names have no '.'), else null. */
export function parsePersistenceId(pid: string): {cluster: string; member: string} | null {
  const parts = pid.split('.')
  if (parts.length !== 4 || parts[0] !== PID_PREFIX || !parts[1] || !parts[2] || !/^[0-9a-f]+$/.test(parts[3] ?? '')) return null
  return {cluster: parts[1], member: parts[2]}
}

function labelValue(labels: Label[] | undefined, key: string): string | null {
  const l = labels?.find((x) => x.key === key)
  return typeof l?.value === 'string' ? l.value : null
}

/** The member a resource is reserved for, when it is reserved to our role with our cluster's label. */
export function reservedMember(s: SchedulerState, r: Resource): string | null {
  const role = volumeRole(s.config)
  const last: ReservationInfo | undefined = Array.isArray(r.reservations) ? r.reservations[r.reservations.length - 1] : undefined
  if (!role || !last || last.type !== 'DYNAMIC' || last.role !== role) return null
  if (labelValue(last.labels?.labels, CLUSTER_LABEL) !== s.config.clusterName) return null
  return labelValue(last.labels?.labels, MEMBER_LABEL)
}

export function volumeId(r: Resource): string | null {
  return r.name === 'disk' && typeof r.disk?.persistence?.id === 'string' ? r.disk.persistence.id : null
}

/** `r` with one more reservation (to the role, for `member`); the pre-refinement `role`/`reservation` dropped. */
function reserved(s: SchedulerState, r: Resource, member: string): Resource {
  const {role: _role, reservation: _old, ...rest} = structuredClone(r)
  const resv: ReservationInfo = {type: 'DYNAMIC', role: volumeRole(s.config)!}
  if (s.config.principal !== undefined) resv.principal = s.config.principal
  resv.labels = {
    labels: [
      {key: CLUSTER_LABEL, value: s.config.clusterName},
      {key: MEMBER_LABEL, value: member},
    ],
  }
  return {...rest, reservations: [...(r.reservations ?? []), resv]}
}

function sum(rs: Resource[], name: string): number {
  return Math.round(rs.filter((r) => r.name === name).reduce((a, r) => a + (r.scalar?.value ?? 0), 0) * 1000) / 1000
}

/**
 * RESERVE + CREATE for a new member on `match` (from the unreserved view), the match rewritten to use the
 * reserved resources and the volume, and the volume's record. Null when the match holds no single disk.
 */
export function reserveAndCreate(
  s: SchedulerState,
  match: Match,
  member: string,
  now: number,
): {reserve: Resource[]; volume: Resource; match: Match; record: VolumeRecord} | null {
  const disks = match.taskResources.filter((r) => r.name === 'disk')
  if (disks.length !== 1) return null
  const pid = persistenceIdFor(s, member)
  const task = match.taskResources.map((r) => reserved(s, r, member))
  const exec = match.executorResources.map((r) => reserved(s, r, member))
  const disk = task.find((r) => r.name === 'disk')!
  const volume: Resource = {
    ...structuredClone(disk),
    disk: {
      persistence: {id: pid, ...(s.config.principal !== undefined ? {principal: s.config.principal} : {})},
      volume: {mode: 'RW', container_path: s.config.volumeContainerPath},
    },
  }
  const all = [...exec, ...task]
  const record: VolumeRecord = {
    persistenceId: pid,
    memberName: member,
    agentId: match.agentId,
    hostname: match.hostname,
    role: volumeRole(s.config)!,
    containerPath: s.config.volumeContainerPath,
    reserved: {cpus: sum(all, 'cpus'), mem: sum(all, 'mem'), disk: sum(all, 'disk'), ports: [match.peerPort, match.clientPort]},
    createdAt: now,
  }
  if (s.config.principal !== undefined) record.principal = s.config.principal
  return {
    reserve: all,
    volume,
    match: {...match, taskResources: [...task.filter((r) => r.name !== 'disk'), volume], executorResources: exec},
    record,
  }
}

/**
 * A relaunch of `vol`'s member on `offer`: only the resources reserved for it, its own ports, and its volume.
 */
export function matchRelaunch(s: SchedulerState, offer: Offer, vol: VolumeRecord, req: ResourceRequest): OfferMatch {
  const no = (reason: string): OfferMatch => ({ok: false, offerId: offer.id.value, agentId: offer.agent_id.value, reason})
  if (offer.agent_id.value !== vol.agentId) return no(`waiting for an offer from agent ${vol.agentId} (volume ${vol.persistenceId})`)
  const volume = (offer.resources ?? []).find((r) => volumeId(r) === vol.persistenceId)
  if (!volume || reservedMember(s, volume) !== vol.memberName) return no(`the offer does not hold volume ${vol.persistenceId}`)
  const mine = (offer.resources ?? []).filter((r) => r.disk === undefined && reservedMember(s, r) === vol.memberName)
  const m = matchOffer(
    {...offer, resources: mine},
    {...req, disk: 0},
    {agentId: vol.agentId, ports: {peer: vol.reserved.ports[0]!, client: vol.reserved.ports[1]!}},
  )
  if (!m.ok) return no(`the reservation of ${vol.memberName}: ${m.reason}`)
  return {...m, taskResources: [...m.taskResources, structuredClone(volume)]}
}

/** A member's records use its volume, or etcd (may) list it: the reservation and volume are not to be touched. */
export function memberInUse(s: SchedulerState, member: string): boolean {
  if (Object.values(s.tasks).some((t) => t.memberName === member)) return true
  if (s.pendingAdd?.memberName === member) return true
  if (!s.bootstrapped) return false
  return s.membership === null || s.membership.members.some((m) => m.name === member)
}

/**
 * Whether `member`'s reservation on `agentId` must not be touched at all: a dead task record of the member on that
 * agent (a relaunch may need it), the pending add of the member there, or etcd (maybe) listing the member while no
 * task record says where it runs. A member's task and volume are always on one agent, so a live member of that
 * name elsewhere (the name given again after a crash lost the member counter) does not make this agent's
 * reservation its own; a RUNNING task of the member on that agent holds its own resources allocated, and allocated
 * resources are never offered (release.ts partsOf).
 */
export function reservationInUse(s: SchedulerState, member: string, agentId: string): boolean {
  const tasks = Object.values(s.tasks).filter((t) => t.memberName === member)
  if (tasks.some((t) => t.agentId === agentId && isDeadState(t.state))) return true
  if (s.pendingAdd?.memberName === member && s.pendingAdd.agentId === agentId) return true
  return tasks.length === 0 && s.pendingAdd?.memberName !== member && memberInUse(s, member)
}

/** A retired volume, or a leftover reservation seen in an offer, waits to be released, or the leftover sweep after
 *  a subscription is on (`sweepUntil`): offers are wanted. */
export function releasePending(s: SchedulerState): boolean {
  if (!volumeRole(s.config)) return false
  if (s.sweepUntil !== null) return true
  return Object.keys(s.leftovers).length > 0 || Object.values(s.volumes).some((v) => v.retiredAt !== undefined)
}

/** Declined offers come back every refuse period: a leftover unseen this long is gone (its agent went away). */
function forgetAfter(s: SchedulerState): number {
  return s.config.leftoverGraceMs + 2 * s.config.refuseSeconds * 1000
}

/** The next time updateSweep changes something (for the wake timer), or null. */
export function nextSweepChange(s: SchedulerState): number | null {
  const t = Object.values(s.leftovers).map((l) => l.last + forgetAfter(s))
  if (s.sweepUntil !== null) t.push(s.sweepUntil)
  return t.length > 0 ? Math.min(...t) : null
}

/**
 * Leftovers are only seen in offers: for leftoverGraceMs plus two refuse periods after each subscription (a
 * restart, a new master), offers are wanted even when the cluster is complete, so that a leftover is seen
 * twice, grace apart. Sets or clears `sweepUntil`; forgets leftovers not seen again for as long.
 */
export function updateSweep(s: SchedulerState, now: number): void {
  for (const [key, seen] of Object.entries(s.leftovers)) if (now - seen.last >= forgetAfter(s)) delete s.leftovers[key]
  const since = s.connection.subscribedSince
  const until = since === null ? null : since + s.config.leftoverGraceMs + 2 * s.config.refuseSeconds * 1000
  s.sweepUntil = volumeRole(s.config) && until !== null && now < until ? until : null
}

/** Our reserved resources in an offer, by member: its volumes (ours by persistence id) and the rest. A group
 *  with a volume not proven ours (another cluster's or member's persistence id) is `foreign`. */
export function ourReservations(s: SchedulerState, offer: Offer): Map<string, {volumes: Resource[]; rest: Resource[]; foreign: boolean}> {
  const out = new Map<string, {volumes: Resource[]; rest: Resource[]; foreign: boolean}>()
  for (const r of offer.resources ?? []) {
    const member = reservedMember(s, r)
    if (member === null) continue
    const g = out.get(member) ?? {volumes: [], rest: [], foreign: false}
    out.set(member, g)
    const pid = volumeId(r)
    if (pid === null) {
      if (r.disk === undefined) g.rest.push(r)
      else g.foreign = true
      continue
    }
    const p = parsePersistenceId(pid)
    if (p?.cluster !== s.config.clusterName || p.member !== member) g.foreign = true
    else g.volumes.push(r)
  }
  return out
}

/** DESTROY of `volumes`, then UNRESERVE of everything (the volumes as plain reserved disk). */
export function releaseOperations(volumes: Resource[], rest: Resource[]): {type: string; [k: string]: unknown}[] {
  const ops: {type: string; [k: string]: unknown}[] = []
  if (volumes.length > 0) ops.push({type: 'DESTROY', destroy: {volumes: volumes.map((v) => structuredClone(v))}})
  const plain = volumes.map((v) => {
    const {disk: _d, ...r} = structuredClone(v)
    return r as Resource
  })
  ops.push({type: 'UNRESERVE', unreserve: {resources: [...rest.map((r) => structuredClone(r)), ...plain]}})
  return ops
}

const RELAUNCHABLE_STATES = new Set(['TASK_FAILED', 'TASK_KILLED', 'TASK_FINISHED'])

function eligible(s: SchedulerState, t: TaskRecord): boolean {
  if (t.volumeId === undefined || t.relaunchGaveUp) return false
  const vol = s.volumes[t.volumeId]
  if (!vol || vol.retiredAt !== undefined) return false
  if (!RELAUNCHABLE_STATES.has(t.state) || t.lostAt !== undefined || t.killRequestedAt !== undefined || t.decommission) return false
  if (s.removedAgents[t.agentId] !== undefined) return false
  if (s.membership && memberOfTask(s, t) === null) return false
  return !allTasks(s).some((o) => o.taskId !== t.taskId && o.memberName === t.memberName && !isDeadState(o.state))
}

/** Dead tasks waiting for a relaunch on their volume (relaunch.ts: its header says which). */
export function awaitingRelaunch(s: SchedulerState): TaskRecord[] {
  return deadTasks(s).filter((t) => eligible(s, t))
}
