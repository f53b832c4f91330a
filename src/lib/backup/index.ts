/**
 * The backup library (issue 15): full etcd snapshots to a backup target, verified, listed, read back, expired.
 * Used by the scheduler (periodic backups), the admin API (POST /backups) and the CLI; none of them is wired yet.
 *
 * Design
 * - Target (target.ts, file-target.ts, open.ts, url.ts): a flat namespace of named objects with an atomic,
 *   no-overwrite `put`, streaming `get`, `list` of published objects only, idempotent `delete`. file:///dir is
 *   implemented (temp name in the same directory, fsync, link to the final name, fsync the directory);
 *   s3://bucket/prefix is parsed and validated, its implementation is NOT_IMPLEMENTED until the S3 helper adds it.
 * - Source (etcd-snapshot.ts): Maintenance.Status and Maintenance.Snapshot of ONE member through etcd's JSON
 *   gateway on node:http(s), decoded line by line with backpressure: memory is bounded by one 32 KiB message
 *   whatever the snapshot size (measured by test/integration/backup.test.ts). No etcd3 / grpc-js.
 * - Verification (verify.ts): etcd's snapshot ends with the sha256 of everything before it; it is checked while
 *   streaming, when taking (before anything is published) and on every read (plus the manifest's size and hash).
 * - Layout and manifest (manifest.ts): per backup `<id>.snapshot.db` (byte for byte what `etcdctl snapshot save`
 *   writes, so `etcdctl snapshot restore` takes it) and `<id>.manifest.json`; id = `<yyyymmddThhmmss.mmmZ>-r<rev>`.
 *   The manifest is published after the data was published verified: a backup exists iff its manifest does.
 * - Retention (retention.ts): pure; by count and age, never the newest by age.
 * - Operations (backups.ts): takeBackup, listBackups, readManifest, readBackup, verifyBackup, saveBackupToFile,
 *   deleteBackup, applyRetention.
 * - Errors (errors.ts): BackupError with a stable code (BAD_TARGET, NOT_IMPLEMENTED, BAD_NAME, BAD_MANIFEST,
 *   NOT_FOUND, EXISTS, CORRUPT, SOURCE, IO); every message names the backup / object / target / member concerned.
 *
 * Not yet (next sessions): delta backups from a watch (kind 'delta', with the full backup they extend), the
 * s3:// target, scheduling, /stats and /metrics, restore into a new cluster. docs/backups.md describes the
 * layout, the manifest and the guarantees for operators.
 */
export {BackupError, type BackupErrorCode} from './errors.js'
export {parseBackupTargetUrl, type BackupTargetUrl} from './url.js'
export {checkObjectName, type BackupTarget} from './target.js'
export {FileBackupTarget} from './file-target.js'
export {openBackupTarget} from './open.js'
export {memberStatus, snapshotChunks, type SnapshotSourceOptions, type SourceStatus} from './etcd-snapshot.js'
export {SnapshotVerifier, verified, type SnapshotDigest} from './verify.js'
export {
  backupId,
  dataName,
  deltaDataName,
  manifestName,
  idOfManifestName,
  isBackupId,
  parseManifest,
  validateManifest,
  MANIFEST_FORMAT,
  type BackupKind,
  type BackupManifest,
  type FullManifest,
  type DeltaManifest,
} from './manifest.js'
export {expiredBackups, validateRetention, type RetentionPolicy, type RetainedItem} from './retention.js'
export {
  takeBackup,
  listBackups,
  readManifest,
  readBackup,
  verifyBackup,
  saveBackupToFile,
  deleteBackup,
  applyRetention,
  hashChecked,
  type TakeBackupOptions,
  type BackupListing,
} from './backups.js'
export {encodeGroup, decodeGroup, type DeltaEvent, type RevisionGroup} from './delta-format.js'
export {watchKeyspace, type WatchOptions, type WatchBatch} from './delta-watch.js'
export {startDeltaRecorder, type DeltaRecorder, type DeltaRecorderOptions, type DeltaRecorderStatus} from './delta-recorder.js'
export {replayDeltas, type ReplayDeltasOptions} from './delta-replay.js'
export {planRestore, deltaChain, type RestorePlan, type PlanRestoreOptions} from './restore-plan.js'
