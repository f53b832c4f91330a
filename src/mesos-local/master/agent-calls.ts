/**
 * Scheduler calls the local master hands on to an agent (Mesos' Master::acknowledge, shutdown, message):
 * ACKNOWLEDGE, SHUTDOWN (of an executor) and MESSAGE go to the agent when it is connected and are dropped
 * otherwise. An acknowledged terminal update also ends the task at the master (it moves to completed tasks).
 * KILL, which may turn into reconciliation, is in reconcile.ts.
 */
import {completeTask, findTask, isTerminal, type FrameworkRec, type MasterState} from './state.js'

export function acknowledge(m: MasterState, fw: FrameworkRec, agentId: string, taskId: string, uuid: string): void {
  const agent = m.agents.get(agentId)
  if (agent?.connected) agent.port.acknowledge(fw.id, {value: taskId}, uuid)
  const rec = findTask(m, fw.id, taskId)
  if (rec && rec.statusUpdateUuid === uuid && isTerminal(rec.state)) completeTask(m, rec)
}

export function shutdownExecutor(m: MasterState, fw: FrameworkRec, agentId: string, executorId: string): void {
  const agent = m.agents.get(agentId)
  if (agent?.connected) agent.port.shutdownExecutor(fw.id, {value: executorId})
}

export function message(m: MasterState, fw: FrameworkRec, agentId: string, executorId: string, data: string): void {
  const agent = m.agents.get(agentId)
  if (agent?.connected) agent.port.message(fw.id, {value: executorId}, data)
}
