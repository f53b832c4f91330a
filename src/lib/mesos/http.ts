/**
 * Shared HTTP POST helper for the Mesos v1 clients (undici 7).
 *
 * - Sends the body with an exact `Content-Type` (Mesos compares it as a string: no charset suffix).
 * - Follows `307`/`308` itself, resolving the `Location` against the current URL: a Mesos master that is
 *   not the leader answers `307` with a scheme-relative `//host:port/master/api/v1/scheduler`. The same POST
 *   body is sent again. At most `maxRedirects` hops, then `MesosRedirectError`.
 * - Error types shared by both clients: MesosCallError (HTTP status), MesosNotSubscribedError.
 * - Transport failures (refused, reset, timeouts, abort) become `MesosTransportError` (abort keeps the
 *   abort reason as `cause`). HTTP statuses are returned as is: callers decide what 4xx/5xx mean.
 */
import {request, type Dispatcher} from 'undici'
import type {IncomingHttpHeaders} from 'node:http'

export class MesosTransportError extends Error {
  readonly url: string
  constructor(url: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : {cause})
    this.name = 'MesosTransportError'
    this.url = url
  }
}

export class MesosRedirectError extends Error {
  readonly url: string
  constructor(url: string, message: string) {
    super(message)
    this.name = 'MesosRedirectError'
    this.url = url
  }
}

/** A Mesos call answered with an HTTP status that is not success (body: Mesos' plain-text reason). */
export class MesosCallError extends Error {
  readonly status: number
  readonly body: string
  readonly call: string
  constructor(call: string, status: number, body: string) {
    super(`Mesos ${call} call failed with HTTP ${status}${body ? `: ${body}` : ''}`)
    this.name = 'MesosCallError'
    this.status = status
    this.body = body
    this.call = call
  }
}

/** A call was attempted while there is no subscription to carry it. */
export class MesosNotSubscribedError extends Error {
  readonly call: string
  constructor(call: string, detail = 'not subscribed') {
    super(`cannot send ${call}: ${detail}`)
    this.name = 'MesosNotSubscribedError'
    this.call = call
  }
}

export interface PostOptions {
  url: URL
  body: Buffer
  contentType: string
  accept?: string
  headers?: Record<string, string>
  dispatcher: Dispatcher
  signal?: AbortSignal
  headersTimeoutMs: number
  /** 0 disables the idle-between-chunks timeout (subscription streams). */
  bodyTimeoutMs: number
  maxRedirects: number
  /** Called for every followed redirect (e.g. to remember the leading master). */
  onRedirect?: (from: URL, to: URL) => void
}

export interface PostResult {
  status: number
  headers: IncomingHttpHeaders
  body: Dispatcher.ResponseData['body']
  /** The URL that produced this response (after redirects). */
  url: URL
}

/** First value of a response header (undici lowercases names). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as {code?: unknown}).code
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}

/** Read a (short) response body as text, at most `limit` characters; never throws. */
export async function readText(body: PostResult['body'], limit = 4096): Promise<string> {
  try {
    const text = await body.text()
    return text.length > limit ? `${text.slice(0, limit)}…` : text
  } catch {
    return ''
  }
}

/** Discard a response body without throwing. */
export async function discard(body: PostResult['body']): Promise<void> {
  try {
    await body.dump()
  } catch {
    /* ignore */
  }
}

export async function postFollowingRedirects(opts: PostOptions): Promise<PostResult> {
  let url = opts.url
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'content-type': opts.contentType,
      ...(opts.accept ? {accept: opts.accept} : {}),
      ...opts.headers,
    }
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        method: 'POST',
        headers,
        body: opts.body,
        dispatcher: opts.dispatcher,
        signal: opts.signal,
        headersTimeout: opts.headersTimeoutMs,
        bodyTimeout: opts.bodyTimeoutMs,
      })
    } catch (err) {
      if (opts.signal?.aborted) throw new MesosTransportError(url.href, `request to ${url.href} aborted`, opts.signal.reason)
      throw new MesosTransportError(url.href, `POST ${url.href} failed: ${describe(err)}`, err)
    }
    if (res.statusCode !== 307 && res.statusCode !== 308) {
      return {status: res.statusCode, headers: res.headers, body: res.body, url}
    }
    await discard(res.body)
    const location = headerValue(res.headers, 'location')
    if (!location) throw new MesosRedirectError(url.href, `${res.statusCode} from ${url.href} without a Location header`)
    let next: URL
    try {
      next = new URL(location, url)
    } catch {
      throw new MesosRedirectError(url.href, `${res.statusCode} from ${url.href} with an invalid Location ${JSON.stringify(location)}`)
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new MesosRedirectError(url.href, `redirect from ${url.href} to unsupported URL ${next.href}`)
    }
    if (hop + 1 > opts.maxRedirects) {
      throw new MesosRedirectError(url.href, `too many redirects (more than ${opts.maxRedirects}); last Location ${next.href}`)
    }
    opts.onRedirect?.(url, next)
    url = next
  }
}
