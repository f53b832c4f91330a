/**
 * The operator API's RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES and DESTROY_VOLUMES (Mesos 1.12
 * src/master/http.cpp _reserve/_unreserve/_createVolumes/_destroyVolumes/_operation): on unallocated resources of a
 * registered agent, without a principal (the local master has no authentication).
 *   400 `No agent found with specified ID`; 400 with Resources::validate's text for malformed resources;
 *   400 `Invalid RESERVE operation on agent <agent>: ...`, `Invalid UNRESERVE operation: ...`,
 *       `Invalid CREATE operation on agent <agent>: ...`, `Invalid DESTROY operation: ...`;
 *   then offers of the agent holding the resources needed are rescinded (their resources come back with a 5 s
 *   filter), and the operation applies to the agent's free resources: 202 (empty body), or 409 with the reason
 *   (`<free> does not contain <needed>`) when they do not hold it. The agent checkpoints its new total.
 */
import type {Resource} from '../../lib/mesos/types.js'
import {containsResources, subtractResources} from '../resources.js'
import {unallocated, upgradeResources} from '../reservations.js'
import {freeOn, totalOf, usedOn} from './accounting.js'
import {validateCreate, validateDestroy, validateReserve, validateResources, validateUnreserve} from './operation-validation.js'
import {agentText, applyConversions, applyToAgent, conversions, type ResourceOperationType} from './operations.js'
import {declineResources, removeOffer, scheduleAllocation} from './offers.js'
import {log, type MasterState} from './state.js'

export const OPERATOR_OPERATIONS = ['RESERVE_RESOURCES', 'UNRESERVE_RESOURCES', 'CREATE_VOLUMES', 'DESTROY_VOLUMES'] as const
export type OperatorOperation = (typeof OPERATOR_OPERATIONS)[number]

interface OperatorCallBody {
  type: OperatorOperation
  reserve_resources?: {agent_id: {value: string}; resources?: Resource[]; source?: Resource[]}
  unreserve_resources?: {agent_id: {value: string}; resources?: Resource[]}
  create_volumes?: {agent_id: {value: string}; volumes?: Resource[]}
  destroy_volumes?: {agent_id: {value: string}; volumes?: Resource[]}
}

const OP_TYPE: Record<OperatorOperation, ResourceOperationType> = {
  RESERVE_RESOURCES: 'RESERVE',
  UNRESERVE_RESOURCES: 'UNRESERVE',
  CREATE_VOLUMES: 'CREATE',
  DESTROY_VOLUMES: 'DESTROY',
}

export interface OperatorAnswer {
  status: number
  body: string
}

function parts(call: OperatorCallBody): {agentId: string; resources: Resource[]; source: Resource[]} | string {
  switch (call.type) {
    case 'RESERVE_RESOURCES': {
      const c = call.reserve_resources
      if (!c) return "Expecting 'reserve_resources' to be present"
      return {agentId: c.agent_id.value, resources: c.resources ?? [], source: c.source ?? []}
    }
    case 'UNRESERVE_RESOURCES': {
      const c = call.unreserve_resources
      if (!c) return "Expecting 'unreserve_resources' to be present"
      return {agentId: c.agent_id.value, resources: c.resources ?? [], source: []}
    }
    case 'CREATE_VOLUMES': {
      const c = call.create_volumes
      if (!c) return "Expecting 'create_volumes' to be present"
      return {agentId: c.agent_id.value, resources: c.volumes ?? [], source: []}
    }
    case 'DESTROY_VOLUMES': {
      const c = call.destroy_volumes
      if (!c) return "Expecting 'destroy_volumes' to be present"
      return {agentId: c.agent_id.value, resources: c.volumes ?? [], source: []}
    }
  }
}

export function operatorOperation(m: MasterState, call: OperatorCallBody): OperatorAnswer {
  const p = parts(call)
  if (typeof p === 'string') return {status: 400, body: `Failed to validate master::Call: ${p}`}
  if (call.type === 'RESERVE_RESOURCES' || call.type === 'UNRESERVE_RESOURCES') {
    const err = validateResources(p.resources)
    if (err) return {status: 400, body: `Failed to validate master::Call: ${err}`}
  }
  const agent = m.agents.get(p.agentId)
  if (!agent) return {status: 400, body: 'No agent found with specified ID'}
  const malformed = validateResources([...p.resources, ...p.source])
  if (malformed) return {status: 400, body: malformed}
  if (p.source.length > 0)
    return {status: 400, body: 'Reservation updates (RESERVE_RESOURCES with source) are not supported by the local Mesos master'}
  const rs = upgradeResources(p.resources)
  const type = OP_TYPE[call.type]
  let invalid: string | null
  switch (type) {
    case 'RESERVE': {
      const e = validateReserve(rs, undefined)
      invalid = e && `Invalid RESERVE operation on agent ${agentText(agent)}: ${e}`
      break
    }
    case 'UNRESERVE': {
      const e = validateUnreserve(rs)
      invalid = e && `Invalid UNRESERVE operation: ${e}`
      break
    }
    case 'CREATE': {
      const e = validateCreate(rs, totalOf(agent), undefined)
      invalid = e && `Invalid CREATE operation on agent ${agentText(agent)}: ${e}`
      break
    }
    case 'DESTROY': {
      const e = validateDestroy(rs, totalOf(agent), [usedOn(m, agent.id)])
      invalid = e && `Invalid DESTROY operation: ${e}`
      break
    }
  }
  if (invalid) return {status: 400, body: invalid}
  const convs = conversions(type, rs)
  // Rescind the agent's offers that hold what the operation needs, one at a time, until enough is free.
  let required = unallocated(convs.flatMap((c) => c.consumed))
  for (const [id, o] of [...m.offers]) {
    if (o.agentId !== agent.id) continue
    if (containsResources(freeOn(m, agent), required)) break
    const recovered = unallocated(o.resources)
    const rest = subtractResources(required, recovered)
    if (JSON.stringify(rest) === JSON.stringify(required)) continue
    required = rest
    removeOffer(m, id, true)
    declineResources(m, o.frameworkId, agent.id, o.resources, undefined)
  }
  const applied = applyConversions(freeOn(m, agent), convs)
  if ('error' in applied) return {status: 409, body: applied.error}
  log(m, `operator: applying ${type} operation for resources ${JSON.stringify(rs)} to agent ${agentText(agent)}`)
  const err = applyToAgent(m, agent, convs)
  if (err) return {status: 409, body: err}
  scheduleAllocation(m, 0)
  return {status: 202, body: ''}
}
