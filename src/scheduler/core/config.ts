/**
 * SchedulerConfig: everything the pure scheduler core needs to decide (sizes, resources, timings,
 * the etcd member settings that go into TaskInfo.data). `resolveConfig` fills defaults and validates,
 * throwing SchedulerConfigError naming the first bad field. No I/O.
 */
import type {CommandInfo} from '../../lib/mesos/types.js'
import type {MemberTls, MemberTlsContent} from '../../lib/member-config.js'
import type {S3Options} from '../../lib/backup/s3-options.js'
import {type AutoCompaction, autoCompactionProblem, quotaProblem} from '../../lib/etcd/space-settings.js'

export interface SchedulerConfig {
  /** Cluster name: prefix of member names (`<clusterName>-<n>`) and of task ids. */
  clusterName: string
  /** Desired number of etcd members. */
  clusterSize: number
  /** Task resources (etcd itself). */
  cpus: number
  mem: number
  disk: number
  /** Executor resources (added on top of the task's). */
  executorCpus: number
  executorMem: number
  /** `Filters.refuse_seconds` for declined offers and for the unused part of accepted ones. */
  refuseSeconds: number
  /** At most one member per agent (always true in practice) / per hostname. */
  singleInstancePerAgent: boolean
  singleInstancePerHost: boolean
  /** Re-seed automatically after quorum has been lost for `reseedTimeoutMs`. */
  autoReseed: boolean
  reseedTimeoutMs: number
  /** How long one re-seed candidate gets to prove itself (serve alone) before the next is tried. */
  reseedCandidateTimeoutMs: number
  /** Period of HEALTH_CHECK + MEMBER_LIST. */
  healthIntervalMs: number
  /** Explicit reconciliation retry backoff (doubling from min, capped at max). */
  reconcileBackoffMinMs: number
  reconcileBackoffMaxMs: number
  /** Period of implicit reconciliation once mutable. */
  implicitReconcileIntervalMs: number
  /** An etcd member not backed by any task (e.g. added but never started) is removed after this. */
  memberGraceMs: number
  /** A task still STAGING/STARTING after this is killed. */
  launchTimeoutMs: number
  /** Retry delay after a retryable member add/remove/promote failure (etcd refuses adds ~5 s after losing a peer). */
  memberOpRetryMs: number
  /** Retry delay after etcd refuses a member add for now (UNHEALTHY_CLUSTER, e.g. peers connected < 5 s, or
   *  NO_LEADER) while the add's offer is held (at most memberOpRetryMs): etcd accepts as soon as its check passes. */
  memberAddRetryMs: number
  /** A member add/remove/promote with no answer after this is treated as failed (retryable). */
  memberOpTimeoutMs: number
  /** Longest time an offer is held (while a MEMBER_ADD is in flight or during bootstrap). */
  offerHoldMs: number
  /** At first bootstrap, how long to gather offers from `clusterSize` agents before growing one at a time. */
  bootstrapWaitMs: number
  /** Add new members as learners and promote them once they run (etcd >= 3.4). */
  useLearners: boolean
  /** Executor command (opaque; built by the driver: value, arguments, uris, environment). */
  executorCommand: CommandInfo
  /** Member settings copied into every MemberConfig. */
  etcdBin?: string
  extraArgs?: string[]
  /** etcd's --quota-backend-bytes and auto-compaction on every member (serve --etcd-quota-backend-bytes,
   *  --etcd-auto-compaction-*; space-settings.ts); absent: etcd's defaults (2 GiB, no auto-compaction). */
  quotaBackendBytes?: number
  autoCompaction?: AutoCompaction
  dataDir?: string
  scheme: 'http' | 'https'
  tls?: MemberTls
  /** The TLS files' contents serve ships in every MemberConfig (tls-material.ts; keys included: never persisted),
   *  their public part (certificates and CAs, recorded in specs) and their digest (compared by rollouts). */
  tlsContent?: MemberTlsContent
  tlsCerts?: MemberTlsContent
  tlsDigest?: string
  /** Mesos role of the framework. Other than '*': each member's resources are dynamically reserved to it and its
   *  data dir is a persistent volume (volumes.ts). '*' (or unset): no reservation, data in the task's sandbox. */
  role?: string
  /** Principal of the reservations and volumes (must be FrameworkInfo.principal, or unset when it is). */
  principal?: string
  /** Where a member's volume is mounted in its sandbox; the member's data dir. */
  volumeContainerPath: string
  /** A member whose etcd died on a live agent waits this long for the offer holding its volume before it is
   *  removed and replaced elsewhere. */
  volumeWaitMs: number
  /** A reservation or volume of this cluster seen in offers and unknown to the records (a crash between the
   *  ACCEPT and its PERSIST) is destroyed and unreserved once seen for this long. */
  leftoverGraceMs: number
  /** Backup target URL (file:///dir, s3://bucket/prefix): where restores read backups from (restore.ts). */
  backupTarget?: string
  /** S3 settings for an s3:// target; handed to restoring executors (MemberRestore.s3). Never persisted or logged. */
  s3?: S3Options
  /** Restore the latest backup automatically after reseedTimeoutMs in TOTAL_LOSS (needs backupTarget). */
  autoRestore: boolean
  /** serve --restore-from: on a first start (nothing bootstrapped), build the cluster from this backup. */
  restoreFrom?: {target: string; from: string}
  /** Routine defragmentation (defrag.ts): a member is defragmented when at least this fraction of its db is free
   *  ((dbSize − dbSizeInUse) / dbSize ≥ it) and its db is at least defragMinBytes; 0 turns it off. */
  defragThreshold: number
  defragMinBytes: number
  /** A member is defragmented at most once per this (ms). */
  defragIntervalMs: number
  /** A COMPACT / DEFRAG / ALARM_DISARM unanswered after this counts as failed. */
  defragTimeoutMs: number
  /** After a NOSPACE episode the next waits nospaceBackoffMinMs, doubling (to at most …MaxMs) for each episode that
   *  starts within 2 × nospaceBackoffMaxMs of the previous one's end (the data fills the quota: no loop). */
  nospaceBackoffMinMs: number
  nospaceBackoffMaxMs: number
  /** The version `etcdBin` reports (serve runs `<etcdBin> --version`); part of the desired spec (rollout-spec.ts). */
  etcdVersion?: string
  /** Roll members whose recorded spec differs from the desired one automatically (rollout.ts). */
  autoRollout: boolean
  /** A member rolled (killed and relaunched in place) that is not back and caught up after this fails the rollout. */
  rolloutMemberTimeoutMs: number
  /** A relaunched member counts as caught up when its raft index is at most this far behind the leader's. */
  rolloutCatchUpEntries: number
}

export type SchedulerConfigInput = Partial<SchedulerConfig> & Pick<SchedulerConfig, 'clusterName' | 'executorCommand'>

export class SchedulerConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SchedulerConfigError'
  }
}

export const CONFIG_DEFAULTS = {
  clusterSize: 3,
  cpus: 1,
  mem: 1024,
  disk: 4096,
  executorCpus: 0.1,
  executorMem: 64,
  refuseSeconds: 15,
  singleInstancePerAgent: true,
  singleInstancePerHost: false,
  autoReseed: true,
  reseedTimeoutMs: 240_000,
  reseedCandidateTimeoutMs: 120_000,
  healthIntervalMs: 10_000,
  reconcileBackoffMinMs: 1_000,
  reconcileBackoffMaxMs: 30_000,
  implicitReconcileIntervalMs: 15 * 60_000,
  memberGraceMs: 60_000,
  launchTimeoutMs: 300_000,
  memberOpRetryMs: 1_000,
  memberAddRetryMs: 250,
  memberOpTimeoutMs: 30_000,
  offerHoldMs: 30_000,
  bootstrapWaitMs: 10_000,
  useLearners: true,
  scheme: 'http',
  volumeContainerPath: 'etcd-data',
  volumeWaitMs: 120_000,
  leftoverGraceMs: 120_000,
  autoRestore: false,
  autoRollout: true,
  rolloutMemberTimeoutMs: 300_000,
  rolloutCatchUpEntries: 1000,
  defragThreshold: 0.5,
  defragMinBytes: 64 * 1024 * 1024,
  defragIntervalMs: 3_600_000,
  defragTimeoutMs: 300_000,
  nospaceBackoffMinMs: 60_000,
  nospaceBackoffMaxMs: 1_800_000,
} as const satisfies Partial<SchedulerConfig>

/** Cluster names become member names `<name>-<n>` (etcd names, Mesos ids): keep them simple. */
const CLUSTER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/
/** Mesos roles: '*' or path-like names without '.', '..', spaces or a leading '-' (Mesos' roles::validate). */
const ROLE_RE = /^(\*|(?!-)(?!\.\.?(\/|$))[^\s/\\*]+(\/(?!-)(?!\.\.?(\/|$))[^\s/\\*]+)*)$/
/** A Mesos role name as Mesos accepts it: '*', or '/'-separated parts, none '.', '..', starting with '-' or holding
 *  whitespace, '/', '\\' or '*'. */
export function isValidRole(role: string): boolean {
  return typeof role === 'string' && ROLE_RE.test(role)
}
/** A volume's container path: one relative name (it becomes `$MESOS_SANDBOX/<path>`). */
const CONTAINER_PATH_RE = /^(?!\.\.?$)[A-Za-z0-9._-]{1,64}$/

export function resolveConfig(input: SchedulerConfigInput): SchedulerConfig {
  const cfg: SchedulerConfig = {...CONFIG_DEFAULTS, ...stripUndefined(input)} as SchedulerConfig
  const bad = (msg: string): never => {
    throw new SchedulerConfigError(`invalid scheduler config: ${msg}`)
  }
  if (typeof cfg.clusterName !== 'string' || !CLUSTER_NAME_RE.test(cfg.clusterName)) {
    bad(`clusterName ${JSON.stringify(cfg.clusterName)} must be 1-41 characters of [A-Za-z0-9_-], starting with a letter or digit`)
  }
  if (!Number.isInteger(cfg.clusterSize) || cfg.clusterSize < 1 || cfg.clusterSize > 9)
    bad(`clusterSize must be an integer 1..9, got ${cfg.clusterSize}`)
  for (const k of ['cpus', 'mem', 'disk'] as const) {
    if (!(typeof cfg[k] === 'number' && cfg[k] > 0 && Number.isFinite(cfg[k]))) bad(`${k} must be a positive number, got ${cfg[k]}`)
  }
  for (const k of ['executorCpus', 'executorMem', 'refuseSeconds'] as const) {
    if (!(typeof cfg[k] === 'number' && cfg[k] >= 0 && Number.isFinite(cfg[k]))) bad(`${k} must be a number >= 0, got ${cfg[k]}`)
  }
  for (const k of [
    'reseedTimeoutMs',
    'reseedCandidateTimeoutMs',
    'healthIntervalMs',
    'reconcileBackoffMinMs',
    'reconcileBackoffMaxMs',
    'implicitReconcileIntervalMs',
    'memberGraceMs',
    'launchTimeoutMs',
    'memberOpRetryMs',
    'memberAddRetryMs',
    'memberOpTimeoutMs',
    'offerHoldMs',
    'volumeWaitMs',
    'leftoverGraceMs',
    'rolloutMemberTimeoutMs',
    'rolloutCatchUpEntries',
    'defragIntervalMs',
    'defragTimeoutMs',
    'nospaceBackoffMinMs',
    'nospaceBackoffMaxMs',
  ] as const) {
    if (!(Number.isInteger(cfg[k]) && cfg[k] > 0)) bad(`${k} must be a positive integer (ms), got ${cfg[k]}`)
  }
  if (!(Number.isInteger(cfg.bootstrapWaitMs) && cfg.bootstrapWaitMs >= 0))
    bad(`bootstrapWaitMs must be an integer >= 0, got ${cfg.bootstrapWaitMs}`)
  if (cfg.reconcileBackoffMaxMs < cfg.reconcileBackoffMinMs) bad('reconcileBackoffMaxMs must be >= reconcileBackoffMinMs')
  if (cfg.scheme !== 'http' && cfg.scheme !== 'https') bad(`scheme must be "http" or "https", got ${JSON.stringify(cfg.scheme)}`)
  if (typeof cfg.executorCommand !== 'object' || cfg.executorCommand === null) bad('executorCommand must be a CommandInfo object')
  if (cfg.role !== undefined && !isValidRole(cfg.role)) bad(`role ${JSON.stringify(cfg.role)} is not a valid Mesos role`)
  if (cfg.principal !== undefined && (typeof cfg.principal !== 'string' || cfg.principal === ''))
    bad('principal must be a non-empty string')
  if (typeof cfg.volumeContainerPath !== 'string' || !CONTAINER_PATH_RE.test(cfg.volumeContainerPath))
    bad(`volumeContainerPath ${JSON.stringify(cfg.volumeContainerPath)} must be a relative path of [A-Za-z0-9._-] without '..'`)
  if (cfg.extraArgs && !cfg.extraArgs.every((a) => typeof a === 'string' && a.startsWith('--')))
    bad('extraArgs must be strings starting with "--"')
  if (cfg.quotaBackendBytes !== undefined) {
    const p = quotaProblem(cfg.quotaBackendBytes)
    if (p) bad(p)
  }
  if (cfg.autoCompaction !== undefined) {
    const p = autoCompactionProblem(cfg.autoCompaction)
    if (p) bad(p)
  }
  if (cfg.backupTarget !== undefined && (typeof cfg.backupTarget !== 'string' || !/^(file|s3):\/\/./.test(cfg.backupTarget)))
    bad(`backupTarget ${JSON.stringify(cfg.backupTarget)} must be a file:// or s3:// URL`)
  if (typeof cfg.autoRestore !== 'boolean') bad('autoRestore must be a boolean')
  if (typeof cfg.autoRollout !== 'boolean') bad('autoRollout must be a boolean')
  if (!(typeof cfg.defragThreshold === 'number' && cfg.defragThreshold >= 0 && cfg.defragThreshold < 1))
    bad(`defragThreshold must be a fraction 0 (off) .. <1, got ${cfg.defragThreshold}`)
  if (!(Number.isInteger(cfg.defragMinBytes) && cfg.defragMinBytes >= 0))
    bad(`defragMinBytes must be an integer >= 0, got ${cfg.defragMinBytes}`)
  if (cfg.nospaceBackoffMaxMs < cfg.nospaceBackoffMinMs) bad('nospaceBackoffMaxMs must be >= nospaceBackoffMinMs')
  if (cfg.restoreFrom !== undefined) {
    const r = cfg.restoreFrom
    if (typeof r !== 'object' || r === null || typeof r.target !== 'string' || !/^(file|s3):\/\/./.test(r.target))
      bad('restoreFrom.target must be a file:// or s3:// URL')
    if (typeof r.from !== 'string' || r.from === '') bad('restoreFrom.from must be "latest" or a backup id')
  }
  return cfg
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}
