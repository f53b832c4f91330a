/**
 * Launching on the local agent (Mesos slave.cpp `runTask` and the containerizer's launch).
 *
 * A task from the master goes to its executor when that executor exists: TASK_LOST while it terminates
 * (or for a second command task), queued while it registers (or was recovered and has not re-subscribed),
 * delivered in a LAUNCH event otherwise. Else a new executor record is made (REGISTERING) and started:
 * sandbox directory, URI fetching, then the process — the built-in command executor (RUNNING at once), or
 * a custom executor's process group with the executor registration timeout. Every started process gets an
 * exit watcher that ends in executorExited (termination.ts); a failed start ends there too (no FAILURE event).
 * A task or executor using a reservation or persistent volume the agent has not checkpointed is refused first
 * (TASK_DROPPED, or TASK_LOST without PARTITION_AWARE, REASON_RESOURCES_UNKNOWN; a new executor is reported
 * exited). Volumes are linked into the sandbox before the process starts or the task is delivered (volumes.ts).
 */
import {randomUUID} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {formatDuration} from '../../lib/mesos/duration.js'
import type {ExecutorInfo, FrameworkID, FrameworkInfo, Resource, TaskInfo} from '../../lib/mesos/types.js'
import {mesosText} from '../reservations.js'
import {saveCheckpoint} from './checkpoint.js'
import {CommandExecutor} from './command-executor.js'
import {executorEnvironment, launchProcess} from './containerizer.js'
import {deliverLaunch} from './executor-calls.js'
import {fetchAll} from './fetcher.js'
import {COMMAND_EXECUTOR_RESOURCES, endpointOf, key, type AgentState, type ExecutorRecord} from './state.js'
import {destroy, executorExited, graceMs, watchExecutor} from './termination.js'
import {acceptUpdate, agentStatus, agentUpdate} from './updates.js'
import {syncVolumes, unknownCheckpointed} from './volumes.js'

/** AgentPort.launch: hand a task to its executor, starting the executor when it does not run yet. */
export function launchTask(agent: AgentState, framework: FrameworkInfo & {id: FrameworkID}, task: TaskInfo, executor?: ExecutorInfo): void {
  const o = agent.options
  if (!agent.running) return o.log(`agent ${endpointOf(agent)}: not running, dropping task ${task.task_id.value}`)
  const fid = framework.id.value
  const fw = agent.frameworks.get(fid)
  if (fw?.removing) return o.log(`Ignoring task ${task.task_id.value}: framework ${fid} is terminating`)
  agent.frameworks.set(fid, {info: framework, removing: false})
  const isCommand = executor === undefined
  const eid = isCommand ? task.task_id.value : executor.executor_id.value
  let ex = agent.executors.get(key(fid, eid))
  const live = ex !== undefined && ex.state !== 'TERMINATED'
  if (dropUnknownResources(agent, framework, task, eid, isCommand ? [] : (executor.resources ?? []), !live)) return
  agent.tasks.set(key(fid, task.task_id.value), {frameworkId: fid, executorId: eid, info: task, state: 'TASK_STAGING', statuses: []})
  if (ex && live) {
    if (ex.state === 'TERMINATING' || isCommand) {
      agentUpdate(agent, ex, task.task_id, {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminating'})
      return saveCheckpoint(agent)
    }
    const failed = syncVolumes(agent, ex)
    if (failed) {
      agentUpdate(agent, ex, task.task_id, {state: 'TASK_FAILED', reason: 'REASON_CONTAINER_UPDATE_FAILED', message: failed})
    } else if (ex.state === 'REGISTERING' || (ex.stream === undefined && ex.recovered)) {
      ex.queued.push(task)
    } else {
      deliverLaunch(ex, task)
    }
    return saveCheckpoint(agent)
  }
  const info: ExecutorInfo = isCommand
    ? {
        executor_id: {value: eid},
        framework_id: {value: fid},
        name: `Command Executor (Task: ${eid}) (Command: sh -c '${task.command?.value ?? ''}')`,
        source: eid,
        command: task.command,
        resources: COMMAND_EXECUTOR_RESOURCES,
        ...(task.labels ? {labels: task.labels} : {}),
      }
    : {...executor, framework_id: {value: fid}}
  const containerId = randomUUID()
  const directory = path.join(o.workDir, 'slaves', agent.id, 'frameworks', fid, 'executors', eid, 'runs', containerId)
  ex = {
    frameworkId: fid,
    id: eid,
    kind: isCommand ? 'command' : 'custom',
    info,
    containerId,
    directory,
    state: 'REGISTERING',
    queued: [task],
    recovered: false,
  }
  if (agent.completed.some((c) => c.frameworkId === fid && c.id === eid))
    agent.completed = agent.completed.filter((c) => !(c.frameworkId === fid && c.id === eid))
  agent.executors.set(key(fid, eid), ex)
  saveCheckpoint(agent)
  void startExecutor(agent, ex, framework)
}

/**
 * Mesos slave.cpp `_run`: a task or executor using checkpointed resources (dynamic reservations, persistent
 * volumes) the agent does not know is dropped; a new executor is reported exited (status -1) to the master.
 */
function dropUnknownResources(
  agent: AgentState,
  framework: FrameworkInfo & {id: FrameworkID},
  task: TaskInfo,
  eid: string,
  executorResources: Resource[],
  newExecutor: boolean,
): boolean {
  const fid = framework.id.value
  const forTask = unknownCheckpointed(agent, task.resources ?? [])
  const forExecutor = forTask ? undefined : unknownCheckpointed(agent, executorResources)
  const unknown = forTask ?? forExecutor
  if (!unknown) return false
  const message = forTask
    ? 'The checkpointed resources being used by the task or task group are unknown to the agent'
    : 'The checkpointed resources being used by the executor are unknown to the agent'
  agent.options.log(
    `Unknown checkpointed resource ${mesosText([unknown])} for ${forTask ? `task ${task.task_id.value}` : `executor '${eid}'`} of framework ${fid}`,
  )
  const partitionAware = (framework.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE')
  const state = partitionAware ? 'TASK_DROPPED' : 'TASK_LOST'
  agent.updates.enqueue(fid, agentStatus(agent, task.task_id, {state, reason: 'REASON_RESOURCES_UNKNOWN', message}, eid))
  if (newExecutor) agent.master?.executorExited(agent.id, fid, {value: eid}, -1)
  saveCheckpoint(agent)
  return true
}

async function startExecutor(agent: AgentState, ex: ExecutorRecord, fw: FrameworkInfo & {id: FrameworkID}): Promise<void> {
  const o = agent.options
  const env = executorEnvironment({
    agentIp: o.ip,
    agentPort: agent.tcpPort,
    agentId: agent.id,
    frameworkId: ex.frameworkId,
    executorId: ex.id,
    directory: ex.directory,
    checkpoint: fw.checkpoint === true,
    shutdownGracePeriod: formatDuration(graceMs(agent, ex)),
    recoveryTimeout: formatDuration(o.recoveryTimeoutMs),
    subscriptionBackoffMax: formatDuration(o.subscriptionBackoffMaxMs),
    command: ex.info.command,
  })
  try {
    fs.mkdirSync(ex.directory, {recursive: true})
    const failed = syncVolumes(agent, ex)
    if (failed) throw new Error(failed)
    await fetchAll(ex.info.command?.uris, ex.directory)
    if (ex.kind === 'command') {
      const task = ex.queued[0]!
      await fetchAll(
        task.command?.uris?.filter((u) => !(ex.info.command?.uris ?? []).includes(u)),
        ex.directory,
      )
    }
  } catch (e) {
    return launchFailed(agent, ex, (e as Error).message)
  }
  if (ex.state !== 'REGISTERING' || !agent.running) return
  if (ex.kind === 'command') return startCommand(agent, ex, fw, env)
  try {
    const {pid} = await launchProcess({command: ex.info.command ?? {}, sandbox: ex.directory, env})
    ex.pid = pid
  } catch (e) {
    return launchFailed(agent, ex, `Failed to launch container: ${(e as Error).message}`)
  }
  saveCheckpoint(agent)
  watchExecutor(agent, ex)
  if (ex.state !== 'REGISTERING') return // killed while starting
  ex.registrationTimer = setTimeout(() => {
    if (ex.state !== 'REGISTERING') return
    o.log(`Terminating executor ${ex.id}: did not register within ${formatDuration(o.executorRegistrationTimeoutMs)}`)
    destroy(agent, ex, {
      state: 'TASK_FAILED',
      reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
      message: `Executor did not register within ${formatDuration(o.executorRegistrationTimeoutMs)}`,
    })
  }, o.executorRegistrationTimeoutMs)
  ;(ex.registrationTimer as NodeJS.Timeout).unref()
}

function startCommand(agent: AgentState, ex: ExecutorRecord, fw: FrameworkInfo, env: Record<string, string>): void {
  const task = ex.queued.shift()!
  ex.state = 'RUNNING'
  ex.command = new CommandExecutor({
    task,
    sandbox: ex.directory,
    env,
    log: agent.options.log,
    killingState: (fw.capabilities ?? []).some((c) => c.type === 'TASK_KILLING_STATE'),
    update: (status) => {
      if (ex.command?.pid !== undefined) ex.pid = ex.command.pid
      acceptUpdate(agent, ex, status, true)
    },
    onExit: (exit) => executorExited(agent, ex, exit, true),
  })
  void ex.command.launch().then(() => {
    ex.pid = ex.command?.pid
    saveCheckpoint(agent)
  })
}

function launchFailed(agent: AgentState, ex: ExecutorRecord, message: string): void {
  agent.options.log(`Executor ${ex.id} of framework ${ex.frameworkId} failed to start: ${message}`)
  ex.pendingTermination = {state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message}
  executorExited(agent, ex, {waitStatus: null, code: null, signal: null}, false)
}
