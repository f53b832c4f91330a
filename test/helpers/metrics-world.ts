/**
 * One scheduler state and one backup status that make every etcd_mesos_* metric family of /metrics show samples:
 * a healthy 3-member cluster whose probes report db sizes and a NOSPACE alarm, a running rollout, counters above
 * zero, and backups with a success, failures and a delta flush (test/unit/metrics.test.ts compares the exposition
 * of this state with test/fixtures/metrics/before.prom, the hand-written exposition it replaced).
 */
import type {BackupStatus} from '../../src/scheduler/backup-views.js'
import type {SchedulerState} from '../../src/scheduler/core/state.js'
import {CORE_CFG, healthyCluster} from './core-world.js'

const MiB = 2 ** 20

export function metricsWorld(): SchedulerState {
  const s = healthyCluster(CORE_CFG, 3).state
  const ids = s.health.probes.map((p) => p.status!.memberId)
  s.health.probes = s.health.probes.map((p, i) => ({
    ...p,
    status: {...p.status!, dbSize: (20 + i) * MiB, dbSizeInUse: (5 + i) * MiB},
    alarms: [{memberId: ids[1]!, alarm: 'NOSPACE' as const}],
  }))
  Object.assign(s.stats, {
    launched_servers: 5,
    failed_servers: 2,
    cluster_livelocks: 1,
    cluster_reseeds: 1,
    volumes_released: 1,
    leftovers_cleaned: 1,
    defrags: 4,
    defrag_failures: 1,
    nospace_episodes: 1,
  })
  return s
}

export function metricsBackupStatus(): BackupStatus {
  return {
    target: 'file:///backups',
    interval_seconds: 3600,
    delta_interval_seconds: 60,
    running: null,
    backups_taken: 3,
    failures_total: 2,
    consecutive_failures: 1,
    last_success: {id: 'b-1', at: 1_700_000_000_000, revision: 42, age_seconds: 120, member: 'http://127.0.0.1:2379'},
    last_failure: {at: 1_700_000_100_000, message: 'target away'},
    next_due_at: null,
    waiting_for_member_since: null,
    deltas: {
      enabled: true,
      recording: true,
      last_flush_at: 1_700_000_060_000,
      last_delta_id: 'd-1',
      revision: 45,
      pending_events: 0,
      failures: 0,
      last_error: null,
    },
    recovery_point_seconds: 60,
    failing: null,
  } as BackupStatus
}
