/**
 * The scheduler's own recent history of the /stats counters, for the dashboard's charts (GET /stats/history):
 * a bounded ring of samples (default one every 5 s for an hour), oldest first. Each sample holds the numeric
 * counters of /stats and the sampling time; a counter missing or not a finite number is null. Nothing is
 * persisted: a scheduler that starts (or takes over) starts an empty history.
 *
 * `StatsHistory` is plain data and a clock passed in; `startStatsSampler` runs it on a timer (serve.ts).
 */

/** The /stats fields sampled, in the order the dashboard draws them. */
export const HISTORY_FIELDS = [
  'healthy',
  'running_servers',
  'launched_servers',
  'failed_servers',
  'cluster_livelocks',
  'cluster_reseeds',
  'defrags',
  'defrag_failures',
  'nospace_episodes',
] as const

export type HistoryField = (typeof HISTORY_FIELDS)[number]
export type StatsSample = {at: number} & Record<HistoryField, number | null>

export interface StatsHistoryOptions {
  /** Samples kept (default 720). */
  capacity: number
  /** Milliseconds between samples (default 5000); reported to the page, which draws the time axis with it. */
  intervalMs: number
}

export const DEFAULT_HISTORY: Readonly<StatsHistoryOptions> = Object.freeze({capacity: 720, intervalMs: 5000})

export interface StatsHistoryView {
  interval_ms: number
  capacity: number
  fields: readonly HistoryField[]
  samples: StatsSample[]
}

export class StatsHistory {
  private readonly ring: StatsSample[] = []
  private next = 0

  constructor(private readonly opts: StatsHistoryOptions = DEFAULT_HISTORY) {
    if (!Number.isSafeInteger(opts.capacity) || opts.capacity < 1) throw new RangeError('stats history capacity must be a positive integer')
    if (!Number.isSafeInteger(opts.intervalMs) || opts.intervalMs < 1)
      throw new RangeError('stats history interval must be a positive integer (ms)')
  }

  /** Adds the counters of a /stats document taken at `at` (ms since the epoch), dropping the oldest when full. */
  record(at: number, stats: Record<string, unknown>): void {
    const sample = {at} as StatsSample
    for (const f of HISTORY_FIELDS) {
      const v = stats[f]
      sample[f] = typeof v === 'number' && Number.isFinite(v) ? v : null
    }
    if (this.ring.length < this.opts.capacity) this.ring.push(sample)
    else this.ring[this.next] = sample
    this.next = (this.next + 1) % this.opts.capacity
  }

  view(): StatsHistoryView {
    const samples =
      this.ring.length < this.opts.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
    return {interval_ms: this.opts.intervalMs, capacity: this.opts.capacity, fields: HISTORY_FIELDS, samples}
  }
}

export interface SamplerClock {
  now(): number
  /** Calls fn every ms; returns the function that stops it. */
  every(fn: () => void, ms: number): () => void
}

const realClock: SamplerClock = {
  now: () => Date.now(),
  every: (fn, ms) => {
    const t = setInterval(fn, ms)
    t.unref()
    return () => clearInterval(t)
  },
}

/** Samples read() now and every interval (a null read, e.g. no driver yet, is skipped) until stop(). */
export function startStatsSampler(
  read: () => Record<string, unknown> | null,
  opts: StatsHistoryOptions = DEFAULT_HISTORY,
  clock: SamplerClock = realClock,
): {history: StatsHistory; stop: () => void} {
  const history = new StatsHistory(opts)
  const sample = (): void => {
    const s = read()
    if (s) history.record(clock.now(), s)
  }
  sample()
  const stop = clock.every(sample, opts.intervalMs)
  return {history, stop}
}
