/**
 * ACCEPT with LAUNCH operations (Mesos' Master::accept + task validation, Surprise 27 and fixture 11).
 *
 * Steps: (1) validate the offers: each must be held by the framework ("Offer <id> is no longer valid") and all
 * from one agent ("Aggregated offers must belong to one single agent. ..."); used offers are consumed either
 * way. An offer error turns every task into TASK_LOST (TASK_DROPPED if PARTITION_AWARE), REASON_INVALID_OFFERS.
 * (2) validate each task in order (id, duplicate id, agent, resources present, command/executor, executor
 * compatibility, resources fit the rest of the offers) → TASK_ERROR REASON_TASK_INVALID; a valid task is
 * recorded (TASK_STAGING) and handed to the agent. (3) What was not used is declined with the ACCEPT's filters.
 * All master-made updates carry no uuid.
 */
import type {ExecutorInfo, Resource, SchedulerCall, TaskInfo} from '../../lib/mesos/types.js'
import {addResources, containsResources, isEmptyResources, subtractResources} from '../resources.js'
import {mesosText, upgradeResources, withAllocation} from '../reservations.js'
import {declineResources, removeOffer} from './offers.js'
import {
  executorKey,
  findTask,
  isPartitionAware,
  log,
  masterStatus,
  sendTo,
  type FrameworkRec,
  type MasterState,
  type OfferRec,
  type TaskRec,
} from './state.js'
import {executorsCompatible, validateId, validateTaskShape} from './validation.js'

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

function validateTask(m: MasterState, fw: FrameworkRec, task: TaskInfo, agentId: string, available: Resource[]): string | null {
  const id = task.task_id?.value ?? ''
  const idErr = validateId(id)
  if (idErr) return idErr
  if (findTask(m, fw.id, id)) return `Task has duplicate ID: ${id}`
  if (task.agent_id?.value !== agentId) return `Task uses invalid agent ${task.agent_id?.value ?? ''} while agent ${agentId} is expected`
  if (isEmptyResources(task.resources ?? [])) return 'Task uses no resources'
  const shape = validateTaskShape(task)
  if (shape) return shape
  const existing = task.executor ? m.executors.get(executorKey(agentId, fw.id, task.executor.executor_id.value)) : undefined
  if (existing && task.executor && !executorsCompatible(existing.info, task.executor)) {
    return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID'
  }
  const need = [...(task.resources ?? []), ...(task.executor && !existing ? (task.executor.resources ?? []) : [])]
  if (!containsResources(available, need)) {
    return `Total resources ${mesosText(need)} required by task and its executor is more than available ${mesosText(available)}`
  }
  return null
}

export function accept(m: MasterState, fw: FrameworkRec, acc: Accept): void {
  const pa = isPartitionAware(fw)
  const launches = (acc.operations ?? []).filter((op) => op.type === 'LAUNCH').flatMap((op) => op.launch?.task_infos ?? [])
  for (const op of acc.operations ?? []) {
    if (op.type !== 'LAUNCH') log(m, `framework ${fw.id}: ignoring unsupported offer operation ${String(op.type)}`)
  }
  const {offers, error} = validateOffers(m, fw, acc)
  for (const o of offers) removeOffer(m, o.offer.id.value, false)
  if (error !== null) {
    for (const t of launches) {
      const status = masterStatus(
        t.task_id?.value ?? '',
        pa ? 'TASK_DROPPED' : 'TASK_LOST',
        'REASON_INVALID_OFFERS',
        `Task launched with invalid offers: ${error}`,
        t.agent_id?.value,
      )
      sendTo(m, fw.id, {type: 'UPDATE', update: {status}})
    }
    return
  }
  const agentId = offers[0]!.agentId
  const agent = m.agents.get(agentId)
  const role = offers[0]!.offer.allocation_info?.role ?? fw.roles[0] ?? '*'
  let available = addResources(
    [],
    offers.flatMap((o) => o.resources),
  )
  for (const t of launches) {
    const err = validateTask(m, fw, t, agentId, available)
    if (err !== null) {
      const status = masterStatus(t.task_id?.value ?? '', 'TASK_ERROR', 'REASON_TASK_INVALID', err, t.agent_id?.value)
      sendTo(m, fw.id, {type: 'UPDATE', update: {status}})
      continue
    }
    const task: TaskInfo = {...t, resources: withAllocation(upgradeResources(t.resources ?? []), role)}
    let executor: ExecutorInfo | undefined
    if (t.executor) {
      executor = {
        ...t.executor,
        framework_id: {value: fw.id},
        resources: withAllocation(upgradeResources(t.executor.resources ?? []), role),
      }
      task.executor = executor
    }
    const key = executor ? executorKey(agentId, fw.id, executor.executor_id.value) : ''
    const newExecutor = executor !== undefined && !m.executors.has(key)
    available = subtractResources(available, [...task.resources!, ...(newExecutor ? (executor!.resources ?? []) : [])])
    const rec: TaskRec = {
      frameworkId: fw.id,
      agentId,
      task,
      executorId: executor?.executor_id.value,
      state: 'TASK_STAGING',
      latestState: 'TASK_STAGING',
      statuses: [],
      resources: task.resources!,
    }
    if (!m.tasks.has(fw.id)) m.tasks.set(fw.id, new Map())
    m.tasks.get(fw.id)!.set(task.task_id.value, rec)
    if (newExecutor) m.executors.set(key, {frameworkId: fw.id, agentId, info: executor!})
    if (agent?.connected) {
      agent.port.launch({...fw.info, id: {value: fw.id}}, task, executor)
    } else {
      rec.state = rec.latestState = 'TASK_LOST'
    }
  }
  if (!isEmptyResources(available)) declineResources(m, fw.id, agentId, available, acc.filters?.refuse_seconds)
}
