/**
 * Releasing reservations and volumes (with a role): which of our reservations in an offer may be destroyed and
 * unreserved, and when. Called for every offer about to be declined (launch.ts finishOffers).
 *
 * A member's reservation and volume in an offer (volumes.ts ourReservations: our role, our cluster label, a
 * persistence id naming our cluster and that member) are released (one ACCEPT: DESTROY the volume, then
 * UNRESERVE everything, the volume as plain reserved disk) when:
 *   retired   a volume whose record is retired (relaunch.ts retireVolumes: no task record uses it and etcd no
 *             longer lists the member), with the member's other reserved resources there when nothing else of the
 *             member is on that agent: at once; counted in stats.volumes_released; the record is dropped.
 *   leftover  a volume no record knows (a crash between the ACCEPT and its PERSIST), and the other reserved
 *             resources when no record or task of the member is on that agent, or when the member's tasks there
 *             all run (allocated resources are never offered: what is offered is a former incarnation's, e.g. the
 *             name given again after a crash lost the member counter): once seen for leftoverGraceMs (sightings in
 *             `leftovers`, per agent and member, not persisted; forgotten when not seen again for leftoverGraceMs
 *             plus two refuse periods, e.g. its agent went away); counted in stats.leftovers_cleaned.
 * Judged per agent (partsOf): a member's task and volume are always on one agent, so its records elsewhere say
 *   nothing about this agent's reservation.
 * Never: a volume with a live (not retired) record; anything of the member on that agent while a dead task record
 *   of it is there (a relaunch may need it), its pending add is there, or etcd (maybe) lists it while no task
 *   record says where it runs (volumes.ts reservationInUse); a group holding a volume not proven ours; anything
 *   while the scheduler may not mutate (mode.ts mayMutate).
 */
import type {Offer, OfferOperation, Resource} from '../../lib/mesos/types.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {mayMutate} from './mode.js'
import type {SchedulerState, VolumeRecord} from './state.js'
import {ourReservations, releaseOperations, reservationInUse, volumeRole} from './volumes.js'

/** The DESTROY + UNRESERVE operations for `offer`, or null (then it is declined). */
export function releaseFor(ctx: Ctx, offer: Offer): OfferOperation[] | null {
  const {s, now} = ctx
  if (!volumeRole(s.config) || !mayMutate(s)) return null
  const ops: OfferOperation[] = []
  const agentId = offer.agent_id.value
  for (const [member, g] of ourReservations(s, offer)) {
    if (g.foreign || reservationInUse(s, member, agentId)) continue
    const p = partsOf(s, member, agentId, g)
    const log1 = (retired: boolean, volumes: Resource[]) =>
      emit(
        ctx,
        log(
          retired ? 'info' : 'warn',
          retired ? 'releasing the volume and reservation of a removed member' : 'releasing a leftover reservation unknown to the records',
          {member, agentId, volumes: volumes.map((v) => v.disk?.persistence?.id)},
        ),
      )
    if (p.retired.volumes.length > 0) {
      ops.push(...(releaseOperations(p.retired.volumes, p.retired.rest) as OfferOperation[]))
      for (const v of p.retired.volumes) delete s.volumes[v.disk!.persistence!.id]
      s.stats.volumes_released++
      log1(true, p.retired.volumes)
    }
    if (p.leftover.volumes.length === 0 && p.leftover.rest.length === 0) continue
    const key = `${agentId}/${member}`
    const seen = s.leftovers[key] ?? {first: now, last: now}
    seen.last = now
    s.leftovers[key] = seen
    if (now - seen.first < s.config.leftoverGraceMs) continue
    ops.push(...(releaseOperations(p.leftover.volumes, p.leftover.rest) as OfferOperation[]))
    delete s.leftovers[key]
    s.stats.leftovers_cleaned++
    log1(false, p.leftover.volumes)
  }
  return ops.length > 0 ? ops : null
}

interface Part {
  volumes: Resource[]
  rest: Resource[]
}

/**
 * What of `member`'s reservation on `agentId` (not in use: reservationInUse) may go, and how:
 *   retired   its volumes whose records are retired, with the other reserved resources when nothing else of the
 *             member is on that agent;
 *   leftover  its volumes no record knows, and the other reserved resources when no record or task of the member
 *             is on that agent, or when the member's tasks there all run (their resources are allocated, and
 *             allocated resources are never offered: what is offered is a former incarnation's).
 * Volumes with a live (not retired) record are kept, and so are the other resources while such a record has no
 * running task (a relaunch needs them).
 */
function partsOf(
  s: SchedulerState,
  member: string,
  agentId: string,
  g: {volumes: Resource[]; rest: Resource[]},
): {retired: Part; leftover: Part} {
  const running = Object.values(s.tasks).some((t) => t.memberName === member && t.agentId === agentId)
  const kept = Object.values(s.volumes).some((v) => v.memberName === member && v.agentId === agentId && v.retiredAt === undefined)
  const retiredVolumes: Resource[] = []
  const unknown: Resource[] = []
  for (const v of g.volumes) {
    const rec = s.volumes[v.disk!.persistence!.id]
    if (!rec) unknown.push(v)
    else if (rec.retiredAt !== undefined) retiredVolumes.push(v)
  }
  const restWithRetired = retiredVolumes.length > 0 && !running && !kept
  // All of it or nothing: while a part is still allocated (the task ended, its executor not yet) the offer holds
  // only the rest; releasing that would leave the executor's part behind as a leftover nobody's records know.
  if (
    restWithRetired &&
    !covers(
      g.rest,
      retiredVolumes.map((v) => s.volumes[v.disk!.persistence!.id]!),
    )
  )
    return {retired: {volumes: [], rest: []}, leftover: {volumes: unknown, rest: []}}
  const restLeftover = !restWithRetired && (running || !kept)
  return {
    retired: {volumes: retiredVolumes, rest: restWithRetired ? g.rest : []},
    leftover: {volumes: unknown, rest: restLeftover ? g.rest : []},
  }
}

/** Whether the offered reserved `rest` holds at least the cpus and mem the records reserved (task + executor). */
function covers(rest: readonly Resource[], records: readonly VolumeRecord[]): boolean {
  const offered = (name: string) => rest.filter((r) => r.name === name).reduce((a, r) => a + (r.scalar?.value ?? 0), 0)
  const need = (k: 'cpus' | 'mem') => records.reduce((a, v) => a + v.reserved[k], 0)
  return offered('cpus') + 1e-9 >= need('cpus') && offered('mem') + 1e-9 >= need('mem')
}
