/**
 * SchedulerState: everything the pure core knows. `step` clones it and returns a new one.
 *
 * Mode: stored in `phase` (the session with Mesos) and `episode` (the cluster), changed only by
 *   `become` in mode.ts, whose header lists every mode, its transitions and the invariants.
 * Lost tasks: a task the MASTER reports dead (TASK_LOST/GONE/UNKNOWN…, e.g. a reconciliation answer of a
 *   master that has not heard from its agent yet) gets `lostAt`; a HEALTH_CHECK of its client URL sent
 *   after that decides: unreachable → really gone (`lostAt` cleared); reachable → `answering` (treated as
 *   alive: its member is not removed, no replacement is launched, reconciliation is retried).
 * Not persisted (persist.ts holds what is): the mode, the connection, the last probes, re-seed step logs.
 */
import type {Offer, TaskState} from '../../lib/mesos/types.js'
import {TERMINAL_STATES} from '../../lib/mesos/types.js'
import type {Member} from '../../lib/etcd/admin.js'
import type {HealthVerdict} from '../../lib/etcd/verdict.js'
import type {MemberProbe} from '../../lib/etcd/probe.js'
import type {SchedulerConfig} from './config.js'
import type {Episode, Phase} from './mode.js'
import type {Stats} from '../../lib/stats.js'
import type {MemberSpec, RolloutProgress} from './rollout-spec.js'
import type {MaintenanceState} from './maintenance-state.js'

export {modeOf, type Mode} from './mode.js'

export type EtcdMember = Member

export interface TaskRecord {
  taskId: string
  memberName: string
  agentId: string
  hostname: string
  peerPort: number
  clientPort: number
  /** Latest Mesos state ('TASK_STAGING' right after ACCEPT). */
  state: TaskState
  initialClusterState: 'new' | 'existing'
  launchedAt: number
  lastUpdateAt: number
  healthy?: boolean
  /** Last status reason/message, for operators. */
  reason?: string
  killRequestedAt?: number
  /** Shrinking: remove its member, then kill it; no replacement. */
  decommission?: boolean
  /** Dead by a master-made update and not yet confirmed gone by a probe sent after this time. */
  lostAt?: number
  /** A probe after the loss found its etcd member answering: alive as far as etcd is concerned. */
  answering?: boolean
  /** Absolute etcd data dir on its agent, as reported by the executor (TaskStatus.data). */
  dataDir?: string
  /** Launched as an in-place restart of a dead task of the same member (inplace.ts), at this time. */
  inPlaceLaunchedAt?: number
  /** Not to be restarted in place (it was itself restarted in place and failed again too soon). */
  inPlaceGaveUp?: boolean
  /** With a role: the persistence id of the member's volume (its record in `SchedulerState.volumes`). */
  volumeId?: string
  /** Dead, and no longer waited for on its volume (volumeWaitMs passed, or it failed again too soon): removed
   *  and replaced like a task without a volume (volumes.ts). */
  relaunchGaveUp?: boolean
  /** What it was launched with (rollout-spec.ts; absent in records written before specs: unknown). */
  spec?: MemberSpec
}

/** A member's dynamic reservation and persistent volume on one agent (with a role; volumes.ts). Persisted. */
export interface VolumeRecord {
  persistenceId: string
  memberName: string
  agentId: string
  hostname: string
  role: string
  principal?: string
  containerPath: string
  /** Reserved for the member (task + executor; ports: peer, client). The volume is the whole `disk`. */
  reserved: {cpus: number; mem: number; disk: number; ports: number[]}
  createdAt: number
  /** No task record uses it and etcd does not list its member: DESTROY + UNRESERVE when an offer holds it. */
  retiredAt?: number
}

export interface PendingAdd {
  memberName: string
  taskId: string
  agentId: string
  hostname: string
  peerPort: number
  clientPort: number
  /** The offer held for the launch (null once rescinded/lost: a new offer with the same ports is needed). */
  offerId: string | null
  phase: 'adding' | 'added'
  memberId?: string
  startedAt: number
  attempts: number
}

export interface MemberOp {
  kind: 'add' | 'remove' | 'promote'
  memberId?: string
  peerUrl?: string
  sentAt: number
}

export interface ReseedCandidateRec {
  taskId: string
  clientUrl: string
  memberId: string
  raftIndex: number
  raftTerm: number
  revision: number
}

export type ReseedPhase = 'ranking' | 'seeding' | 'killing'
export interface ReseedProgress {
  op: string
  manual: boolean
  /** A manual re-seed forced by the operator: the MESSAGE carries force, the member skips its quorum check. */
  force?: boolean
  phase: ReseedPhase
  startedAt: number
  candidates: ReseedCandidateRec[]
  /** Index into candidates of the one being tried. */
  current: number
  /** Deadline of the current phase step (ranking answer, candidate proof, kill retry). */
  deadline: number | null
  /** Task ids whose executor got the reseed MESSAGE for this op. */
  messaged: string[]
  seedTaskId?: string
  /** Set after a restart / reconnection: re-check, don't re-send blindly. */
  resumed?: boolean
  /** Task id → when its executor last reported progress for this op (it reports: wait for its 'done'). */
  reports?: Record<string, number>
}

export type RestorePhase = 'resolving' | 'killing' | 'bootstrapping'
/** The backups a restore uses (resolved by the driver with the backup library's planRestore). */
export interface RestorePlanRec {
  fullId: string
  /** Delta backups replayed after the full one, oldest first. */
  deltaIds: string[]
  /** The revision the restored data ends at. */
  toRevision: number
  /** When the newest write included was recorded (ISO UTC). */
  dataUntil: string
}
/** A restore in progress (restore.ts). Persisted: a restarted scheduler resumes it. */
export interface RestoreProgress {
  op: string
  reason: 'manual' | 'auto' | 'restore-from'
  /** 'latest' or a backup id, as asked. */
  from: string
  /** The backup target URL the backups are read from. */
  target: string
  /** The revision asked for (null: the newest the chain holds). */
  toRevision: number | null
  force?: boolean
  phase: RestorePhase
  plan: RestorePlanRec | null
  startedAt: number
  /** When the data was lost (auto: when TOTAL_LOSS was declared; otherwise when the plan was resolved). */
  lossAt: number | null
  /** Seconds of writes before the loss that are not in the backup (lossAt − plan.dataUntil), once resolved. */
  recoveryPointSeconds: number | null
  /** Re-kill deadline while killing. */
  deadline: number | null
  /** Task ids launched with the restore (their failure to restore fails it). */
  launched: string[]
  /** Newer backups the plan passed over, with the problem. */
  skipped?: {id: string; problem: string}[]
  /** Set after a restart: re-ask / re-kill. */
  resumed?: boolean
}

export interface OperationRecord {
  op: string
  kind: 'reseed' | 'restore'
  status: 'refused' | 'running' | 'succeeded' | 'failed'
  message: string
  createdAt: number
  updatedAt: number
}

/** The /stats counters: one definition for the core, the admin view, the CLI and the tests (lib/stats.ts). */
export type {Stats} from '../../lib/stats.js'

export interface HealthState {
  verdict: HealthVerdict | null
  observedAt: number | null
  /** topologyGen the last verdict was requested at (-1: unknown). */
  gen: number
  /** The latest HEALTH_CHECK sent and not answered yet (null: none in flight). */
  checkReq: {seq: number; gen: number; sentAt: number} | null
  /** The running tasks the last HEALTH_CHECK sent covered: a task RUNNING since makes plan.ts ask for a check at once
   *  (observe.ts checkOnChange). Not persisted (a restarted scheduler checks at once). */
  checkedTasks?: string[]
  /** A membership change completed (member added, removed, promoted) since the last HEALTH_CHECK was sent. */
  checkWanted?: boolean
  /** Sequence number of the last HEALTH_CHECK sent. Checks overlap (one per interval, each bounded by the etcd
   *  timeout): a slow, older one can be answered after a newer one. */
  seq: number
  /** seq of the last answer applied: an older answer arriving later is stale and ignored. */
  appliedSeq: number
  /** Checks sent and not answered yet (oldest first, at most 32), to attribute each answer to its own request. */
  inFlight: {seq: number; gen: number; sentAt: number}[]
  /** The probes of the last answer applied (older answers arriving later are not applied). */
  probes: MemberProbe[]
  /** A probe answer was applied in this step and the planner has not read it yet (reset by plan.ts). */
  probesUnplanned: boolean
  /** Livelock timer (quorum.ts): first verdict without an evident quorum of the current episode. */
  lostQuorumSince: number | null
  livelocked: boolean
  /** When the last automatic re-seed attempt ended without a seed (re-armed after reseedTimeoutMs). */
  lastReseedFailedAt: number | null
}

/** The subscription as the driver reported it (Subscribed.master; times from `now`). */
export interface ConnectionFacts {
  /** "host:port" of the master of the latest subscription (kept after a disconnection). */
  master: string | null
  /** Set on Subscribed, cleared on Disconnected. */
  subscribedSince: number | null
  /** Set on the first Disconnected after a subscription (kept over repeated ones), cleared on Subscribed. */
  disconnectedSince: number | null
}

/** Re-seed progress reported by executors (FrameworkMessage reseed-progress), per operation, at most 100 each. */
export interface ReseedStepLog {
  [op: string]: {step: string; at: number; message?: string}[]
}

export interface ReconcileRun {
  startedAt: number
  attempt: number
  awaiting: string[]
  nextAt: number
}

export interface SchedulerState {
  config: SchedulerConfig
  rng: number
  /** Changed only by `become` (mode.ts). */
  phase: Phase
  /** Changed only by `become` (mode.ts). */
  episode: Episode
  connection: ConnectionFacts
  bootstrapped: boolean
  frameworkId: string | null
  clusterToken: string
  nextMemberIndex: number
  tasks: Record<string, TaskRecord>
  /** Non-terminal tasks Mesos reported that we have no record of: killed once mutable. */
  strays: Record<string, {agentId: string | null; killSentAt: number | null}>
  /** Latest etcd member list; `gen` = topologyGen when it was requested (fresh iff gen === topologyGen). */
  membership: {members: EtcdMember[]; observedAt: number; gen: number} | null
  /** The MEMBER_LIST in flight; `retryAt`: it failed, the next one waits until then (memberOpRetryMs), so that
   *  endpoints refusing at once (a learner, connection refused) are not asked again in a tight loop. */
  memberListReq: {gen: number; sentAt: number; retryAt?: number} | null
  unbackedSince: Record<string, number>
  pendingAdd: PendingAdd | null
  memberOp: MemberOp | null
  memberOpRetryAt: number
  /** Bumped on every membership/topology change; growth needs a verdict and a member list requested since. */
  topologyGen: number
  offers: Record<string, {offer: Offer; receivedAt: number}>
  bootstrapWaitStart: number | null
  /** Last REVIVE (true) / SUPPRESS (false) emitted on this subscription; null = none yet. */
  offersWanted: boolean | null
  reconcile: ReconcileRun | null
  lastImplicitReconcileAt: number | null
  /** Explicit reconciliation of tasks in TASK_LOST/UNREACHABLE/UNKNOWN, with backoff, once reconciled. */
  lostReconcile: {attempt: number; nextAt: number} | null
  /** A usable offer was declined (long filter) while offers were wanted, since the last REVIVE. */
  declinedWanted: boolean
  /** Consecutive failed membership changes (the first is logged at info, the rest at debug). */
  memberOpFailures: number
  health: HealthState
  reseed: ReseedProgress | null
  /** A restore in progress (restore.ts); persisted. */
  restore: RestoreProgress | null
  /** The current or last rollout (rollout.ts); persisted. */
  rollout: RolloutProgress | null
  /** When TOTAL_LOSS was entered (the automatic restore waits reseedTimeoutMs from it). Not persisted. */
  totalLossSince: number | null
  operations: OperationRecord[]
  stats: Stats
  /** JSON of the last PERSIST emitted (null before the first), and when to retry after PersistFailed. */
  persistedJson: string | null
  persistRetryAt: number | null
  /** Last atMs set per timer name. */
  timers: Record<string, number>
  /** Agents Mesos removed (FAILURE without executor, REASON_AGENT_REMOVED): their sandboxes are gone. Not persisted. */
  removedAgents: Record<string, number>
  /** Restart-in-place episode (quorum lost, dead members restarted on their kept data); see inplace.ts. Not persisted. */
  inPlace: {since: number; gaveUp: boolean} | null
  /** Re-seed steps executors reported (all ops still in `operations`). Not persisted. */
  reseedSteps: ReseedStepLog
  /** Members' reservations and volumes by persistence id (with a role; volumes.ts). Persisted. */
  volumes: Record<string, VolumeRecord>
  /** Reservations/volumes of this cluster seen in offers and unknown to the records: key (agent/member) → first and
   *  last sighting. Forgotten when not seen again for leftoverGraceMs + two refuse periods (volumes.ts updateSweep). Not persisted. */
  leftovers: Record<string, {first: number; last: number}>
  /** With a role: offers are wanted until then after a subscription, to see leftovers (volumes.ts updateSweep). */
  sweepUntil: number | null
  /** Disk-space maintenance: routine defragmentation and NOSPACE recovery (maintenance-state.ts). Not persisted
   *  (its counters are in `stats`). */
  maintenance: MaintenanceState
}

/** Dead = terminal, or unreachable/unknown (TASK_LOST and TASK_UNREACHABLE may still come back). */
export function isDeadState(st: TaskState): boolean {
  return TERMINAL_STATES.has(st) || st === 'TASK_UNREACHABLE' || st === 'TASK_UNKNOWN'
}

export function allTasks(s: SchedulerState): TaskRecord[] {
  return Object.values(s.tasks).sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))
}
export function liveTasks(s: SchedulerState): TaskRecord[] {
  return allTasks(s).filter((t) => !isDeadState(t.state))
}
export function runningTasks(s: SchedulerState): TaskRecord[] {
  return liveTasks(s).filter((t) => t.state === 'TASK_RUNNING')
}
export function deadTasks(s: SchedulerState): TaskRecord[] {
  return allTasks(s).filter((t) => isDeadState(t.state))
}
/** Reported lost by the master and not confirmed gone (unprobed, or its etcd member answers). */
export function unconfirmedLost(s: SchedulerState): TaskRecord[] {
  return deadTasks(s).filter((t) => t.lostAt !== undefined)
}
/** Reported lost by the master, but its etcd member answered a probe since: counted as alive. */
export function answeringTasks(s: SchedulerState): TaskRecord[] {
  return deadTasks(s).filter((t) => t.lostAt !== undefined && t.answering === true)
}
/** Dead states Mesos may still take back (TASK_RUNNING can follow). */
export function isNonFinalDead(st: TaskState): boolean {
  return st === 'TASK_LOST' || st === 'TASK_UNREACHABLE' || st === 'TASK_UNKNOWN'
}

export function peerUrl(s: SchedulerState, t: {hostname: string; peerPort: number}): string {
  return `${s.config.scheme}://${t.hostname}:${t.peerPort}`
}
export function clientUrl(s: SchedulerState, t: {hostname: string; clientPort: number}): string {
  return `${s.config.scheme}://${t.hostname}:${t.clientPort}`
}

export function memberMatchesTask(s: SchedulerState, m: EtcdMember, t: TaskRecord): boolean {
  return (m.name !== '' && m.name === t.memberName) || m.peerUrls.includes(peerUrl(s, t))
}

export function memberOfTask(s: SchedulerState, t: TaskRecord): EtcdMember | null {
  return s.membership?.members.find((m) => memberMatchesTask(s, m, t)) ?? null
}

export function emptyStats(): Stats {
  return {
    running_servers: 0,
    launched_servers: 0,
    failed_servers: 0,
    cluster_livelocks: 0,
    cluster_reseeds: 0,
    healthy: 0,
    healthy_since: null,
    unhealthy_since: null,
    last_livelock_at: null,
    last_reseed_at: null,
    last_launch_at: null,
    last_failure_at: null,
    stats_since: null,
    volumes_released: 0,
    leftovers_cleaned: 0,
    defrags: 0,
    defrag_failures: 0,
    nospace_episodes: 0,
  }
}

export function bumpTopology(s: SchedulerState): void {
  s.topologyGen++
}
/** The n of health verdicts: voting members in the latest member list (else the number of running tasks). */
export function verdictSize(s: SchedulerState): number {
  const voters = s.membership?.members.filter((m) => !m.isLearner).length ?? 0
  return voters > 0 ? voters : Math.max(1, runningTasks(s).length)
}

export function healthFresh(s: SchedulerState): boolean {
  return s.health.verdict?.healthy === true && s.health.gen === s.topologyGen
}
export function membershipFresh(s: SchedulerState): boolean {
  return s.membership !== null && s.membership.gen === s.topologyGen
}
