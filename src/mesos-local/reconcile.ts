/**
 * RECONCILE and KILL of the local master (Mesos' Master::reconcile / Master::kill, §1.8 and Surprises 12, 22,
 * 32 of the fixtures README). All answers are master-made: SOURCE_MASTER, REASON_RECONCILIATION, no uuid.
 *
 *   implicit (no tasks): latest state of every active task except unreachable ones; nothing if none.
 *   explicit, per task:
 *     known task                    → "Reconciliation: Latest task state" (or "Task is unreachable")
 *     unknown, agent recovering     → no reply (or, without agent_id, while any agent is recovering): the
 *                                     agent has not re-registered since this master was elected
 *     unknown, agent registered     → TASK_GONE / TASK_LOST  "Reconciliation: Task is unknown to the agent"
 *     unknown, agent unreachable    → TASK_UNREACHABLE / TASK_LOST "Reconciliation: Task is unreachable"
 *     unknown, agent unknown/absent → TASK_UNKNOWN / TASK_LOST "Reconciliation: Task is unknown"
 *   (first state for PARTITION_AWARE frameworks, second otherwise).
 */
import type {KillPolicy, TaskStatus} from '../lib/mesos/types.js'
import {isPartitionAware, type FrameworkRec, type TaskRec} from './frameworks.js'
import type {MasterCore} from './master-core.js'

const REASON = 'REASON_RECONCILIATION'

function latestStatus(core: MasterCore, rec: TaskRec): TaskStatus {
  const withContainer = [...rec.statuses].reverse().find((s) => s.container_status !== undefined)
  return core.masterStatus(rec.task.task_id.value, rec.state, REASON, 'Reconciliation: Latest task state', rec.agentId, {
    ...(rec.executorId !== undefined ? {executor_id: {value: rec.executorId}} : {}),
    ...(withContainer?.container_status ? {container_status: withContainer.container_status} : {}),
  })
}

function send(core: MasterCore, fw: FrameworkRec, status: TaskStatus): void {
  core.sendTo(fw.id, {type: 'UPDATE', update: {status}})
}

export function reconcile(core: MasterCore, fw: FrameworkRec, tasks: {task_id: {value: string}; agent_id?: {value: string}}[] | undefined): void {
  const pa = isPartitionAware(fw)
  if (!tasks || tasks.length === 0) {
    for (const rec of core.tasks.get(fw.id)?.values() ?? []) {
      if (rec.unreachableTime === undefined) send(core, fw, latestStatus(core, rec))
    }
    return
  }
  for (const t of tasks) {
    const taskId = t.task_id.value
    const rec = core.task(fw.id, taskId)
    if (rec) {
      if (rec.unreachableTime !== undefined) {
        send(core, fw, core.masterStatus(taskId, pa ? 'TASK_UNREACHABLE' : 'TASK_LOST', REASON, 'Reconciliation: Task is unreachable', rec.agentId, {unreachable_time: rec.unreachableTime}))
      } else {
        send(core, fw, latestStatus(core, rec))
      }
      continue
    }
    const agentId = t.agent_id?.value
    if (agentId !== undefined ? core.recoveringAgents.has(agentId) : core.recoveringAgents.size > 0) {
      core.log(`not reconciling task ${taskId} of framework ${fw.id}: ${agentId !== undefined ? `agent ${agentId} is` : 'agents are'} still recovering`)
    } else if (agentId !== undefined && core.agents.has(agentId)) {
      send(core, fw, core.masterStatus(taskId, pa ? 'TASK_GONE' : 'TASK_LOST', REASON, 'Reconciliation: Task is unknown to the agent', agentId))
    } else if (agentId !== undefined && core.unreachableAgents.has(agentId)) {
      send(core, fw, core.masterStatus(taskId, pa ? 'TASK_UNREACHABLE' : 'TASK_LOST', REASON, 'Reconciliation: Task is unreachable', agentId, {unreachable_time: core.unreachableAgents.get(agentId)}))
    } else {
      send(core, fw, core.masterStatus(taskId, pa ? 'TASK_UNKNOWN' : 'TASK_LOST', REASON, 'Reconciliation: Task is unknown', agentId))
    }
  }
}

/** KILL: known task → the agent; unknown task → explicit reconciliation of that task (Surprise 12). */
export function kill(core: MasterCore, fw: FrameworkRec, taskId: string, agentId: string | undefined, killPolicy: KillPolicy | undefined): void {
  const rec = core.task(fw.id, taskId)
  if (!rec) {
    reconcile(core, fw, [{task_id: {value: taskId}, ...(agentId !== undefined ? {agent_id: {value: agentId}} : {})}])
    return
  }
  const agent = core.agents.get(rec.agentId)
  if (agent?.connected) agent.port.kill(fw.id, {value: taskId}, killPolicy)
}
