/**
 * startLocalMesos: the embedded local Mesos = N masters (N > 1 needs ZooKeeper) + M agents in this process.
 * Agents register with whichever master currently leads (`master()` below); agent i listens on 127.0.0.(i+2)
 * and advertises that ip as its hostname (resolvable, like `--hostname=<ip>`), work dir `<workDir>/agent-<i+1>` (restarts recover from it).
 * stop() stops agents (killing their executors) and then masters; nothing is left running.
 * The masters share one Registry (master/registry.ts) of admitted agents: it survives killMaster, so a newly elected
 * master waits for the agents the old leader admitted (up to `agentReregisterTimeoutMs`) like real Mesos.
 *
 * Layout: master/ (one master: its state record in state.ts, the modules that work on it, local-master.ts serving
 * it), agent/ (one agent: likewise, local-agent.ts), and what both use: link.ts (the in-process link between
 * them), resources.ts (resource text and arithmetic), mesos-version.ts (the Mesos version they claim to be).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {LocalAgent, type LocalAgentOptions} from './agent/local-agent.js'
import type {AgentPort, MasterPort} from './link.js'
import {LocalMaster} from './master/local-master.js'
import {Registry} from './master/registry.js'
import {parseResources} from './resources.js'

export interface LocalMesosOptions {
  agents?: number
  host?: string
  port?: number
  masters?: number
  zk?: string
  workDir?: string
  agentResources?: string
  allocationIntervalMs?: number
  heartbeatIntervalSec?: number
  agentPingTimeoutMs?: number
  maxAgentPingTimeouts?: number
  failoverCapMs?: number
  /** refuse_seconds of a DECLINE/ACCEPT without filters (default 5 like Mesos; tests shrink it). */
  defaultRefuseSeconds?: number
  /** Mesos --agent_reregister_timeout: how long a new leader waits for the agents it recovered (default 10 min). */
  agentReregisterTimeoutMs?: number
  /** Agent tunables (tests shrink Mesos' intervals: status update resends, grace periods, timeouts). */
  agentOptions?: AgentTunables
  log?: (line: string) => void
}

/** The LocalAgentOptions a caller may tune (everything except identity, placement and wiring). */
export type AgentTunables = Partial<
  Omit<LocalAgentOptions, 'index' | 'ip' | 'hostname' | 'port' | 'workDir' | 'resources' | 'master' | 'log'>
>

export interface LocalAgentHandle {
  index: number
  agent: LocalAgent
  readonly port: AgentPort
  /** `ip:port` of the agent's HTTP endpoint. */
  readonly endpoint: string
  /** Agent id ('' until registered). */
  readonly id: string
  running: boolean
}

export interface LocalMesos {
  /** The leading master, `http://ip:port` (the first master's URL while none leads). */
  readonly masterUrl: string
  /** Masters' and agents' work dirs are under it; a temp dir made by startLocalMesos is removed by stop(). */
  readonly workDir: string
  masters: LocalMaster[]
  agents: LocalAgentHandle[]
  stop(): Promise<void>
  stopAgent(i: number, how: 'kill' | 'graceful'): Promise<void>
  startAgent(i: number): Promise<void>
  killMaster(i: number): Promise<void>
}

export const DEFAULT_AGENT_RESOURCES = 'cpus:2;mem:4096;disk:10000;ports:[31000-32000]'

export async function startLocalMesos(opts: LocalMesosOptions = {}): Promise<LocalMesos> {
  const nMasters = opts.masters ?? 1
  if (nMasters > 1 && opts.zk === undefined) throw new Error(`${nMasters} masters need ZooKeeper: pass zk (zk://host:port/path)`)
  const nAgents = opts.agents ?? 3
  const host = opts.host ?? '127.0.0.1'
  const log = opts.log ?? (() => {})
  const resources = parseResources(opts.agentResources ?? DEFAULT_AGENT_RESOURCES)
  const ownWorkDir = opts.workDir === undefined
  const workDir = opts.workDir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mesos-local-')))
  const masters: LocalMaster[] = []
  const registry = new Registry()
  const alive = new Set<LocalMaster>()
  const agents: LocalAgentHandle[] = []

  const leader = (): LocalMaster | undefined => masters.find((m) => alive.has(m) && m.isLeader())
  const masterPort = (): MasterPort | null => leader()?.port ?? null

  const stopAll = async (): Promise<void> => {
    await Promise.all(
      agents.map(async (h) => {
        if (!h.running) return
        h.running = false
        await h.agent.stop({kill: false}).catch((e: unknown) => log(`stopping agent ${h.index + 1}: ${String(e)}`))
      }),
    )
    await Promise.all(
      masters.map(async (m) => {
        alive.delete(m)
        await m.stop().catch((e: unknown) => log(`stopping master: ${String(e)}`))
      }),
    )
    // A temp dir of our own (no workDir given): every executor and its sandbox is gone now; the next start makes
    // a new one, so nothing in it can be used again (hundreds of MB of etcd data per run otherwise stay in /tmp).
    if (ownWorkDir)
      await fs.promises.rm(workDir, {recursive: true, force: true}).catch((e: unknown) => log(`removing ${workDir}: ${String(e)}`))
  }

  try {
    for (let i = 0; i < nMasters; i++) {
      const m = new LocalMaster({
        ip: host,
        port: i === 0 ? (opts.port ?? 0) : 0,
        zk: opts.zk,
        allocationIntervalMs: opts.allocationIntervalMs,
        heartbeatIntervalSec: opts.heartbeatIntervalSec,
        agentPingTimeoutMs: opts.agentPingTimeoutMs,
        maxAgentPingTimeouts: opts.maxAgentPingTimeouts,
        failoverCapMs: opts.failoverCapMs,
        defaultRefuseSeconds: opts.defaultRefuseSeconds,
        registry,
        agentReregisterTimeoutMs: opts.agentReregisterTimeoutMs,
        workDir: path.join(workDir, `master-${i + 1}`),
        log,
      })
      masters.push(m)
      await m.start()
      alive.add(m)
    }
    const deadline = Date.now() + 15_000
    while (!leader()) {
      if (Date.now() > deadline) throw new Error('no local Mesos master became leader within 15 s')
      await new Promise((r) => setTimeout(r, 20))
    }
    for (let i = 0; i < nAgents; i++) {
      const agent = new LocalAgent({
        ...opts.agentOptions,
        index: i,
        ip: `127.0.0.${i + 2}`,
        hostname: `127.0.0.${i + 2}`,
        port: 0,
        workDir: path.join(workDir, `agent-${i + 1}`),
        resources,
        master: masterPort,
        masterFlag: opts.zk ?? `${host}:${masters[0]!.info.port}`,
        log,
      })
      const h: LocalAgentHandle = {
        index: i,
        agent,
        running: false,
        get port() {
          return agent.port
        },
        get endpoint() {
          return agent.port.endpoint
        },
        get id() {
          return agent.port.id
        },
      }
      agents.push(h)
      await agent.start()
      h.running = true
    }
  } catch (err) {
    await stopAll()
    throw err
  }

  const agentAt = (i: number): LocalAgentHandle => {
    const h = agents[i]
    if (!h) throw new RangeError(`no agent ${i} (there are ${agents.length})`)
    return h
  }

  return {
    get masterUrl() {
      return (leader() ?? masters[0]!).url
    },
    workDir,
    masters,
    agents,
    stop: stopAll,
    async stopAgent(i, how) {
      const h = agentAt(i)
      if (!h.running) return
      const id = h.id
      h.running = false
      await h.agent.stop({kill: how === 'kill'})
      if (how === 'graceful' && id !== '') leader()?.agentUnregistered(id)
    },
    async startAgent(i) {
      const h = agentAt(i)
      if (h.running) return
      await h.agent.start()
      h.running = true
    },
    async killMaster(i) {
      const m = masters[i]
      if (!m) throw new RangeError(`no master ${i} (there are ${masters.length})`)
      alive.delete(m)
      await m.stop()
    },
  }
}
