/**
 * Retention: which backups to delete. Pure (no I/O, the time is an input).
 *
 * Policy: keep at most `keepCount` backups (the newest ones) and none older than `maxAgeMs` — except that the
 * newest backup is never deleted by age (an idle period must not leave a cluster with no backup at all).
 * Either limit may be absent (no limit). Newest = latest createdAt; ties broken by id. Backups created after
 * `nowMs` (clock skew between the hosts writing the target) count as age 0.
 *
 * Delta backups (kind 'delta') do not count: the policy applies to full backups; a delta goes with its base
 * (listed before it, so it is deleted first), and a delta whose base is not among the items (gone) goes too.
 */
export interface RetentionPolicy {
  /** Keep at most this many (>= 1). */
  keepCount?: number
  /** Delete backups older than this (ms, > 0), the newest excepted. */
  maxAgeMs?: number
}

export interface RetainedItem {
  id: string
  /** ISO time. */
  createdAt: string
  /** Default 'full'. */
  kind?: 'full' | 'delta'
  /** A delta's full backup. */
  baseId?: string
}

export function validateRetention(p: RetentionPolicy): RetentionPolicy {
  if (p.keepCount !== undefined && (!Number.isSafeInteger(p.keepCount) || p.keepCount < 1))
    throw new RangeError(`retention: keep count must be an integer >= 1, got ${p.keepCount}`)
  if (p.maxAgeMs !== undefined && (!Number.isFinite(p.maxAgeMs) || p.maxAgeMs <= 0))
    throw new RangeError(`retention: max age must be > 0 ms, got ${p.maxAgeMs}`)
  return p
}

/** The ids to delete under `policy` at `nowMs`: per expired full backup (newest first) its deltas then itself; then orphan deltas. */
export function expiredBackups(items: readonly RetainedItem[], policy: RetentionPolicy, nowMs: number): string[] {
  validateRetention(policy)
  const newestFirst = (a: {id: string; t: number}, b: {id: string; t: number}) => b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  const all = items.map((b) => ({id: b.id, t: Date.parse(b.createdAt), kind: b.kind ?? 'full', baseId: b.baseId})).sort(newestFirst)
  const fulls = all.filter((b) => b.kind !== 'delta')
  const deltas = all.filter((b) => b.kind === 'delta')
  const fullIds = new Set(fulls.map((b) => b.id))
  const expired: string[] = []
  fulls.forEach((b, i) => {
    if (i === 0) return
    const overCount = policy.keepCount !== undefined && i >= policy.keepCount
    const overAge = policy.maxAgeMs !== undefined && nowMs - b.t > policy.maxAgeMs
    if (!overCount && !overAge) return
    for (const d of deltas) if (d.baseId === b.id) expired.push(d.id)
    expired.push(b.id)
  })
  for (const d of deltas) if (d.baseId === undefined || !fullIds.has(d.baseId)) expired.push(d.id)
  return expired
}
