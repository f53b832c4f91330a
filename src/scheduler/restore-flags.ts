/**
 * serve's restore flags (issue 15), pure:
 *   --auto-restore             after a total loss, once --reseed-timeout has passed, restore the latest backup of
 *                              --backup-target (default off; needs --backup-target).
 *   --restore-from FROM        on a first start (nothing persisted or bootstrapped), build the cluster from a backup:
 *     latest | <id>            the newest full backup / that backup of --backup-target;
 *     <target URL>             the newest full backup of another target (file:///dir or s3://bucket/prefix): a clone or
 *                              a migration (s3:// uses the --backup-s3-* settings);
 *     <target URL>/<id>.manifest.json   that backup of that target.
 *   Ignored (logged) once the cluster exists: a restarted scheduler keeps its cluster.
 */
import {parseBackupTargetUrl} from '../lib/backup/url.js'

export class RestoreFlagError extends Error {}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const MANIFEST_SUFFIX = '.manifest.json'

/** --restore-from → {target, from}; RestoreFlagError naming the problem. */
export function parseRestoreFrom(text: string, backupTarget: string | undefined): {target: string; from: string} {
  const v = text.trim()
  if (v === '') throw new RestoreFlagError('--restore-from is empty (expected latest, a backup id or a file:// / s3:// URL)')
  if (!v.includes('://')) {
    if (v !== 'latest' && !ID_RE.test(v))
      throw new RestoreFlagError(`--restore-from ${JSON.stringify(v)} is not "latest", a backup id or a file:// / s3:// URL`)
    if (backupTarget === undefined)
      throw new RestoreFlagError(`--restore-from ${v} needs --backup-target (or give the backup's URL: file:///dir/<id>${MANIFEST_SUFFIX})`)
    return {target: backupTarget, from: v}
  }
  let target = v
  let from = 'latest'
  if (v.endsWith(MANIFEST_SUFFIX)) {
    const cut = v.lastIndexOf('/')
    from = v.slice(cut + 1, -MANIFEST_SUFFIX.length)
    target = v.slice(0, cut)
    if (!ID_RE.test(from)) throw new RestoreFlagError(`--restore-from ${JSON.stringify(v)}: ${JSON.stringify(from)} is not a backup id`)
  }
  try {
    return {target: parseBackupTargetUrl(target).url, from}
  } catch (err) {
    throw new RestoreFlagError(`--restore-from: ${(err as Error).message}`)
  }
}

/** The checks of --auto-restore / --restore-from against --backup-target; returns the core's settings. */
export function resolveRestoreFlags(
  f: {'auto-restore'?: boolean; 'restore-from'?: string},
  backupTarget: string | undefined,
): {autoRestore: boolean; restoreFrom?: {target: string; from: string}} {
  const autoRestore = f['auto-restore'] === true
  if (autoRestore && backupTarget === undefined) throw new RestoreFlagError('--auto-restore needs --backup-target (where the backups are)')
  const rf = f['restore-from']
  return rf === undefined ? {autoRestore} : {autoRestore, restoreFrom: parseRestoreFrom(rf, backupTarget)}
}
