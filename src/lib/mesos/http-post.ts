/**
 * The transport-neutral half of a POST to a Mesos v1 endpoint; the transport is node-http.ts (node:http, for
 * both the scheduler's and the executor's clients: neither loads undici). Imports no HTTP
 * client itself.
 *
 * - `postVia(send, opts)` sends the body with an exact `Content-Type` (Mesos compares it as a string: no charset
 *   suffix) through `send` (one request, one response) and follows `307`/`308` itself, resolving the `Location`
 *   against the current URL: a Mesos master that is not the leader answers `307` with a scheme-relative
 *   `//host:port/master/api/v1/scheduler`. The same POST body is sent again. At most `maxRedirects` hops, then
 *   `MesosRedirectError`.
 * - Error types shared by both clients: MesosCallError (HTTP status), MesosNotSubscribedError.
 * - Transport failures (refused, reset, timeouts, abort) become `MesosTransportError` (abort keeps the abort
 *   reason as `cause`). HTTP statuses are returned as is: callers decide what 4xx/5xx mean.
 */
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

/** A response body as both transports give it: iterable chunks, or read whole / thrown away. */
export interface ResponseBody extends AsyncIterable<Uint8Array> {
  text(): Promise<string>
  dump(): Promise<void>
}

/** One request as a transport sends it (no redirects); throws its own errors for transport failures. */
export interface SendRequest {
  headers: Record<string, string>
  body: Buffer
  signal?: AbortSignal | undefined
  headersTimeoutMs: number
  /** 0 disables the idle-between-chunks timeout (subscription streams). */
  bodyTimeoutMs: number
}
export type Send = (url: URL, req: SendRequest) => Promise<{statusCode: number; headers: IncomingHttpHeaders; body: ResponseBody}>

export interface PostOptions {
  url: URL
  body: Buffer
  contentType: string
  accept?: string
  headers?: Record<string, string>
  signal?: AbortSignal
  headersTimeoutMs: number
  /** 0 disables the idle-between-chunks timeout (subscription streams). */
  bodyTimeoutMs: number
  maxRedirects: number
  /** Called for every followed redirect (e.g. to remember the leading master). */
  onRedirect?: ((from: URL, to: URL) => void) | undefined
}

export interface PostResult {
  status: number
  headers: IncomingHttpHeaders
  body: ResponseBody
  /** The URL that produced this response (after redirects). */
  url: URL
}

/** First value of a response header (both transports lowercase names). */
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
export async function readText(body: ResponseBody, limit = 4096): Promise<string> {
  try {
    const text = await body.text()
    return text.length > limit ? `${text.slice(0, limit)}…` : text
  } catch {
    return ''
  }
}

/** Discard a response body without throwing. */
export async function discard(body: ResponseBody): Promise<void> {
  try {
    await body.dump()
  } catch {
    /* ignore */
  }
}

/** POST through `send`, following 307/308 (see the module header). */
export async function postVia(send: Send, opts: PostOptions): Promise<PostResult> {
  let url = opts.url
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'content-type': opts.contentType,
      ...(opts.accept ? {accept: opts.accept} : {}),
      ...opts.headers,
    }
    let res: Awaited<ReturnType<Send>>
    try {
      res = await send(url, {
        headers,
        body: opts.body,
        signal: opts.signal,
        headersTimeoutMs: opts.headersTimeoutMs,
        bodyTimeoutMs: opts.bodyTimeoutMs,
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
