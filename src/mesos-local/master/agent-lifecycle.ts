/**
 * The agents as the local master sees them: registration, disconnection, removal and recovery after an
 * election. Agents call in through MasterPort (agent-link.ts).
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
 * A (re-)registering agent's tasks become known to the master (what it runs after a restart or a partition).
 */
import type {AgentID} from '../../lib/mesos/types.js'
import type {AgentPort, AgentTaskView} from '../link.js'
import {upgradeResources} from '../reservations.js'
import {durationText} from './flags.js'
import {removeOffer, scheduleAllocation} from './offers.js'
import {
  clearTimer,
  completeTask,
  executorKey,
  findTask,
  isPartitionAware,
  isTerminal,
  log,
  masterStatus,
  sendTo,
  startTimer,
  type MasterState,
  type TaskRec,
} from './state.js'

/** The tasks an agent reports (none when it cannot answer). */
export function agentTasks(port: AgentPort, frameworkId?: string): AgentTaskView[] {
  try {
    return port.tasks(frameworkId)
  } catch {
    return []
  }
}

/** A master task record for a task the master learns from its agent. */
export function recFromView(view: AgentTaskView, agentId: string): TaskRec {
  return {
    frameworkId: view.frameworkId,
    agentId,
    task: view.task,
    executorId: view.task.executor?.executor_id.value,
    state: view.statusUpdateState ?? view.state,
    latestState: view.state,
    statusUpdateUuid: view.statusUpdateUuid,
    statuses: [...view.statuses],
    resources: upgradeResources(view.task.resources ?? []),
  }
}

/**
 * Removes an agent (registered, or recovered from the registry and not re-registered): its tasks become
 * lost/unreachable (see the header), frameworks get FAILURE, the registry records it unreachable (or forgets it).
 */
export function removeAgent(m: MasterState, agentId: string, message: string, unreachable: boolean): void {
  const agent = m.agents.get(agentId)
  const recovering = m.recoveringAgents.delete(agentId)
  if (!agent && !recovering) return
  if (agent) {
    clearTimer(m, agent.removalTimer)
    for (const [id, o] of m.offers) if (o.agentId === agentId) removeOffer(m, id, true)
    m.agents.delete(agentId)
  }
  m.allocator.clearAgent(agentId)
  const unreachableTime = {nanoseconds: Date.now() * 1e6}
  if (unreachable) {
    m.unreachableAgents.set(agentId, unreachableTime)
    m.config.registry.markUnreachable(agentId, unreachableTime)
  } else {
    m.config.registry.remove(agentId)
  }
  log(m, `removing agent ${agentId}: ${message}`)
  for (const [fwId, tasks] of m.tasks) {
    for (const rec of [...tasks.values()]) {
      if (rec.agentId !== agentId) continue
      if (isTerminal(rec.state)) {
        completeTask(m, rec)
        continue
      }
      const pa = isPartitionAware(m.frameworks.get(fwId))
      const state = unreachable ? (pa ? 'TASK_UNREACHABLE' : 'TASK_LOST') : pa ? 'TASK_GONE' : 'TASK_LOST'
      const status = masterStatus(
        rec.task.task_id.value,
        state,
        'REASON_AGENT_REMOVED',
        message,
        agentId,
        unreachable ? {unreachable_time: unreachableTime} : {},
      )
      rec.statuses.push(status)
      rec.state = state
      rec.latestState = state
      if (unreachable) rec.unreachableTime = unreachableTime
      else completeTask(m, rec)
      sendTo(m, fwId, {type: 'UPDATE', update: {status}})
    }
  }
  for (const [k, e] of m.executors) if (e.agentId === agentId) m.executors.delete(k)
  for (const fw of m.frameworks.values()) sendTo(m, fw.id, {type: 'FAILURE', failure: {agent_id: {value: agentId}}})
}

/**
 * A newly elected leader (Mesos' Master::_recover): agents the registry lists as admitted become "recovering"
 * until they re-register; those still missing after `agentReregisterTimeoutMs` are marked unreachable through
 * removeAgent (this master knows none of their tasks, so frameworks get FAILURE only and learn the rest by
 * reconciliation: "Task is unreachable"). Agents the registry lists as unreachable stay unreachable.
 */
export function recoverAgents(m: MasterState): void {
  const registry = m.config.registry
  m.recoveringAgents.clear()
  for (const [id, time] of registry.unreachable()) if (!m.agents.has(id)) m.unreachableAgents.set(id, time)
  for (const [id, info] of registry.admitted()) if (!m.agents.has(id)) m.recoveringAgents.set(id, info)
  if (m.recoveringAgents.size === 0) return
  const ms = m.config.agentReregisterTimeoutMs
  log(m, `recovered ${m.recoveringAgents.size} agents from the registry; allowing ${durationText(ms)} for them to re-register`)
  startTimer(m, ms, () => {
    for (const id of [...m.recoveringAgents.keys()]) {
      removeAgent(m, id, `did not reregister within ${durationText(ms)} after master failover`, true)
    }
  })
}

/** MasterPort.registerAgent: the agent is (again) registered and connected; its tasks become known. */
export function registerAgent(m: MasterState, agent: AgentPort, reregister: boolean): {agentId: AgentID} {
  if (!m.leading) log(m, `agent ${agent.endpoint} registered while this master is not leading`)
  const info = agent.info()
  let id = reregister ? info.id?.value || agent.id || '' : ''
  if (id === '') id = `${m.info.id}-S${m.seq.agent++}`
  const now = Date.now() / 1000
  const existing = m.agents.get(id)
  if (existing) {
    clearTimer(m, existing.removalTimer)
    existing.removalTimer = undefined
    existing.port = agent
    existing.total = undefined // the agent reports its checkpointed total (reservations and volumes) itself
    existing.connected = true
    existing.reregisteredTime = now
  } else {
    m.agents.set(id, {id, port: agent, connected: true, registeredTime: now, ...(reregister ? {reregisteredTime: now} : {})})
  }
  m.unreachableAgents.delete(id)
  m.recoveringAgents.delete(id)
  m.config.registry.admit(id, info)
  for (const view of agentTasks(agent)) learnTask(m, id, view)
  log(m, `agent ${id} (${agent.endpoint}) ${reregister ? 're-registered' : 'registered'}`)
  scheduleAllocation(m, 0)
  return {agentId: {value: id}}
}

function learnTask(m: MasterState, agentId: string, view: AgentTaskView): void {
  const taskId = view.task.task_id.value
  const rec = findTask(m, view.frameworkId, taskId)
  if (rec && rec.unreachableTime !== undefined) {
    if (isTerminal(view.state)) return
    rec.unreachableTime = undefined
    rec.state = view.statusUpdateState ?? view.state
    rec.latestState = view.state
    const withContainer = [...view.statuses, ...rec.statuses].reverse().find((s) => s.container_status !== undefined)
    const status = masterStatus(
      taskId,
      view.state,
      'REASON_AGENT_REREGISTERED',
      'Unreachable agent re-reregistered',
      agentId,
      withContainer?.container_status ? {container_status: withContainer.container_status} : {},
    )
    sendTo(m, view.frameworkId, {type: 'UPDATE', update: {status}})
    return
  }
  if (rec) return
  const fresh = recFromView(view, agentId)
  if (!m.tasks.has(view.frameworkId)) m.tasks.set(view.frameworkId, new Map())
  m.tasks.get(view.frameworkId)!.set(taskId, fresh)
  const ex = view.task.executor
  if (ex) {
    const info = {...ex, resources: upgradeResources(ex.resources ?? [])}
    m.executors.set(executorKey(agentId, view.frameworkId, ex.executor_id.value), {frameworkId: view.frameworkId, agentId, info})
  }
}

/** MasterPort.agentDisconnected: its offers are rescinded; it is removed unless it re-registers in time. */
export function agentDisconnected(m: MasterState, agentId: string): void {
  const agent = m.agents.get(agentId)
  if (!agent?.connected) return
  agent.connected = false
  for (const [id, o] of m.offers) if (o.agentId === agentId) removeOffer(m, id, true)
  const ms = m.config.agentPingTimeoutMs * m.config.maxAgentPingTimeouts
  log(m, `agent ${agentId} disconnected; removing it in ${ms} ms unless it re-registers`)
  agent.removalTimer = startTimer(m, ms, () => removeAgent(m, agentId, 'health check timed out', true))
}
