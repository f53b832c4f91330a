/**
 * Ending things on the local agent (Mesos slave.cpp `killTask`, `shutdownExecutor`, `executorTerminated`,
 * `shutdownFramework`): KILL of a task, executor shutdown, container destroy, the executor-exit path, and
 * garbage collection of finished records.
 *
 *   KILL: task queued (not yet delivered) → TASK_KILLED REASON_TASK_KILLED_DURING_LAUNCH (an executor left
 *     with no live task while REGISTERING is destroyed); command task → the command executor kills it;
 *     custom executor → KILL event; no executor → TASK_LOST "Cannot find executor" (queued, not recorded).
 *   Shutdown: REGISTERING or recovered-but-unsubscribed executors are destroyed at once; others get SHUTDOWN
 *     (command: kill) and are destroyed after their grace period. Their live tasks end TASK_LOST.
 *   Exit: the sandbox's volume links are removed (the data stays); FAILURE to the master (custom executors of frameworks not being removed), then an agent-made update
 *     for every live task (the pending termination, or TASK_FAILED REASON_EXECUTOR_TERMINATED).
 *   ACK: a terminal task's record is dropped once its last update is acknowledged.
 *   GC: a TERMINATED executor without tasks moves to `completed` (last 150 kept); a removed framework is
 *     forgotten with its records once none of its executors lives.
 * Every started executor process has an exit watcher (watchExecutor) that ends in executorExited.
 */
import type {KillPolicy, TaskID} from '../../lib/mesos/types.js'
import {saveCheckpoint} from './checkpoint.js'
import {destroyContainer, forgetExited, watchExit, type ContainerExit} from './containerizer.js'
import {isTerminal, key, type AgentState, type ExecutorRecord, type Termination} from './state.js'
import {agentStatus, agentUpdate} from './updates.js'
import {removeVolumes} from './volumes.js'

/** AgentPort.kill. */
export function killTask(agent: AgentState, fid: string, taskId: TaskID, killPolicy?: KillPolicy): void {
  const log = agent.options.log
  if (!agent.frameworks.has(fid)) return log(`Ignoring kill of task ${taskId.value}: no framework ${fid}`)
  const t = agent.tasks.get(key(fid, taskId.value))
  const ex = t ? agent.executors.get(key(fid, t.executorId)) : undefined
  if (!t || !ex || ex.state === 'TERMINATED') {
    const status = agentStatus(agent, taskId, {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Cannot find executor'})
    agent.updates.enqueue(fid, status)
    return
  }
  if (isTerminal(t.state)) return log(`Ignoring kill of task ${taskId.value}: already ${t.state}`)
  const qi = ex.queued.findIndex((q) => q.task_id.value === taskId.value)
  if (qi >= 0) {
    ex.queued.splice(qi, 1)
    agentUpdate(agent, ex, taskId, {
      state: 'TASK_KILLED',
      reason: 'REASON_TASK_KILLED_DURING_LAUNCH',
      message: 'Killed before delivery to the executor',
    })
    const live = [...agent.tasks.values()].some((x) => x.frameworkId === fid && x.executorId === ex.id && !isTerminal(x.state))
    if (!live && ex.state === 'REGISTERING') destroy(agent, ex)
    return saveCheckpoint(agent)
  }
  if (ex.state === 'TERMINATING') return log(`Ignoring kill of task ${taskId.value}: executor ${ex.id} is terminating`)
  if (ex.kind === 'command') {
    ex.killing = true
    ex.command?.kill()
    return saveCheckpoint(agent)
  }
  if (!ex.stream) return log(`Dropping kill of task ${taskId.value}: executor ${ex.id} is not connected`)
  ex.stream.send({type: 'KILL', kill: {task_id: taskId, ...(killPolicy ? {kill_policy: killPolicy} : {})}})
}

export function shutdownExecutor(agent: AgentState, fid: string, eid: string): void {
  const ex = agent.executors.get(key(fid, eid))
  if (!ex || ex.state === 'TERMINATED' || ex.state === 'TERMINATING') return
  if (ex.state === 'REGISTERING' || (ex.recovered && !ex.stream)) {
    return destroy(agent, ex, {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated'})
  }
  ex.state = 'TERMINATING'
  ex.pendingTermination = {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated'}
  if (ex.kind === 'command') ex.command?.kill()
  else ex.stream?.send({type: 'SHUTDOWN'})
  ex.shutdownTimer = setTimeout(
    () => {
      if (ex.state !== 'TERMINATED') destroy(agent, ex)
    },
    graceMs(agent, ex),
  )
  ;(ex.shutdownTimer as NodeJS.Timeout).unref()
  saveCheckpoint(agent)
}

/** Shut every live executor down and wait (at most the longest grace period + 3 s) until all are gone. */
export async function shutdownAll(agent: AgentState): Promise<void> {
  const live = [...agent.executors.values()].filter((e) => e.state !== 'TERMINATED')
  const polls: NodeJS.Timeout[] = []
  const exits = live.map(
    (e) =>
      new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (e.state === 'TERMINATED') {
            clearInterval(t)
            resolve()
          }
        }, 50)
        polls.push(t)
      }),
  )
  for (const e of live) shutdownExecutor(agent, e.frameworkId, e.id)
  const grace = Math.max(agent.options.executorShutdownGracePeriodMs, ...live.map((e) => graceMs(agent, e))) + 3000
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.all(exits), new Promise((r) => (timer = setTimeout(r, grace)))])
  // Else they keep the process alive: the grace timer after every stop, the polls forever for a laggard.
  clearTimeout(timer)
  for (const t of polls) clearInterval(t)
}

/** AgentPort.shutdownFramework: shut its executors down, drop its pending updates, forget it when done. */
export function shutdownFramework(agent: AgentState, fid: string): void {
  const fw = agent.frameworks.get(fid)
  if (!fw) return
  fw.removing = true
  agent.updates.cleanupFramework(fid)
  for (const ex of [...agent.executors.values()]) if (ex.frameworkId === fid) shutdownExecutor(agent, fid, ex.id)
  gc(agent, fid)
  saveCheckpoint(agent)
}

/** Destroy the container now (SIGKILL of its process group); the exit watcher finishes the job. */
export function destroy(agent: AgentState, ex: ExecutorRecord, termination?: Termination): void {
  if (ex.state === 'TERMINATED') return
  if (termination) ex.pendingTermination = termination
  ex.state = 'TERMINATING'
  if (ex.pid !== undefined) {
    destroyContainer(ex.pid)
    if (!ex.watch && ex.kind === 'custom') watchExecutor(agent, ex)
  } else if (ex.kind === 'command' && ex.command) {
    ex.command.kill()
  } else {
    executorExited(agent, ex, {waitStatus: null, code: null, signal: null}, false)
  }
}

/** The executor's process is gone: FAILURE (custom executors), then agent updates for its live tasks. */
export function executorExited(agent: AgentState, ex: ExecutorRecord, exit: ContainerExit, sendFailure: boolean): void {
  if (ex.state === 'TERMINATED') return
  ex.state = 'TERMINATED'
  ex.watch?.abort()
  ex.watch = undefined
  clearTimeout(ex.registrationTimer as NodeJS.Timeout)
  clearTimeout(ex.shutdownTimer as NodeJS.Timeout)
  if (ex.pid !== undefined) {
    destroyContainer(ex.pid)
    forgetExited(ex.pid)
  }
  ex.stream?.close()
  ex.stream = undefined
  removeVolumes(agent, ex)
  const fw = agent.frameworks.get(ex.frameworkId)
  agent.options.log(`Executor ${ex.id} of framework ${ex.frameworkId} terminated (wait status ${exit.waitStatus ?? 'unknown'})`)
  if (sendFailure && ex.kind === 'custom' && fw && !fw.removing) {
    agent.master?.executorExited(agent.id, ex.frameworkId, {value: ex.id}, exit.waitStatus ?? -1)
  }
  const term = ex.pendingTermination ?? {state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated'}
  ex.queued = []
  for (const t of [...agent.tasks.values()]) {
    if (t.frameworkId === ex.frameworkId && t.executorId === ex.id && !isTerminal(t.state)) agentUpdate(agent, ex, t.info.task_id, term)
  }
  agent.master?.resourcesFreed(agent.id)
  gc(agent, ex.frameworkId, ex.id)
  saveCheckpoint(agent)
}

/** AgentPort.acknowledge: a task's record goes once its terminal update is acknowledged (and none is pending). */
export function acknowledge(agent: AgentState, fid: string, taskId: TaskID, uuid: string): void {
  const res = agent.updates.acknowledge(fid, taskId.value, uuid)
  if (res !== 'acknowledged') return agent.options.log(`Ignoring ACK ${uuid} for task ${taskId.value} of framework ${fid}: ${res}`)
  const t = agent.tasks.get(key(fid, taskId.value))
  if (t && isTerminal(t.state) && !agent.updates.hasStream(fid, taskId.value)) {
    agent.tasks.delete(key(fid, taskId.value))
    gc(agent, fid, t.executorId)
  }
  saveCheckpoint(agent)
}

/** Forget terminated executors without tasks, and removed frameworks without executors. */
export function gc(agent: AgentState, fid: string, eid?: string): void {
  for (const ex of [...agent.executors.values()]) {
    if (ex.frameworkId !== fid || (eid !== undefined && ex.id !== eid) || ex.state !== 'TERMINATED') continue
    if ([...agent.tasks.values()].some((t) => t.frameworkId === fid && t.executorId === ex.id)) continue
    agent.executors.delete(key(fid, ex.id))
    agent.completed.push(ex)
    if (agent.completed.length > 150) agent.completed.shift()
  }
  const fw = agent.frameworks.get(fid)
  if (fw?.removing && ![...agent.executors.values()].some((e) => e.frameworkId === fid && e.state !== 'TERMINATED')) {
    for (const [k, t] of agent.tasks) if (t.frameworkId === fid) agent.tasks.delete(k)
    for (const [k, e] of agent.executors) if (e.frameworkId === fid) agent.executors.delete(k)
    agent.frameworks.delete(fid)
  }
}

/** Watch a custom executor's process (re-arms: an older watch is aborted); its exit → executorExited. */
export function watchExecutor(agent: AgentState, ex: ExecutorRecord): void {
  if (ex.pid === undefined) return
  ex.watch?.abort()
  const ac = new AbortController()
  ex.watch = ac
  void watchExit(ex.pid, {signal: ac.signal}).then((exit) => {
    if (!ac.signal.aborted) executorExited(agent, ex, exit, true)
  })
}

/** The executor's shutdown grace period: its ExecutorInfo's, else the agent's. */
export function graceMs(agent: AgentState, ex: ExecutorRecord): number {
  const ns = ex.info.shutdown_grace_period?.nanoseconds
  return ns !== undefined ? ns / 1e6 : agent.options.executorShutdownGracePeriodMs
}
