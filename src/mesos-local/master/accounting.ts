/**
 * Resource accounting of the local master, read-only:
 *   used    = resources of tasks whose `latestState` is neither terminal nor unreachable + resources of live
 *             custom executors (per agent, or per framework);
 *   offered = resources of outstanding offers (per agent, or per framework);
 *   free on an agent = total − used − offered, where total is the master's view of the agent (totalOf: the agent's
 *   report, or what RESERVE/UNRESERVE/CREATE/DESTROY made of it).
 * Resources are identified by name, reservations and DiskInfo (../resources.ts): a task's reserved cpus come out
 * of the reserved pool, its persistent volume out of the agent's volumes, unreserved ones out of the unreserved pool.
 */
import type {Resource} from '../../lib/mesos/types.js'
import {addResources, subtractResources} from '../resources.js'
import {unallocated, upgradeResources} from '../reservations.js'
import {isTerminal, type AgentRec, type MasterState, type TaskRec} from './state.js'

function taskUsage(m: MasterState, filter: (rec: TaskRec) => boolean): Resource[] {
  let out: Resource[] = []
  for (const tasks of m.tasks.values()) {
    for (const rec of tasks.values()) {
      if (!isTerminal(rec.latestState) && rec.unreachableTime === undefined && filter(rec)) out = addResources(out, rec.resources)
    }
  }
  return out
}

export function usedOn(m: MasterState, agentId: string): Resource[] {
  let used = taskUsage(m, (r) => r.agentId === agentId)
  for (const e of m.executors.values()) if (e.agentId === agentId) used = addResources(used, e.info.resources ?? [])
  return used
}

export function usedBy(m: MasterState, frameworkId: string): Resource[] {
  let used = taskUsage(m, (r) => r.frameworkId === frameworkId)
  for (const e of m.executors.values()) if (e.frameworkId === frameworkId) used = addResources(used, e.info.resources ?? [])
  return used
}

export function offeredOn(m: MasterState, agentId: string): Resource[] {
  return addResources(
    [],
    [...m.offers.values()].filter((o) => o.agentId === agentId).flatMap((o) => o.resources),
  )
}

/** What the framework holds in offers as Mesos reports it (FrameworkRec.offeredTotal: ranges of several agents merge). */
export function offeredTo(m: MasterState, frameworkId: string): Resource[] {
  return m.frameworks.get(frameworkId)?.offeredTotal ?? []
}

/** The agent's total resources (refinement format, no allocation_info). */
export function totalOf(agent: AgentRec): Resource[] {
  return agent.total ?? unallocated(upgradeResources(agent.port.totalResources()))
}

export function freeOn(m: MasterState, agent: AgentRec): Resource[] {
  return subtractResources(subtractResources(totalOf(agent), usedOn(m, agent.id)), offeredOn(m, agent.id))
}
