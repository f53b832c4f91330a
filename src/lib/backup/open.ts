/**
 * openBackupTarget: a BackupTarget for a target URL (parsed by url.ts), checked before it is returned.
 *   file:///dir          a FileBackupTarget whose directory must exist;
 *   s3://bucket/prefix   an S3BackupTarget reached with `opts.s3` (endpoint, region, keys: see s3-options.ts) whose
 *                        bucket must answer (HEAD bucket). The AWS SDK is imported here, only for s3:// targets.
 */
import {FileBackupTarget} from './file-target.js'
import type {OpenTargetOptions} from './s3-options.js'
import type {BackupTarget} from './target.js'
import {parseBackupTargetUrl, type BackupTargetUrl} from './url.js'

export async function openBackupTarget(target: string | BackupTargetUrl, opts: OpenTargetOptions = {}): Promise<BackupTarget> {
  const u = typeof target === 'string' ? parseBackupTargetUrl(target) : target
  if (u.kind === 'file') {
    const t = new FileBackupTarget(u.dir)
    await t.check()
    return t
  }
  const {S3BackupTarget} = await import('./s3-target.js')
  const t = await S3BackupTarget.create(u, opts.s3 ?? {})
  try {
    await t.check()
  } catch (err) {
    t.close()
    throw err
  }
  return t
}
