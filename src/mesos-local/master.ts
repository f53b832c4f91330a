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
import {ZkClient, ZkError} from '../lib/zk/client.js'
import {parseZkUrl} from '../lib/zk/url.js'
import {MasterAgentLink, recoverAgents, removeAgent} from './agents.js'
import type {MasterPort} from './link.js'
import {MasterCore} from './master-core.js'
import {buildMasterHandler} from './master-http.js'
import {Registry} from './registry.js'
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
  private readonly opts: Required<Omit<LocalMasterOptions, 'zk' | 'failoverCapMs' | 'workDir' | 'hostname' | 'defaultRefuseSeconds'>> & LocalMasterOptions
  private server: http.Server | undefined
  private _core: MasterCore | undefined
  private link: MasterAgentLink | undefined
  private zk: ZkClient | undefined
  private detector: MasterDetector | undefined
  private stopped = false

  constructor(opts: LocalMasterOptions = {}) {
    this.opts = {
      ip: '127.0.0.1', port: 0, allocationIntervalMs: 1000, heartbeatIntervalSec: 15, agentPingTimeoutMs: 15_000,
      maxAgentPingTimeouts: 5, agentReregisterTimeoutMs: 10 * 60_000, registry: new Registry(), log: () => {},
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

  /**
   * /master/flags: every flag a Mesos 1.12 master shows, with Mesos' defaults, except where this master differs:
   * the configured intervals/addresses, `registry: in_memory` (no replicated log) and no `webui_dir` (no web UI).
   */
  flags(): Record<string, string> {
    const o = this.opts
    return {
      agent_ping_timeout: durationText(o.agentPingTimeoutMs), agent_reregister_timeout: durationText(o.agentReregisterTimeoutMs),
      allocation_interval: durationText(o.allocationIntervalMs), allocator: 'hierarchical', allocator_agent_recovery_factor: '0.8',
      allocator_recovery_timeout: '10mins', authenticate_agents: 'false', authenticate_frameworks: 'false',
      authenticate_http_frameworks: 'false', authenticate_http_readonly: 'false', authenticate_http_readwrite: 'false',
      authentication_v0_timeout: '15secs', authenticators: 'crammd5', authorizers: 'local', filter_gpu_resources: 'true',
      framework_sorter: 'drf', help: 'false', hostname: this.core.info.hostname ?? o.ip, hostname_lookup: 'true', http_authenticators: 'basic',
      initialize_driver_logging: 'true', ip: o.ip, log_auto_initialize: 'true', logbufsecs: '0', logging_level: 'INFO',
      max_agent_ping_timeouts: String(o.maxAgentPingTimeouts), max_completed_frameworks: '50', max_completed_tasks_per_framework: '1000',
      max_operator_event_stream_subscribers: '1000', max_unreachable_tasks_per_framework: '1000', memory_profiling: 'false',
      min_allocatable_resources: 'cpus:0.01|mem:32', offer_constraints_re2_max_mem: '4KB', offer_constraints_re2_max_program_size: '100',
      port: String(this.core.info.port), publish_per_framework_metrics: 'true', quiet: 'false', ...(o.zk !== undefined ? {quorum: '1'} : {}),
      recovery_agent_removal_limit: '100%', registry: 'in_memory', registry_fetch_timeout: '1mins', registry_gc_interval: '15mins',
      registry_max_agent_age: '2weeks', registry_max_agent_count: '102400', registry_store_timeout: '20secs', registry_strict: 'false',
      require_agent_domain: 'false', role_sorter: 'drf', root_submissions: 'true', version: 'false', work_dir: o.workDir ?? '',
      ...(o.zk !== undefined ? {zk: o.zk} : {}), zk_session_timeout: '10secs',
    }
  }

  async start(): Promise<void> {
    const o = this.opts
    const server = http.createServer(buildMasterHandler({
      core: () => this.core, isLeader: () => this.isLeader(), leader: () => this.leaderAddress(), flags: () => this.flags(), log: o.log,
    }))
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
      id: randomUUID(), ip: legacyIp(o.ip), port, pid: `master@${o.ip}:${port}`, hostname, version: MESOS_VERSION,
      address: {hostname, ip: o.ip, port}, capabilities: [{type: 'AGENT_UPDATE'}, {type: 'AGENT_DRAINING'}, {type: 'QUOTA_V2'}],
    }
    this._core = new MasterCore({
      masterInfo: info, allocationIntervalMs: o.allocationIntervalMs, heartbeatIntervalSec: o.heartbeatIntervalSec,
      agentPingTimeoutMs: o.agentPingTimeoutMs, maxAgentPingTimeouts: o.maxAgentPingTimeouts, failoverCapMs: o.failoverCapMs,
      defaultRefuseSeconds: o.defaultRefuseSeconds, registry: o.registry, agentReregisterTimeoutMs: o.agentReregisterTimeoutMs, log: o.log,
    })
    this.link = new MasterAgentLink(this._core)
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
    if (this.stopped || !this._core) return
    if (m?.info?.id === this._core.id) {
      this.lead()
    } else if (this._core.leading) {
      this.opts.log(`master ${this.url}: another master leads now (${m ? `${m.host}:${m.port}` : 'none'}); stepping down`)
      this._core.shutdown()
    }
  }

  /** Leads; a newly elected master first recovers the agents the registry lists (agents.ts recoverAgents). */
  private lead(): void {
    if (this._core?.becomeLeader()) recoverAgents(this._core)
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
