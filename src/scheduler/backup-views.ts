/**
 * Pure views of the backup service for the admin API: the /metrics families (etcd_mesos_backup_*) and the GET /backups
 * list document. No I/O: the service's status() and the listed manifests come in.
 */
import type {BackupManifest} from '../lib/backup/manifest.js'
import type {BackupService} from './backup-service.js'
import {clusterFamily, type MetricFamily} from './metric-family.js'

export type BackupStatus = ReturnType<BackupService['status']>

/** The /metrics families of the backup status (null values: NaN). */
export function backupMetricFamilies(b: BackupStatus, cluster: string): MetricFamily[] {
  const families: MetricFamily[] = []
  const metric = (name: string, help: string, type: 'gauge' | 'counter', value: number | null): void => {
    families.push(clusterFamily(cluster, `etcd_mesos_backup_${name}`, help, type, value))
  }
  const last = b.last_success
  metric(
    'last_success_timestamp_seconds',
    'When the newest successful full backup was taken (NaN: none yet).',
    'gauge',
    last ? last.at / 1000 : null,
  )
  metric('last_success_age_seconds', 'Age of the newest successful full backup (NaN: none yet).', 'gauge', last ? last.age_seconds : null)
  metric(
    'last_success_revision',
    'etcd revision of the newest successful full backup (NaN: none yet).',
    'gauge',
    last ? last.revision : null,
  )
  metric('taken_total', 'Full backups taken by this scheduler.', 'counter', b.backups_taken)
  metric('failures_total', 'Full backups that failed.', 'counter', b.failures_total)
  metric('consecutive_failures', 'Full backups that failed since the last success.', 'gauge', b.consecutive_failures)
  metric('failing', '1 when backups keep failing (what `stats --check` fails on).', 'gauge', b.failing ? 1 : 0)
  metric(
    'recovery_point_seconds',
    'Seconds of writes a total loss now could lose at most: now minus the newest full backup or delta flush (NaN: none yet).',
    'gauge',
    b.recovery_point_seconds,
  )
  metric(
    'delta_last_flush_timestamp_seconds',
    'When delta backups were last flushed (NaN: never).',
    'gauge',
    b.deltas.last_flush_at === null ? null : b.deltas.last_flush_at / 1000,
  )
  return families
}

/** One backup of GET /backups. Every listed backup was verified when taken (a backup exists iff its manifest does). */
export function backupListEntry(m: BackupManifest) {
  const extra = m as BackupManifest & {baseId?: string; fromRevision?: number; toRevision?: number}
  return {
    id: m.id,
    kind: m.kind,
    created_at: m.createdAt,
    revision: extra.toRevision ?? m.revision,
    size: m.size,
    verified: true,
    base_id: extra.baseId ?? null,
    member_id: m.memberId ?? null,
  }
}
