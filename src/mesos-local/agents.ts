/**
 * The agent side of the local master: MasterPort (see link.ts) over a MasterCore.
 *
 * Agent lifecycle at the master:
 *   registered (connected) --agentDisconnected--> disconnected: its offers are RESCINDed at once; a removal
 *     timer of agent_ping_timeout × max_agent_ping_timeouts starts.
 *   disconnected --registerAgent(reregister)--> registered (timer cancelled, nothing sent).
 *   disconnected --timer--> removed/unreachable: each task → UPDATE TASK_LOST (TASK_UNREACHABLE if
 *     PARTITION_AWARE) REASON_AGENT_REMOVED "health check timed out" with unreachable_time and no uuid, then
 *     FAILURE {agent_id} to every subscribed framework (Surprise 32).
 *   unreachable --registerAgent(reregister)--> registered: tasks the agent still runs → UPDATE TASK_RUNNING
 *     REASON_AGENT_REREGISTERED "Unreachable agent re-reregistered" (Surprise 33).
 *   After an election (recoverAgents): admitted in the registry → recovering --registerAgent--> registered;
 *     recovering --agent_reregister_timeout--> unreachable (FAILURE {agent_id}; no task is known to send).
 * Every transition is written to the shared registry (registry.ts).
 * Status updates are forwarded to the framework's stream as they come; when the framework is disconnected
 * they are dropped here and the agent's status update manager resends them.
 */
import type {AgentID, ExecutorID, MasterInfo, TaskStatus} from '../lib/mesos/types.js'
import type {AgentPort, AgentTaskView, MasterPort} from './link.js'
import {isPartitionAware, type TaskRec} from './frameworks.js'
import {isTerminal, type MasterCore} from './master-core.js'
import {durationText} from './state-json.js'

function agentTasks(port: AgentPort, frameworkId?: string): AgentTaskView[] {
  try {
    return port.tasks(frameworkId)
  } catch {
    return []
  }
}

function recFromView(view: AgentTaskView, agentId: string): TaskRec {
  return {
    frameworkId: view.frameworkId,
    agentId,
    task: view.task,
    executorId: view.task.executor?.executor_id.value,
    state: view.statusUpdateState ?? view.state,
    latestState: view.state,
    statusUpdateUuid: view.statusUpdateUuid,
    statuses: [...view.statuses],
    resources: view.task.resources ?? [],
  }
}

/**
 * Removes an agent (registered, or recovered from the registry and not re-registered): its tasks become
 * lost/unreachable (see the header), frameworks get FAILURE, the registry records it unreachable (or forgets it).
 */
export function removeAgent(core: MasterCore, agentId: string, message: string, unreachable: boolean): void {
  const agent = core.agents.get(agentId)
  const recovering = core.recoveringAgents.delete(agentId)
  if (!agent && !recovering) return
  if (agent) {
    core.clearTimer(agent.removalTimer)
    for (const [id, o] of core.offers) if (o.agentId === agentId) core.removeOffer(id, true)
    core.agents.delete(agentId)
  }
  core.allocator.clearAgent(agentId)
  const unreachableTime = {nanoseconds: Date.now() * 1e6}
  if (unreachable) {
    core.unreachableAgents.set(agentId, unreachableTime)
    core.opts.registry.markUnreachable(agentId, unreachableTime)
  } else {
    core.opts.registry.remove(agentId)
  }
  core.log(`removing agent ${agentId}: ${message}`)
  for (const [fwId, tasks] of core.tasks) {
    for (const rec of [...tasks.values()]) {
      if (rec.agentId !== agentId) continue
      if (isTerminal(rec.state)) {
        core.completeTask(rec)
        continue
      }
      const pa = isPartitionAware(core.frameworks.get(fwId))
      const state = unreachable ? (pa ? 'TASK_UNREACHABLE' : 'TASK_LOST') : pa ? 'TASK_GONE' : 'TASK_LOST'
      const status = core.masterStatus(rec.task.task_id.value, state, 'REASON_AGENT_REMOVED', message, agentId,
        unreachable ? {unreachable_time: unreachableTime} : {})
      rec.statuses.push(status)
      rec.state = state
      rec.latestState = state
      if (unreachable) rec.unreachableTime = unreachableTime
      else core.completeTask(rec)
      core.sendTo(fwId, {type: 'UPDATE', update: {status}})
    }
  }
  for (const [k, e] of core.executors) if (e.agentId === agentId) core.executors.delete(k)
  for (const fw of core.frameworks.values()) core.sendTo(fw.id, {type: 'FAILURE', failure: {agent_id: {value: agentId}}})
}

/**
 * A newly elected leader (Mesos' Master::_recover): agents the registry lists as admitted become "recovering"
 * until they re-register; those still missing after `agentReregisterTimeoutMs` are marked unreachable through
 * removeAgent (this master knows none of their tasks, so frameworks get FAILURE only and learn the rest by
 * reconciliation: "Task is unreachable"). Agents the registry lists as unreachable stay unreachable.
 */
export function recoverAgents(core: MasterCore): void {
  const registry = core.opts.registry
  core.recoveringAgents.clear()
  for (const [id, time] of registry.unreachable()) if (!core.agents.has(id)) core.unreachableAgents.set(id, time)
  for (const [id, info] of registry.admitted()) if (!core.agents.has(id)) core.recoveringAgents.set(id, info)
  if (core.recoveringAgents.size === 0) return
  const ms = core.opts.agentReregisterTimeoutMs
  core.log(`recovered ${core.recoveringAgents.size} agents from the registry; allowing ${durationText(ms)} for them to re-register`)
  core.timer(ms, () => {
    for (const id of [...core.recoveringAgents.keys()]) {
      removeAgent(core, id, `did not reregister within ${durationText(ms)} after master failover`, true)
    }
  })
}

export class MasterAgentLink implements MasterPort {
  constructor(private readonly core: MasterCore) {}

  masterInfo(): MasterInfo {
    return this.core.info
  }

  registerAgent(agent: AgentPort, reregister: boolean): {agentId: AgentID} {
    const core = this.core
    if (!core.leading) core.log(`agent ${agent.endpoint} registered while this master is not leading`)
    const info = agent.info()
    let id = reregister ? info.id?.value || agent.id || '' : ''
    if (id === '') id = `${core.id}-S${core.agentSeq++}`
    const now = Date.now() / 1000
    const existing = core.agents.get(id)
    if (existing) {
      core.clearTimer(existing.removalTimer)
      existing.removalTimer = undefined
      existing.port = agent
      existing.connected = true
      existing.reregisteredTime = now
    } else {
      core.agents.set(id, {id, port: agent, connected: true, registeredTime: now, ...(reregister ? {reregisteredTime: now} : {})})
    }
    core.unreachableAgents.delete(id)
    core.recoveringAgents.delete(id)
    core.opts.registry.admit(id, info)
    for (const view of agentTasks(agent)) this.learnTask(id, view)
    core.log(`agent ${id} (${agent.endpoint}) ${reregister ? 're-registered' : 'registered'}`)
    core.scheduleAllocation(0)
    return {agentId: {value: id}}
  }

  private learnTask(agentId: string, view: AgentTaskView): void {
    const core = this.core
    const taskId = view.task.task_id.value
    const rec = core.task(view.frameworkId, taskId)
    if (rec && rec.unreachableTime !== undefined) {
      if (isTerminal(view.state)) return
      rec.unreachableTime = undefined
      rec.state = view.statusUpdateState ?? view.state
      rec.latestState = view.state
      const withContainer = [...view.statuses, ...rec.statuses].reverse().find((s) => s.container_status !== undefined)
      const status = core.masterStatus(taskId, view.state, 'REASON_AGENT_REREGISTERED', 'Unreachable agent re-reregistered', agentId,
        withContainer?.container_status ? {container_status: withContainer.container_status} : {})
      core.sendTo(view.frameworkId, {type: 'UPDATE', update: {status}})
      return
    }
    if (rec) return
    const fresh = recFromView(view, agentId)
    if (!core.tasks.has(view.frameworkId)) core.tasks.set(view.frameworkId, new Map())
    core.tasks.get(view.frameworkId)!.set(taskId, fresh)
    const ex = view.task.executor
    if (ex) core.executors.set(core.executorKey(agentId, view.frameworkId, ex.executor_id.value), {frameworkId: view.frameworkId, agentId, info: ex})
  }

  agentDisconnected(agentId: string): void {
    const core = this.core
    const agent = core.agents.get(agentId)
    if (!agent || !agent.connected) return
    agent.connected = false
    for (const [id, o] of core.offers) if (o.agentId === agentId) core.removeOffer(id, true)
    const ms = core.opts.agentPingTimeoutMs * core.opts.maxAgentPingTimeouts
    core.log(`agent ${agentId} disconnected; removing it in ${ms} ms unless it re-registers`)
    agent.removalTimer = core.timer(ms, () => removeAgent(core, agentId, 'health check timed out', true))
  }

  statusUpdate(agentId: string, frameworkId: string, status: TaskStatus): void {
    const core = this.core
    if (!core.leading) return
    const taskId = status.task_id.value
    let rec = core.task(frameworkId, taskId)
    if (!rec) {
      const agent = core.agents.get(agentId)
      const view = agent ? agentTasks(agent.port, frameworkId).find((v) => v.task.task_id.value === taskId) : undefined
      rec = view ? recFromView(view, agentId) : {
        frameworkId, agentId, task: {name: taskId, task_id: {value: taskId}, agent_id: {value: agentId}},
        state: 'TASK_STAGING', latestState: 'TASK_STAGING', statuses: [], resources: [],
      }
      if (!core.tasks.has(frameworkId)) core.tasks.set(frameworkId, new Map())
      core.tasks.get(frameworkId)!.set(taskId, rec)
    }
    const resend = status.uuid !== undefined && rec.statuses.some((s) => s.uuid === status.uuid)
    if (!resend) rec.statuses.push(status)
    rec.state = status.state
    rec.statusUpdateUuid = status.uuid
    if (!isTerminal(rec.latestState)) rec.latestState = status.state
    core.sendTo(frameworkId, {type: 'UPDATE', update: {status}})
    if (isTerminal(status.state) && status.uuid === undefined) core.completeTask(rec)
  }

  executorExited(agentId: string, frameworkId: string, executorId: ExecutorID, waitStatus: number): void {
    const core = this.core
    // Only custom executors are reported: the command executor's exit gives no FAILURE (fixture 05).
    if (!core.executors.delete(core.executorKey(agentId, frameworkId, executorId.value))) return
    core.sendTo(frameworkId, {type: 'FAILURE', failure: {agent_id: {value: agentId}, executor_id: executorId, status: waitStatus}})
  }

  frameworkMessage(agentId: string, frameworkId: string, executorId: ExecutorID, data: string): void {
    this.core.sendTo(frameworkId, {type: 'MESSAGE', message: {agent_id: {value: agentId}, executor_id: executorId, data}})
  }

  resourcesFreed(agentId: string): void {
    const core = this.core
    const agent = core.agents.get(agentId)
    if (!agent) return
    for (const view of agentTasks(agent.port)) {
      const rec = core.task(view.frameworkId, view.task.task_id.value)
      if (rec && isTerminal(view.state)) rec.latestState = view.state
    }
  }
}
