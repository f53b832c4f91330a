/**
 * The `/stats` document, defined once for the scheduler core (which keeps and persists the counters:
 * core/state.ts), the admin API (views.ts `statsView` builds the document), the CLI (`stats`) and the tests.
 * Types only. Times are milliseconds since the epoch, or null when the event has not happened.
 */

/** Cluster mode as reported by the scheduler; other values may appear and are shown as they are. */
export type ClusterMode = 'MUTABLE' | 'RECONCILING' | 'DISCONNECTED' | 'RESEEDING' | 'TOTAL_LOSS' | (string & {})

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
}

/** GET /stats: the counters, and the cluster's name, size and mode. */
export interface StatsDocument extends Stats {
  cluster_name: string
  cluster_size: number
  mode: ClusterMode
  livelocked: boolean
}
