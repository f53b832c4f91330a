/**
 * The local master's allocator: offer filters and the per-cycle allocation decision. Pure: time is passed
 * in (`now`, ms), nothing here sends events or starts timers.
 *
 * Model (a small cousin of Mesos' hierarchical DRF allocator):
 *   - Each cycle, an active agent's free resources (total − used − offered) are offered per (framework, role):
 *     what a role may get is the unreserved free resources plus those reserved to that role (reserved resources
 *     go only to their role; a volume in use is not free, so it is offered only once no task uses it). The
 *     eligible (framework, role) with the lowest dominant share (cpus/mem/disk, allocated+offered over the cluster
 *     total, ties by subscription order) gets all of that, whole; the rest (resources reserved to other roles)
 *     can go to others in the same cycle. At most one offer per framework and role per agent and cycle.
 *   - Eligible = connected, the role not suppressed, and not filtered for that agent.
 *   - A filter (from DECLINE, or the unused part of an ACCEPT) blocks an offer only when the resources to be
 *     offered fit inside the filtered resources (Surprise 18); it expires at `expiresAt`. REVIVE clears all of
 *     a framework's filters.
 *   - Resources are offered only when allocatable: at least cpus 0.01 or mem 32 (Mesos'
 *     --min_allocatable_resources default).
 */
import type {Resource} from '../../lib/mesos/types.js'
import {addResources, containsResources, scalarOf, subtractResources} from '../resources.js'
import {isReserved, reservationRole} from '../reservations.js'

/** Mesos caps refuse_seconds at 365 days. */
export const MAX_REFUSE_SECONDS = 365 * 24 * 3600
export const DEFAULT_REFUSE_SECONDS = 5

export interface OfferFilter {
  frameworkId: string
  agentId: string
  resources: Resource[]
  expiresAt: number
}

export interface AllocAgent {
  id: string
  free: Resource[]
}

export interface AllocFramework {
  id: string
  /** The roles offers may be allocated to (the unsuppressed ones, in order); none when fully suppressed. */
  roles: string[]
  /** Resources allocated (used by tasks/executors) plus currently offered. */
  allocated: Resource[]
}

export interface Allocation {
  frameworkId: string
  agentId: string
  role: string
  resources: Resource[]
}

/** refuse_seconds → filter duration in ms (0 = no filter). Negative/NaN → default, like Mesos. */
export function refuseMs(refuseSeconds: number | undefined, defaultSeconds = DEFAULT_REFUSE_SECONDS): number {
  let s = refuseSeconds ?? defaultSeconds
  if (typeof s !== 'number' || Number.isNaN(s) || s < 0) s = defaultSeconds
  if (s > MAX_REFUSE_SECONDS) s = MAX_REFUSE_SECONDS
  return Math.round(s * 1000)
}

export function isAllocatable(rs: readonly Resource[]): boolean {
  return scalarOf(rs, 'cpus') >= 0.01 || scalarOf(rs, 'mem') >= 32
}

function dominantShare(allocated: readonly Resource[], total: readonly Resource[]): number {
  let share = 0
  for (const name of ['cpus', 'mem', 'disk']) {
    const t = scalarOf(total, name)
    if (t > 0) share = Math.max(share, scalarOf(allocated, name) / t)
  }
  return share
}

export class Allocator {
  private filters: OfferFilter[] = []

  /** Adds a filter unless `durationMs` is 0 or there is nothing to filter. Returns the expiry (or null). */
  addFilter(frameworkId: string, agentId: string, resources: Resource[], durationMs: number, now: number): number | null {
    if (durationMs <= 0 || resources.length === 0) return null
    const expiresAt = now + durationMs
    this.filters.push({frameworkId, agentId, resources, expiresAt})
    return expiresAt
  }

  clearFilters(frameworkId: string): void {
    this.filters = this.filters.filter((f) => f.frameworkId !== frameworkId)
  }

  clearAgent(agentId: string): void {
    this.filters = this.filters.filter((f) => f.agentId !== agentId)
  }

  isFiltered(frameworkId: string, agentId: string, resources: Resource[], now: number): boolean {
    this.filters = this.filters.filter((f) => f.expiresAt > now)
    return this.filters.some((f) => f.frameworkId === frameworkId && f.agentId === agentId && containsResources(f.resources, resources))
  }

  /** One allocation cycle. `agents` and `frameworks` are in registration/subscription order. */
  allocate(agents: readonly AllocAgent[], frameworks: readonly AllocFramework[], now: number): Allocation[] {
    const total = addResources([], agents.flatMap((a) => a.free).concat(frameworks.flatMap((f) => f.allocated)))
    const allocated = new Map(frameworks.map((f) => [f.id, [...f.allocated]] as const))
    const out: Allocation[] = []
    for (const agent of agents) {
      let free = agent.free
      const served = new Set<string>()
      for (;;) {
        const candidates = frameworks
          .flatMap((f, order) => f.roles.map((role) => ({f, order, role, offer: forRole(free, role)})))
          .filter(
            (c) => !served.has(`${c.f.id}\u0000${c.role}`) && isAllocatable(c.offer) && !this.isFiltered(c.f.id, agent.id, c.offer, now),
          )
          .map((c) => ({...c, share: dominantShare(allocated.get(c.f.id) ?? [], total)}))
          .sort((a, b) => a.share - b.share || a.order - b.order)
        const pick = candidates[0]
        if (!pick) break
        served.add(`${pick.f.id}\u0000${pick.role}`)
        out.push({frameworkId: pick.f.id, agentId: agent.id, role: pick.role, resources: pick.offer})
        allocated.set(pick.f.id, addResources(allocated.get(pick.f.id) ?? [], pick.offer))
        free = subtractResources(free, pick.offer)
      }
    }
    return out
  }
}

/** What `role` may be offered of `free`: the unreserved resources and those reserved to the role. */
export function forRole(free: readonly Resource[], role: string): Resource[] {
  return free.filter((r) => !isReserved(r) || reservationRole(r) === role)
}
