/**
 * Offers at the local master: resource accounting per agent and per framework, the allocation cycle (which
 * framework gets what: allocator.ts), building offers, and the offer-related scheduler calls DECLINE,
 * REVIVE and SUPPRESS. ACCEPT is in launch.ts.
 *
 * Accounting: used = resources of tasks whose `latestState` is neither terminal nor unreachable + resources of
 * live custom executors; offered = resources of outstanding offers; free on an agent = total − used − offered.
 * Declined resources (DECLINE, and what an ACCEPT left unused) come back with a refuse filter.
 */
import {TERMINAL_STATES, type Offer, type Resource} from '../lib/mesos/types.js'
import {refuseMs, type AllocFramework} from './allocator.js'
import {isMultiRole, offerRole, type FrameworkRec, type TaskRec} from './frameworks.js'
import type {AgentRec, MasterCore, OfferRec} from './master-core.js'
import {addResources, subtractResources} from './resources.js'

/** Drops a framework's offers (resources go back to the pool), optionally sending RESCIND. */
export function recoverOffers(core: MasterCore, frameworkId: string, rescind: boolean): void {
  for (const [id, o] of core.offers) if (o.frameworkId === frameworkId) removeOffer(core, id, rescind)
}

export function removeOffer(core: MasterCore, offerId: string, rescind: boolean): OfferRec | undefined {
  const o = core.offers.get(offerId)
  if (!o) return undefined
  core.offers.delete(offerId)
  if (rescind) core.sendTo(o.frameworkId, {type: 'RESCIND', rescind: {offer_id: {value: offerId}}})
  return o
}

/**
 * Unused offered resources go back with a filter (DECLINE, and the leftover of ACCEPT). Like Mesos, they are
 * offered again by the first allocation cycle after the filter expired (fixture 04: refuse 5 s → ~5.0-5.1 s).
 */
export function declineResources(core: MasterCore, frameworkId: string, agentId: string, resources: Resource[], refuseSeconds: number | undefined): void {
  const ms = refuseMs(refuseSeconds, core.opts.defaultRefuseSeconds)
  core.allocator.addFilter(frameworkId, agentId, resources, ms, Date.now())
}

// ------------------------------------------------------------------ accounting

function taskUsage(core: MasterCore, filter: (rec: TaskRec) => boolean): Resource[] {
  let out: Resource[] = []
  for (const m of core.tasks.values()) {
    for (const rec of m.values()) {
      if (!TERMINAL_STATES.has(rec.latestState) && rec.unreachableTime === undefined && filter(rec)) out = addResources(out, rec.resources)
    }
  }
  return out
}

export function usedOn(core: MasterCore, agentId: string): Resource[] {
  let used = taskUsage(core, (r) => r.agentId === agentId)
  for (const e of core.executors.values()) if (e.agentId === agentId) used = addResources(used, e.info.resources ?? [])
  return used
}

export function usedBy(core: MasterCore, frameworkId: string): Resource[] {
  let used = taskUsage(core, (r) => r.frameworkId === frameworkId)
  for (const e of core.executors.values()) if (e.frameworkId === frameworkId) used = addResources(used, e.info.resources ?? [])
  return used
}

export function offeredOn(core: MasterCore, agentId: string): Resource[] {
  return addResources([], [...core.offers.values()].filter((o) => o.agentId === agentId).flatMap((o) => o.resources))
}

export function offeredTo(core: MasterCore, frameworkId: string): Resource[] {
  return addResources([], [...core.offers.values()].filter((o) => o.frameworkId === frameworkId).flatMap((o) => o.resources))
}

export function freeOn(core: MasterCore, agent: AgentRec): Resource[] {
  return subtractResources(subtractResources(agent.port.totalResources(), usedOn(core, agent.id)), offeredOn(core, agent.id))
}

// ------------------------------------------------------------------ allocation

/** One allocation cycle: free resources of connected agents → OFFERS to subscribed frameworks. */
export function allocate(core: MasterCore): void {
  if (!core.leading) return
  const agents = [...core.agents.values()].filter((a) => a.connected).map((a) => ({id: a.id, free: freeOn(core, a)}))
  const fws: AllocFramework[] = [...core.frameworks.values()]
    .filter((f) => f.stream !== null)
    .sort((a, b) => a.order - b.order)
    .map((f) => ({id: f.id, role: offerRole(f), allocated: addResources(usedBy(core, f.id), offeredTo(core, f.id))}))
  if (agents.length === 0 || fws.length === 0) return
  const byFramework = new Map<string, Offer[]>()
  for (const a of core.allocator.allocate(agents, fws, Date.now())) {
    const offer = makeOffer(core, a.frameworkId, a.agentId, a.role, a.resources)
    byFramework.set(a.frameworkId, [...(byFramework.get(a.frameworkId) ?? []), offer])
  }
  for (const [fwId, offers] of byFramework) core.sendTo(fwId, {type: 'OFFERS', offers: {offers}})
}

function makeOffer(core: MasterCore, frameworkId: string, agentId: string, role: string, resources: Resource[]): Offer {
  const agent = core.agents.get(agentId)!
  const info = agent.port.info()
  const ep = agent.port.endpoint
  const colon = ep.lastIndexOf(':')
  const multi = isMultiRole(core.frameworks.get(frameworkId))
  // Range/set resources first, then scalars in agent order: the order Mesos 1.12 shows for the default agent
  // resources (`ports; cpus; mem; disk`), which also fixes the text of "Total resources ... available ..." errors.
  // Like Mesos: the ids of this framework's executors running on the agent (fixture 06).
  const executorIds = [...core.executors.values()].filter((e) => e.frameworkId === frameworkId && e.agentId === agentId).map((e) => e.info.executor_id)
  const ordered = [...resources.filter((r) => r.type !== 'SCALAR'), ...resources.filter((r) => r.type === 'SCALAR')]
  const res = ordered.map((r) => {
    const c: Resource = {...(JSON.parse(JSON.stringify(r)) as Resource), role: r.role ?? '*'}
    delete c.allocation_info
    if (multi) c.allocation_info = {role}
    return c
  })
  const offer: Offer = {
    id: {value: `${core.id}-O${core.seq.offer++}`},
    framework_id: {value: frameworkId},
    agent_id: {value: agentId},
    hostname: info.hostname,
    url: {scheme: 'http', address: {hostname: info.hostname, ip: ep.slice(0, colon), port: Number(ep.slice(colon + 1))}, path: '/slave(1)'},
    resources: res,
    ...(executorIds.length > 0 ? {executor_ids: executorIds} : {}),
    ...(multi ? {allocation_info: {role}} : {}),
  }
  core.offers.set(offer.id.value, {offer, frameworkId, agentId, resources: res})
  return offer
}

// ------------------------------------------------------------------ DECLINE, REVIVE, SUPPRESS

export function decline(core: MasterCore, fw: FrameworkRec, offerIds: {value: string}[], refuseSeconds: number | undefined): void {
  for (const {value} of offerIds) {
    const o = core.offers.get(value)
    if (!o || o.frameworkId !== fw.id) continue
    removeOffer(core, value, false)
    declineResources(core, fw.id, o.agentId, o.resources, refuseSeconds)
  }
}

export function revive(core: MasterCore, fw: FrameworkRec, roles: string[] | undefined): void {
  core.allocator.clearFilters(fw.id)
  if (!roles || roles.length === 0) fw.suppressed.clear()
  else for (const r of roles) fw.suppressed.delete(r)
  core.scheduleAllocation(0)
}

export function suppress(fw: FrameworkRec, roles: string[] | undefined): void {
  for (const r of roles && roles.length > 0 ? roles : fw.roles) fw.suppressed.add(r)
}
