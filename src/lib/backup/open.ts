/**
 * openBackupTarget: a BackupTarget for a target URL (parsed by url.ts). file:// gives a FileBackupTarget whose
 * directory must exist (checked here); s3:// is parsed and validated, but its implementation does not exist yet
 * (BackupError NOT_IMPLEMENTED).
 */
import {BackupError} from './errors.js'
import {FileBackupTarget} from './file-target.js'
import type {BackupTarget} from './target.js'
import {parseBackupTargetUrl, type BackupTargetUrl} from './url.js'

export async function openBackupTarget(target: string | BackupTargetUrl): Promise<BackupTarget> {
  const u = typeof target === 'string' ? parseBackupTargetUrl(target) : target
  if (u.kind === 'file') {
    const t = new FileBackupTarget(u.dir)
    await t.check()
    return t
  }
  throw new BackupError('NOT_IMPLEMENTED', `backup target ${u.url}: s3:// backups are not implemented yet`)
}
