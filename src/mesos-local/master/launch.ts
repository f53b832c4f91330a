/**
 * LAUNCH inside an ACCEPT (Mesos' task validation and Master::_accept's LAUNCH case, Surprise 27 and fixture 11):
 * validate each task in order (id, duplicate id, agent, resources present and valid, command/executor, executor
 * compatibility, resources fit what is left of the offers after the operations before it) → TASK_ERROR
 * REASON_TASK_INVALID (no uuid); a valid task is recorded (TASK_STAGING), handed to the agent, and its resources
 * (and a new executor's) leave the remaining resources. The ACCEPT itself (offers, the other operations, the
 * leftover) is accept.ts.
 */
import type {ExecutorInfo, Resource, TaskInfo} from '../../lib/mesos/types.js'
import {containsResources, isEmptyResources, subtractResources} from '../resources.js'
import {mesosText, upgradeResources, withAllocation} from '../reservations.js'
import {validateAllocatedToSingleRole, validateResourcesForMaster, validateUniquePersistenceIds} from './operation-validation.js'
import {executorKey, findTask, masterStatus, sendTo, type FrameworkRec, type MasterState, type TaskRec} from './state.js'
import {executorsCompatible, validateId, validateTaskShape} from './validation.js'

function validateTask(m: MasterState, fw: FrameworkRec, task: TaskInfo, agentId: string, available: Resource[]): string | null {
  const id = task.task_id?.value ?? ''
  const idErr = validateId(id)
  if (idErr) return idErr
  if (findTask(m, fw.id, id)) return `Task has duplicate ID: ${id}`
  if (task.agent_id?.value !== agentId) return `Task uses invalid agent ${task.agent_id?.value ?? ''} while agent ${agentId} is expected`
  if (isEmptyResources(task.resources ?? [])) return 'Task uses no resources'
  const invalid = validateResourcesForMaster(task.resources ?? [])
  if (invalid) return `Task uses invalid resources: ${invalid}`
  const dup = validateUniquePersistenceIds(task.resources ?? [])
  if (dup) return `Task uses duplicate persistence ID: ${dup}`
  const roles = validateAllocatedToSingleRole(task.resources ?? [])
  if (roles) return `Invalid task resources: ${roles}`
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

/** One task of a LAUNCH against `available` (resources with allocation_info); returns what is left. */
export function launchTask(
  m: MasterState,
  fw: FrameworkRec,
  agentId: string,
  role: string,
  t: TaskInfo,
  available: Resource[],
): Resource[] {
  // Mesos upgrades the task's resources to the refinement format and injects the offer's allocation role first.
  const task: TaskInfo = {...t, resources: withAllocation(upgradeResources(t.resources ?? []), role)}
  let executor: ExecutorInfo | undefined
  if (t.executor) {
    executor = {...t.executor, framework_id: {value: fw.id}, resources: withAllocation(upgradeResources(t.executor.resources ?? []), role)}
    task.executor = executor
  }
  const err = validateTask(m, fw, task, agentId, available)
  if (err !== null) {
    const status = masterStatus(t.task_id?.value ?? '', 'TASK_ERROR', 'REASON_TASK_INVALID', err, t.agent_id?.value)
    sendTo(m, fw.id, {type: 'UPDATE', update: {status}})
    return available
  }
  const key = executor ? executorKey(agentId, fw.id, executor.executor_id.value) : ''
  const newExecutor = executor !== undefined && !m.executors.has(key)
  const rest = subtractResources(available, [...task.resources!, ...(newExecutor ? (executor!.resources ?? []) : [])])
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
  const agent = m.agents.get(agentId)
  if (agent?.connected) agent.port.launch({...fw.info, id: {value: fw.id}}, task, executor)
  else rec.state = rec.latestState = 'TASK_LOST'
  return rest
}
