/**
 * Mesos master detection, like libmesos' detectors:
 *   - `host:port` / `http(s)://host:port` → a static detector (the address never changes);
 *   - `zk://[user:pass@]hosts/path` → watches the children of `path` on ZooKeeper. Masters contend with
 *     EPHEMERAL_SEQUENTIAL `json.info_<seq>` nodes holding MasterInfo JSON; the lowest sequence leads.
 *     `log_replicas` and other non-`<label>_<seq>` children are ignored, as are nodes whose data does not parse.
 *     Legacy binary `info_<seq>` nodes are used only when there is no json one (their `master@host:port` pid is
 *     read from the bytes).
 * Events: 'leader' (DetectedMaster | null) whenever the leading master changes (null: none registered, or the
 * leader's node is gone and its successor's cannot be read yet); 'retry' ({error, inMs}) when reading the masters
 * failed: the children are listed and read again after a capped backoff until it succeeds (zk/drain.ts).
 * Also `registerMaster()`, used by our embedded local Mesos to contend like a real master.
 */
import {EventEmitter} from 'node:events'
import {ZkClient, join, type ZkNodeData} from '../zk/client.js'
import {ChildrenDrain} from '../zk/drain.js'
import {parseZkUrl, type ZkUrl} from '../zk/url.js'
import {MasterAddressError, parseMasterAddress, type MasterAddress} from './master-address.js'
import type {MasterInfo} from './types.js'

export interface DetectedMaster extends MasterAddress {
  info?: MasterInfo
}

export interface MasterDetector extends EventEmitter {
  current(): DetectedMaster | null
  waitForLeader(timeoutMs: number, signal?: AbortSignal): Promise<DetectedMaster>
  close(): Promise<void>
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535
}

/** MasterInfo.ip is s_addr read as a host-order uint32: on little-endian hosts 127.0.0.1 is 16777343. */
export function decodeLegacyIp(ip: number): string {
  return [ip & 0xff, (ip >>> 8) & 0xff, (ip >>> 16) & 0xff, (ip >>> 24) & 0xff].join('.')
}

/** Parses a `json.info_*` znode's data. Throws MasterAddressError with the reason when it is unusable. */
export function parseMasterInfoJson(data: Buffer): DetectedMaster {
  let parsed: unknown
  try {
    parsed = JSON.parse(data.toString('utf8'))
  } catch (err) {
    throw new MasterAddressError(`MasterInfo is not valid JSON (${(err as Error).message})`)
  }
  if (!isObject(parsed)) throw new MasterAddressError('MasterInfo JSON is not an object')
  const info = parsed as unknown as MasterInfo
  const addr = parsed.address
  if (isObject(addr) && validPort(addr.port)) {
    const host =
      typeof addr.hostname === 'string' && addr.hostname !== ''
        ? addr.hostname
        : typeof addr.ip === 'string' && addr.ip !== ''
          ? addr.ip
          : null
    if (host !== null) return {host, port: addr.port, scheme: 'http', info}
  }
  if (validPort(parsed.port)) {
    if (typeof parsed.hostname === 'string' && parsed.hostname !== '') {
      return {host: parsed.hostname, port: parsed.port, scheme: 'http', info}
    }
    if (typeof parsed.ip === 'number' && Number.isInteger(parsed.ip) && parsed.ip > 0 && parsed.ip <= 0xffffffff) {
      return {host: decodeLegacyIp(parsed.ip), port: parsed.port, scheme: 'http', info}
    }
  }
  throw new MasterAddressError('MasterInfo JSON has no usable address (need address.hostname/ip + address.port, or hostname/ip + port)')
}

/** Legacy binary MasterInfo (`info_<seq>`): take the `master@host:port` pid out of the protobuf bytes. */
export function parseLegacyMasterInfo(data: Buffer): DetectedMaster {
  const m = /@([A-Za-z0-9._-]+):(\d{1,5})/.exec(data.toString('latin1'))
  const port = m ? Number(m[2]) : 0
  if (!m || !validPort(port)) throw new MasterAddressError('legacy MasterInfo holds no master@host:port pid')
  return {host: m[1] ?? '', port, scheme: 'http'}
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (!isObject(v)) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k])
  return out
}

/** Contends like a real master: EPHEMERAL_SEQUENTIAL `<path>/json.info_<seq>` with sorted-key MasterInfo JSON. */
export async function registerMaster(zk: ZkClient, path: string, info: MasterInfo): Promise<string> {
  await zk.mkdirp(path)
  const body = Buffer.from(JSON.stringify(sortKeys(info)), 'utf8')
  return zk.create(join(path, 'json.info_'), body, {ephemeral: true, sequential: true})
}

const JSON_RE = /^json\.info_(\d+)$/
const LEGACY_RE = /^info_(\d+)$/

function sameMaster(a: DetectedMaster | null, b: DetectedMaster | null): boolean {
  if (a === null || b === null) return a === b
  return a.host === b.host && a.port === b.port && a.scheme === b.scheme && a.info?.id === b.info?.id
}

abstract class BaseDetector extends EventEmitter implements MasterDetector {
  protected cur: DetectedMaster | null = null
  protected abstract describe(): string

  current(): DetectedMaster | null {
    return this.cur
  }

  waitForLeader(timeoutMs: number, signal?: AbortSignal): Promise<DetectedMaster> {
    if (this.cur) return Promise.resolve(this.cur)
    return new Promise((resolve, reject) => {
      const onLeader = (m: DetectedMaster | null): void => {
        if (m) finish(null, m)
      }
      const onAbort = (): void =>
        finish(signal?.reason instanceof Error ? signal.reason : new Error('waiting for the Mesos master was aborted'))
      const timer = setTimeout(() => finish(new Error(`${this.describe()} after ${timeoutMs / 1000}s`)), timeoutMs)
      const finish = (err: Error | null, m?: DetectedMaster): void => {
        clearTimeout(timer)
        this.off('leader', onLeader)
        signal?.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve(m as DetectedMaster)
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, {once: true})
      this.on('leader', onLeader)
    })
  }

  abstract close(): Promise<void>
}

class StaticDetector extends BaseDetector {
  constructor(addr: MasterAddress) {
    super()
    this.cur = addr
  }
  protected describe(): string {
    return 'no Mesos master configured'
  }
  async close(): Promise<void> {}
}

class ZkDetector extends BaseDetector {
  private unwatch: (() => void) | undefined
  private readonly cache = new Map<string, DetectedMaster | null>()
  /** The znode the current leader was read from. */
  private curNode: string | null = null
  private closed = false
  private firstDone!: () => void
  readonly ready = new Promise<void>((r) => (this.firstDone = r))
  private readonly drain = new ChildrenDrain({
    list: () => this.zk.children(this.url.path),
    process: async (children) => {
      try {
        await this.process(children)
      } finally {
        this.firstDone()
      }
    },
    onError: (error, inMs) => this.emit('retry', {error, inMs}),
  })

  constructor(
    private readonly zk: ZkClient,
    private readonly url: ZkUrl,
  ) {
    super()
  }

  protected describe(): string {
    return `no Mesos master is registered under ${this.url.redacted}`
  }

  start(): void {
    this.unwatch = this.zk.watchChildren(this.url.path, (children) => this.drain.push(children))
  }

  /** Throws when a node cannot be read (the drain retries with backoff); the leader is then unknown only if
   * the current one's node is gone (a dead master is never kept). */
  private async process(children: string[]): Promise<void> {
    const pick = (re: RegExp): {node: string; seq: number}[] =>
      children
        .map((node) => ({node, m: re.exec(node)}))
        .filter((x): x is {node: string; m: RegExpExecArray} => x.m !== null)
        .map((x) => ({node: x.node, seq: Number(x.m[1])}))
        .sort((a, b) => a.seq - b.seq)
    const json = pick(JSON_RE)
    const legacy = json.length > 0 ? [] : pick(LEGACY_RE)
    for (const node of this.cache.keys()) if (!children.includes(node)) this.cache.delete(node)

    let leader: {node: string; m: DetectedMaster} | null = null
    for (const {node} of json.length > 0 ? json : legacy) {
      let m = this.cache.get(node)
      if (m === undefined) {
        let d: ZkNodeData | null
        try {
          d = await this.zk.get(join(this.url.path, node))
        } catch (err) {
          if (this.curNode !== null && !children.includes(this.curNode)) this.announce(null)
          throw err
        }
        if (d === null) continue // vanished meanwhile
        try {
          m = json.length > 0 ? parseMasterInfoJson(d.data) : parseLegacyMasterInfo(d.data)
        } catch {
          m = null // unparsable: ignored
        }
        this.cache.set(node, m)
      }
      if (m) {
        leader = {node, m}
        break
      }
    }
    this.announce(leader)
  }

  private announce(leader: {node: string; m: DetectedMaster} | null): void {
    if (this.closed) return
    this.curNode = leader?.node ?? null
    if (sameMaster(this.cur, leader?.m ?? null)) return
    this.cur = leader?.m ?? null
    this.emit('leader', this.cur)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.drain.stop()
    this.unwatch?.()
    await this.zk.close()
  }
}

/**
 * A detector for `--master`: `host:port` or `http(s)://host:port` (static), or `zk://…` (ZooKeeper). For zk://
 * it resolves once connected and the first listing is processed (so `current()` is meaningful at once).
 */
export async function createMasterDetector(master: string, opts: {zkSessionTimeoutMs?: number} = {}): Promise<MasterDetector> {
  if (!/^zk:\/\//i.test(master.trim())) return new StaticDetector(parseMasterAddress(master.trim()))
  const url = parseZkUrl(master.trim())
  const zk = await ZkClient.connect(url, {sessionTimeoutMs: opts.zkSessionTimeoutMs ?? 10_000})
  const det = new ZkDetector(zk, url)
  det.start()
  let timer: NodeJS.Timeout | undefined
  // Bounded: if ZooKeeper stops answering right now, return anyway; the watch keeps trying.
  await Promise.race([det.ready, new Promise<void>((r) => (timer = setTimeout(r, 10_000)))])
  clearTimeout(timer)
  return det
}
