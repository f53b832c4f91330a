/**
 * Typed errors of the backup library. Pure (no I/O).
 *
 * Codes (stable; the CLI and the admin API map them to exit codes / HTTP statuses):
 *   BAD_TARGET       the target URL is not an absolute file:// URL or a valid s3://bucket/prefix
 *   BAD_NAME         an object name with '/', a leading '.', or characters outside [A-Za-z0-9._-]
 *   BAD_MANIFEST     a manifest that is not JSON or misses / mistypes a field
 *   NOT_FOUND        no such object or backup in the target
 *   EXISTS           an object of that name is already published (objects are never overwritten)
 *   CORRUPT          the data does not match: etcd's trailing sha256, the manifest's size or hash, truncation
 *   SOURCE           the etcd member could not give a snapshot (unreachable, HTTP error, stream cut)
 *   IO               the target could not be read or written (permissions, disk full, …)
 *   CHAIN_BROKEN     delta recording cannot continue the chain of its full backup (etcd compacted the revisions
 *                    the watch needs, another cluster answered, or too many changes piled up unflushed): a new
 *                    full backup is needed
 *   BAD_REVISION     a restore revision outside what the chosen backups hold
 */
export type BackupErrorCode =
  | 'BAD_TARGET'
  | 'BAD_NAME'
  | 'BAD_MANIFEST'
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'CORRUPT'
  | 'SOURCE'
  | 'IO'
  | 'CHAIN_BROKEN'
  | 'BAD_REVISION'

export class BackupError extends Error {
  readonly code: BackupErrorCode
  constructor(code: BackupErrorCode, message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'BackupError'
    this.code = code
  }
}

/** `err` when it is already a BackupError, else a BackupError of `code` whose message is `context: <err>`. */
export function toBackupError(err: unknown, code: BackupErrorCode, context: string): BackupError {
  if (err instanceof BackupError) return err
  const text = err instanceof Error ? err.message : String(err)
  return new BackupError(code, `${context}: ${text}`, {cause: err})
}
