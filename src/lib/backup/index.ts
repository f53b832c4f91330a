/**
 * The backup library (issue 15): full etcd snapshots and delta backups (the changes since, from a watch) to a
 * backup target, verified, listed, read back, expired, planned and replayed for a restore.
 * Used by the scheduler (scheduler/backup-service.ts: periodic and on-demand backups, deltas; restore-runner.ts: restore
 * plans), the executor (executor/restore.ts: fetch, replay) and the CLI (`backups list` through the admin API).
 *
 * Design
 * - Target (target.ts, file-target.ts, open.ts, url.ts): a flat namespace of named objects with an atomic,
 *   no-overwrite `put`, streaming `get`, `list` of published objects only, idempotent `delete`. file:///dir is
 *   implemented (temp name in the same directory, fsync, link to the final name, fsync the directory);
 *   s3://bucket/prefix by s3-target.ts (AWS SDK v3, loaded only when an s3:// target is opened; s3-options.ts resolves
 *   endpoint, region and credentials from flags, env and a credentials file).
 * - Source (etcd-snapshot.ts): Maintenance.Status and Maintenance.Snapshot of ONE member through etcd's JSON
 *   gateway on node:http(s), decoded line by line with backpressure: memory is bounded by one 32 KiB message
 *   whatever the snapshot size (measured by test/integration/backup.test.ts). No etcd3 / grpc-js.
 * - Verification (verify.ts): etcd's snapshot ends with the sha256 of everything before it; it is checked while
 *   streaming, when taking (before anything is published) and on every read (plus the manifest's size and hash).
 * - Layout and manifest (manifest.ts): per backup `<id>.snapshot.db` (byte for byte what `etcdctl snapshot save`
 *   writes, so `etcdctl snapshot restore` takes it) and `<id>.manifest.json`; id = `<yyyymmddThhmmss.mmmZ>-r<rev>`.
 *   The manifest is published after the data was published verified: a backup exists iff its manifest does.
 *   A delta: `<id>.delta.ndjson` + `<id>.manifest.json` (kind 'delta': baseId, fromRevision exclusive, toRevision
 *   inclusive, events, sha256/size of the data), id = `<flush time>-r<toRevision>`.
 * - Deltas (delta-format.ts, delta-watch.ts, delta-recorder.ts): startDeltaRecorder watches every key from the
 *   full backup's revision + 1 through the JSON gateway (`/v3/watch`, node:http(s), no etcd3), groups events by
 *   revision and publishes a delta every flush interval; contiguous chain (fromRevision = previous toRevision),
 *   reconnects from the last revision, retries failed publishes, breaks loudly (CHAIN_BROKEN) on compaction,
 *   another cluster, or more pending changes than its memory bound. Leases are not recorded (values are).
 * - Restore (restore-plan.ts, delta-replay.ts): planRestore picks a verified full backup and its verified chain
 *   ('latest' falls back past corrupt ones; toRevision cuts); replayDeltas checks the chain and every delta
 *   before any write, then applies one txn per source revision so the revisions equal the source's.
 * - Retention (retention.ts): pure; by count and age over full backups, never the newest by age; deltas go with
 *   their base (and orphans go).
 * - Operations (backups.ts): takeBackup, listBackups, readManifest, readBackup, verifyBackup, saveBackupToFile,
 *   deleteBackup (a full backup with its deltas), applyRetention.
 * - Errors (errors.ts): BackupError with a stable code (BAD_TARGET, BAD_NAME, BAD_MANIFEST,
 *   NOT_FOUND, EXISTS, CORRUPT, SOURCE, IO, CHAIN_BROKEN, BAD_REVISION); every message names the backup / object / target / member concerned.
 *
 * docs/backups.md describes the layout, the manifest and the guarantees for operators; README "Backups" and "Restore"
 * the flags, commands and endpoints.
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
