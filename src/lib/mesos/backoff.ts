/**
 * Retry delays for the Mesos clients, plus an abortable sleep.
 *
 * - `Backoff`: truncated exponential backoff with "equal jitter". Attempt n (0-based) has a ceiling
 *   c(n) = min(maxMs, minMs * factor^n); the delay is uniform in [c(n)/2, c(n)] (never 0, never above maxMs).
 *   `reset()` after a success starts again from minMs. Randomness is injected (`random`, default Math.random).
 * - `uniformDelay(maxMs, random)`: uniform in [0, maxMs], which is what the Mesos C++ executor library does
 *   between executor re-SUBSCRIBE attempts (MESOS_SUBSCRIPTION_BACKOFF_MAX).
 * - `sleep(ms, signal)`: resolves true after `ms`, or false as soon as `signal` aborts (never rejects).
 */

export interface BackoffOptions {
  minMs: number
  maxMs: number
  /** Growth per attempt; default 2. */
  factor?: number
  /** Uniform source in [0, 1); default Math.random. */
  random?: () => number
}

function clampUnit(x: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, 0), 1) : 0
}

export class Backoff {
  private readonly minMs: number
  private readonly maxMs: number
  private readonly factor: number
  private readonly random: () => number
  private n = 0

  constructor(opts: BackoffOptions) {
    const {minMs, maxMs} = opts
    const factor = opts.factor ?? 2
    if (!(Number.isFinite(minMs) && minMs >= 0)) throw new RangeError(`backoff minMs must be a finite number >= 0, got ${String(minMs)}`)
    if (!(Number.isFinite(maxMs) && maxMs >= minMs))
      throw new RangeError(`backoff maxMs must be a finite number >= minMs (${minMs}), got ${String(maxMs)}`)
    if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`backoff factor must be >= 1, got ${String(factor)}`)
    this.minMs = minMs
    this.maxMs = maxMs
    this.factor = factor
    this.random = opts.random ?? Math.random
  }

  /** Number of delays handed out since the last reset. */
  get attempt(): number {
    return this.n
  }

  /** Ceiling of the delay for attempt `n` (before jitter). */
  ceiling(n: number): number {
    // Avoid Infinity for large n: stop growing once above maxMs.
    let c = this.minMs
    for (let i = 0; i < n && c < this.maxMs; i++) c *= this.factor
    return Math.min(c, this.maxMs)
  }

  /** The next delay in ms, in [ceiling/2, ceiling]. */
  next(): number {
    const c = this.ceiling(this.n)
    this.n++
    return Math.round(c / 2 + clampUnit(this.random()) * (c / 2))
  }

  reset(): void {
    this.n = 0
  }
}

/** Uniform delay in [0, maxMs] (rounded to whole ms). */
export function uniformDelay(maxMs: number, random: () => number = Math.random): number {
  if (!(Number.isFinite(maxMs) && maxMs >= 0)) throw new RangeError(`maxMs must be a finite number >= 0, got ${String(maxMs)}`)
  return Math.round(clampUnit(random()) * maxMs)
}

/** Wait `ms`; resolves true when the time is up, false if `signal` aborted first. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false)
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort)
        resolve(true)
      },
      Math.max(0, ms),
    )
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
