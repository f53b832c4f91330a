/**
 * Task status updates on the local agent (Mesos slave.cpp `statusUpdate`, `___statusUpdate`), from an executor
 * (UPDATE call, the command executor) or made by the agent itself (SOURCE_AGENT, e.g. TASK_LOST when an executor
 * is gone):
 *   - agent_id is set, a timestamp added if missing; an executor's update gets container_status {container_id,
 *     network_infos (agent ip), executor_pid} unless it has one (the executor's own fields pass unchanged);
 *   - the task's latest state and status are recorded (once per uuid: a replayed update changes nothing);
 *   - the update is queued in the status update manager for the master (not for a framework being removed);
 *   - a connected custom executor gets ACKNOWLEDGED {task_id, uuid} at once;
 *   - a task that became terminal frees its resources (MasterPort.resourcesFreed) and its volumes' links in the
 *     sandbox are removed unless the executor still uses them (volumes.ts).
 */
import type {TaskID, TaskStatus} from '../../lib/mesos/types.js'
import {uuidBase64} from '../../lib/mesos/uuid.js'
import {saveCheckpoint} from './checkpoint.js'
import {isTerminal, key, type AgentState, type ExecutorRecord, type Termination} from './state.js'
import {syncVolumes} from './volumes.js'

/** A status made by the agent itself: SOURCE_AGENT, with a fresh uuid. */
export function agentStatus(agent: AgentState, taskId: TaskID, term: Termination, executorId?: string): TaskStatus {
  return {
    task_id: taskId,
    state: term.state,
    message: term.message,
    source: 'SOURCE_AGENT',
    reason: term.reason,
    agent_id: {value: agent.id},
    ...(executorId ? {executor_id: {value: executorId}} : {}),
    timestamp: Date.now() / 1000,
    uuid: uuidBase64(),
  }
}

/** Record an update, queue it for the master and ACKNOWLEDGE it to a connected custom executor. */
export function acceptUpdate(agent: AgentState, ex: ExecutorRecord, status: TaskStatus, fromExecutor: boolean): void {
  status.agent_id = {value: agent.id}
  if (status.timestamp === undefined) status.timestamp = Date.now() / 1000
  if (fromExecutor && !status.container_status) {
    status.container_status = {
      container_id: {value: ex.containerId},
      network_infos: [{ip_addresses: [{protocol: 'IPv4', ip_address: agent.options.ip}]}],
      ...(ex.pid !== undefined ? {executor_pid: ex.pid} : {}),
    }
  }
  const fid = ex.frameworkId
  const t = agent.tasks.get(key(fid, status.task_id.value))
  const fresh = !(status.uuid && agent.updates.hasSeen(fid, status.task_id.value, status.uuid))
  let freed = false
  if (t && fresh) {
    freed = !isTerminal(t.state) && isTerminal(status.state)
    t.state = status.state
    const kept: TaskStatus = {...status}
    delete kept.uuid
    t.statuses.push(kept)
  }
  const fw = agent.frameworks.get(fid)
  if (fw && !fw.removing) agent.updates.enqueue(fid, status)
  if (ex.kind === 'custom' && fromExecutor && status.uuid) {
    ex.stream?.send({type: 'ACKNOWLEDGED', acknowledged: {task_id: status.task_id, uuid: status.uuid}})
  }
  if (freed && ex.volumes?.length) syncVolumes(agent, ex)
  saveCheckpoint(agent)
  if (freed) agent.master?.resourcesFreed(agent.id)
}

/** An update made by the agent itself (SOURCE_AGENT, with uuid, no container_status). */
export function agentUpdate(agent: AgentState, ex: ExecutorRecord, taskId: TaskID, term: Termination): void {
  acceptUpdate(agent, ex, agentStatus(agent, taskId, term, ex.id), false)
}
