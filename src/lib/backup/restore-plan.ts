/**
 * Restore plans (issue 15): which backups a restore uses. A plan is one verified full backup plus the delta
 * backups that extend it (a contiguous chain of revisions after the full one), cut at `toRevision`.
 *
 * planRestore(target, from, opts):
 *   from 'latest'  the newest full backup whose data verifies (a corrupt or truncated one is reported in
 *                  `skipped` and the next older one is used), with every delta of its chain; with `toRevision`,
 *                  the newest full backup at or before that revision (newer ones cannot give an older state);
 *   from an id     that full backup (NOT_FOUND / CORRUPT if it is missing or does not verify: no fallback), or a
 *                  delta id (its base full backup and the chain up to and including that delta);
 *   toRevision     cut the chain there: refused (BAD_REVISION) when below the full backup's revision or above the
 *                  newest revision the chain holds.
 * The chain: from the full backup's revision, deltas of that base whose fromRevision is the previous one's
 * toRevision (the longest such chain when two recorders overlapped). With `verify` (default), each delta's data
 * is checked too (size, sha256) up to the revision needed: from 'latest', the chain stops before a corrupt delta
 * (it and the deltas after it are in `skipped`); from an id, a corrupt delta up to that id is refused (CORRUPT).
 * Deltas of the base that the chain cannot reach (a gap) and hold newer revisions are in `skipped` too.
 * `dataUntil`: createdAt of the newest delta used (its flush time), else the full backup's.
 * The plan names objects only: the executor fetches and verifies them again (MemberRestore in member-config.ts).
 */
import {listBackups, readManifest, verifyBackup} from './backups.js'
import {BackupError} from './errors.js'
import {isBackupId, type BackupManifest, type DeltaManifest, type FullManifest} from './manifest.js'
import type {BackupTarget} from './target.js'

export interface RestorePlan {
  full: FullManifest
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
  /** Default true: stream the full backup's data and check it (size, sha256, etcd's trailing hash), and the deltas'. */
  verify?: boolean
}

type Skipped = RestorePlan['skipped']

export async function planRestore(target: BackupTarget, from: string, opts: PlanRestoreOptions = {}): Promise<RestorePlan> {
  const verify = opts.verify ?? true
  const want = opts.toRevision
  if (want !== undefined && (!Number.isSafeInteger(want) || want < 1))
    throw new BackupError('BAD_REVISION', `restore revision must be a positive integer, got ${want}`)
  if (from !== 'latest' && !isBackupId(from))
    throw new BackupError('BAD_NAME', `${JSON.stringify(from)} is neither 'latest' nor a backup id (<yyyymmddThhmmss.mmmZ>-r<revision>)`)
  const {backups} = await listBackups(target)
  const fulls = backups.filter((b): b is FullManifest => b.kind === 'full')
  const deltas = backups.filter((b): b is DeltaManifest => b.kind === 'delta')
  const skipped: Skipped = []

  if (from === 'latest') {
    if (fulls.length === 0) throw new BackupError('NOT_FOUND', `no full backup in ${target.url}`)
    const candidates = want === undefined ? fulls : fulls.filter((f) => f.revision <= want)
    if (candidates.length === 0)
      throw new BackupError(
        'BAD_REVISION',
        `revision ${want} is before the oldest full backup in ${target.url} (${fulls[fulls.length - 1]!.id}, revision ${fulls[fulls.length - 1]!.revision})`,
      )
    for (const full of candidates) {
      if (verify) {
        const problem = await corruption(target, full.id)
        if (problem !== undefined) {
          skipped.push({id: full.id, problem})
          continue
        }
      }
      const chain = await verifiedChain(target, full, deltas, {verify, want, upTo: undefined, skipped})
      return finish(full, chain, want, skipped)
    }
    throw new BackupError(
      'CORRUPT',
      `no full backup in ${target.url} verifies${want === undefined ? '' : ` at or before revision ${want}`}: ${skipped.map((s) => `${s.id}: ${s.problem}`).join('; ')}`,
    )
  }

  const chosen: BackupManifest = backups.find((b) => b.id === from) ?? (await readManifest(target, from))
  let full: FullManifest
  let upTo: DeltaManifest | undefined
  if (chosen.kind === 'full') full = chosen
  else {
    upTo = chosen
    const base = fulls.find((f) => f.id === chosen.baseId)
    if (!base) throw new BackupError('NOT_FOUND', `delta ${chosen.id} extends backup ${chosen.baseId}, which is not in ${target.url}`)
    full = base
  }
  if (verify) await verifyBackup(target, full.id)
  const chain = await verifiedChain(target, full, deltas, {verify, want, upTo, skipped})
  return finish(full, chain, want, skipped)
}

/** The problem of a backup whose data does not verify, or undefined when it does (other errors are thrown). */
async function corruption(target: BackupTarget, id: string): Promise<string | undefined> {
  try {
    await verifyBackup(target, id)
    return undefined
  } catch (err) {
    if (err instanceof BackupError && (err.code === 'CORRUPT' || err.code === 'BAD_MANIFEST' || err.code === 'NOT_FOUND'))
      return err.message
    throw err
  }
}

/** The longest contiguous chain of `full`'s deltas (pure), oldest first. */
export function deltaChain(full: FullManifest, deltas: readonly DeltaManifest[]): DeltaManifest[] {
  const mine = deltas.filter((d) => d.baseId === full.id).sort((a, b) => a.fromRevision - b.fromRevision || b.toRevision - a.toRevision)
  const reachedBy = new Map<number, DeltaManifest | null>([[full.revision, null]])
  for (const d of mine) if (reachedBy.has(d.fromRevision) && !reachedBy.has(d.toRevision)) reachedBy.set(d.toRevision, d)
  const end = Math.max(...reachedBy.keys())
  const chain: DeltaManifest[] = []
  for (let d = reachedBy.get(end); d; d = reachedBy.get(d.fromRevision)) chain.unshift(d)
  return chain
}

async function verifiedChain(
  target: BackupTarget,
  full: FullManifest,
  deltas: readonly DeltaManifest[],
  o: {verify: boolean; want: number | undefined; upTo: DeltaManifest | undefined; skipped: Skipped},
): Promise<{used: DeltaManifest[]; newest: number}> {
  const chain = deltaChain(full, deltas)
  const end = chain.length > 0 ? chain[chain.length - 1]!.toRevision : full.revision
  for (const d of deltas)
    if (d.baseId === full.id && d.toRevision > end && !chain.includes(d))
      o.skipped.push({
        id: d.id,
        problem: `delta ${d.id} (revisions ${d.fromRevision + 1}-${d.toRevision}) cannot be reached: the chain of ${full.id} ends at revision ${end}`,
      })
  if (o.upTo) {
    const i = chain.indexOf(o.upTo)
    if (i < 0)
      throw new BackupError(
        'CORRUPT',
        `delta ${o.upTo.id} cannot be reached from its base ${full.id}: the chain of deltas ends at revision ${end} (broken chain)`,
      )
    chain.length = i + 1
  }
  const used: DeltaManifest[] = []
  let newest = chain.length > 0 ? chain[chain.length - 1]!.toRevision : full.revision
  for (const [i, d] of chain.entries()) {
    if (o.want !== undefined && used.length > 0 && used[used.length - 1]!.toRevision >= o.want) break
    if (o.want !== undefined && d.fromRevision >= o.want) break
    if (o.verify) {
      const problem = await corruption(target, d.id)
      if (problem !== undefined) {
        if (o.upTo) throw new BackupError('CORRUPT', `the chain up to delta ${o.upTo.id} is broken: ${problem}`)
        o.skipped.push({id: d.id, problem})
        for (const later of chain.slice(i + 1)) o.skipped.push({id: later.id, problem: `after the corrupt delta ${d.id} (broken chain)`})
        newest = d.fromRevision
        break
      }
    }
    used.push(d)
  }
  return {used, newest}
}

function finish(
  full: FullManifest,
  {used: chain, newest}: {used: DeltaManifest[]; newest: number},
  want: number | undefined,
  skipped: Skipped,
): RestorePlan {
  const last = chain[chain.length - 1]
  if (want !== undefined && (want < full.revision || want > newest))
    throw new BackupError(
      'BAD_REVISION',
      `revision ${want} is outside [${full.revision}, ${newest}], the revisions backup ${full.id}${chain.length > 0 ? ` and its ${chain.length} deltas` : ''} hold${skipped.length > 0 ? ` (passed over: ${skipped.map((s) => `${s.id}: ${s.problem}`).join('; ')})` : ''}`,
    )
  return {
    full,
    deltaIds: chain.map((d) => d.id),
    toRevision: want ?? last?.toRevision ?? full.revision,
    dataUntil: last?.createdAt ?? full.createdAt,
    skipped,
  }
}
