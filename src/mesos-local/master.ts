/**
 * LocalMaster: one embedded Mesos-compatible master = MasterCore (state and logic) + node:http server
 * (master-http.ts) + optional ZooKeeper contention (json.info_ EPHEMERAL_SEQUENTIAL under the zk:// path; the
 * lowest sequence leads, like Mesos 1.12). Without ZooKeeper the master leads at once.
 *
 * Leadership states: follower (answers 307 / 503) → leader (allocation running). A leader that sees another
 * master lead (e.g. its ZooKeeper session expired) stops all activity and stays a follower, instead of aborting
 * like the real master.
 */
import {randomUUID} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {createMasterDetector, registerMaster, type DetectedMaster, type MasterDetector} from '../lib/mesos/detector.js'
import type {MasterInfo} from '../lib/mesos/types.js'
import {ZkClient} from '../lib/zk/client.js'
import {parseZkUrl} from '../lib/zk/url.js'
import {MasterAgentLink, removeAgent} from './agents.js'
import type {MasterPort} from './link.js'
import {MasterCore} from './master-core.js'
import {buildMasterHandler} from './master-http.js'
import {MESOS_VERSION, durationText} from './state-json.js'

export interface LocalMasterOptions {
  /** IP to listen on and advertise (default 127.0.0.1). */
  ip?: string
  /** Port (0 = a free one). Default 0. */
  port?: number
  /** Advertised hostname (default = ip). */
  hostname?: string
  /** zk://host:port/path to contend for leadership; none = always leader. */
  zk?: string
  allocationIntervalMs?: number
  heartbeatIntervalSec?: number
  agentPingTimeoutMs?: number
  maxAgentPingTimeouts?: number
  failoverCapMs?: number
  workDir?: string
  log?: (line: string) => void
}

/** MasterInfo.ip: the IPv4 s_addr read as a little-endian uint32 (127.0.0.1 → 16777343). */
export function legacyIp(ip: string): number {
  const p = ip.split('.').map(Number)
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return 0
  return (p[0]! | (p[1]! << 8) | (p[2]! << 16) | (p[3]! << 24)) >>> 0
}

export class LocalMaster {
  private readonly opts: Required<Omit<LocalMasterOptions, 'zk' | 'failoverCapMs' | 'workDir' | 'hostname'>> & LocalMasterOptions
  private server: http.Server | undefined
  private _core: MasterCore | undefined
  private link: MasterAgentLink | undefined
  private zk: ZkClient | undefined
  private detector: MasterDetector | undefined
  private stopped = false

  constructor(opts: LocalMasterOptions = {}) {
    this.opts = {
      ip: '127.0.0.1', port: 0, allocationIntervalMs: 1000, heartbeatIntervalSec: 15, agentPingTimeoutMs: 15_000,
      maxAgentPingTimeouts: 5, log: () => {},
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as LocalMasterOptions),
    }
  }

  get core(): MasterCore {
    if (!this._core) throw new Error('LocalMaster not started')
    return this._core
  }

  /** The in-process port agents register with (valid after start()). */
  get port(): MasterPort {
    if (!this.link) throw new Error('LocalMaster not started')
    return this.link
  }

  get id(): string {
    return this.core.id
  }

  /** `http://ip:port` of this master. */
  get url(): string {
    return `http://${this.opts.ip}:${this.core.info.port}`
  }

  get info(): MasterInfo {
    return this.core.info
  }

  isLeader(): boolean {
    return this._core?.leading ?? false
  }

  /** `host:port` of the leading master as this master knows it. */
  leaderAddress(): string | null {
    if (this.isLeader()) return `${this.core.info.hostname}:${this.core.info.port}`
    const cur = this.detector?.current()
    return cur ? `${cur.host}:${cur.port}` : null
  }

  flags(): Record<string, string> {
    const o = this.opts
    return {
      agent_ping_timeout: durationText(o.agentPingTimeoutMs), allocation_interval: durationText(o.allocationIntervalMs),
      allocator: 'hierarchical', authenticate_agents: 'false', authenticate_frameworks: 'false', authenticate_http_frameworks: 'false',
      authenticate_http_readonly: 'false', authenticate_http_readwrite: 'false', framework_sorter: 'drf',
      hostname: this.core.info.hostname ?? o.ip, ip: o.ip, max_agent_ping_timeouts: String(o.maxAgentPingTimeouts),
      min_allocatable_resources: 'cpus:0.01|mem:32', port: String(this.core.info.port), registry: 'in_memory', role_sorter: 'drf',
      work_dir: o.workDir ?? '', ...(o.zk !== undefined ? {zk: o.zk, quorum: '1', zk_session_timeout: '10secs'} : {}),
    }
  }

  async start(): Promise<void> {
    const o = this.opts
    const server = http.createServer(buildMasterHandler({
      core: () => this.core, isLeader: () => this.isLeader(), leader: () => this.leaderAddress(), flags: () => this.flags(), log: o.log,
    }))
    server.keepAliveTimeout = 60_000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(o.port, o.ip, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    const port = (server.address() as AddressInfo).port
    const hostname = o.hostname ?? o.ip
    const info: MasterInfo = {
      id: randomUUID(), ip: legacyIp(o.ip), port, pid: `master@${o.ip}:${port}`, hostname, version: MESOS_VERSION,
      address: {hostname, ip: o.ip, port}, capabilities: [{type: 'AGENT_UPDATE'}, {type: 'AGENT_DRAINING'}, {type: 'QUOTA_V2'}],
    }
    this._core = new MasterCore({
      masterInfo: info, allocationIntervalMs: o.allocationIntervalMs, heartbeatIntervalSec: o.heartbeatIntervalSec,
      agentPingTimeoutMs: o.agentPingTimeoutMs, maxAgentPingTimeouts: o.maxAgentPingTimeouts, failoverCapMs: o.failoverCapMs, log: o.log,
    })
    this.link = new MasterAgentLink(this._core)
    if (o.zk === undefined) {
      this._core.becomeLeader()
      return
    }
    try {
      this.zk = await ZkClient.connect(o.zk)
      const node = await registerMaster(this.zk, parseZkUrl(o.zk).path, info)
      o.log(`master ${o.ip}:${port}: contending for leadership as ${node}`)
      this.detector = await createMasterDetector(o.zk)
      this.detector.on('leader', (m: DetectedMaster | null) => this.onLeader(m))
      this.onLeader(this.detector.current())
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  private onLeader(m: DetectedMaster | null): void {
    if (this.stopped || !this._core) return
    if (m?.info?.id === this._core.id) {
      this._core.becomeLeader()
    } else if (this._core.leading) {
      this.opts.log(`master ${this.url}: another master leads now (${m ? `${m.host}:${m.port}` : 'none'}); stepping down`)
      this._core.shutdown()
    }
  }

  /** Graceful removal of an agent that shut down (e.g. SIGTERM): its tasks are reported lost at once. */
  agentUnregistered(agentId: string): void {
    if (this._core?.leading) removeAgent(this._core, agentId, 'the agent unregistered', false)
  }

  /** Stops serving, closes all streams and leaves ZooKeeper (the json.info_ node disappears at once). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this._core?.shutdown()
    if (this.server) {
      const s = this.server
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        s.closeAllConnections()
      })
    }
    await this.detector?.close().catch(() => {})
    await this.zk?.close().catch(() => {})
  }
}
