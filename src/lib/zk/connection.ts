/**
 * The ZooKeeper session under ZkClient: ONE long-lived node-zookeeper-client session, replaced on expiry, with a
 * handshake/silence watchdog and `call()`, which runs one library call with a timeout and typed errors.
 *
 * Session states (event 'state'):
 *   disconnected --(session established)--> connected
 *   connected    --(socket lost)---------->  disconnected   (the library reconnects; same session, ephemerals kept)
 *   disconnected --(server says expired)-->  expired        (a NEW session is opened at once; it goes to connected
 *                                                            when it can; ephemeral nodes of the old one are gone)
 *   any          --(close())-------------->  closed         (terminal)
 * Invariants:
 *   - every call settles within `operationTimeoutMs` (TIMEOUT) — nothing hangs, even with ZooKeeper down.
 *     A timed-out write has an unknown outcome (it may still be applied when the connection comes back).
 *   - `onConnected()` (subclass hook) runs after every transition to `connected`; `onClosing()` once, in close().
 */
import {EventEmitter} from 'node:events'
import zookeeper from 'node-zookeeper-client'
import {addDigestAuth} from './acl.js'
import {toZkError, ZkError} from './errors.js'
import {CM_CLOSED, CM_CONNECTED, CM_CONNECTING, CM_SESSION_EXPIRED, type RawClient, type RawSocket} from './raw.js'
import type {ZkUrl} from './url.js'

export type ZkState = 'connected' | 'disconnected' | 'expired' | 'closed'

export interface ZkConnectOptions {
  /** Requested session timeout (default 10000; the server clamps it to [2, 20] × tickTime unless configured). */
  sessionTimeoutMs?: number
  /** How long connect() waits for the first session (default 10000). */
  connectTimeoutMs?: number
  /** Timeout of each operation (default 10000). */
  operationTimeoutMs?: number
}

/** Runs one library call on the current session; `done` settles it. */
export type ZkCall = <T>(op: string, path: string, run: (raw: RawClient, done: (err: unknown, value?: T) => void) => void) => Promise<T>

export class ZkConnection extends EventEmitter {
  readonly url: ZkUrl
  private raw: RawClient
  private _state: ZkState = 'disconnected'
  private closed = false
  private readonly sessionTimeoutMs: number
  private readonly opTimeoutMs: number
  private readonly pending = new Set<(e: ZkError) => void>()
  private readonly sockets = new WeakMap<RawSocket, {since: number; lastData: number}>()
  private readonly watchdog: NodeJS.Timeout

  protected constructor(url: ZkUrl, opts: ZkConnectOptions) {
    super()
    this.url = url
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000
    this.opTimeoutMs = opts.operationTimeoutMs ?? 10_000
    this.raw = this.openSession()
    this.watchdog = setInterval(() => this.checkSocket(), 250)
    this.watchdog.unref()
  }

  /** Subclass hook: the session is (again) connected. */
  protected onConnected(): void {}
  /** Subclass hook: close() has begun (before pending calls are aborted). */
  protected onClosing(): void {}

  protected get isClosed(): boolean {
    return this.closed
  }

  /**
   * node-zookeeper-client has no handshake timeout and never notices a silent server: a server that accepts the
   * TCP connection but never answers (ZooKeeper 3.8 does this to clients that connect while it is still loading
   * its database) would leave us 'disconnected' forever. Drop such sockets; the library then reconnects.
   */
  private checkSocket(): void {
    const cm = this.raw.connectionManager
    const sock = cm.socket
    if (this.closed || !sock || sock.destroyed || sock.connecting) return
    const now = Date.now()
    const seen = this.sockets.get(sock)
    if (!seen) {
      const entry = {since: now, lastData: now}
      this.sockets.set(sock, entry)
      sock.on('data', () => (entry.lastData = Date.now()))
      return
    }
    const session = cm.sessionTimeout > 0 ? cm.sessionTimeout : this.sessionTimeoutMs
    const handshakeMs = Math.min(Math.max(1000, session / 3), 4000)
    const stuck =
      (cm.state === CM_CONNECTING && now - seen.since > handshakeMs) ||
      (cm.state === CM_CONNECTED && now - seen.lastData > (session * 2) / 3)
    if (stuck) sock.destroy()
  }

  get state(): ZkState {
    return this._state
  }

  /** Resolves once connected; rejects with TIMEOUT after `ms`. */
  waitConnected(ms: number): Promise<void> {
    if (this._state === 'connected') return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onState = (s: ZkState): void => {
        if (s === 'connected') finish()
        else if (s === 'closed') finish(new ZkError('CONNECTION_LOSS', `ZooKeeper client for ${this.url.redacted} was closed`))
      }
      const timer = setTimeout(
        () =>
          finish(
            new ZkError(
              'TIMEOUT',
              `could not connect to ZooKeeper at ${this.url.connectString} within ${ms / 1000}s (is it running and reachable?)`,
            ),
          ),
        ms,
      )
      const finish = (err?: ZkError): void => {
        clearTimeout(timer)
        this.off('state', onState)
        if (err) reject(err)
        else resolve()
      }
      this.on('state', onState)
    })
  }

  private setState(s: ZkState): void {
    if (this._state === s) return
    this._state = s
    this.emit('state', s)
  }

  private openSession(): RawClient {
    const raw = zookeeper.createClient(this.url.connectString, {
      sessionTimeout: this.sessionTimeoutMs,
      spinDelay: 250,
      retries: 0,
    }) as RawClient
    // The library's connect-string parser cannot read IPv6 hosts; hand it the parsed list instead.
    raw.connectionManager.servers = this.url.servers.map((s) => ({host: s.host, port: s.port}))
    addDigestAuth(raw, this.url.auth)
    raw.on('state', (s: {getName(): string}) => this.onRawState(raw, s.getName()))
    raw.connect()
    return raw
  }

  private onRawState(raw: RawClient, name: string): void {
    if (raw !== this.raw || this.closed) return
    switch (name) {
      case 'SYNC_CONNECTED':
      case 'CONNECTED_READ_ONLY':
        this.setState('connected')
        this.onConnected()
        break
      case 'DISCONNECTED':
        this.setState('disconnected')
        break
      case 'AUTH_FAILED':
        void this.close() // retrying with the same credentials cannot help
        break
      case 'EXPIRED':
        this.setState('expired')
        raw.close()
        this.raw = this.openSession()
        break
    }
  }

  /** Runs one library call with a timeout; maps errors to ZkError. */
  protected call<T>(op: string, path: string, run: (raw: RawClient, done: (err: unknown, value?: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new ZkError('CONNECTION_LOSS', `ZooKeeper ${op} ${path}: the client is closed`, path))
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const settle = (err: ZkError | null, value?: T): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.pending.delete(abort)
        if (err) reject(err)
        else resolve(value as T)
      }
      const abort = (e: ZkError): void => settle(e)
      const timer = setTimeout(
        () =>
          settle(
            new ZkError(
              'TIMEOUT',
              `ZooKeeper ${op} ${path} timed out after ${this.opTimeoutMs / 1000}s (session ${this._state}; servers ${this.url.connectString})`,
              path,
            ),
          ),
        this.opTimeoutMs,
      )
      this.pending.add(abort)
      try {
        run(this.raw, (err, value) => settle(err ? toZkError(err, op, path) : null, value))
      } catch (err) {
        // The library asserts on bad arguments (invalid path, data too large) synchronously.
        settle(new ZkError('UNKNOWN', `ZooKeeper ${op} ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`, path))
      }
    })
  }

  /** Ends the session (its ephemeral nodes vanish at once). Idempotent; bounded (≤ 2 s). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.watchdog)
    this.onClosing()
    for (const abort of [...this.pending]) abort(new ZkError('CONNECTION_LOSS', `ZooKeeper client for ${this.url.redacted} was closed`))
    const raw = this.raw
    const cm = raw.connectionManager
    if (cm.state !== CM_CLOSED && cm.state !== CM_SESSION_EXPIRED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          try {
            cm.socket?.destroy()
          } catch {
            /* already gone */
          }
          resolve()
        }, 2000)
        cm.on('state', (s: number) => {
          if (s === CM_CLOSED) {
            clearTimeout(timer)
            resolve()
          }
        })
        raw.close()
      })
    }
    this.setState('closed')
  }
}
