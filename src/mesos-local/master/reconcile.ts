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
import type {KillPolicy, TaskStatus} from '../../lib/mesos/types.js'
import {findTask, isPartitionAware, log, masterStatus, sendTo, type FrameworkRec, type MasterState, type TaskRec} from './state.js'

const REASON = 'REASON_RECONCILIATION'

function latestStatus(rec: TaskRec): TaskStatus {
  const withContainer = [...rec.statuses].reverse().find((s) => s.container_status !== undefined)
  return masterStatus(rec.task.task_id.value, rec.state, REASON, 'Reconciliation: Latest task state', rec.agentId, {
    ...(rec.executorId !== undefined ? {executor_id: {value: rec.executorId}} : {}),
    ...(withContainer?.container_status ? {container_status: withContainer.container_status} : {}),
  })
}

function send(m: MasterState, fw: FrameworkRec, status: TaskStatus): void {
  sendTo(m, fw.id, {type: 'UPDATE', update: {status}})
}

export function reconcile(
  m: MasterState,
  fw: FrameworkRec,
  tasks: {task_id: {value: string}; agent_id?: {value: string}}[] | undefined,
): void {
  const pa = isPartitionAware(fw)
  if (!tasks || tasks.length === 0) {
    for (const rec of m.tasks.get(fw.id)?.values() ?? []) {
      if (rec.unreachableTime === undefined) send(m, fw, latestStatus(rec))
    }
    return
  }
  for (const t of tasks) {
    const taskId = t.task_id.value
    const rec = findTask(m, fw.id, taskId)
    if (rec) {
      if (rec.unreachableTime !== undefined) {
        send(
          m,
          fw,
          masterStatus(taskId, pa ? 'TASK_UNREACHABLE' : 'TASK_LOST', REASON, 'Reconciliation: Task is unreachable', rec.agentId, {
            unreachable_time: rec.unreachableTime,
          }),
        )
      } else {
        send(m, fw, latestStatus(rec))
      }
      continue
    }
    const agentId = t.agent_id?.value
    if (agentId !== undefined ? m.recoveringAgents.has(agentId) : m.recoveringAgents.size > 0) {
      log(
        m,
        `not reconciling task ${taskId} of framework ${fw.id}: ${agentId !== undefined ? `agent ${agentId} is` : 'agents are'} still recovering`,
      )
    } else if (agentId !== undefined && m.agents.has(agentId)) {
      send(m, fw, masterStatus(taskId, pa ? 'TASK_GONE' : 'TASK_LOST', REASON, 'Reconciliation: Task is unknown to the agent', agentId))
    } else if (agentId !== undefined && m.unreachableAgents.has(agentId)) {
      send(
        m,
        fw,
        masterStatus(taskId, pa ? 'TASK_UNREACHABLE' : 'TASK_LOST', REASON, 'Reconciliation: Task is unreachable', agentId, {
          unreachable_time: m.unreachableAgents.get(agentId),
        }),
      )
    } else {
      send(m, fw, masterStatus(taskId, pa ? 'TASK_UNKNOWN' : 'TASK_LOST', REASON, 'Reconciliation: Task is unknown', agentId))
    }
  }
}

/** KILL: known task → the agent; unknown task → explicit reconciliation of that task (Surprise 12). */
export function kill(
  m: MasterState,
  fw: FrameworkRec,
  taskId: string,
  agentId: string | undefined,
  killPolicy: KillPolicy | undefined,
): void {
  const rec = findTask(m, fw.id, taskId)
  if (!rec) {
    reconcile(m, fw, [{task_id: {value: taskId}, ...(agentId !== undefined ? {agent_id: {value: agentId}} : {})}])
    return
  }
  const agent = m.agents.get(rec.agentId)
  if (agent?.connected) agent.port.kill(fw.id, {value: taskId}, killPolicy)
}
