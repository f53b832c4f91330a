/**
 * The `/stats` document, defined once for the scheduler core (which keeps and persists the counters:
 * core/state.ts), the admin API (views.ts `statsView` builds the document), the CLI (`stats`) and the tests.
 * Types only. Times are milliseconds since the epoch, or null when the event has not happened.
 */

/** Cluster mode as reported by the scheduler; other values may appear and are shown as they are. */
export type ClusterMode = 'MUTABLE' | 'RECONCILING' | 'DISCONNECTED' | 'RESEEDING' | 'TOTAL_LOSS' | 'RESTORING' | (string & {})

/** The counters and times the scheduler keeps (persisted with its state). */
export interface Stats {
  running_servers: number
  launched_servers: number
  failed_servers: number
  /** Episodes (transitions into livelock), not checks. */
  cluster_livelocks: number
  cluster_reseeds: number
  /** 0 until the first healthy verdict. */
  healthy: 0 | 1
  healthy_since: number | null
  unhealthy_since: number | null
  last_livelock_at: number | null
  last_reseed_at: number | null
  last_launch_at: number | null
  last_failure_at: number | null
  stats_since: number | null
  /** Volumes destroyed and reservations released for members removed for good (with a role). */
  volumes_released: number
  /** Reservations/volumes of this cluster unknown to the records (a crash mid-launch) cleaned up after the grace. */
  leftovers_cleaned: number
  /** Member defragmentations done (routine and NOSPACE recovery) and failed. */
  defrags: number
  defrag_failures: number
  /** NOSPACE alarm episodes the scheduler started to recover from. */
  nospace_episodes: number
}

/** GET /stats: the counters, and the cluster's name, size and mode. */
export interface StatsDocument extends Stats {
  cluster_name: string
  cluster_size: number
  mode: ClusterMode
  livelocked: boolean
  /** Backups (serve --backup-target; scheduler/backup-service.ts); null or absent when backups are off. */
  backup?: BackupStats | null
  /** Restores (scheduler/restore-views.ts): the one running, if any, and the last one that ended. */
  restore?: RestoreStats
  /** Recovery from etcd's NOSPACE alarm (scheduler/core/nospace.ts). */
  nospace?: NospaceStats
  /** The current or last rollout (scheduler/core/rollout.ts), null when none ever ran. */
  rollout?: RolloutStats | null
}

/** The `nospace` object of /stats. Times in ms since the epoch. */
export interface NospaceStats {
  /** An episode is under way (its step: compact, defrag, disarm, verify), or null. */
  active: boolean
  step: string | null
  started_at: number | null
  /** Episodes started since the stats began (persisted). */
  episodes: number
  /** No new episode starts before this (the backoff after the last one), or null. */
  next_attempt_not_before: number | null
  /** The last episode that ended (not persisted: null after a restart). */
  last: {started_at: number; ended_at: number; outcome: 'recovered' | 'still-full' | 'abandoned'; message: string; steps: string[]} | null
}

/** The `restore` object of /stats. Times in ms since the epoch; the running restore's fields are null when none runs. */
export interface RestoreStats {
  op: string | null
  phase: 'resolving' | 'killing' | 'bootstrapping' | null
  reason: 'manual' | 'auto' | 'restore-from' | null
  /** 'latest' or the backup id asked for. */
  from: string | null
  target: string | null
  /** The full backup restored (once resolved) and how many delta backups are replayed after it. */
  backup: string | null
  deltas: number | null
  to_revision: number | null
  /** When the newest write in the backup was recorded (ISO UTC). */
  data_until: string | null
  /** Seconds of writes before the loss that are not in the backup. */
  recovery_point_seconds: number | null
  started_at: number | null
  /** Newer backups passed over (corrupt, truncated), with the problem. */
  skipped: {id: string; problem: string}[]
  /** The last restore that ended (succeeded, failed or refused); its message names the backup and the recovery point. */
  last: {op: string; status: string; message: string; at: number} | null
}

/** The `backup` object of /stats. Times in ms since the epoch. */
export interface BackupStats {
  /** The target URL (never with credentials). */
  target: string
  /** 0: only on demand. */
  interval_seconds: number
  /** 0: no delta backups. */
  delta_interval_seconds: number
  /** The operation id of the full backup being taken, or null. */
  running: string | null
  backups_taken: number
  failures_total: number
  consecutive_failures: number
  last_success: {id: string; at: number; revision: number; age_seconds: number; member: string} | null
  last_failure: {at: number; message: string} | null
  /** When the next periodic full backup is due (null: on demand only, or one is running). */
  next_due_at: number | null
  /** A backup is due but no member is healthy to stream it from, since then. */
  waiting_for_member_since: number | null
  deltas: {
    enabled: boolean
    recording: boolean
    last_flush_at: number | null
    last_delta_id: string | null
    /** The newest revision published in a delta (the base's revision before any). */
    revision: number | null
    pending_events: number | null
    failures: number
    last_error: string | null
  }
  /** Seconds of writes a total loss now could lose at most: now minus the newest full backup or delta flush. */
  recovery_point_seconds: number | null
  /** Why backups keep failing (what `stats --check` fails on), or null. */
  failing: string | null
}

/** The `rollout` object of /stats and GET /rollout's `rollout` (scheduler/core/rollout-view.ts). Times ISO UTC. */
export interface RolloutStats {
  op: string
  state: 'running' | 'paused' | 'failed' | 'done' | 'refused' | 'aborted'
  reason: 'auto' | 'manual'
  step: string
  message: string
  /** The target spec, one line. */
  target: string
  members: {done: string[]; pending: string[]; current: string | null}
  currentStep: string | null
  /** The versions last read (member → etcdserver) and the cluster version. */
  versions: Record<string, string>
  clusterVersion: string | null
  pauseRequested: boolean
  abortRequested: boolean
  startedAt: string
  updatedAt: string
}
