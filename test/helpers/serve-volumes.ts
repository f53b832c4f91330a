/**
 * Shared by the test/integration/serve-volumes-*.test.ts files (issue 14, serve with a role on the local Mesos):
 * an IN-PROCESS local Mesos (so a test can stop and restart an agent on its work dir, as the resilience harness
 * does) with short agent timeouts and refuse periods, serve's flags for a role, and readers of the master's own
 * view of reservations and volumes (/master/slaves) and of a member's own etcd store.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {fetchSlaves, reservedTo, type Reserved} from '../resilience/leaks.js'
import {
  ETCD_BIN,
  type Logs,
  type MemberView,
  memberList,
  randomPortRange,
  RUN_JS,
  type ServeProc,
  sandboxLogs,
  type serveSuite,
  startServe,
  sweep,
  sweepCluster,
  until,
  waitHealthyMembers,
} from './serve.js'

export interface VolumeMember extends MemberView {
  volume?: {persistence_id: string; size_mb: number; container_path: string} | null
  reservation?: {role: string; principal: string | null; agent_id: string; ports: number[]} | null
}

export interface RoleMesos {
  mesos: LocalMesos
  workDir: string
  /** http://ip:port of the master. */
  url: string
  /** ip:port (serve's --master). */
  hostPort: string
  portRange: [number, number]
  /** The index of the local agent a member runs on (its host is the agent's ip). */
  agentIndexOf(m: {host: string}): number
  agentDir(i: number): string
  /** What is reserved to `role`, by agent, as the master lists it. */
  reserved(role: string): Promise<Reserved[]>
  stop(): Promise<void>
}

/**
 * `agents` local agents, the master removes an agent after `pingTimeoutMs` x 3 without pings (an agent stopped
 * for good is then lost: TASK_LOST, agent removed), offers declined without filters come back after 1 s.
 */
export async function startRoleMesos(
  logs: Logs,
  opts: {agents: number; pingTimeoutMs: number; cpus?: number; mem?: number; disk?: number},
): Promise<RoleMesos> {
  const workDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'it-pv-mesos-'))
  const [lo] = randomPortRange()
  const lines: string[] = []
  logs.add('in-process mesos-local', () => lines.slice(-800).join('\n'))
  const mesos = await startLocalMesos({
    agents: opts.agents,
    port: 0,
    workDir,
    allocationIntervalMs: 200,
    heartbeatIntervalSec: 1,
    agentPingTimeoutMs: opts.pingTimeoutMs,
    maxAgentPingTimeouts: 3,
    defaultRefuseSeconds: 1,
    agentResources: `cpus:${opts.cpus ?? 4};mem:${opts.mem ?? 8192};disk:${opts.disk ?? 20_000};ports:[${lo}-${lo + 199}]`,
    agentOptions: {statusUpdateRetryMinMs: 2000, statusUpdateRetryMaxMs: 10_000, executorShutdownGracePeriodMs: 3000},
    log: (l) => {
      lines.push(`${new Date().toISOString()} ${l}`)
      if (lines.length > 5000) lines.splice(0, 1000)
    },
  })
  const url = mesos.masterUrl
  return {
    mesos,
    workDir,
    url,
    hostPort: new URL(url).host,
    portRange: [lo, lo + 199],
    agentIndexOf(m) {
      const i = mesos.agents.findIndex((a) => a.endpoint.startsWith(`${m.host}:`))
      if (i < 0) throw new Error(`no local agent runs on host ${m.host}`)
      return i
    },
    agentDir: (i) => path.join(workDir, `agent-${i + 1}`),
    reserved: async (role) => reservedTo(await fetchSlaves(url), role),
    async stop() {
      await mesos.stop().catch(() => undefined)
      await sweep(workDir)
      if (!process.env.KEEP_TEST_DIRS) await fs.promises.rm(workDir, {recursive: true, force: true}).catch(() => undefined)
    },
  }
}

/**
 * serve's flags for a cluster of `size` with `role` and principal it-pv (fast timers, 1 s refuse period, failover
 * timeout 300 s; `refuseSec` / `failoverSec` null: serve's defaults).
 */
export function roleArgs(o: {
  cluster: string
  master: string
  role: string
  zk: string
  size?: number
  refuseSec?: number | null
  failoverSec?: number | null
  extra?: string[]
}): string[] {
  const refuse = o.refuseSec === null ? [] : ['--mesos-offer-refuse-seconds', String(o.refuseSec ?? 1)]
  const failover = o.failoverSec === null ? [] : ['--failover-timeout-seconds', String(o.failoverSec ?? 300)]
  return [
    '--cluster-name',
    o.cluster,
    '--cluster-size',
    String(o.size ?? 3),
    '--health-interval',
    '1',
    '--bootstrap-wait',
    '3',
    '--member-grace',
    '5',
    ...refuse,
    ...failover,
    '--executor-bin',
    RUN_JS,
    '--etcd-bin',
    ETCD_BIN,
    '--zk-framework-persist',
    `${o.zk}/etcd-mesos`,
    '--master',
    o.master,
    '--framework-role',
    o.role,
    '--mesos-authentication-principal',
    'it-pv',
    ...(o.extra ?? []),
  ]
}

/**
 * An in-process local Mesos (`agents`, `pingTimeoutMs`) and serve for `cluster` with `role` on it, both cleaned up
 * by the suite (the cluster's processes swept), the executor sandboxes in the logs; resolves once 3 members are healthy.
 */
export async function startRoleCluster(
  suite: ReturnType<typeof serveSuite>,
  logs: Logs,
  o: {cluster: string; role: string; agents: number; pingTimeoutMs: number},
): Promise<{rm: RoleMesos; serve: ServeProc; members: VolumeMember[]}> {
  const rm = await startRoleMesos(logs, {agents: o.agents, pingTimeoutMs: o.pingTimeoutMs})
  suite.cleanups.push(() => rm.stop())
  suite.cleanups.push(() => sweepCluster(o.cluster))
  logs.add('executor sandboxes', () => sandboxLogs(rm.workDir))
  const serve = await startServe(roleArgs({cluster: o.cluster, master: rm.hostPort, role: o.role, zk: suite.zk().url}), logs)
  suite.cleanups.push(() => serve.stop())
  const members = (await waitHealthyMembers(serve.adminUrl, 3, 120_000)) as VolumeMember[]
  return {rm, serve, members}
}

/** Waits until 3 members are healthy and `victim`'s name runs again in a new task: that member and all of them. */
export function waitRelaunched(adminUrl: string, victim: MemberView, timeoutMs: number): Promise<{m: VolumeMember; ms: VolumeMember[]}> {
  return until(
    `${victim.name} relaunched`,
    async () => {
      const ms = (await waitHealthyMembers(adminUrl, 3, 1000).catch(() => null)) as VolumeMember[] | null
      const m = ms?.find((x) => x.name === victim.name && x.task_id !== victim.task_id && x.state === 'TASK_RUNNING')
      return m && ms ? {m, ms} : undefined
    },
    timeoutMs,
    300,
  )
}

/** Waits until 3 members are healthy and `victim`'s name is not among them (it was replaced): the members. */
export function waitReplaced(adminUrl: string, what: string, victim: MemberView, timeoutMs: number): Promise<VolumeMember[]> {
  return until(
    what,
    async () => {
      const ms = (await waitHealthyMembers(adminUrl, 3, 1000).catch(() => null)) as VolumeMember[] | null
      return ms && !ms.some((m) => m.name === victim.name) ? ms : undefined
    },
    timeoutMs,
    300,
  )
}

/**
 * `back` (waitRelaunched) is `victim` relaunched in place: the members of `before`, and the victim on the same agent
 * and ports, as the same etcd member, on the same volume, listed by etcd among 3.
 */
export async function assertRelaunchedInPlace(
  back: {m: VolumeMember; ms: VolumeMember[]},
  victim: VolumeMember,
  before: VolumeMember[],
): Promise<void> {
  assert.deepEqual(back.ms.map((m) => m.name).sort(), before.map((m) => m.name).sort(), 'the same members: no replacement')
  assert.equal(back.m.agent_id, victim.agent_id, 'the same agent')
  assert.equal(back.m.client_url, victim.client_url, 'the same ports')
  assert.equal(back.m.member_id, victim.member_id, 'the same etcd member id')
  assert.equal(back.m.volume?.persistence_id, victim.volume?.persistence_id, 'the same volume')
  const list = await memberList(back.ms.map((m) => m.client_url))
  assert.equal(list.length, 3)
  assert.ok(list.some((m) => m.id === victim.member_id && m.name === victim.name))
}

/** The volume directory of persistence id `pid` under an agent's work dir (<agent>/volumes/roles/<role>/<pid>), or null. */
export function volumeDir(agentDir: string, role: string, pid: string): string | null {
  const p = path.join(agentDir, 'volumes', 'roles', role, pid)
  return fs.existsSync(p) ? p : null
}

/** GET /metrics as text. */
export async function metricsText(adminUrl: string): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`, {signal: AbortSignal.timeout(5000)})
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`)
  return res.text()
}

/** The value of a metric's sample (its labels, if any, ignored: the first sample), or null. */
export function metricValue(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : null
}
