/**
 * retryUntil (tests only): retries an async call with exponential backoff while its error is retryable, until it
 * succeeds or `timeoutMs` passes (then the last error is thrown). Default retryable: EtcdErrors with
 * code UNHEALTHY_CLUSTER (etcd refuses reconfigs for ~5 s after peers connect), LEARNER_NOT_READY,
 * NO_LEADER, TIMEOUT, UNREACHABLE.
 */
import {EtcdError, type EtcdErrorCode} from '../../src/lib/etcd/errors.js'

export const TRANSIENT_CODES: readonly EtcdErrorCode[] = ['UNHEALTHY_CLUSTER', 'LEARNER_NOT_READY', 'NO_LEADER', 'TIMEOUT', 'UNREACHABLE']

export interface RetryOptions {
  timeoutMs: number
  initialDelayMs?: number
  maxDelayMs?: number
  retryable?: (err: unknown) => boolean
  signal?: AbortSignal
}

export function isTransientEtcdError(err: unknown): boolean {
  return err instanceof EtcdError && TRANSIENT_CODES.includes(err.code)
}

export async function retryUntil<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  const retryable = opts.retryable ?? isTransientEtcdError
  let delay = opts.initialDelayMs ?? 200
  const maxDelay = opts.maxDelayMs ?? 2000
  for (;;) {
    opts.signal?.throwIfAborted()
    try {
      return await fn()
    } catch (err) {
      const left = deadline - Date.now()
      if (!retryable(err) || left <= 0) throw err
      await new Promise((r) => setTimeout(r, Math.min(delay, left)))
      delay = Math.min(delay * 2, maxDelay)
    }
  }
}
