/**
 * Retention: which backups to delete. Pure (no I/O, the time is an input).
 *
 * Policy: keep at most `keepCount` backups (the newest ones) and none older than `maxAgeMs` — except that the
 * newest backup is never deleted by age (an idle period must not leave a cluster with no backup at all).
 * Either limit may be absent (no limit). Newest = latest createdAt; ties broken by id. Backups created after
 * `nowMs` (clock skew between the hosts writing the target) count as age 0.
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
}

export function validateRetention(p: RetentionPolicy): RetentionPolicy {
  if (p.keepCount !== undefined && (!Number.isSafeInteger(p.keepCount) || p.keepCount < 1))
    throw new RangeError(`retention: keep count must be an integer >= 1, got ${p.keepCount}`)
  if (p.maxAgeMs !== undefined && (!Number.isFinite(p.maxAgeMs) || p.maxAgeMs <= 0))
    throw new RangeError(`retention: max age must be > 0 ms, got ${p.maxAgeMs}`)
  return p
}

/** The ids to delete under `policy` at `nowMs`, newest first. */
export function expiredBackups(items: readonly RetainedItem[], policy: RetentionPolicy, nowMs: number): string[] {
  validateRetention(policy)
  const sorted = items
    .map((b) => ({id: b.id, t: Date.parse(b.createdAt)}))
    .sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  const expired: string[] = []
  sorted.forEach((b, i) => {
    if (i === 0) return
    const overCount = policy.keepCount !== undefined && i >= policy.keepCount
    const overAge = policy.maxAgeMs !== undefined && nowMs - b.t > policy.maxAgeMs
    if (overCount || overAge) expired.push(b.id)
  })
  return expired
}
