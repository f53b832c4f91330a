/**
 * Promise-based adapter over node-zookeeper-client: ONE long-lived session per process part (the original
 * etcd-mesos opened a connection per operation), typed errors, a timeout on every operation, and watches that
 * survive missing nodes, reconnects and session expiry.
 *
 * This module holds the node operations (get/create/mkdirp/exists/set/remove/children) and the watches; the
 * session, its states and the per-call timeout are in connection.ts (base class), the watch loop in watch.ts,
 * errors in errors.ts, ACL/auth in acl.ts. Invariants:
 *   - watchers are re-armed on every transition to `connected`; callbacks only fire for real changes.
 *   - with credentials in the URL, nodes are created with world-read + creator-all ACLs (like Mesos), else open.
 */
import {nodeAcls} from './acl.js'
import {ZkConnection, type ZkConnectOptions} from './connection.js'
import {ZkError} from './errors.js'
import type {RawStat} from './raw.js'
import {join, parseZkUrl, type ZkUrl} from './url.js'
import {createWatchLoop, type WatchLoop, type WatchSpec} from './watch.js'

export {join}
export {ZkError, type ZkErrorCode} from './errors.js'
export type {ZkConnectOptions, ZkState} from './connection.js'

export interface ZkNodeData {
  data: Buffer
  version: number
}

function nodeData(data: Buffer | null, stat: RawStat): ZkNodeData {
  return {data: data ?? Buffer.alloc(0), version: stat.version}
}

export class ZkClient extends ZkConnection {
  private readonly loops = new Set<WatchLoop>()

  private constructor(url: ZkUrl, opts: ZkConnectOptions) {
    super(url, opts)
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

  protected override onConnected(): void {
    for (const loop of this.loops) loop.arm()
  }

  protected override onClosing(): void {
    for (const loop of this.loops) loop.stop()
    this.loops.clear()
  }

  async get(path: string): Promise<ZkNodeData | null> {
    try {
      return await this.call<ZkNodeData>('get', path, (raw, done) =>
        raw.getData(path, undefined, (e, data, stat) => done(e, e ? undefined : nodeData(data, stat))),
      )
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') return null
      throw err
    }
  }

  create(path: string, data?: Buffer, opts: {ephemeral?: boolean; sequential?: boolean} = {}): Promise<string> {
    const mode = (opts.ephemeral ? 1 : 0) + (opts.sequential ? 2 : 0)
    return this.call<string>('create', path, (raw, done) =>
      raw.create(path, data ?? null, nodeAcls(this.url.auth), mode, (e, created) => done(e, created)),
    )
  }

  /** Creates `path` and all missing parents (persistent, empty). Existing nodes are fine. */
  async mkdirp(path: string): Promise<void> {
    let cur = ''
    for (const seg of path.split('/').filter((s) => s !== '')) {
      cur += `/${seg}`
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
      raw.exists(path, undefined, (e, stat) => done(e, stat ? stat.version : null)),
    )
  }

  set(path: string, data: Buffer, version: number): Promise<number> {
    return this.call<number>('set', path, (raw, done) =>
      raw.setData(path, data, version, (e, stat) => done(e, e ? undefined : stat.version)),
    )
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call<void>('remove', path, (raw, done) => raw.remove(path, version, (e) => done(e)))
  }

  /** Child names, sorted; [] when the node does not exist. */
  async children(path: string): Promise<string[]> {
    try {
      return await this.call<string[]>('children', path, (raw, done) =>
        raw.getChildren(path, undefined, (e, ch) => done(e, e ? undefined : [...ch].sort())),
      )
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') return []
      throw err
    }
  }

  /** Calls `onChange` with the current children (sorted; [] while the node is missing), then on every change. */
  watchChildren(path: string, onChange: (children: string[]) => void): () => void {
    return this.watch<string[]>({
      path,
      op: 'children',
      missing: [],
      key: (v) => v.join('/'),
      onChange,
      read: (raw, watcher, done) => raw.getChildren(path, watcher, (e, ch) => done(e, e ? undefined : [...ch].sort())),
    })
  }

  /** Calls `onChange` with the current data (null while the node is missing), then on every change. */
  watchData(path: string, onChange: (v: ZkNodeData | null) => void): () => void {
    return this.watch<ZkNodeData | null>({
      path,
      op: 'watchData',
      missing: null,
      key: (v) => (v ? `${v.version}:${v.data.toString('base64')}` : '-'),
      onChange,
      read: (raw, watcher, done) => raw.getData(path, watcher, (e, data, stat) => done(e, e ? undefined : nodeData(data, stat))),
    })
  }

  private watch<T>(spec: WatchSpec<T>): () => void {
    const loop = createWatchLoop<T>(this.call.bind(this), () => this.isClosed, spec)
    this.loops.add(loop)
    loop.arm()
    return () => {
      loop.stop()
      this.loops.delete(loop)
    }
  }
}
