/**
 * The built-in command executor (Mesos src/launcher/executor.cpp), run inside the agent's process for
 * tasks that carry TaskInfo.command and no executor. The executor id is the task id.
 *
 * States: NEW --launch()--> RUNNING (TASK_STARTING, then TASK_RUNNING) --command exits--> DONE
 *         RUNNING --kill()--> KILLING (TASK_KILLING if the framework has TASK_KILLING_STATE; SIGTERM to the
 *         process group; SIGKILL after TaskInfo.kill_policy.grace_period, default 3 s — the KILL call's own
 *         kill_policy is ignored, Surprise 26) --exit--> DONE
 * Terminal update on exit: killed → TASK_KILLED, exit 0 → TASK_FINISHED, otherwise TASK_FAILED; message
 * "Command exited with status N" / "Command terminated with signal <strsignal>". No reason field.
 * After the command's exit its whole process group is destroyed (as the container is).
 * All updates are SOURCE_EXECUTOR with a fresh uuid, a timestamp and executor_id = task id; the agent adds
 * agent_id and container_status.
 */
import type {TaskInfo, TaskState, TaskStatus} from '../../lib/mesos/types.js'
import {uuidBase64} from '../../lib/mesos/uuid.js'
import {describeExit, destroyContainer, launchProcess, signalGroup, watchExit, type ContainerExit} from './containerizer.js'
import type {Timers} from './status-updates.js'
import {realTimers} from './status-updates.js'

export const DEFAULT_KILL_GRACE_MS = 3000

export interface CommandExecutorOptions {
  task: TaskInfo
  sandbox: string
  env: Record<string, string>
  /** Framework has the TASK_KILLING_STATE capability. */
  killingState: boolean
  /** Emit a status update (the agent treats it like an executor UPDATE call). */
  update: (status: TaskStatus) => void
  /** The command is gone and its terminal update was emitted: the executor "exits". */
  onExit: (exit: ContainerExit) => void
  log?: (line: string) => void
  timers?: Timers
  now?: () => number
}

export type CommandExecutorState = 'NEW' | 'RUNNING' | 'KILLING' | 'DONE'

export class CommandExecutor {
  state: CommandExecutorState = 'NEW'
  pid: number | undefined
  private killTimer: unknown
  private readonly abort = new AbortController()
  private readonly timers: Timers

  constructor(private readonly opts: CommandExecutorOptions) {
    this.timers = opts.timers ?? realTimers
  }

  get taskId(): string {
    return this.opts.task.task_id.value
  }

  /** Start the command. A launch failure is reported as TASK_FAILED and resolves normally. */
  async launch(): Promise<void> {
    if (this.state !== 'NEW') return
    const command = this.opts.task.command ?? {}
    try {
      const {pid} = await launchProcess({command, sandbox: this.opts.sandbox, env: this.opts.env})
      this.pid = pid
    } catch (e) {
      this.state = 'DONE'
      this.emit('TASK_FAILED', `Failed to launch task: ${(e as Error).message}`)
      this.opts.onExit({waitStatus: null, code: null, signal: null})
      return
    }
    if (this.abort.signal.aborted) return
    this.state = 'RUNNING'
    this.emit('TASK_STARTING')
    this.emit('TASK_RUNNING')
    this.watch()
  }

  /** Take over a command that survived an agent restart. */
  adopt(pid: number, killing: boolean): void {
    this.pid = pid
    this.state = killing ? 'KILLING' : 'RUNNING'
    if (killing) this.escalate()
    this.watch()
  }

  kill(): void {
    if (this.state === 'NEW') {
      this.state = 'DONE'
      this.emit('TASK_KILLED', 'Command killed before it was started')
      this.opts.onExit({waitStatus: null, code: null, signal: null})
      return
    }
    if (this.state !== 'RUNNING' || this.pid === undefined) return
    this.state = 'KILLING'
    if (this.opts.killingState) this.emit('TASK_KILLING')
    this.opts.log?.(`Sending SIGTERM to process group ${this.pid} of task ${this.taskId}`)
    signalGroup(this.pid, 'SIGTERM')
    this.escalate()
  }

  /** Stop watching (agent crash): the command keeps running, nothing more is emitted. */
  detach(): void {
    this.abort.abort()
    if (this.killTimer !== undefined) this.timers.clearTimeout(this.killTimer)
    this.killTimer = undefined
  }

  private escalate(): void {
    const ns = this.opts.task.kill_policy?.grace_period?.nanoseconds
    const graceMs = ns !== undefined ? Math.max(0, ns / 1e6) : DEFAULT_KILL_GRACE_MS
    this.killTimer = this.timers.setTimeout(() => {
      this.killTimer = undefined
      if (this.pid !== undefined && this.state === 'KILLING') {
        this.opts.log?.(`Grace period of ${graceMs} ms elapsed: sending SIGKILL to process group ${this.pid} of task ${this.taskId}`)
        signalGroup(this.pid, 'SIGKILL')
      }
    }, graceMs)
  }

  private watch(): void {
    const pid = this.pid!
    void watchExit(pid, {signal: this.abort.signal}).then((exit) => {
      if (this.abort.signal.aborted) return
      if (this.killTimer !== undefined) this.timers.clearTimeout(this.killTimer)
      this.killTimer = undefined
      const killed = this.state === 'KILLING'
      this.state = 'DONE'
      destroyContainer(pid)
      const message = `Command ${describeExit(exit)}`
      const state: TaskState = killed ? 'TASK_KILLED' : exit.code === 0 && !exit.signal ? 'TASK_FINISHED' : 'TASK_FAILED'
      this.emit(state, message)
      this.opts.onExit(exit)
    })
  }

  private emit(state: TaskState, message?: string): void {
    const now = this.opts.now ?? Date.now
    const status: TaskStatus = {
      task_id: {value: this.taskId},
      state,
      source: 'SOURCE_EXECUTOR',
      executor_id: {value: this.taskId},
      timestamp: now() / 1000,
      uuid: uuidBase64(),
    }
    if (message !== undefined) status.message = message
    this.opts.update(status)
  }
}
