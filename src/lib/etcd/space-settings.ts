/**
 * PURE: etcd's backend quota and auto-compaction settings (issue 17), from serve's flags to every member's etcd.
 *
 * - `--etcd-quota-backend-bytes`: etcd's `--quota-backend-bytes` (etcd's default when unset: 2 GiB). Plain bytes or a
 *   number with a unit: B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of 1024); case-insensitive. A bare
 *   K/M/G/T is refused as ambiguous. 1 MiB .. 64 GiB; above 8 GiB (etcd's suggested maximum) a warning.
 * - `--etcd-auto-compaction-mode` periodic|revision and `--etcd-auto-compaction-retention`: etcd's own
 *   `--auto-compaction-mode` / `--auto-compaction-retention` on every member. The members compact, not the
 *   scheduler (one mechanism, no scheduler round trips, and it goes on while no scheduler runs). periodic: a Go
 *   duration (`1h`, `30m`, `1h30m`, `90s`) or a whole number of hours; revision: how many revisions to keep.
 *   Default: periodic, 1h (revision: 10000). 0 turns auto-compaction off (etcd's own default).
 */
export class SpaceSettingsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SpaceSettingsError'
  }
}

export type AutoCompactionMode = 'periodic' | 'revision'
export interface AutoCompaction {
  mode: AutoCompactionMode
  retention: string
}
export interface EtcdSpaceSettings {
  quotaBackendBytes?: number
  autoCompaction?: AutoCompaction
}

export const MIN_QUOTA_BYTES = 2 ** 20
export const MAX_QUOTA_BYTES = 64 * 2 ** 30
/** etcd's suggested maximum backend quota. */
export const SUGGESTED_MAX_QUOTA_BYTES = 8 * 2 ** 30
export const DEFAULT_RETENTION: Record<AutoCompactionMode, string> = {periodic: '1h', revision: '10000'}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
}

/** "16777216", "2GiB", "8GB", "1.5GiB" → bytes (a positive safe integer). */
export function parseByteSize(raw: string): number {
  const text = raw.trim()
  if (text === '') throw new SpaceSettingsError('empty size')
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text)
  if (!m)
    throw new SpaceSettingsError(`${JSON.stringify(raw)} is not a size (bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`)
  const unit = m[2]!.toLowerCase()
  if (/^[kmgtp]$/.test(unit))
    throw new SpaceSettingsError(
      `unit ${JSON.stringify(m[2])} is ambiguous: write ${m[1]}${m[2]!.toUpperCase()}iB (binary) or ${m[1]}${m[2]!.toUpperCase()}B (decimal)`,
    )
  const mult = UNITS[unit]
  if (mult === undefined) throw new SpaceSettingsError(`${JSON.stringify(raw)} is not a size: unknown unit ${JSON.stringify(m[2])}`)
  const bytes = Number(m[1]) * mult
  if (!Number.isSafeInteger(Math.round(bytes)) || bytes > Number.MAX_SAFE_INTEGER)
    throw new SpaceSettingsError(`${JSON.stringify(raw)} is too large`)
  if (!Number.isInteger(bytes)) throw new SpaceSettingsError(`${JSON.stringify(raw)} is not a whole number of bytes`)
  if (bytes <= 0) throw new SpaceSettingsError(`${JSON.stringify(raw)}: a size must be greater than 0`)
  return bytes
}

const GO_DURATION_RE = /^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$/

/** Why `retention` cannot be etcd's `--auto-compaction-retention` in `mode` (null when it can). */
export function retentionProblem(mode: AutoCompactionMode, retention: string): string | null {
  if (mode === 'revision')
    return /^\d{1,18}$/.test(retention)
      ? null
      : `with mode revision it is the number of revisions to keep (e.g. 10000), not ${JSON.stringify(retention)}`
  if (/^\d{1,6}$/.test(retention) || GO_DURATION_RE.test(retention)) return null
  return `with mode periodic it is a duration (e.g. 1h, 30m, 1h30m, 90s) or a whole number of hours, not ${JSON.stringify(retention)}`
}

/** True when `retention` asks for no compaction (0, 0h, 0s…). */
export function retentionIsOff(retention: string): boolean {
  return !/[1-9]/.test(retention)
}

/** Why `v` is not a valid AutoCompaction (null when it is). */
export function autoCompactionProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'autoCompaction must be an object {mode, retention}'
  const o = v as Record<string, unknown>
  if (o.mode !== 'periodic' && o.mode !== 'revision')
    return `autoCompaction.mode must be "periodic" or "revision", not ${JSON.stringify(o.mode)}`
  if (typeof o.retention !== 'string') return 'autoCompaction.retention must be a string'
  const p = retentionProblem(o.mode, o.retention)
  return p ? `autoCompaction.retention: ${p}` : null
}

/** Why `v` is not a valid quotaBackendBytes (null when it is). */
export function quotaProblem(v: unknown): string | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0
    ? null
    : `quotaBackendBytes must be a positive integer (bytes), not ${JSON.stringify(v)}`
}

/** serve's --etcd-quota-backend-bytes / --etcd-auto-compaction-* → settings (+ warnings); SpaceSettingsError naming the flag. */
export function resolveEtcdSpaceFlags(f: {
  'etcd-quota-backend-bytes'?: string | undefined
  'etcd-auto-compaction-mode'?: string | undefined
  'etcd-auto-compaction-retention'?: string | undefined
}): {settings: EtcdSpaceSettings; warnings: string[]} {
  const settings: EtcdSpaceSettings = {}
  const warnings: string[] = []
  const rawQuota = f['etcd-quota-backend-bytes']
  if (rawQuota !== undefined) {
    let q: number
    try {
      q = parseByteSize(rawQuota)
    } catch (err) {
      throw new SpaceSettingsError(`--etcd-quota-backend-bytes ${JSON.stringify(rawQuota)}: ${(err as Error).message}`)
    }
    if (q < MIN_QUOTA_BYTES) throw new SpaceSettingsError(`--etcd-quota-backend-bytes ${JSON.stringify(rawQuota)} must be at least 1 MiB`)
    if (q > MAX_QUOTA_BYTES) throw new SpaceSettingsError(`--etcd-quota-backend-bytes ${JSON.stringify(rawQuota)} must be at most 64 GiB`)
    if (q > SUGGESTED_MAX_QUOTA_BYTES)
      warnings.push(
        `--etcd-quota-backend-bytes ${rawQuota}: above 8 GiB, etcd's suggested maximum (slow defragmentation, snapshots and restarts)`,
      )
    settings.quotaBackendBytes = q
  }
  const mode = (f['etcd-auto-compaction-mode'] ?? 'periodic').trim()
  if (mode !== 'periodic' && mode !== 'revision')
    throw new SpaceSettingsError(`--etcd-auto-compaction-mode ${JSON.stringify(mode)} must be periodic or revision`)
  const retention = (f['etcd-auto-compaction-retention'] ?? DEFAULT_RETENTION[mode]).trim()
  const problem = retentionProblem(mode, retention)
  if (problem) throw new SpaceSettingsError(`--etcd-auto-compaction-retention ${JSON.stringify(retention)}: ${problem}`)
  if (!retentionIsOff(retention)) settings.autoCompaction = {mode, retention}
  return {settings, warnings}
}
