/**
 * What the local agent does with executor calls and events (Mesos slave.cpp `subscribe`, `statusUpdate`,
 * `executorMessage`, `___statusUpdate`), separated from the HTTP layer (executor-api.ts):
 *   - SUBSCRIBE: a newer connection replaces (closes) the older one; SUBSCRIBED {executor_info with
 *     framework_id, framework_info, agent_info, container_id}; replay of `unacknowledged_updates`
 *     (duplicates are dropped by the status update manager but still ACKNOWLEDGED); LAUNCH for queued
 *     tasks; delivered tasks still in TASK_STAGING that the executor does not list in
 *     `unacknowledged_tasks` → TASK_LOST REASON_AGENT_RESTARTED "Task launched during agent restart".
 *   - UPDATE: agent_id and container_status {container_id, network_infos (agent ip), executor_pid} are
 *     added (the executor's own fields pass unchanged), the task's latest state is recorded, the update is
 *     queued for the master, and the executor gets ACKNOWLEDGED {task_id, uuid} at once.
 *   - Executor-side copies of resources carry no `role` (Surprise 29).
 */
import type {ExecutorCall, TaskInfo, TaskStatus} from '../lib/mesos/types.js'
import {TERMINAL_STATES} from '../lib/mesos/types.js'
import type {LocalAgent} from './agent.js'
import {key} from './agent-keys.js'
import type {ExecutorRecord} from './agent-state.js'
import type {ExecutorStream} from './executor-api.js'
import {withoutRole} from './resources.js'


/** The TaskInfo as the executor sees it: full ExecutorInfo (framework_id filled in), no resource roles. */
function forExecutor(task: TaskInfo, ex: ExecutorRecord): TaskInfo {
  const t: TaskInfo = {...task, executor: {...ex.info, framework_id: {value: ex.frameworkId}}}
  if (t.resources) t.resources = withoutRole(t.resources)
  if (t.executor?.resources) t.executor = {...t.executor, resources: withoutRole(t.executor.resources)}
  return t
}

export class ExecutorCalls {
  constructor(private readonly agent: LocalAgent) {}

  private find(call: ExecutorCall): ExecutorRecord | undefined {
    return this.agent.executors.get(key(call.framework_id.value, call.executor_id.value))
  }

  subscribe(call: ExecutorCall, stream: ExecutorStream): void {
    const ex = this.find(call)
    const fw = this.agent.frameworks.get(call.framework_id.value)
    if (!ex || !fw) return stream.close()
    if (ex.state === 'TERMINATING' || ex.state === 'TERMINATED') {
      this.agent.log(`Shutting down executor ${ex.id}: it subscribed while ${ex.state}`)
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
        executor_info: {...ex.info, framework_id: {value: ex.frameworkId}, ...(ex.info.resources ? {resources: withoutRole(ex.info.resources)} : {})},
        framework_info: fw.info,
        agent_info: this.agent.agentInfoForExecutors(),
        container_id: {value: ex.containerId},
      },
    })
    for (const u of call.subscribe?.unacknowledged_updates ?? []) this.acceptUpdate(ex, {...u.status}, true)
    if (resubscribe) {
      const listed = new Set((call.subscribe?.unacknowledged_tasks ?? []).map((t) => t.task_id.value))
      const queued = new Set(ex.queued.map((t) => t.task_id.value))
      for (const t of [...this.agent.tasks.values()]) {
        if (t.frameworkId !== ex.frameworkId || t.executorId !== ex.id || t.state !== 'TASK_STAGING') continue
        if (listed.has(t.info.task_id.value) || queued.has(t.info.task_id.value)) continue
        this.agent.agentUpdate(ex, t.info.task_id, {state: 'TASK_LOST', reason: 'REASON_AGENT_RESTARTED', message: 'Task launched during agent restart'})
      }
    }
    for (const task of ex.queued.splice(0)) this.deliverLaunch(ex, task)
    this.agent.checkpoint()
  }

  deliverLaunch(ex: ExecutorRecord, task: TaskInfo): void {
    if (!ex.stream) {
      ex.queued.push(task)
      return
    }
    ex.stream.send({type: 'LAUNCH', launch: {task: forExecutor(task, ex)}})
  }

  deliverMessage(fid: string, eid: string, data: string): void {
    const ex = this.agent.executors.get(key(fid, eid))
    if (!ex?.stream) return this.agent.log(`Dropping message for executor ${eid} of framework ${fid}: not connected`)
    ex.stream.send({type: 'MESSAGE', message: {data}})
  }

  update(call: ExecutorCall): void {
    const ex = this.find(call)
    if (ex && call.update) this.acceptUpdate(ex, {...call.update.status}, true)
  }

  message(call: ExecutorCall): void {
    const data = call.message?.data ?? ''
    this.agent.master?.frameworkMessage(this.agent.id, call.framework_id.value, call.executor_id, data)
  }

  /** Record an update, queue it for the master and ACKNOWLEDGE it to a connected custom executor. */
  acceptUpdate(ex: ExecutorRecord, status: TaskStatus, fromExecutor: boolean): void {
    const agent = this.agent
    status.agent_id = {value: agent.id}
    if (status.timestamp === undefined) status.timestamp = Date.now() / 1000
    if (fromExecutor && !status.container_status) {
      status.container_status = {
        container_id: {value: ex.containerId},
        network_infos: [{ip_addresses: [{protocol: 'IPv4', ip_address: agent.ip}]}],
        ...(ex.pid !== undefined ? {executor_pid: ex.pid} : {}),
      }
    }
    const fid = ex.frameworkId
    const t = agent.tasks.get(key(fid, status.task_id.value))
    const fresh = !(status.uuid && agent.updates.hasSeen(fid, status.task_id.value, status.uuid))
    let freed = false
    if (t && fresh) {
      freed = !TERMINAL_STATES.has(t.state) && TERMINAL_STATES.has(status.state)
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
    agent.checkpoint()
    if (freed) agent.master?.resourcesFreed(agent.id)
  }
}
