/**
 * ACCEPT (Mesos' Master::accept and Master::_accept; Surprises 12, 27, 36-38; fixtures 11 and 13).
 *
 * (1) The offers: each must be held by the framework ("Offer <id> is no longer valid"), all from one agent
 *     ("Aggregated offers must belong to one single agent. ..."); used offers are consumed either way. An offer
 *     error turns every task into TASK_LOST (TASK_DROPPED if PARTITION_AWARE) REASON_INVALID_OFFERS and drops the
 *     other operations ("Operation attempted with invalid offers: ...").
 * (2) Every operation's resources are checked and upgraded to the refinement format (a bad one is dropped:
 *     "Operation attempted with invalid resources: ..."; a LAUNCH gets TASK_ERROR); an `id` on a LAUNCH is refused
 *     (TASK_ERROR); the offer's allocation role is injected where resources have none.
 * (3) The operations apply in order against the offers' remaining resources, each building on the ones before
 *     it: RESERVE/UNRESERVE/CREATE/DESTROY are validated (operation-validation.ts), converted (operations.ts) and
 *     checkpointed on the agent at once, so a later LAUNCH in the same ACCEPT can use the reserved resources and
 *     the volume; an invalid one is dropped with the master's log line (and OPERATION_ERROR when it has an id) and
 *     the others still apply; a valid one with an id gets OPERATION_FINISHED. LAUNCH: launch.ts.
 * (4) What is left is declined with the ACCEPT's filters. Master-made task updates carry no uuid.
 */
import type {OfferOperation, Resource, SchedulerCall, TaskInfo} from '../../lib/mesos/types.js'
import {addResources, isEmptyResources} from '../resources.js'
import {upgradeResources, withAllocation} from '../reservations.js'
import {totalOf, usedOn} from './accounting.js'
import {launchTask} from './launch.js'
import {validateCreate, validateDestroy, validateReserve, validateResources, validateUnreserve} from './operation-validation.js'
import {
  agentText,
  applyConversions,
  applyToAgent,
  conversions,
  dropOperation,
  operationFinished,
  operationResources,
  RESOURCE_OPERATIONS,
  withOperationResources,
  type ResourceOperationType,
} from './operations.js'
import {declineResources, removeOffer} from './offers.js'
import {isPartitionAware, log, masterStatus, sendTo, type AgentRec, type FrameworkRec, type MasterState, type OfferRec} from './state.js'

type Accept = NonNullable<SchedulerCall['accept']>

function validateOffers(m: MasterState, fw: FrameworkRec, accept: Accept): {offers: OfferRec[]; error: string | null} {
  const offers: OfferRec[] = []
  let error: string | null = null
  const seen = new Set<string>()
  for (const {value} of accept.offer_ids ?? []) {
    const o = m.offers.get(value)
    if (!o || o.frameworkId !== fw.id || seen.has(value)) {
      error ??= `Offer ${value} is no longer valid`
      continue
    }
    seen.add(value)
    offers.push(o)
  }
  const first = offers[0]
  if (error === null && first) {
    const other = offers.find((o) => o.agentId !== first.agentId)
    if (other)
      error = `Aggregated offers must belong to one single agent. Offer ${other.offer.id.value} uses agent ${other.agentId} and agent ${first.agentId}`
  }
  if (error === null && !first) error = 'No offers specified'
  return {offers, error}
}

function taskError(m: MasterState, fw: FrameworkRec, tasks: readonly TaskInfo[], message: string): void {
  for (const t of tasks) {
    const status = masterStatus(t.task_id?.value ?? '', 'TASK_ERROR', 'REASON_TASK_INVALID', message, t.agent_id?.value)
    sendTo(m, fw.id, {type: 'UPDATE', update: {status}})
  }
}

const isResourceOp = (op: OfferOperation): op is OfferOperation & {type: ResourceOperationType} =>
  (RESOURCE_OPERATIONS as readonly string[]).includes(op.type)

/** Step (2): the operations that go on, upgraded, with the offer's allocation role injected. */
function prepare(m: MasterState, fw: FrameworkRec, ops: readonly OfferOperation[], role: string): OfferOperation[] {
  const out: OfferOperation[] = []
  for (const op of ops) {
    if (op.type === 'LAUNCH') {
      const tasks = op.launch?.task_infos ?? []
      const bad = tasks.map((t) => validateResources([...(t.resources ?? []), ...(t.executor?.resources ?? [])])).find((e) => e !== null)
      if (bad) taskError(m, fw, tasks, bad)
      else if (op.id !== undefined) taskError(m, fw, tasks, 'The `id` field cannot be set on LAUNCH operations')
      else out.push(op)
      continue
    }
    if (!isResourceOp(op)) {
      log(m, `W Ignoring ${String(op.type)} operation from framework ${fw.id} (${fw.info.name}): not supported by the local Mesos master`)
      continue
    }
    const rs = operationResources(op)
    if (rs === undefined) {
      const field = op.type.toLowerCase()
      const article = op.type === 'UNRESERVE' ? 'An' : 'A'
      dropOperation(
        m,
        fw,
        op,
        `Operation attempted with invalid resources: ${article} ${op.type} offer operation must have the Offer.Operation.${field} field set.`,
      )
      continue
    }
    const err = validateResources(rs)
    if (err) dropOperation(m, fw, op, `Operation attempted with invalid resources: ${err}`)
    else if (op.type === 'RESERVE' && (op.reserve?.source ?? []).length > 0) {
      dropOperation(
        m,
        fw,
        op,
        'Operation attempted with invalid resources: Reservation updates are not yet implemented for the scheduler API.',
      )
    } else out.push(withOperationResources(op, withAllocation(upgradeResources(rs), role)))
  }
  return out
}

/** Step (3) for RESERVE/UNRESERVE/CREATE/DESTROY: the remaining resources after `op`, or unchanged when it is dropped. */
function applyResourceOp(
  m: MasterState,
  fw: FrameworkRec,
  agent: AgentRec,
  op: OfferOperation & {type: ResourceOperationType},
  remaining: Resource[],
): Resource[] {
  const rs = operationResources(op) ?? []
  const principal = fw.info.principal
  let err: string | null
  switch (op.type) {
    case 'RESERVE':
      err = validateReserve(rs, principal, fw.roles)
      break
    case 'UNRESERVE':
      err = validateUnreserve(rs)
      break
    case 'CREATE':
      err = validateCreate(rs, totalOf(agent), principal, fw.roles)
      break
    case 'DESTROY':
      err = validateDestroy(rs, totalOf(agent), [usedOn(m, agent.id)])
      break
  }
  if (err !== null) {
    dropOperation(m, fw, op, `${err}; on agent ${agentText(agent)}`)
    return remaining
  }
  const convs = conversions(op.type, rs)
  const applied = applyConversions(remaining, convs)
  if ('error' in applied) {
    dropOperation(m, fw, op, applied.error)
    return remaining
  }
  log(
    m,
    `Applying ${op.type} operation for resources ${JSON.stringify(rs)} from framework ${fw.id} (${fw.info.name}) to agent ${agentText(agent)}`,
  )
  const agentErr = applyToAgent(m, agent, convs)
  if (agentErr !== null) {
    dropOperation(m, fw, op, agentErr)
    return remaining
  }
  operationFinished(m, fw, op, agent.id)
  return applied.resources
}

export function accept(m: MasterState, fw: FrameworkRec, acc: Accept): void {
  const ops = acc.operations ?? []
  const {offers, error} = validateOffers(m, fw, acc)
  for (const o of offers) removeOffer(m, o.offer.id.value, false)
  if (error !== null) {
    const pa = isPartitionAware(fw)
    for (const op of ops) {
      if (op.type !== 'LAUNCH') {
        dropOperation(m, fw, op, `Operation attempted with invalid offers: ${error}`)
        continue
      }
      for (const t of op.launch?.task_infos ?? []) {
        const status = masterStatus(
          t.task_id?.value ?? '',
          pa ? 'TASK_DROPPED' : 'TASK_LOST',
          'REASON_INVALID_OFFERS',
          `Task launched with invalid offers: ${error}`,
          t.agent_id?.value,
        )
        sendTo(m, fw.id, {type: 'UPDATE', update: {status}})
      }
    }
    return
  }
  const agentId = offers[0]!.agentId
  const agent = m.agents.get(agentId)
  const role = offers[0]!.offer.allocation_info?.role ?? fw.roles[0] ?? '*'
  let remaining = addResources(
    [],
    offers.flatMap((o) => o.resources),
  )
  for (const op of prepare(m, fw, ops, role)) {
    if (op.type === 'LAUNCH') {
      for (const t of op.launch?.task_infos ?? []) remaining = launchTask(m, fw, agentId, role, t, remaining)
    } else if (isResourceOp(op) && agent) {
      remaining = applyResourceOp(m, fw, agent, op, remaining)
    }
  }
  if (!isEmptyResources(remaining)) declineResources(m, fw.id, agentId, remaining, acc.filters?.refuse_seconds)
}
