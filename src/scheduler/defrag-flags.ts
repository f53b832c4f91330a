/**
 * `serve --defrag-threshold`, `--defrag-interval` (routine defragmentation, core/defrag.ts): the flag specs and their
 * pure resolution into the core's settings. A bad value is a DefragFlagError (serve exits 2 naming the flag).
 */
import {int, str} from '../lib/cli/flag-spec.js'

export class DefragFlagError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DefragFlagError'
  }
}

export const serveDefragFlags = {
  'defrag-threshold': str({
    summary:
      'Defragment a member when at least this fraction of its etcd db file is free (size vs size in use; the db at least 64 MiB): 0.5 or 50%. 0 turns routine defragmentation off (NOSPACE recovery still defragments).',
    env: 'DEFRAG_THRESHOLD',
    default: '0.5',
    helpGroup: 'DISK SPACE',
  }),
  'defrag-interval': int({
    summary: 'Seconds a member waits between two routine defragmentations.',
    env: 'DEFRAG_INTERVAL',
    default: 3600,
    min: 1,
    max: 30 * 86_400,
    helpGroup: 'DISK SPACE',
  }),
}

export interface DefragSettings {
  /** Fraction of the db file free (0: off). */
  threshold: number
  intervalMs: number
}

export function resolveDefragFlags(f: {'defrag-threshold': string; 'defrag-interval': number}): DefragSettings {
  const raw = String(f['defrag-threshold']).trim()
  const pct = raw.endsWith('%')
  const v = Number(pct ? raw.slice(0, -1).trim() : raw)
  const threshold = pct ? v / 100 : v
  if (raw === '' || raw === '%' || !Number.isFinite(v) || threshold < 0 || threshold >= 1)
    throw new DefragFlagError(
      `--defrag-threshold must be a fraction of the db that is free, 0 (off) up to below 1, e.g. 0.5 or 50%, not ${JSON.stringify(f['defrag-threshold'])}`,
    )
  return {threshold, intervalMs: f['defrag-interval'] * 1000}
}
