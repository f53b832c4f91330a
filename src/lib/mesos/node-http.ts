/**
 * A node:http transport for the Mesos v1 POSTs (http-post.ts `Send`), for both clients: undici costs an executor
 * ~10 MB of resident memory to load (and the executor runs once per etcd member) and `serve` 0.2–0.5 s of CPU at
 * start; node:http is already in the process. It behaves like the undici Agents it replaced:
 *
 * - `NodeTransport({keepAlive: true})`: a client's calls, over one keep-alive connection pool (idle sockets closed
 *   after 4 s); `NodeTransport({keepAlive: false})`: one subscription attempt (destroyed when it ends).
 * - `https:` URLs (a master given as https://…, or a redirect to one) go through node:https (loaded on first use)
 *   with Node's default certificate checks, as undici did.
 * - A connection must be established within 10 s, the response headers must arrive within `headersTimeoutMs` of
 *   the request, and (unless `bodyTimeoutMs` is 0: a subscription stream) at most `bodyTimeoutMs` may pass between
 *   two chunks of the body; each failure destroys the request with an error naming it.
 * - `signal` aborts the request and its response body.
 * - `destroy()` closes every connection of the pool, the open streams with them.
 * Transport errors are thrown as they come (postVia wraps them into MesosTransportError).
 */
import http, {type IncomingMessage} from 'node:http'
import type https from 'node:https'
import type {ResponseBody, Send, SendRequest} from './http-post.js'

const CONNECT_TIMEOUT_MS = 10_000
const KEEP_ALIVE_IDLE_MS = 4_000

function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), {code})
}

/** A response body with an idle timeout between chunks (0: none). */
class NodeBody implements ResponseBody {
  constructor(
    private readonly res: IncomingMessage,
    private readonly idleMs: number,
  ) {
    // The body's errors reach whoever iterates it; with nobody iterating yet they must not go unhandled.
    res.on('error', () => undefined)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const it = this.res[Symbol.asyncIterator]()
    try {
      for (;;) {
        const timer =
          this.idleMs > 0
            ? setTimeout(() => this.res.destroy(timeoutError('BODY_TIMEOUT', `no response data for ${this.idleMs} ms`)), this.idleMs)
            : undefined
        let r: IteratorResult<Buffer>
        try {
          r = await it.next()
        } finally {
          clearTimeout(timer)
        }
        if (r.done) return
        yield r.value
      }
    } finally {
      // A consumer that stops early (break, throw) must not leave the response, and its connection, open.
      if (!this.res.complete) this.res.destroy()
    }
  }

  async text(): Promise<string> {
    const chunks: Uint8Array[] = []
    for await (const c of this) chunks.push(c)
    return Buffer.concat(chunks).toString('utf8')
  }

  async dump(): Promise<void> {
    for await (const _ of this) {
      /* read to the end: the connection goes back to the pool */
    }
  }
}

function agentOptions(keepAlive: boolean): http.AgentOptions {
  return keepAlive ? {keepAlive: true, timeout: KEEP_ALIVE_IDLE_MS} : {keepAlive: false}
}

export class NodeTransport {
  private readonly keepAlive: boolean
  private readonly agent: http.Agent
  private tls: {agent: https.Agent; request: typeof https.request} | undefined
  private destroyed = false

  constructor(opts: {keepAlive: boolean}) {
    this.keepAlive = opts.keepAlive
    this.agent = new http.Agent(agentOptions(opts.keepAlive))
  }

  readonly send: Send = (url, req) =>
    url.protocol === 'https:'
      ? this.httpsTransport().then((t) => this.request(url, req, t))
      : this.request(url, req, {agent: this.agent, request: http.request})

  /** Closes every connection (and the responses still being read on them). */
  async destroy(): Promise<void> {
    this.destroyed = true
    this.agent.destroy()
    this.tls?.agent.destroy()
  }

  private async httpsTransport(): Promise<{agent: http.Agent; request: typeof http.request}> {
    if (!this.tls) {
      const mod = (await import('node:https')).default
      this.tls ??= {agent: new mod.Agent(agentOptions(this.keepAlive)), request: mod.request}
      if (this.destroyed) this.tls.agent.destroy()
    }
    return this.tls as unknown as {agent: http.Agent; request: typeof http.request}
  }

  private request(url: URL, r: SendRequest, t: {agent: http.Agent; request: typeof http.request}): ReturnType<Send> {
    return new Promise((resolve, reject) => {
      if (r.signal?.aborted) return reject(r.signal.reason)
      const req = t.request(url, {
        method: 'POST',
        agent: t.agent,
        headers: {...r.headers, 'content-length': String(r.body.byteLength)},
        ...(r.signal ? {signal: r.signal} : {}),
      })
      const headersTimer = setTimeout(
        () => req.destroy(timeoutError('HEADERS_TIMEOUT', `no response headers within ${r.headersTimeoutMs} ms`)),
        r.headersTimeoutMs,
      )
      req.once('socket', (socket) => {
        if (!socket.connecting) return
        const connectTimer = setTimeout(
          () => req.destroy(timeoutError('CONNECT_TIMEOUT', `no connection within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        )
        const clear = (): void => clearTimeout(connectTimer)
        socket.once('connect', clear)
        socket.once('close', clear)
      })
      // Kept for the request's whole life: an error after the response (a reset mid-body) must not go unhandled.
      req.on('error', (err) => {
        clearTimeout(headersTimer)
        reject(err)
      })
      req.once('response', (res) => {
        clearTimeout(headersTimer)
        resolve({statusCode: res.statusCode ?? 0, headers: res.headers, body: new NodeBody(res, r.bodyTimeoutMs)})
      })
      req.end(r.body)
    })
  }
}
