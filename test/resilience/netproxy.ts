/**
 * A controllable TCP proxy (node:net) for network faults on loopback: listens on host:port and forwards
 * every accepted connection to targetHost:targetPort. The mode is switchable at runtime and applies to
 * every open connection at once:
 *  - normal:          bytes forwarded both ways (with backpressure).
 *  - blackhole:       connections are still accepted and kept open, but no byte is forwarded either way
 *                     (read and discarded, so senders never block — etcd functional tester's
 *                     BLACKHOLE_PEER_PORT_TX_RX); FIN/close of one side is not passed on either.
 *  - delay {ms, jitterMs}: every chunk is delivered ms ± jitterMs later, order preserved per direction
 *                     (a chunk never overtakes the one before it — DELAY_PEER_PORT_TX_RX).
 *  - drop-responses:  client→server bytes forwarded, server→client bytes discarded (an answer lost after
 *                     the server applied the request: the client waits until its own deadline).
 *  - drop-responses-after {match}: an armed drop-responses: like normal until a client→server byte
 *                     stream (any connection) contains `match` (e.g. a string only one request's body
 *                     carries), then the proxy switches itself to drop-responses — the answer to that very
 *                     request is already lost; `onTrigger` is called once. Reacting to a log line instead
 *                     would lose the race against a loopback round trip of a few milliseconds.
 * Per connection and direction, "tainted" = bytes were discarded, so that byte stream is corrupt. When the
 * mode changes to one that forwards a tainted direction again (e.g. back to normal), the connection is
 * reset (both sockets destroyed with RST): its peers reconnect on fresh, consistent streams.
 * Chunks queued by `delay` are still delivered after a switch (they were "in flight" before it).
 * Invariants: every accepted socket is tracked until both of its sockets closed; close() destroys all.
 */
import net from 'node:net'

export type ProxyMode =
  | {mode: 'normal'}
  | {mode: 'blackhole'}
  | {mode: 'delay'; ms: number; jitterMs?: number}
  | {mode: 'drop-responses'}
  | {mode: 'drop-responses-after'; match: string}

export class NetProxyError extends Error {
  override name = 'NetProxyError'
}

/** Validates a mode read from JSON (a control file); throws NetProxyError naming the problem. */
export function parseMode(x: unknown): ProxyMode {
  if (typeof x !== 'object' || x === null)
    throw new NetProxyError(`a proxy mode must be an object like {"mode":"normal"}, got ${JSON.stringify(x)}`)
  const o = x as Record<string, unknown>
  switch (o.mode) {
    case 'normal':
    case 'blackhole':
    case 'drop-responses':
      return {mode: o.mode}
    case 'drop-responses-after':
      if (typeof o.match !== 'string' || o.match === '')
        throw new NetProxyError(`drop-responses-after needs a non-empty match string, got ${JSON.stringify(o.match)}`)
      return {mode: 'drop-responses-after', match: o.match}
    case 'delay': {
      const ms = o.ms
      const jitterMs = o.jitterMs ?? 0
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw new NetProxyError(`delay mode needs ms >= 0, got ${JSON.stringify(ms)}`)
      if (typeof jitterMs !== 'number' || !Number.isFinite(jitterMs) || jitterMs < 0 || jitterMs > ms) {
        throw new NetProxyError(`delay mode needs 0 <= jitterMs <= ms, got ${JSON.stringify(jitterMs)}`)
      }
      return {mode: 'delay', ms, jitterMs}
    }
    default:
      throw new NetProxyError(
        `unknown proxy mode ${JSON.stringify(o.mode)} (normal, blackhole, delay, drop-responses, drop-responses-after)`,
      )
  }
}

export const modeString = (m: ProxyMode): string =>
  m.mode === 'delay'
    ? `delay ${m.ms}±${m.jitterMs ?? 0} ms`
    : m.mode === 'drop-responses-after'
      ? `drop-responses after ${JSON.stringify(m.match)}`
      : m.mode

type Dir = 'c2s' | 's2c'

/** Does `m` forward direction `d`? */
const forwards = (m: ProxyMode, d: Dir): boolean =>
  m.mode === 'normal' || m.mode === 'delay' || m.mode === 'drop-responses-after' || (m.mode === 'drop-responses' && d === 'c2s')

export interface NetProxyOptions {
  listenHost: string
  /** 0: any free port (see `port` after start()). */
  listenPort: number
  targetHost: string
  targetPort: number
  mode?: ProxyMode
  /** Called when a drop-responses-after mode fired (the proxy is then in drop-responses). */
  onTrigger?: (match: string) => void
}

export interface NetProxyStats {
  accepted: number
  open: number
  resets: number
  bytesForwarded: number
  bytesDiscarded: number
}

/** One direction of one connection: src → dst with an ordered delay queue. */
class Pipe {
  private readonly queue: {at: number; buf: Buffer}[] = []
  private timer: NodeJS.Timeout | undefined
  private lastAt = 0
  private srcEnded = false
  private tail = Buffer.alloc(0)
  tainted = false

  constructor(
    readonly dir: Dir,
    readonly src: net.Socket,
    readonly dst: net.Socket,
    private readonly proxy: NetProxy,
  ) {
    src.on('data', (b: Buffer) => this.onData(b))
    src.on('end', () => {
      this.srcEnded = true
      this.maybeEnd()
    })
  }

  private onData(b: Buffer): void {
    const armed = this.proxy.mode
    if (armed.mode === 'drop-responses-after' && this.dir === 'c2s') {
      const hay = Buffer.concat([this.tail, b])
      if (hay.includes(armed.match)) this.proxy.trigger(armed.match)
      else this.tail = hay.subarray(Math.max(0, hay.length - armed.match.length + 1))
    }
    const m = this.proxy.mode
    if (!forwards(m, this.dir)) {
      this.tainted = true
      this.proxy.counters.bytesDiscarded += b.length
      return
    }
    const now = Date.now()
    if (m.mode === 'delay') {
      const j = m.jitterMs ?? 0
      const at = Math.max(now + m.ms + (j > 0 ? Math.round((Math.random() * 2 - 1) * j) : 0), this.lastAt)
      this.push(at, b)
    } else if (this.queue.length > 0) {
      this.push(this.lastAt, b) // after what is still in flight
    } else {
      this.write(b)
    }
  }

  private push(at: number, buf: Buffer): void {
    this.lastAt = at
    this.queue.push({at, buf})
    this.schedule()
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        const now = Date.now()
        while (this.queue.length > 0 && this.queue[0]!.at <= now) this.write(this.queue.shift()!.buf)
        this.schedule()
        this.maybeEnd()
      },
      Math.max(0, this.queue[0]!.at - Date.now()),
    )
  }

  private write(b: Buffer): void {
    if (this.dst.destroyed) return
    this.proxy.counters.bytesForwarded += b.length
    if (!this.dst.write(b)) {
      this.src.pause()
      this.dst.once('drain', () => this.src.resume())
    }
  }

  /** Passes the source's FIN on once everything queued is delivered — unless this direction is cut. */
  private maybeEnd(): void {
    if (!this.srcEnded || this.queue.length > 0 || this.dst.destroyed) return
    if (!forwards(this.proxy.mode, this.dir) || this.tainted) return // a cut direction does not carry the FIN
    this.dst.end()
  }

  /** Re-checks a pending FIN after a mode change. */
  retryEnd(): void {
    this.maybeEnd()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
  }
}

class Conn {
  readonly pipes: Pipe[]
  constructor(
    readonly client: net.Socket,
    readonly server: net.Socket,
    proxy: NetProxy,
  ) {
    this.pipes = [new Pipe('c2s', client, server, proxy), new Pipe('s2c', server, client, proxy)]
  }
  reset(): void {
    for (const p of this.pipes) p.stop()
    for (const s of [this.client, this.server]) if (!s.destroyed) s.resetAndDestroy()
  }
}

export class NetProxy {
  private server: net.Server | undefined
  private readonly conns = new Set<Conn>()
  private current: ProxyMode
  private boundPort = 0
  readonly counters: NetProxyStats = {accepted: 0, open: 0, resets: 0, bytesForwarded: 0, bytesDiscarded: 0}

  constructor(private readonly opts: NetProxyOptions) {
    this.current = opts.mode ?? {mode: 'normal'}
  }

  get mode(): ProxyMode {
    return this.current
  }

  /** The port the proxy listens on (after start()). */
  get port(): number {
    return this.boundPort
  }

  stats(): NetProxyStats {
    return {...this.counters, open: this.conns.size}
  }

  /** Starts listening; rejects with the listen error (e.g. EADDRINUSE) as is. */
  async start(): Promise<number> {
    if (this.server) throw new NetProxyError('proxy already started')
    const server = net.createServer({pauseOnConnect: true, allowHalfOpen: true}, (c) => this.accept(c))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.listenPort, this.opts.listenHost, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', () => undefined)
    this.server = server
    this.boundPort = (server.address() as net.AddressInfo).port
    return this.boundPort
  }

  setMode(m: ProxyMode): void {
    this.current = m
    for (const c of [...this.conns]) {
      if (c.pipes.some((p) => p.tainted && forwards(m, p.dir))) {
        this.counters.resets++
        this.conns.delete(c)
        c.reset()
      } else {
        for (const p of c.pipes) p.retryEnd()
      }
    }
  }

  /** Fires an armed drop-responses-after: from now on every answer is dropped. */
  trigger(match: string): void {
    this.setMode({mode: 'drop-responses'})
    this.opts.onTrigger?.(match)
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const c of this.conns) c.reset()
    this.conns.clear()
    const s = this.server
    this.server = undefined
    if (s) await new Promise<void>((r) => s.close(() => r()))
  }

  private accept(client: net.Socket): void {
    this.counters.accepted++
    const server = net.connect({host: this.opts.targetHost, port: this.opts.targetPort, allowHalfOpen: true})
    const conn = new Conn(client, server, this)
    this.conns.add(conn)
    for (const s of [client, server]) s.setNoDelay(true)
    let closed = 0
    const onClose = (): void => {
      if (++closed === 2) this.conns.delete(conn)
    }
    // A socket that fails or closes takes its partner with it — except through a cut direction, where the
    // other side must not notice anything (it is reset when the mode lets bytes through again).
    const partnerGone = (other: net.Socket, dirToOther: Dir): void => {
      if (other.destroyed) return
      if (forwards(this.current, dirToOther)) other.destroy()
      else conn.pipes.find((p) => p.dir === dirToOther)!.tainted = true // the close was "lost": reset later
    }
    client.once('close', () => {
      onClose()
      partnerGone(server, 'c2s')
    })
    server.once('close', () => {
      onClose()
      partnerGone(client, 's2c')
    })
    client.on('error', () => undefined)
    server.on('error', () => undefined)
    server.once('connect', () => client.resume())
  }
}
