/**
 * What the local agent does with executor calls and events (Mesos slave.cpp `subscribe`, `statusUpdate`,
 * `executorMessage`), separated from the HTTP layer (executor-api.ts):
 *   - SUBSCRIBE: a newer connection replaces (closes) the older one; SUBSCRIBED {executor_info with
 *     framework_id, framework_info, agent_info, container_id}; replay of `unacknowledged_updates`
 *     (duplicates are dropped by the status update manager but still ACKNOWLEDGED); LAUNCH for queued
 *     tasks; delivered tasks still in TASK_STAGING that the executor does not list in
 *     `unacknowledged_tasks` → TASK_LOST REASON_AGENT_RESTARTED "Task launched during agent restart".
 *   - UPDATE: accepted as updates.ts says (recorded, queued for the master, ACKNOWLEDGED at once).
 *   - Executor-side copies of resources carry no `role` (Surprise 29).
 */
import type {ExecutorCall, Resource, TaskInfo} from '../../lib/mesos/types.js'
import {bareResources, withoutRole} from '../resources.js'
import {saveCheckpoint} from './checkpoint.js'
import type {ExecutorStream} from './executor-api.js'
import {key, type AgentState, type ExecutorRecord} from './state.js'
import {acceptUpdate, agentUpdate} from './updates.js'

/** The TaskInfo as the executor sees it: full ExecutorInfo (framework_id filled in), no resource roles. */
function forExecutor(task: TaskInfo, ex: ExecutorRecord): TaskInfo {
  const t: TaskInfo = {...task, executor: {...ex.info, framework_id: {value: ex.frameworkId}}}
  if (t.resources) t.resources = withoutRole(t.resources)
  if (t.executor?.resources) t.executor = {...t.executor, resources: withoutRole(t.executor.resources)}
  return t
}

/** Agent resources as executors see them (no role, no allocation_info). */
function agentInfoForExecutors(agent: AgentState): {hostname: string; port: number; resources: Resource[]; id: {value: string}} {
  return {hostname: agent.options.hostname, port: agent.tcpPort, resources: bareResources(agent.options.resources), id: {value: agent.id}}
}

function findExecutor(agent: AgentState, call: ExecutorCall): ExecutorRecord | undefined {
  return agent.executors.get(key(call.framework_id.value, call.executor_id.value))
}

export function subscribe(agent: AgentState, call: ExecutorCall, stream: ExecutorStream): void {
  const ex = findExecutor(agent, call)
  const fw = agent.frameworks.get(call.framework_id.value)
  if (!ex || !fw) return stream.close()
  if (ex.state === 'TERMINATING' || ex.state === 'TERMINATED') {
    agent.options.log(`Shutting down executor ${ex.id}: it subscribed while ${ex.state}`)
    stream.send({type: 'SHUTDOWN'})
    return stream.close()
  }
  const old = ex.stream
  ex.stream = stream
  old?.close()
  stream.onClose(() => {
    if (ex.stream === stream) ex.stream = undefined
  })
  clearTimeout(ex.registrationTimer as NodeJS.Timeout)
  const resubscribe = ex.state === 'RUNNING'
  ex.state = 'RUNNING'
  ex.recovered = false
  stream.send({
    type: 'SUBSCRIBED',
    subscribed: {
      executor_info: {
        ...ex.info,
        framework_id: {value: ex.frameworkId},
        ...(ex.info.resources ? {resources: withoutRole(ex.info.resources)} : {}),
      },
      framework_info: fw.info,
      agent_info: agentInfoForExecutors(agent),
      container_id: {value: ex.containerId},
    },
  })
  for (const u of call.subscribe?.unacknowledged_updates ?? []) acceptUpdate(agent, ex, {...u.status}, true)
  if (resubscribe) {
    const listed = new Set((call.subscribe?.unacknowledged_tasks ?? []).map((t) => t.task_id.value))
    const queued = new Set(ex.queued.map((t) => t.task_id.value))
    for (const t of [...agent.tasks.values()]) {
      if (t.frameworkId !== ex.frameworkId || t.executorId !== ex.id || t.state !== 'TASK_STAGING') continue
      if (listed.has(t.info.task_id.value) || queued.has(t.info.task_id.value)) continue
      agentUpdate(agent, ex, t.info.task_id, {
        state: 'TASK_LOST',
        reason: 'REASON_AGENT_RESTARTED',
        message: 'Task launched during agent restart',
      })
    }
  }
  for (const task of ex.queued.splice(0)) deliverLaunch(ex, task)
  saveCheckpoint(agent)
}

/** LAUNCH to the executor, or back to its queue while it is not connected. */
export function deliverLaunch(ex: ExecutorRecord, task: TaskInfo): void {
  if (!ex.stream) {
    ex.queued.push(task)
    return
  }
  ex.stream.send({type: 'LAUNCH', launch: {task: forExecutor(task, ex)}})
}

/** AgentPort.message: a scheduler's MESSAGE to a connected executor (dropped otherwise). */
export function deliverMessage(agent: AgentState, fid: string, eid: string, data: string): void {
  const ex = agent.executors.get(key(fid, eid))
  if (!ex?.stream) return agent.options.log(`Dropping message for executor ${eid} of framework ${fid}: not connected`)
  ex.stream.send({type: 'MESSAGE', message: {data}})
}

export function update(agent: AgentState, call: ExecutorCall): void {
  const ex = findExecutor(agent, call)
  if (ex && call.update) acceptUpdate(agent, ex, {...call.update.status}, true)
}

export function message(agent: AgentState, call: ExecutorCall): void {
  const data = call.message?.data ?? ''
  agent.master?.frameworkMessage(agent.id, call.framework_id.value, call.executor_id, data)
}
