/**
 * Promise-based adapter over node-zookeeper-client: ONE long-lived session per process part (the original
 * etcd-mesos opened a connection per operation), typed errors, a timeout on every operation, and watches that
 * survive missing nodes, reconnects and session expiry.
 *
 * Session states (event 'state'):
 *   disconnected --(session established)--> connected
 *   connected    --(socket lost)---------->  disconnected   (the library reconnects; same session, ephemerals kept)
 *   disconnected --(server says expired)-->  expired        (a NEW session is opened at once; it goes to connected
 *                                                            when it can; ephemeral nodes of the old one are gone)
 *   any          --(close())-------------->  closed         (terminal)
 * Invariants:
 *   - every operation settles within `operationTimeoutMs` (TIMEOUT) — nothing hangs, even with ZooKeeper down.
 *     A timed-out write has an unknown outcome (it may still be applied when the connection comes back).
 *   - watchers are re-armed on every transition to `connected`; callbacks only fire for real changes.
 *   - with credentials in the URL, nodes are created with world-read + creator-all ACLs (like Mesos), else open.
 */
import { EventEmitter } from 'node:events'
import zookeeper from 'node-zookeeper-client'
import { join, parseZkUrl, type ZkUrl } from './url.js'

export { join }

export type ZkErrorCode =
  | 'NO_NODE' | 'NODE_EXISTS' | 'BAD_VERSION' | 'NOT_EMPTY' | 'CONNECTION_LOSS' | 'SESSION_EXPIRED' | 'TIMEOUT'
  | 'NO_AUTH' | 'UNKNOWN'

export class ZkError extends Error {
  override name = 'ZkError'
  constructor(readonly code: ZkErrorCode, message: string, readonly path?: string) {
    super(message)
  }
}

export type ZkState = 'connected' | 'disconnected' | 'expired' | 'closed'

export interface ZkConnectOptions {
  /** Requested session timeout (default 10000; the server clamps it to [2, 20] × tickTime unless configured). */
  sessionTimeoutMs?: number
  /** How long connect() waits for the first session (default 10000). */
  connectTimeoutMs?: number
  /** Timeout of each operation (default 10000). */
  operationTimeoutMs?: number
}

export interface ZkNodeData {
  data: Buffer
  version: number
}

// ---- the slice of node-zookeeper-client we use (it ships no types) ----
interface RawException { getCode(): number; message: string }
interface RawStat { version: number }
type RawWatcher = (event: unknown) => void
interface RawSocket extends EventEmitter {
  destroy(): void
  destroyed: boolean
  connecting: boolean
}
interface RawConnectionManager extends EventEmitter {
  state: number
  sessionTimeout: number
  servers: { host: string; port: number }[]
  socket?: RawSocket
}
interface RawClient extends EventEmitter {
  connectionManager: RawConnectionManager
  connect(): void
  close(): void
  addAuthInfo(scheme: string, auth: Buffer): void
  create(path: string, data: Buffer | null, acls: unknown[], mode: number, cb: (e: RawException | null, path: string) => void): void
  getData(path: string, watcher: RawWatcher | undefined, cb: (e: RawException | null, data: Buffer | null, stat: RawStat) => void): void
  setData(path: string, data: Buffer, version: number, cb: (e: RawException | null, stat: RawStat) => void): void
  remove(path: string, version: number, cb: (e: RawException | null) => void): void
  exists(path: string, watcher: RawWatcher | undefined, cb: (e: RawException | null, stat: RawStat | null) => void): void
  getChildren(path: string, watcher: RawWatcher | undefined, cb: (e: RawException | null, children: string[]) => void): void
}
const CM_CONNECTING = 1
const CM_CONNECTED = 2
const CM_CLOSED = -2
const CM_SESSION_EXPIRED = -3

const RAW_CODES: Record<number, ZkErrorCode> = {
  [-101]: 'NO_NODE', [-110]: 'NODE_EXISTS', [-103]: 'BAD_VERSION', [-111]: 'NOT_EMPTY', [-4]: 'CONNECTION_LOSS',
  [-112]: 'SESSION_EXPIRED', [-7]: 'TIMEOUT', [-102]: 'NO_AUTH', [-115]: 'NO_AUTH',
}

function toZkError(err: unknown, op: string, path: string): ZkError {
  if (err instanceof ZkError) return err
  const raw = err as Partial<RawException> | null
  const code = typeof raw?.getCode === 'function' ? (RAW_CODES[raw.getCode()] ?? 'UNKNOWN') : 'UNKNOWN'
  const detail = err instanceof Error || typeof raw?.message === 'string' ? String(raw?.message) : String(err)
  return new ZkError(code, `ZooKeeper ${op} ${path} failed: ${detail}`, path)
}

interface WatchLoop { arm(): void; stop(): void }

export class ZkClient extends EventEmitter {
  readonly url: ZkUrl
  private raw: RawClient
  private _state: ZkState = 'disconnected'
  private closed = false
  private readonly sessionTimeoutMs: number
  private readonly opTimeoutMs: number
  private readonly loops = new Set<WatchLoop>()
  private readonly pending = new Set<(e: ZkError) => void>()
  private readonly sockets = new WeakMap<RawSocket, { since: number; lastData: number }>()
  private readonly watchdog: NodeJS.Timeout

  private constructor(url: ZkUrl, opts: ZkConnectOptions) {
    super()
    this.url = url
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000
    this.opTimeoutMs = opts.operationTimeoutMs ?? 10_000
    this.raw = this.openSession()
    this.watchdog = setInterval(() => this.checkSocket(), 250)
    this.watchdog.unref()
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
      const entry = { since: now, lastData: now }
      this.sockets.set(sock, entry)
      sock.on('data', () => (entry.lastData = Date.now()))
      return
    }
    const session = cm.sessionTimeout > 0 ? cm.sessionTimeout : this.sessionTimeoutMs
    const handshakeMs = Math.min(Math.max(1000, session / 3), 4000)
    const stuck = (cm.state === CM_CONNECTING && now - seen.since > handshakeMs) ||
      (cm.state === CM_CONNECTED && now - seen.lastData > (session * 2) / 3)
    if (stuck) sock.destroy()
  }

  static async connect(url: string | ZkUrl, opts: ZkConnectOptions = {}): Promise<ZkClient> {
    const zu = typeof url === 'string' ? parseZkUrl(url) : url
    const client = new ZkClient(zu, opts)
    const ms = opts.connectTimeoutMs ?? 10_000
    try {
      await client.waitConnected(ms)
    } catch (err) {
      await client.close()
      throw err
    }
    return client
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
      const timer = setTimeout(() => finish(new ZkError('TIMEOUT',
        `could not connect to ZooKeeper at ${this.url.connectString} within ${ms / 1000}s (is it running and reachable?)`)), ms)
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
      sessionTimeout: this.sessionTimeoutMs, spinDelay: 250, retries: 0,
    }) as RawClient
    // The library's connect-string parser cannot read IPv6 hosts; hand it the parsed list instead.
    raw.connectionManager.servers = this.url.servers.map((s) => ({ host: s.host, port: s.port }))
    if (this.url.auth) raw.addAuthInfo('digest', Buffer.from(`${this.url.auth.user}:${this.url.auth.password}`))
    raw.on('state', (s: { getName(): string }) => this.onRawState(raw, s.getName()))
    raw.connect()
    return raw
  }

  private onRawState(raw: RawClient, name: string): void {
    if (raw !== this.raw || this.closed) return
    switch (name) {
      case 'SYNC_CONNECTED':
      case 'CONNECTED_READ_ONLY':
        this.setState('connected')
        for (const loop of this.loops) loop.arm()
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
  private call<T>(op: string, path: string, run: (raw: RawClient, done: (err: unknown, value?: T) => void) => void): Promise<T> {
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
      const timer = setTimeout(() => settle(new ZkError('TIMEOUT',
        `ZooKeeper ${op} ${path} timed out after ${this.opTimeoutMs / 1000}s (session ${this._state}; servers ${this.url.connectString})`,
        path)), this.opTimeoutMs)
      this.pending.add(abort)
      try {
        run(this.raw, (err, value) => settle(err ? toZkError(err, op, path) : null, value))
      } catch (err) {
        // The library asserts on bad arguments (invalid path, data too large) synchronously.
        settle(new ZkError('UNKNOWN', `ZooKeeper ${op} ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`, path))
      }
    })
  }

  private acls(): unknown[] {
    const { ACL, Id, Permission } = zookeeper
    if (!this.url.auth) return [new ACL(Permission.ALL, new Id('world', 'anyone'))]
    return [new ACL(Permission.ALL, new Id('auth', '')), new ACL(Permission.READ, new Id('world', 'anyone'))]
  }

  async get(path: string): Promise<ZkNodeData | null> {
    try {
      return await this.call<ZkNodeData>('get', path, (raw, done) =>
        raw.getData(path, undefined, (e, data, stat) => done(e, e ? undefined : { data: data ?? Buffer.alloc(0), version: stat.version })))
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') return null
      throw err
    }
  }

  create(path: string, data?: Buffer, opts: { ephemeral?: boolean; sequential?: boolean } = {}): Promise<string> {
    const mode = (opts.ephemeral ? 1 : 0) + (opts.sequential ? 2 : 0)
    return this.call<string>('create', path, (raw, done) =>
      raw.create(path, data ?? null, this.acls(), mode, (e, created) => done(e, created)))
  }

  /** Creates `path` and all missing parents (persistent, empty). Existing nodes are fine. */
  async mkdirp(path: string): Promise<void> {
    let cur = ''
    for (const seg of path.split('/').filter((s) => s !== '')) {
      cur += '/' + seg
      // Fast path: most parents exist already.
      if ((await this.exists(cur)) !== null) continue
      try {
        await this.create(cur)
      } catch (err) {
        if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err
      }
    }
  }

  /** The node's version, or null when it does not exist. */
  exists(path: string): Promise<number | null> {
    return this.call<number | null>('exists', path, (raw, done) =>
      raw.exists(path, undefined, (e, stat) => done(e, stat ? stat.version : null)))
  }

  set(path: string, data: Buffer, version: number): Promise<number> {
    return this.call<number>('set', path, (raw, done) =>
      raw.setData(path, data, version, (e, stat) => done(e, e ? undefined : stat.version)))
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call<void>('remove', path, (raw, done) => raw.remove(path, version, (e) => done(e)))
  }

  /** Child names, sorted; [] when the node does not exist. */
  async children(path: string): Promise<string[]> {
    try {
      return await this.call<string[]>('children', path, (raw, done) =>
        raw.getChildren(path, undefined, (e, ch) => done(e, e ? undefined : [...ch].sort())))
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') return []
      throw err
    }
  }

  /** Calls `onChange` with the current children (sorted; [] while the node is missing), then on every change. */
  watchChildren(path: string, onChange: (children: string[]) => void): () => void {
    return this.watchLoop<string[]>(path, 'children',
      (raw, watcher, done) => raw.getChildren(path, watcher, (e, ch) => done(e, e ? undefined : [...ch].sort())),
      [], (v) => v.join('/'), onChange)
  }

  /** Calls `onChange` with the current data (null while the node is missing), then on every change. */
  watchData(path: string, onChange: (v: ZkNodeData | null) => void): () => void {
    return this.watchLoop<ZkNodeData | null>(path, 'watchData',
      (raw, watcher, done) => raw.getData(path, watcher, (e, data, stat) =>
        done(e, e ? undefined : { data: data ?? Buffer.alloc(0), version: stat.version })),
      null, (v) => (v ? `${v.version}:${v.data.toString('base64')}` : '-'), onChange)
  }

  private watchLoop<T>(
    path: string, op: string,
    read: (raw: RawClient, watcher: RawWatcher, done: (err: unknown, value?: T) => void) => void,
    missing: T, key: (v: T) => string, onChange: (v: T) => void,
  ): () => void {
    let gen = 0
    let stopped = false
    let lastKey: string | undefined
    let retryTimer: NodeJS.Timeout | undefined
    const deliver = (v: T): void => {
      const k = key(v)
      if (k === lastKey) return
      lastKey = k
      try {
        onChange(v)
      } catch {
        /* a listener's bug must not kill the watch */
      }
    }
    const loop: WatchLoop = {
      arm: () => {
        if (stopped || this.closed) return
        const my = ++gen
        clearTimeout(retryTimer)
        const current = (): boolean => my === gen && !stopped && !this.closed
        const watcher: RawWatcher = () => { if (current()) loop.arm() }
        const retry = (): void => {
          if (!current()) return
          retryTimer = setTimeout(() => { if (current()) loop.arm() }, 500)
        }
        this.call<T>(op, path, (raw, done) => read(raw, watcher, done)).then(
          (v) => { if (current()) deliver(v) },
          (err: unknown) => {
            if (!current()) return
            if (!(err instanceof ZkError && err.code === 'NO_NODE')) return retry()
            // Node missing: watch for its creation.
            this.call<boolean>('exists', path, (raw, done) => raw.exists(path, watcher, (e, stat) => done(e, stat !== null))).then(
              (exists) => {
                if (!current()) return
                if (exists) loop.arm()
                else deliver(missing)
              },
              () => retry())
          })
      },
      stop: () => {
        stopped = true
        clearTimeout(retryTimer)
      },
    }
    this.loops.add(loop)
    loop.arm()
    return () => {
      loop.stop()
      this.loops.delete(loop)
    }
  }

  /** Ends the session (its ephemeral nodes vanish at once). Idempotent; bounded (≤ 2 s). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.watchdog)
    for (const loop of this.loops) loop.stop()
    this.loops.clear()
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
