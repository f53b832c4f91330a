/**
 * RESERVE, UNRESERVE, CREATE and DESTROY as resource conversions (Mesos' getResourceConversions,
 * src/common/resources_utils.cpp), applied to the resources left in an ACCEPT's offers and to the agent's total:
 *   RESERVE   consumes each resource without its last reservation and gives it back reserved;
 *   UNRESERVE consumes each reserved resource and gives it back without its last reservation;
 *   CREATE    consumes the disk a volume is made of and gives the volume;   DESTROY the reverse.
 * Applying a conversion fails with Mesos' text `<resources> does not contain <consumed>` (Surprise 37). After the
 * master applied an operation, the agent gets its whole new total (AgentPort.checkpointResources): it persists it
 * and creates or removes the volume directories. Operation status events for operations with an `id` are here too.
 */
import type {OfferOperation, Resource} from '../../lib/mesos/types.js'
import {uuidBase64} from '../../lib/mesos/uuid.js'
import {addResources, containsResources, subtractResources} from '../resources.js'
import {mesosText, popReservation, stripVolume, unallocated, upgradeResources} from '../reservations.js'
import {totalOf} from './accounting.js'
import {log, sendTo, type AgentRec, type FrameworkRec, type MasterState} from './state.js'

export const RESOURCE_OPERATIONS = ['RESERVE', 'UNRESERVE', 'CREATE', 'DESTROY'] as const
export type ResourceOperationType = (typeof RESOURCE_OPERATIONS)[number]

export interface Conversion {
  consumed: Resource[]
  converted: Resource[]
}

/** The resources an operation names (its `reserve.resources`, `create.volumes`, ...), or undefined when the body is missing. */
export function operationResources(op: OfferOperation): Resource[] | undefined {
  switch (op.type) {
    case 'RESERVE':
      return op.reserve?.resources
    case 'UNRESERVE':
      return op.unreserve?.resources
    case 'CREATE':
      return op.create?.volumes
    case 'DESTROY':
      return op.destroy?.volumes
    default:
      return undefined
  }
}

/** A copy of `op` whose resources are `rs`. */
export function withOperationResources(op: OfferOperation, rs: Resource[]): OfferOperation {
  switch (op.type) {
    case 'RESERVE':
      return {...op, reserve: {...op.reserve, resources: rs}}
    case 'UNRESERVE':
      return {...op, unreserve: {resources: rs}}
    case 'CREATE':
      return {...op, create: {volumes: rs}}
    case 'DESTROY':
      return {...op, destroy: {volumes: rs}}
    default:
      return op
  }
}

export function conversions(type: ResourceOperationType, rs: readonly Resource[]): Conversion[] {
  switch (type) {
    case 'RESERVE':
      return [{consumed: rs.map(popReservation), converted: [...rs]}]
    case 'UNRESERVE':
      return rs.map((r) => ({consumed: [r], converted: [popReservation(r)]}))
    case 'CREATE':
      return rs.map((v) => ({consumed: [stripVolume(v)], converted: [v]}))
    case 'DESTROY':
      return rs.map((v) => ({consumed: [v], converted: [stripVolume(v)]}))
  }
}

/** ResourceConversion::apply over all conversions, in order. */
export function applyConversions(rs: readonly Resource[], convs: readonly Conversion[]): {resources: Resource[]} | {error: string} {
  let cur = [...rs]
  for (const c of convs) {
    if (!containsResources(cur, c.consumed)) return {error: `${mesosText(cur)} does not contain ${mesosText(c.consumed)}`}
    cur = addResources(subtractResources(cur, c.consumed), c.converted)
  }
  return {resources: cur}
}

/** Mesos' `stringify(Slave)`: `<id> at slave(1)@<ip:port> (<hostname>)`. */
export function agentText(agent: AgentRec): string {
  return `${agent.id} at slave(1)@${agent.port.endpoint} (${agent.port.info().hostname})`
}

/**
 * Applies the conversions to the agent's total (unallocated) and checkpoints the new total on the agent.
 * Returns the error when the agent's total cannot take them (the operator API's 409 Conflict).
 */
export function applyToAgent(m: MasterState, agent: AgentRec, convs: readonly Conversion[]): string | null {
  const plain = convs.map((c) => ({consumed: unallocated(c.consumed), converted: unallocated(c.converted)}))
  const r = applyConversions(totalOf(agent), plain)
  if ('error' in r) return r.error
  agent.total = r.resources
  log(m, `agent ${agent.id}: checkpointing resources ${mesosText(agent.total)}`)
  agent.port.checkpointResources?.(upgradeResources(agent.total))
  return null
}

/** Master::drop: the log line of Surprise 37, and OPERATION_ERROR (no uuid, no agent_id) when the operation has an id. */
export function dropOperation(m: MasterState, fw: FrameworkRec, op: OfferOperation, message: string): void {
  log(m, `W Dropping ${String(op.type)} operation from framework ${fw.id} (${fw.info.name}): ${message}`)
  if (op.id === undefined) return
  sendTo(m, fw.id, {
    type: 'UPDATE_OPERATION_STATUS',
    update_operation_status: {status: {operation_id: op.id, state: 'OPERATION_ERROR', message}},
  })
}

/** OPERATION_FINISHED with a status uuid and the agent id (Surprise 38); nothing for an operation without id. */
export function operationFinished(m: MasterState, fw: FrameworkRec, op: OfferOperation, agentId: string): void {
  if (op.id === undefined) return
  sendTo(m, fw.id, {
    type: 'UPDATE_OPERATION_STATUS',
    update_operation_status: {
      status: {
        operation_id: op.id,
        state: 'OPERATION_FINISHED',
        uuid: {value: uuidBase64()},
        agent_id: {value: agentId},
      },
    },
  })
}
