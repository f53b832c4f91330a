/**
 * A Mesos call sent over the current subscription with retries, within one deadline (used by the scheduler
 * client for every non-SUBSCRIBE call).
 *
 * Each try asks `target()` for the subscription to use (its URL after redirects and its Mesos-Stream-Id) and
 * POSTs through `postCall` (307s followed). Retried with jittered backoff until the deadline: no subscription
 * right now, transport failures and HTTP 502/503/504. Not retried (thrown at once): any other HTTP status
 * (MesosCallError) and non-transport failures such as a redirect loop. After the deadline or `stop` aborting,
 * the last failure is thrown.
 */
import {type Backoff, sleep} from './backoff.js'
import {postCall, type LogFn, type NodeTransport} from './client-io.js'
import {MesosCallError, MesosNotSubscribedError, MesosTransportError} from './http-post.js'
import type {ContentType} from './types.js'

const RETRYABLE_STATUS = new Set([502, 503, 504])

export interface CallTarget {
  url: URL
  streamId?: string
}

export interface RetryingCall {
  /** The call's type (error messages). */
  type: string
  body: Buffer
  contentType: ContentType
  headers: Record<string, string>
  transport: NodeTransport
  maxRedirects: number
  timeoutMs: number
  backoff: Backoff
  stop: AbortSignal
  /** The subscription to send on now; undefined while it is being re-established. */
  target: () => CallTarget | undefined
  /** What to throw when no try happened at all. */
  initial: Error
  log: LogFn
}

export async function postCallWithRetry(c: RetryingCall): Promise<void> {
  const deadline = Date.now() + c.timeoutMs
  let last = c.initial
  for (;;) {
    const t = c.target()
    const remaining = deadline - Date.now()
    if (remaining <= 0 || c.stop.aborted) throw last
    if (t) {
      try {
        return await postCall({
          call: c.type,
          url: t.url,
          body: c.body,
          contentType: c.contentType,
          transport: c.transport,
          headers: {...c.headers, ...(t.streamId ? {'mesos-stream-id': t.streamId} : {})},
          signal: AbortSignal.any([c.stop, AbortSignal.timeout(remaining)]),
          timeoutMs: remaining,
          maxRedirects: c.maxRedirects,
        })
      } catch (err) {
        if (err instanceof MesosCallError) {
          if (!RETRYABLE_STATUS.has(err.status)) throw err
        } else if (!(err instanceof MesosTransportError)) throw err // e.g. a redirect loop: not transient
        last = err
      }
    } else {
      last = new MesosNotSubscribedError(c.type, 'the subscription is being re-established')
    }
    const wait = Math.min(c.backoff.next(), deadline - Date.now())
    c.log('debug', `${c.type} failed (${last.message}); retrying in ${wait} ms`)
    if (wait > 0 && !(await sleep(wait, c.stop))) throw last
  }
}
