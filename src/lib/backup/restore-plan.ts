/**
 * Restore plans (issue 15): which backups a restore uses. A plan is one verified full backup plus the delta
 * backups that extend it (a contiguous chain of revisions after the full one), cut at `toRevision`.
 *
 * planRestore(target, from, opts):
 *   from 'latest'  the newest full backup whose data verifies (a corrupt or truncated one is reported in
 *                  `skipped` and the next older one is used), with every delta of its chain;
 *   from an id     that full backup (NOT_FOUND / CORRUPT if it is missing or does not verify: no fallback), or a
 *                  delta id (its base full backup and the chain up to and including that delta);
 *   toRevision     cut the chain there: refused (BAD_REVISION… see errors.ts) when below the full backup's
 *                  revision or above the newest revision the chain holds.
 * The plan names objects only: the executor fetches and verifies them again (MemberRestore in member-config.ts).
 */
import {BackupError} from './errors.js'
import type {BackupManifest} from './manifest.js'
import type {BackupTarget} from './target.js'

export interface RestorePlan {
  full: BackupManifest
  /** Delta manifests to replay after `full`, oldest first (their type is the delta module's). */
  deltaIds: string[]
  /** The revision the restored data ends at (the full backup's revision when no delta is used). */
  toRevision: number
  /** When the newest write included was recorded (ISO UTC): the recovery point is the time since. */
  dataUntil: string
  /** Newer backups passed over, with the problem (corrupt, truncated, broken chain). */
  skipped: {id: string; problem: string}[]
}

export interface PlanRestoreOptions {
  toRevision?: number
  /** Default true: stream the full backup's data and check it (size, sha256, etcd's trailing hash). */
  verify?: boolean
}

export async function planRestore(target: BackupTarget, from: string, opts: PlanRestoreOptions = {}): Promise<RestorePlan> {
  void target
  void opts
  throw new BackupError('NOT_IMPLEMENTED', `restore plans are not implemented yet (from ${from})`)
}
