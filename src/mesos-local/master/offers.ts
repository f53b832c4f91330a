/**
 * Offers at the local master: the allocation cycle (which framework gets what: allocator.ts, over the free
 * resources of accounting.ts), building offers, taking them back, and the offer-related scheduler calls
 * DECLINE, REVIVE and SUPPRESS. ACCEPT is in launch.ts.
 *
 * Declined resources (DECLINE, and what an ACCEPT left unused) come back with a refuse filter.
 * An allocation runs every allocation interval while leading (leadership.ts), and at once (scheduleAllocation)
 * when a framework subscribes, an agent registers or a framework REVIVEs.
 */
import type {Offer, Resource} from '../../lib/mesos/types.js'
import {addResources, subtractResources} from '../resources.js'
import {isReserved, toPreRefinement, toRefinement} from '../reservations.js'
import {freeOn, offeredTo, usedBy} from './accounting.js'
import {refuseMs, type AllocFramework} from './allocator.js'
import {isMultiRole, isRefinementCapable, sendTo, startTimer, type FrameworkRec, type MasterState, type OfferRec} from './state.js'

/** Drops a framework's offers (resources go back to the pool), optionally sending RESCIND. */
export function recoverOffers(m: MasterState, frameworkId: string, rescind: boolean): void {
  for (const [id, o] of m.offers) if (o.frameworkId === frameworkId) removeOffer(m, id, rescind)
}

export function removeOffer(m: MasterState, offerId: string, rescind: boolean): OfferRec | undefined {
  const o = m.offers.get(offerId)
  if (!o) return undefined
  m.offers.delete(offerId)
  const fw = m.frameworks.get(o.frameworkId)
  if (fw) fw.offeredTotal = subtractResources(fw.offeredTotal ?? [], o.resources)
  if (rescind) sendTo(m, o.frameworkId, {type: 'RESCIND', rescind: {offer_id: {value: offerId}}})
  return o
}

/**
 * Unused offered resources go back with a filter (DECLINE, and the leftover of ACCEPT). Like Mesos, they are
 * offered again by the first allocation cycle after the filter expired (fixture 04: refuse 5 s → ~5.0-5.1 s).
 */
export function declineResources(
  m: MasterState,
  frameworkId: string,
  agentId: string,
  resources: Resource[],
  refuseSeconds: number | undefined,
): void {
  const ms = refuseMs(refuseSeconds, m.config.defaultRefuseSeconds)
  m.allocator.addFilter(frameworkId, agentId, resources, ms, Date.now())
}

// ------------------------------------------------------------------ allocation

/** An allocation cycle in `ms` (0: at once), while leading. */
export function scheduleAllocation(m: MasterState, ms: number): void {
  if (!m.leading) return
  startTimer(m, ms, () => allocate(m))
}

/** Held masters (holdAllocations): how many holds, and whether a cycle came due meanwhile. */
const holds = new WeakMap<MasterState, {count: number; skipped: boolean}>()

/**
 * Test control, like pausing a clock: no allocation cycle runs until the returned release is called (holds nest;
 * releasing twice is harmless); a cycle that came due meanwhile runs at once on the last release. The conformance
 * replayer (test/conformance/replayer.ts) holds the allocator while it reacts to an event: the recorded client
 * reacted within a millisecond, so real Mesos, whose allocator runs only on its periodic batch (resources recovered
 * by a terminal task or an exited executor wait for it, MESOS-3078), could not allocate in between.
 */
export function holdAllocations(m: MasterState): () => void {
  const h = holds.get(m) ?? {count: 0, skipped: false}
  holds.set(m, h)
  h.count++
  let released = false
  return () => {
    if (released) return
    released = true
    h.count--
    if (h.count > 0 || !h.skipped) return
    h.skipped = false
    allocate(m)
  }
}

/** One allocation cycle: free resources of connected agents → OFFERS to subscribed frameworks. */
export function allocate(m: MasterState): void {
  if (!m.leading) return
  const held = holds.get(m)
  if (held && held.count > 0) {
    held.skipped = true
    return
  }
  const agents = [...m.agents.values()].filter((a) => a.connected).map((a) => ({id: a.id, free: freeOn(m, a)}))
  const fws: AllocFramework[] = [...m.frameworks.values()]
    .filter((f) => f.stream !== null)
    .sort((a, b) => a.order - b.order)
    .map((f) => ({
      id: f.id,
      roles: f.roles.filter((r) => !f.suppressed.has(r)),
      allocated: addResources(usedBy(m, f.id), offeredTo(m, f.id)),
    }))
  if (agents.length === 0 || fws.length === 0) return
  const byFramework = new Map<string, Offer[]>()
  for (const a of m.allocator.allocate(agents, fws, Date.now())) {
    const offer = makeOffer(m, a.frameworkId, a.agentId, a.role, a.resources)
    byFramework.set(a.frameworkId, [...(byFramework.get(a.frameworkId) ?? []), offer])
  }
  for (const [fwId, offers] of byFramework) sendTo(m, fwId, {type: 'OFFERS', offers: {offers}})
}

function makeOffer(m: MasterState, frameworkId: string, agentId: string, role: string, resources: Resource[]): Offer {
  const agent = m.agents.get(agentId)!
  const info = agent.port.info()
  const ep = agent.port.endpoint
  const colon = ep.lastIndexOf(':')
  const multi = isMultiRole(m.frameworks.get(frameworkId))
  // Range/set resources first, then scalars in agent order: the order Mesos 1.12 shows for the default agent
  // resources (`ports; cpus; mem; disk`), which also fixes the text of "Total resources ... available ..." errors.
  // Like Mesos: the ids of this framework's executors running on the agent (fixture 06).
  const executorIds = [...m.executors.values()]
    .filter((e) => e.frameworkId === frameworkId && e.agentId === agentId)
    .map((e) => e.info.executor_id)
  // Reserved scalars come before unreserved ones (fixture 13: `ports; disk(reserved):32; cpus:1.9; mem; disk:9904`).
  const scalars = resources.filter((r) => r.type === 'SCALAR')
  const ordered = [...resources.filter((r) => r.type !== 'SCALAR'), ...scalars.filter(isReserved), ...scalars.filter((r) => !isReserved(r))]
  const res = ordered.map((r) => {
    const c = toRefinement(r)
    delete c.allocation_info
    if (multi) c.allocation_info = {role}
    return c
  })
  const offer: Offer = {
    id: {value: `${m.info.id}-O${m.seq.offer++}`},
    framework_id: {value: frameworkId},
    agent_id: {value: agentId},
    hostname: info.hostname,
    url: {scheme: 'http', address: {hostname: info.hostname, ip: ep.slice(0, colon), port: Number(ep.slice(colon + 1))}, path: '/slave(1)'},
    resources: res,
    ...(executorIds.length > 0 ? {executor_ids: executorIds} : {}),
    ...(multi ? {allocation_info: {role}} : {}),
  }
  m.offers.set(offer.id.value, {offer, frameworkId, agentId, resources: res})
  const fw = m.frameworks.get(frameworkId)
  if (fw) fw.offeredTotal = addResources(fw.offeredTotal ?? [], res)
  // Frameworks without RESERVATION_REFINEMENT get the pre-refinement format (`role`, `reservation`); the others
  // get no `role` at all (a real client declaring the capability aborts on one: `Check failed: !resource.has_role()`).
  return isRefinementCapable(m.frameworks.get(frameworkId)) ? offer : {...offer, resources: toPreRefinement(res)}
}

// ------------------------------------------------------------------ DECLINE, REVIVE, SUPPRESS

export function decline(m: MasterState, fw: FrameworkRec, offerIds: {value: string}[], refuseSeconds: number | undefined): void {
  for (const {value} of offerIds) {
    const o = m.offers.get(value)
    if (!o || o.frameworkId !== fw.id) continue
    removeOffer(m, value, false)
    declineResources(m, fw.id, o.agentId, o.resources, refuseSeconds)
  }
}

export function revive(m: MasterState, fw: FrameworkRec, roles: string[] | undefined): void {
  m.allocator.clearFilters(fw.id)
  if (!roles || roles.length === 0) fw.suppressed.clear()
  else for (const r of roles) fw.suppressed.delete(r)
  scheduleAllocation(m, 0)
}

export function suppress(fw: FrameworkRec, roles: string[] | undefined): void {
  for (const r of roles && roles.length > 0 ? roles : fw.roles) fw.suppressed.add(r)
}
