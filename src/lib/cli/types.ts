/**
 * The scheduler admin API's JSON contract, as the operator commands read it (GET /stats, /members,
 * /reseed/candidates, /reseed/<op>, /failover-status; POST /reseed). Times are milliseconds since the
 * epoch (or null when the event has not happened). `--json` output of `stats`, `members` and
 * `failover-status` is these documents as the scheduler sent them.
 */
import {CliError, ExitCode} from './exit-codes.js'
import type {ClusterMode, StatsDocument} from '../stats.js'

export type {ClusterMode} from '../stats.js'

/** GET /stats (one definition, shared with the scheduler and the tests: lib/stats.ts). */
export type Stats = StatsDocument

/** One element of GET /members. */
export interface Member {
  name: string
  task_id: string
  agent_id: string
  host: string
  client_url: string
  peer_url: string
  /** Mesos task state, e.g. TASK_RUNNING. */
  state: string
  member_id: string | null
  leader: boolean
  raft_index: number | null
  raft_term: number | null
  healthy: boolean | null
  /** Why the scheduler's latest probe found the member unhealthy (absent from older schedulers). */
  probe_error?: string | null
  is_learner: boolean
  /** With a role: the member's persistent volume (null without; absent from older schedulers). */
  volume?: {persistence_id: string; size_mb: number; container_path: string} | null
  /** With a role: what is reserved for the member on its agent (null without; absent from older schedulers). */
  reservation?: {role: string; principal: string | null; agent_id: string; cpus: number; mem: number; disk: number; ports: number[]} | null
  /** Size of the member's etcd backend file, bytes (null: not answered; absent from older schedulers). */
  db_size?: number | null
  /** Bytes of it in use (the rest is what defragmentation frees). */
  db_size_in_use?: number | null
  /** etcd alarms raised for this member, e.g. NOSPACE (null: the alarm list is unknown). */
  alarms?: ('NOSPACE' | 'CORRUPT')[] | null
}

/** One member that could seed a re-seed, as ranked by the scheduler (best first). */
export interface ReseedCandidate {
  name: string
  client_url: string
  raft_index: number | null
  raft_term: number | null
  revision: number | null
}

/** GET /reseed/candidates */
export interface ReseedCandidates {
  healthy: boolean
  candidates: ReseedCandidate[]
  /** Why the first candidate was chosen (or why none can be). */
  reason: string
}

/** POST /reseed → 202 */
export interface ReseedAccepted {
  op: string
  /** Path of the operation's status document, `/reseed/<op>`. */
  status: string
}

export type ReseedStatus = 'running' | 'succeeded' | 'failed' | 'refused'
export type ReseedPhase = 'ranking' | 'seeding' | 'killing' | 'growing'

export interface ReseedStep {
  step: string
  at: number
  message?: string
}

/** GET /reseed/<op> */
export interface ReseedOperation {
  op: string
  status: ReseedStatus
  phase: ReseedPhase | null
  seed: string | null
  steps: ReseedStep[]
  message: string
  created_at: number
  updated_at: number
}

export interface SchedulerInstance {
  id: string
  admin_url: string
  host: string
}

/** GET /failover-status */
export interface FailoverStatus {
  framework_id: string | null
  subscribed: boolean
  master: string | null
  subscribed_since: number | null
  disconnected_since: number | null
  failover_timeout_seconds: number
  failover_remaining_seconds: number | null
  mode: ClusterMode
  reconciliation: {state: 'pending' | 'running' | 'done'; pending_tasks: number}
  scheduler: {
    id: string
    leader: (SchedulerInstance & {since: number}) | null
    standbys: SchedulerInstance[]
  }
}

/** `reseed --json` output: what was asked, and the last state of the operation seen. */
export interface ReseedResult {
  op: string
  /** Absolute URL of the operation's status document. */
  status_url: string
  /** The ranking shown before confirming; null with --follow. */
  candidates: ReseedCandidates | null
  /** The last GET /reseed/<op> document; null with --no-wait. */
  operation: ReseedOperation | null
  /** succeeded → exit 0, failed → 1, refused → 6, not_finished (--no-wait, --wait-timeout) → 4. */
  outcome: 'succeeded' | 'failed' | 'refused' | 'not_finished'
}

/** `proxy --json` output when the proxy stops. */
export interface ProxySummary {
  listen_addr: string
  endpoints: string[]
  restarts: number
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The read-only documents and their light shape checks. */
interface Documents {
  '/stats': Stats
  '/members': Member[]
  '/failover-status': FailoverStatus
}
const SHAPES: {[P in keyof Documents]: (v: unknown) => boolean} = {
  '/stats': (v) => isObject(v) && typeof v.cluster_name === 'string' && typeof v.healthy === 'number',
  '/members': (v) => Array.isArray(v) && v.every((m) => isObject(m) && typeof m.name === 'string'),
  '/failover-status': (v) => isObject(v) && typeof v.subscribed === 'boolean' && isObject(v.scheduler) && isObject(v.reconciliation),
}

/**
 * GET one admin document and check its shape, so that a command pointed at something that is not an
 * etcd-mesos scheduler fails with a clear CliError(UNREACHABLE, 'BAD_RESPONSE') instead of a crash.
 */
export async function getDocument<P extends keyof Documents>(
  client: {baseUrl: string; get<T>(path: string): Promise<{body: T}>},
  path: P,
): Promise<Documents[P]> {
  const {body} = await client.get<unknown>(path)
  if (!SHAPES[path](body)) {
    throw new CliError(
      `${client.baseUrl}${path} did not return the expected document; is this an etcd-mesos scheduler admin URL?`,
      ExitCode.UNREACHABLE,
      'BAD_RESPONSE',
    )
  }
  return body as Documents[P]
}
