/**
 * Shared vocabulary of the executor's pure core (core.ts): its phases, state, events, actions and exit codes,
 * plus the helpers the main reducer and its re-seed and restore halves (core-reseed.ts, core-restore.ts) share.
 * Types and constants only apart from `update` and `encodeStatusData`; the state machine itself is described in core.ts.
 */
import type {KillPolicy, TaskInfo, TaskState, TaskStatus} from '../lib/mesos/types.js'
import type {ExecutorToScheduler, MemberConfig, ReseedStep} from '../lib/member-config.js'

export type Phase = 'idle' | 'starting' | 'running' | 'killing' | 'reseeding' | 'finished'

/** Exit codes of the executor process. */
export const EXIT_OK = 0
export const EXIT_TASK_FAILED = 1
export const EXIT_BAD_ENVIRONMENT = 2
export const EXIT_AGENT_LOST = 3

export interface CoreState {
  phase: Phase
  taskId?: string
  config?: MemberConfig
  /** TaskInfo.kill_policy grace, in ms. */
  taskGraceMs?: number
  /** Last health value reported to Mesos (undefined before TASK_RUNNING). */
  healthy?: boolean
  startingSent: boolean
  /** The re-seed in progress, if any. */
  reseedOp?: string
  /** The re-seed request whose quorum check (a linearizable read through this member) is in progress. */
  quorumCheckOp?: string
  /** Last progress sent per op id (most recent last; bounded). */
  reseedHistory: ExecutorToScheduler[]
  /** Why we are in `killing`. */
  stopReason?: 'kill' | 'shutdown' | 'recovery-timeout'
  /** MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD in ms. */
  shutdownGraceMs: number
  /** Absolute data dir of the member (known when the launch event carried the sandbox). */
  dataDir?: string
  /** The restore (MemberConfig.restore op id) running before etcd starts, if any (core-restore.ts). */
  restoreOp?: string
}

export type CoreEvent =
  | {type: 'launch'; task: TaskInfo; sandbox?: string}
  | {type: 'kill'; taskId: string; killPolicy?: KillPolicy}
  | {type: 'shutdown'}
  | {type: 'message'; data: string}
  | {type: 'spawned'; pid: number}
  | {type: 'serving'}
  | {type: 'health'; healthy: boolean; detail: string}
  | {type: 'exited'; code: number | null; signal: string | null; removed: boolean; logTail: string}
  | {type: 'stopped'}
  | {type: 'reseed-step'; op: string; step: ReseedStep; message?: string; revision?: number}
  | {type: 'reseed-finished'; op: string; ok: boolean; error?: string; etcdRunning: boolean}
  /** ok: a linearizable read through this member succeeded (its cluster has a working quorum). */
  | {type: 'quorum-checked'; op: string; ok: boolean; detail: string}
  | {type: 'recovery-timeout'}
  /** Progress of the restore before etcd starts (a TaskStatus message). */
  | {type: 'restore-step'; message: string}
  /** restored false: skipped (the data dir already holds etcd data). */
  | {type: 'restore-finished'; ok: true; restored: boolean; message: string}
  | {type: 'restore-finished'; ok: false; error: string}

export type UpdateStatus = Omit<TaskStatus, 'uuid' | 'source' | 'timestamp'>

export type CoreAction =
  | {type: 'update'; status: UpdateStatus}
  | {type: 'start-etcd'; config: MemberConfig}
  /** Restore config.restore into the empty data dir (restore.ts), then report 'restore-finished'. */
  | {type: 'restore'; config: MemberConfig}
  | {type: 'stop-etcd'; graceMs: number}
  | {type: 'send'; message: ExecutorToScheduler}
  | {type: 'start-reseed'; op: string}
  | {type: 'check-quorum'; op: string}
  | {type: 'exit'; code: number}
  | {type: 'log'; line: string}

export interface StepResult {
  state: CoreState
  actions: CoreAction[]
}

/**
 * TaskStatus.data of TASK_STARTING / TASK_RUNNING: base64 JSON {"dataDir": "<absolute data dir>"}, so the
 * scheduler can restart the member in place on its kept data when quorum is lost (see scheduler core inplace.ts).
 */
export function encodeStatusData(dataDir: string): string {
  return Buffer.from(JSON.stringify({dataDir}), 'utf8').toString('base64')
}

/** A status update for `taskId` (the driver adds uuid, source and timestamp). */
export function update(taskId: string, state: TaskState, extra: Partial<UpdateStatus> = {}): CoreAction {
  return {type: 'update', status: {task_id: {value: taskId}, state, ...extra}}
}
