/**
 * The master's end of the in-process link (../link.ts): the MasterPort that agents registered with this master
 * call. Registration and disconnection are agent-lifecycle.ts; here the agents' reports:
 *   - status updates are forwarded to the framework's stream as they come (recorded once per uuid; a terminal
 *     update without uuid ends the task at once); when the framework is disconnected they are dropped here and
 *     the agent's status update manager resends them; nothing is done while not leading;
 *   - a custom executor's exit → FAILURE {agent_id, executor_id, status} (the command executor's gives none);
 *   - executor MESSAGEs → the framework; freed resources → the tasks' latest states (accounting.ts).
 */
import type {ExecutorID, MasterInfo, TaskStatus} from '../../lib/mesos/types.js'
import type {MasterPort} from '../link.js'
import {agentDisconnected, agentTasks, recFromView, registerAgent} from './agent-lifecycle.js'
import {completeTask, executorKey, findTask, isTerminal, sendTo, type MasterState} from './state.js'

function statusUpdate(m: MasterState, agentId: string, frameworkId: string, status: TaskStatus): void {
  if (!m.leading) return
  const taskId = status.task_id.value
  let rec = findTask(m, frameworkId, taskId)
  if (!rec) {
    const agent = m.agents.get(agentId)
    const view = agent ? agentTasks(agent.port, frameworkId).find((v) => v.task.task_id.value === taskId) : undefined
    rec = view
      ? recFromView(view, agentId)
      : {
          frameworkId,
          agentId,
          task: {name: taskId, task_id: {value: taskId}, agent_id: {value: agentId}},
          state: 'TASK_STAGING',
          latestState: 'TASK_STAGING',
          statuses: [],
          resources: [],
        }
    if (!m.tasks.has(frameworkId)) m.tasks.set(frameworkId, new Map())
    m.tasks.get(frameworkId)!.set(taskId, rec)
  }
  const resend = status.uuid !== undefined && rec.statuses.some((s) => s.uuid === status.uuid)
  if (!resend) rec.statuses.push(status)
  rec.state = status.state
  rec.statusUpdateUuid = status.uuid
  if (!isTerminal(rec.latestState)) rec.latestState = status.state
  sendTo(m, frameworkId, {type: 'UPDATE', update: {status}})
  if (isTerminal(status.state) && status.uuid === undefined) completeTask(m, rec)
}

function executorExited(m: MasterState, agentId: string, frameworkId: string, executorId: ExecutorID, waitStatus: number): void {
  // Only custom executors are reported: the command executor's exit gives no FAILURE (fixture 05).
  if (!m.executors.delete(executorKey(agentId, frameworkId, executorId.value))) return
  sendTo(m, frameworkId, {type: 'FAILURE', failure: {agent_id: {value: agentId}, executor_id: executorId, status: waitStatus}})
}

function resourcesFreed(m: MasterState, agentId: string): void {
  const agent = m.agents.get(agentId)
  if (!agent) return
  for (const view of agentTasks(agent.port)) {
    const rec = findTask(m, view.frameworkId, view.task.task_id.value)
    if (rec && isTerminal(view.state)) rec.latestState = view.state
  }
}

/** The MasterPort of this master's state. */
export function agentLink(m: MasterState): MasterPort {
  return {
    masterInfo: (): MasterInfo => m.info,
    registerAgent: (agent, reregister) => registerAgent(m, agent, reregister),
    agentDisconnected: (agentId) => agentDisconnected(m, agentId),
    statusUpdate: (agentId, frameworkId, status) => statusUpdate(m, agentId, frameworkId, status),
    executorExited: (agentId, frameworkId, executorId, waitStatus) => executorExited(m, agentId, frameworkId, executorId, waitStatus),
    frameworkMessage: (agentId, frameworkId, executorId, data) => {
      sendTo(m, frameworkId, {type: 'MESSAGE', message: {agent_id: {value: agentId}, executor_id: executorId, data}})
    },
    resourcesFreed: (agentId) => resourcesFreed(m, agentId),
  }
}
