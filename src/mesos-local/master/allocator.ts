/**
 * The local master's allocator: offer filters and the per-cycle allocation decision. Pure: time is passed
 * in (`now`, ms), nothing here sends events or starts timers.
 *
 * Model (a small cousin of Mesos' hierarchical DRF allocator):
 *   - Each cycle, every active agent's free resources (total − used − offered) go, whole, to ONE framework:
 *     the eligible framework with the lowest dominant share (cpus/mem/disk, allocated+offered over the
 *     cluster total), ties broken by subscription order.
 *   - Eligible = connected, not suppressed for at least one of its roles, and not filtered for that agent.
 *   - A filter (from DECLINE, or the unused part of an ACCEPT) blocks an offer only when the resources to be
 *     offered fit inside the filtered resources (Surprise 18); it expires at `expiresAt`. REVIVE clears all of
 *     a framework's filters.
 *   - Resources are offered only when allocatable: at least cpus 0.01 or mem 32 (Mesos'
 *     --min_allocatable_resources default).
 */
import type {Resource} from '../../lib/mesos/types.js'
import {addResources, containsResources, scalarOf} from '../resources.js'

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
  /** The role offers are allocated to (first unsuppressed role), or null when fully suppressed. */
  role: string | null
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
      if (!isAllocatable(agent.free)) continue
      const candidates = frameworks
        .map((f, order) => ({f, order, share: dominantShare(allocated.get(f.id) ?? [], total)}))
        .filter(({f}) => f.role !== null && !this.isFiltered(f.id, agent.id, agent.free, now))
        .sort((a, b) => a.share - b.share || a.order - b.order)
      const pick = candidates[0]
      if (!pick || pick.f.role === null) continue
      out.push({frameworkId: pick.f.id, agentId: agent.id, role: pick.f.role, resources: agent.free})
      allocated.set(pick.f.id, addResources(allocated.get(pick.f.id) ?? [], agent.free))
    }
    return out
  }
}
