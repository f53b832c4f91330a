/**
 * The local agent's state: one plain record (AgentState) that the agent's modules receive and change, and
 * the records it holds (frameworks, executors, tasks). No module here owns the state: local-agent.ts makes it
 * and runs the lifecycle; launch.ts, termination.ts, executor-calls.ts, updates.ts, recovery.ts,
 * checkpoint.ts and views.ts are functions of it.
 *
 * Executor states: REGISTERING (launched, no SUBSCRIBE yet) → RUNNING (subscribed; or recovered after an
 * agent restart and waiting to re-SUBSCRIBE, `recovered` = true) → TERMINATING (SHUTDOWN sent, or being
 * destroyed) → TERMINATED (process gone). Tasks belong to exactly one executor; a task is `queued` until
 * it is delivered in a LAUNCH event.
 */
import {
  TERMINAL_STATES,
  type ExecutorInfo,
  type FrameworkID,
  type FrameworkInfo,
  type Resource,
  type TaskInfo,
  type TaskState,
  type TaskStatus,
} from '../../lib/mesos/types.js'
import type {MasterPort} from '../link.js'
import type {CommandExecutor} from './command-executor.js'
import type {ContainerExit} from './containerizer.js'
import type {ExecutorStream} from './executor-api.js'
import type {StatusUpdateManager} from './status-updates.js'

export interface LocalAgentOptions {
  index: number
  ip: string
  hostname: string
  port: number
  workDir: string
  resources: Resource[]
  master: () => MasterPort | null
  log?: (line: string) => void
  executorShutdownGracePeriodMs?: number
  recoveryTimeoutMs?: number
  subscriptionBackoffMaxMs?: number
  executorRegistrationTimeoutMs?: number
  /** How long recovered executors get to re-SUBSCRIBE (Mesos --executor_reregistration_timeout); default subscriptionBackoffMaxMs. */
  executorReregistrationTimeoutMs?: number
  /** Status update resend base/cap (default 10 s / 10 min). */
  statusUpdateRetryMinMs?: number
  statusUpdateRetryMaxMs?: number
  /** How often `master()` is polled for a new leader (default 200 ms). */
  masterPollMs?: number
  /** The `master` flag shown in /state (zk://… or ip:port); default: the registered master's ip:port. */
  masterFlag?: string
}

/** LocalAgentOptions with every default filled in. */
export type ResolvedAgentOptions = Required<Omit<LocalAgentOptions, 'log'>> & {log: (line: string) => void}

export type ExecutorState = 'REGISTERING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED'

export interface Termination {
  state: TaskState
  reason: string
  message: string
}

export interface FrameworkRecord {
  info: FrameworkInfo & {id: FrameworkID}
  removing: boolean
}

export interface ExecutorRecord {
  frameworkId: string
  id: string
  kind: 'custom' | 'command'
  info: ExecutorInfo
  containerId: string
  directory: string
  state: ExecutorState
  pid?: number
  queued: TaskInfo[]
  stream?: ExecutorStream
  /** Recovered after an agent restart, not yet re-subscribed. */
  recovered: boolean
  pendingTermination?: Termination
  registrationTimer?: unknown
  shutdownTimer?: unknown
  watch?: AbortController
  command?: CommandExecutor
  killing?: boolean
  /** Exit seen while the agent was down (recovery), reported after registration. */
  goneExit?: ContainerExit
  /** Persistent volumes symlinked into the sandbox now (volumes.ts). */
  volumes?: MountedVolume[]
}

/** A persistent volume symlinked into an executor's sandbox (volumes.ts). */
export interface MountedVolume {
  id: string
  link: string
  target: string
  /** The volume as Mesos prints it (`disk(allocated: r)(reservations: [(DYNAMIC,r,p)])[id:path]:64`), for the log. */
  text?: string
}

export interface TaskRecord {
  frameworkId: string
  executorId: string
  info: TaskInfo
  state: TaskState
  statuses: TaskStatus[]
}

/**
 * Everything the agent's modules read and change. Invariants: every update sent to the master goes through
 * `updates` (has a uuid); a task's record is dropped only after its terminal update was acknowledged; the
 * checkpoint is rewritten after every change (checkpoint.ts saveCheckpoint).
 */
export interface AgentState {
  readonly options: ResolvedAgentOptions
  /** Agent id given by the master ('' until the first registration). */
  id: string
  /** The HTTP port (the configured one until the server listens). */
  tcpPort: number
  /** Between start() and stop(). */
  running: boolean
  /** Master to report to right now (null while unregistered). */
  master: MasterPort | null
  readonly frameworks: Map<string, FrameworkRecord>
  readonly executors: Map<string, ExecutorRecord>
  readonly tasks: Map<string, TaskRecord>
  /** Executors gone and forgotten (the last 150; /state `completed_executors`). */
  completed: ExecutorRecord[]
  /** The status update manager (a new one per start()). */
  updates: StatusUpdateManager
  /** The checkpointed total from the master (reservations, volumes), undefined until there is one (volumes.ts). */
  checkpointed?: Resource[]
}

/** Key of a (framework id, executor id) or (framework id, task id) pair in the state's maps. */
export const key = (a: string, b: string): string => `${a}\u0000${b}`

export const isTerminal = (s: TaskStatus['state']): boolean => TERMINAL_STATES.has(s)

/** `ip:port` of the agent's HTTP endpoint. */
export function endpointOf(agent: AgentState): string {
  return `${agent.options.ip}:${agent.tcpPort}`
}

/** What the local agent adds to every command executor, like Mesos (DEFAULT_EXECUTOR_CPUS / _MEM). */
export const COMMAND_EXECUTOR_RESOURCES: Resource[] = [
  {name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}, role: '*'},
  {name: 'mem', type: 'SCALAR', scalar: {value: 32}, role: '*'},
]
