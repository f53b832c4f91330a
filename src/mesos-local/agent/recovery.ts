/**
 * The local agent's recovery after a crash (Mesos slave.cpp `recover`, `reregisterExecutorTimeout`) from its
 * checkpoint (checkpoint.ts: contents and file I/O).
 *
 * Recovery keeps only what belongs to checkpointing frameworks (other frameworks' executors are destroyed):
 *   - executor process gone → TERMINATING, pid forgotten (it may be another process now); reported
 *     (FAILURE + updates) once the agent is registered again (`gone`);
 *   - command executor alive → adopted by a new CommandExecutor, RUNNING;
 *   - custom executor alive → RUNNING (or TERMINATING), `recovered` until it re-SUBSCRIBEs; the ones still
 *     recovered when the re-registration timeout fires are destroyed with REASON_EXECUTOR_REREGISTRATION_TIMEOUT.
 */
import {formatDuration} from '../../lib/mesos/duration.js'
import type {AgentCheckpoint} from './checkpoint.js'
import {CommandExecutor} from './command-executor.js'
import {destroyContainer, isAlive, knownExit} from './containerizer.js'
import {key, type AgentState, type ExecutorRecord} from './state.js'
import {destroy, executorExited, watchExecutor} from './termination.js'
import {acceptUpdate} from './updates.js'

export interface Recovered {
  /** Executors that died while the agent was down, to report once a master listens. */
  gone: ExecutorRecord[]
  /** Fires after the executor re-registration timeout (already unref'd). */
  reregisterTimer: NodeJS.Timeout
}

/** Rebuild the agent's records from its checkpoint (the agent is listening, not yet registered). */
export function recoverCheckpoint(agent: AgentState, cp: AgentCheckpoint): Recovered {
  const o = agent.options
  for (const f of cp.frameworks) agent.frameworks.set(f.id.value, {info: f, removing: false})
  const checkpointing = (fid: string): boolean => agent.frameworks.get(fid)?.info.checkpoint === true
  for (const t of cp.tasks) if (checkpointing(t.frameworkId)) agent.tasks.set(key(t.frameworkId, t.info.task_id.value), t)
  agent.updates.restore(cp.updates.filter((u) => checkpointing(u.frameworkId)))
  const gone: ExecutorRecord[] = []
  for (const c of cp.executors) {
    if (!checkpointing(c.frameworkId)) {
      if (c.pid !== undefined) destroyContainer(c.pid)
      continue
    }
    const ex: ExecutorRecord = {...c, recovered: true, ...(c.killing ? {killing: true} : {})}
    agent.executors.set(key(c.frameworkId, c.id), ex)
    if (c.pid === undefined || !isAlive(c.pid)) {
      // Died while the agent was down: reported (FAILURE + updates) after registration. Forget the pid:
      // it may already belong to another process.
      ex.recovered = false
      ex.state = 'TERMINATING'
      ex.goneExit = c.pid !== undefined ? knownExit(c.pid) : undefined
      delete ex.pid
      gone.push(ex)
      continue
    }
    if (ex.kind === 'command') {
      ex.recovered = false
      ex.state = 'RUNNING'
      const task = [...agent.tasks.values()].find((t) => t.frameworkId === c.frameworkId && t.executorId === c.id)
      if (task) {
        ex.command = new CommandExecutor({
          task: task.info,
          sandbox: ex.directory,
          env: {},
          log: o.log,
          killingState: false,
          update: (status) => acceptUpdate(agent, ex, status, true),
          onExit: (exit) => executorExited(agent, ex, exit, true),
        })
        ex.command.adopt(c.pid, c.killing === true)
      }
    } else {
      ex.state = c.state === 'TERMINATING' ? 'TERMINATING' : 'RUNNING'
      watchExecutor(agent, ex)
    }
  }
  for (const [fid] of agent.frameworks) if (!checkpointing(fid)) agent.frameworks.delete(fid)
  const timeout = o.executorReregistrationTimeoutMs
  const reregisterTimer = setTimeout(() => {
    for (const ex of agent.executors.values()) {
      if (ex.kind !== 'custom' || !ex.recovered || ex.state === 'TERMINATED') continue
      o.log(`Killing executor ${ex.id}: it did not re-subscribe within ${formatDuration(timeout)}`)
      destroy(agent, ex, {
        state: 'TASK_FAILED',
        reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
        message: `Executor did not reregister within ${formatDuration(timeout)}`,
      })
    }
  }, timeout)
  reregisterTimer.unref()
  return {gone, reregisterTimer}
}
