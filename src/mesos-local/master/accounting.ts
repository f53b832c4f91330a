/**
 * Resource accounting of the local master, read-only:
 *   used    = resources of tasks whose `latestState` is neither terminal nor unreachable + resources of live
 *             custom executors (per agent, or per framework);
 *   offered = resources of outstanding offers (per agent, or per framework);
 *   free on an agent = total − used − offered.
 */
import type {Resource} from '../../lib/mesos/types.js'
import {addResources, subtractResources} from '../resources.js'
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

export function offeredTo(m: MasterState, frameworkId: string): Resource[] {
  return addResources(
    [],
    [...m.offers.values()].filter((o) => o.frameworkId === frameworkId).flatMap((o) => o.resources),
  )
}

export function freeOn(m: MasterState, agent: AgentRec): Resource[] {
  return subtractResources(subtractResources(agent.port.totalResources(), usedOn(m, agent.id)), offeredOn(m, agent.id))
}
