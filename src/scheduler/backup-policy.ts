/**
 * Decisions of the scheduler's backups (issue 15), PURE: no I/O, no clock (times are inputs). The driver side is
 * backup-service.ts; this module is unit-tested (test/unit/backup-policy.test.ts).
 *
 *   - parseBackupDuration: the --backup-* durations (`30m`, `90s`, `1h`, `500ms`, `2d`, `0`);
 *   - resolveBackupSettings: the --backup-* flags → BackupSettings, or null when --backup-target is not given;
 *     a bad target URL is the library's BackupError BAD_TARGET message;
 *   - chooseBackupSource: which member to stream from, from the scheduler's latest health probes: a healthy
 *     follower when there is one (the leader keeps serving), else the healthy leader, else none;
 *   - nextBackupDue: when the next periodic full backup is due (never with --backup-interval 0);
 *   - backupFailing: when backups "keep failing" (what `stats --check` fails on);
 *   - coveredUntil / recoveryPointSeconds: how many seconds of writes a total loss now could lose at most.
 */
import type {MemberProbe} from '../lib/etcd/probe.js'
import {parseBackupTargetUrl} from '../lib/backup/url.js'

export class BackupConfigError extends Error {}

export interface BackupSettings {
  /** Canonical target URL (never holds credentials). */
  target: string
  /** Between periodic full backups; 0 = only on demand. */
  intervalMs: number
  /** Retention: keep at most this many full backups. */
  keep?: number
  /** Retention: delete full backups older than this (the newest excepted). */
  maxAgeMs?: number
  /** Between delta flushes; 0 = no delta backups. */
  deltaIntervalMs: number
  /** Longest a full backup may take. */
  timeoutMs: number
}

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** `30m`, `90s`, `1h`, `1.5h`, `500ms`, `2d`, or `0` → milliseconds; throws BackupConfigError naming the flag. */
export function parseBackupDuration(flag: string, raw: string): number {
  const text = String(raw).trim()
  if (text === '0') return 0
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text)
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : Number.NaN
  if (!Number.isFinite(ms) || ms > 365 * UNITS.d!)
    throw new BackupConfigError(`--${flag} ${JSON.stringify(raw)} must be a duration like 500ms, 90s, 30m, 1h or 2d, or 0`)
  return ms
}

export interface BackupFlagValues {
  'backup-target'?: string | undefined
  'backup-interval': string
  'backup-keep'?: number | undefined
  'backup-max-age'?: string | undefined
  'backup-delta-interval': string
  'backup-timeout': string
}

/** The backup flags → settings (null: backups off). Other --backup-* flags without --backup-target are an error. */
export function resolveBackupSettings(f: BackupFlagValues): BackupSettings | null {
  const target = f['backup-target']
  if (target === undefined || target.trim() === '') {
    if (f['backup-keep'] !== undefined || f['backup-max-age'] !== undefined)
      throw new BackupConfigError('--backup-keep and --backup-max-age need --backup-target')
    return null
  }
  let url: string
  try {
    url = parseBackupTargetUrl(target.trim()).url
  } catch (err) {
    throw new BackupConfigError(`--backup-target: ${(err as Error).message}`)
  }
  const timeoutMs = parseBackupDuration('backup-timeout', f['backup-timeout'])
  if (timeoutMs < 1000) throw new BackupConfigError(`--backup-timeout must be at least 1s, not ${JSON.stringify(f['backup-timeout'])}`)
  const intervalMs = parseBackupDuration('backup-interval', f['backup-interval'])
  if (intervalMs !== 0 && intervalMs < 1000)
    throw new BackupConfigError(`--backup-interval must be 0 (on demand only) or at least 1s, not ${JSON.stringify(f['backup-interval'])}`)
  const deltaIntervalMs = parseBackupDuration('backup-delta-interval', f['backup-delta-interval'])
  if (deltaIntervalMs !== 0 && deltaIntervalMs < 100)
    throw new BackupConfigError(
      `--backup-delta-interval must be 0 (no deltas) or at least 100ms, not ${JSON.stringify(f['backup-delta-interval'])}`,
    )
  const out: BackupSettings = {target: url, intervalMs, deltaIntervalMs, timeoutMs}
  if (f['backup-keep'] !== undefined) {
    if (!Number.isSafeInteger(f['backup-keep']) || f['backup-keep'] < 1)
      throw new BackupConfigError(`--backup-keep must be an integer >= 1, not ${f['backup-keep']}`)
    out.keep = f['backup-keep']
  }
  if (f['backup-max-age'] !== undefined) {
    const maxAgeMs = parseBackupDuration('backup-max-age', f['backup-max-age'])
    if (maxAgeMs === 0) throw new BackupConfigError('--backup-max-age must be more than 0 (leave it out for no age limit)')
    out.maxAgeMs = maxAgeMs
  }
  return out
}

export interface BackupSource {
  clientUrl: string
  role: 'follower' | 'leader'
  memberId: string
}

/** A healthy follower (lowest raft lag first, then by URL), else the healthy leader, else null. Learners are never used. */
export function chooseBackupSource(probes: readonly MemberProbe[]): BackupSource | null {
  const healthy = probes.filter((p) => p.reachable && p.readOk && p.status && !p.status.isLearner)
  if (healthy.length === 0) return null
  const followers = healthy
    .filter((p) => p.status!.leader !== p.status!.memberId)
    .sort((a, b) => b.status!.raftIndex - a.status!.raftIndex || (a.clientUrl < b.clientUrl ? -1 : a.clientUrl > b.clientUrl ? 1 : 0))
  const follower = followers[0]
  if (follower) return {clientUrl: follower.clientUrl, role: 'follower', memberId: follower.status!.memberId}
  const leader = healthy[0]!
  return {clientUrl: leader.clientUrl, role: 'leader', memberId: leader.status!.memberId}
}

/** Retry a failed periodic backup after this long (or the interval, when shorter). */
export const RETRY_AFTER_FAILURE_MS = 30_000

export interface BackupHistory {
  /** When the service started (ms). */
  startedAt: number
  /** Start of the last successful backup (ms), or null. */
  lastSuccessAt: number | null
  /** End of the last failed attempt (ms), or null. */
  lastFailureAt: number | null
  consecutiveFailures: number
}

/** When the next periodic full backup is due (ms), or null with interval 0 (on demand only). */
export function nextBackupDue(h: BackupHistory, intervalMs: number): number | null {
  if (intervalMs <= 0) return null
  if (h.lastSuccessAt === null && h.lastFailureAt === null) return h.startedAt
  const afterSuccess = h.lastSuccessAt === null ? h.startedAt : h.lastSuccessAt + intervalMs
  if (h.consecutiveFailures > 0 && h.lastFailureAt !== null) {
    const retry = h.lastFailureAt + Math.min(intervalMs, RETRY_AFTER_FAILURE_MS)
    // The regular slot counts only while it is still ahead of the failure: one already passed would make every failed
    // backup due again at once (a busy loop while the target is gone).
    return afterSuccess > h.lastFailureAt ? Math.min(afterSuccess, retry) : retry
  }
  return afterSuccess
}

/** Consecutive failures from which backups "keep failing". */
export const FAILING_AFTER = 3

/**
 * Why backups keep failing, or null: FAILING_AFTER consecutive failures, or (periodic backups) no success for
 * longer than 2 intervals + the timeout since the last success (or since the service started).
 */
export function backupFailing(h: BackupHistory, s: Pick<BackupSettings, 'intervalMs' | 'timeoutMs'>, now: number): string | null {
  if (h.consecutiveFailures >= FAILING_AFTER) return `${h.consecutiveFailures} backups in a row failed`
  if (s.intervalMs > 0) {
    const since = h.lastSuccessAt ?? h.startedAt
    const limit = 2 * s.intervalMs + s.timeoutMs
    if (now - since > limit)
      return `no successful backup for ${Math.round((now - since) / 1000)} s (more than 2 x --backup-interval + --backup-timeout = ${Math.round(limit / 1000)} s)`
  }
  return null
}

/** Up to when every write is in a flushed backup (ms): the newest full backup's start, or a later delta flush of it. */
export function coveredUntil(lastFullAt: number | null, lastDeltaFlushAt: number | null): number | null {
  if (lastFullAt === null) return null
  return lastDeltaFlushAt !== null && lastDeltaFlushAt > lastFullAt ? lastDeltaFlushAt : lastFullAt
}

/** Seconds of writes a total loss at `now` could lose at most (null: no backup yet). */
export function recoveryPointSeconds(covered: number | null, now: number): number | null {
  return covered === null ? null : Math.max(0, Math.round((now - covered) / 100) / 10)
}
