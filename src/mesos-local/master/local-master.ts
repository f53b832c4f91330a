/**
 * LocalMaster: one embedded Mesos-compatible master = its state (state.ts, and the modules working on it) +
 * node:http server (http.ts) + optional ZooKeeper contention (json.info_ EPHEMERAL_SEQUENTIAL under the zk:// path; the
 * lowest sequence leads, like Mesos 1.12). Without ZooKeeper the master leads at once.
 *
 * Leadership states: follower (answers 307 / 503) → leader (allocation running). A leader that sees another
 * master lead (e.g. its ZooKeeper session expired) stops all activity and stays a follower, instead of aborting
 * like the real master.
 */
import {randomUUID} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {createMasterDetector, registerMaster, type DetectedMaster, type MasterDetector} from '../../lib/mesos/detector.js'
import type {MasterInfo} from '../../lib/mesos/types.js'
import {ZkClient, ZkError} from '../../lib/zk/client.js'
import {parseZkUrl} from '../../lib/zk/url.js'
import type {MasterPort} from '../link.js'
import {MESOS_VERSION} from '../mesos-version.js'
import {recoverAgents, removeAgent} from './agent-lifecycle.js'
import {agentLink} from './agent-link.js'
import {masterFlags} from './flags.js'
import {buildMasterHandler} from './http.js'
import {becomeLeader, stepDown} from './leadership.js'
import {Registry} from './registry.js'
import {createMasterState, type MasterState} from './state.js'

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
  /** refuse_seconds used when a DECLINE/ACCEPT carries no filters (default 5, like Mesos). */
  defaultRefuseSeconds?: number
  /** Agents admitted by any master of the cluster; share one between masters (default: this master's own). */
  registry?: Registry
  /** How long agents known from the registry get to re-register after this master is elected (default 10 min, like Mesos). */
  agentReregisterTimeoutMs?: number
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
  private readonly opts: Required<Omit<LocalMasterOptions, 'zk' | 'failoverCapMs' | 'workDir' | 'hostname' | 'defaultRefuseSeconds'>> &
    LocalMasterOptions
  private server: http.Server | undefined
  private _state: MasterState | undefined
  private link: MasterPort | undefined
  private zk: ZkClient | undefined
  private detector: MasterDetector | undefined
  private stopped = false

  constructor(opts: LocalMasterOptions = {}) {
    this.opts = {
      ip: '127.0.0.1',
      port: 0,
      allocationIntervalMs: 1000,
      heartbeatIntervalSec: 15,
      agentPingTimeoutMs: 15_000,
      maxAgentPingTimeouts: 5,
      agentReregisterTimeoutMs: 10 * 60_000,
      registry: new Registry(),
      log: () => {},
      ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as LocalMasterOptions),
    }
  }

  /** The master's state (valid after start()). */
  get state(): MasterState {
    if (!this._state) throw new Error('LocalMaster not started')
    return this._state
  }

  /** The in-process port agents register with (valid after start()). */
  get port(): MasterPort {
    if (!this.link) throw new Error('LocalMaster not started')
    return this.link
  }

  get id(): string {
    return this.state.info.id
  }

  /** `http://ip:port` of this master. */
  get url(): string {
    return `http://${this.opts.ip}:${this.state.info.port}`
  }

  get info(): MasterInfo {
    return this.state.info
  }

  isLeader(): boolean {
    return this._state?.leading ?? false
  }

  /** `host:port` of the leading master as this master knows it. */
  leaderAddress(): string | null {
    if (this.isLeader()) return `${this.state.info.hostname}:${this.state.info.port}`
    const cur = this.detector?.current()
    return cur ? `${cur.host}:${cur.port}` : null
  }

  /** /master/flags (flags.ts). */
  flags(): Record<string, string> {
    return masterFlags(this.opts, this.state.info)
  }

  async start(): Promise<void> {
    const o = this.opts
    const server = http.createServer(
      buildMasterHandler({
        state: () => this.state,
        isLeader: () => this.isLeader(),
        leader: () => this.leaderAddress(),
        flags: () => this.flags(),
        log: o.log,
      }),
    )
    // No idle timeout on keep-alive connections (like libprocess); 0 also stops node:http from adding a
    // `Keep-Alive: timeout=…` header that real Mesos never sends. (`Connection: keep-alive` stays: node:http
    // always writes it.)
    server.keepAliveTimeout = 0
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
      id: randomUUID(),
      ip: legacyIp(o.ip),
      port,
      pid: `master@${o.ip}:${port}`,
      hostname,
      version: MESOS_VERSION,
      address: {hostname, ip: o.ip, port},
      capabilities: [{type: 'AGENT_UPDATE'}, {type: 'AGENT_DRAINING'}, {type: 'QUOTA_V2'}],
    }
    this._state = createMasterState({
      masterInfo: info,
      allocationIntervalMs: o.allocationIntervalMs,
      heartbeatIntervalSec: o.heartbeatIntervalSec,
      agentPingTimeoutMs: o.agentPingTimeoutMs,
      maxAgentPingTimeouts: o.maxAgentPingTimeouts,
      failoverCapMs: o.failoverCapMs,
      defaultRefuseSeconds: o.defaultRefuseSeconds,
      registry: o.registry,
      agentReregisterTimeoutMs: o.agentReregisterTimeoutMs,
      log: o.log,
    })
    this.link = agentLink(this._state)
    if (o.zk === undefined) {
      this.lead()
      return
    }
    try {
      this.zk = await ZkClient.connect(o.zk)
      const zkPath = parseZkUrl(o.zk).path
      // Like a real master with the replicated-log registry: `<path>/log_replicas/<seq>` (ephemeral) holding
      // `log-replica(1)@ip:port`, created before json.info_ — which is why real numbering starts at 1 (Surprise
      // 34). We keep no replicated log; the node only makes the ZooKeeper layout look the same.
      await this.registerLogReplica(`${zkPath.replace(/\/$/, '')}/log_replicas`, `log-replica(1)@${o.ip}:${port}`)
      const node = await registerMaster(this.zk, zkPath, info)
      o.log(`master ${o.ip}:${port}: contending for leadership as ${node}`)
      this.detector = await createMasterDetector(o.zk)
      this.detector.on('leader', (m: DetectedMaster | null) => this.onLeader(m))
      this.onLeader(this.detector.current())
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /**
   * `<dir>/<10-digit seq>` (ephemeral). Real masters create nameless EPHEMERAL_SEQUENTIAL children; the ZooKeeper
   * client library refuses a path ending in '/', so the next free number is taken explicitly instead.
   */
  private async registerLogReplica(dir: string, data: string): Promise<void> {
    const zk = this.zk!
    await zk.mkdirp(dir)
    const taken = new Set(await zk.children(dir))
    for (let n = taken.size; n < taken.size + 100; n++) {
      const name = String(n).padStart(10, '0')
      if (taken.has(name)) continue
      try {
        await zk.create(`${dir}/${name}`, Buffer.from(data), {ephemeral: true})
        return
      } catch (err) {
        if (!(err instanceof ZkError && err.code === 'NODE_EXISTS')) throw err
      }
    }
  }

  private onLeader(m: DetectedMaster | null): void {
    if (this.stopped || !this._state) return
    if (m?.info?.id === this._state.info.id) {
      this.lead()
    } else if (this._state.leading) {
      this.opts.log(`master ${this.url}: another master leads now (${m ? `${m.host}:${m.port}` : 'none'}); stepping down`)
      stepDown(this._state)
    }
  }

  /** Leads; a newly elected master first recovers the agents the registry lists (agent-lifecycle.ts recoverAgents). */
  private lead(): void {
    if (this._state && becomeLeader(this._state)) recoverAgents(this._state)
  }

  /** Graceful removal of an agent that shut down (e.g. SIGTERM): its tasks are reported lost at once. */
  agentUnregistered(agentId: string): void {
    if (this._state?.leading) removeAgent(this._state, agentId, 'the agent unregistered', false)
  }

  /** Stops serving, closes all streams and leaves ZooKeeper (the json.info_ node disappears at once). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this._state) stepDown(this._state)
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
