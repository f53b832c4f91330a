/**
 * Resilience scenario harness: one scenario = a fresh cluster name, its own in-process local Mesos (so the
 * scenario can stop/restart agents, kill a master and inject status-update faults), `etcd-mesos serve` as a
 * subprocess with short timings, real etcd members launched by our executor, the writer running through
 * the fault, a wait for recovery (healthy, clusterSize running voting members, writes acknowledged again),
 * then the checker (checker.ts). This module holds the scenario contract (ScenarioDef, Expect, results) and
 * the context a fault works with (Ctx: setup, serve, local Mesos, writer, teardown); run.ts runs one scenario
 * end to end and produces its row {scenario, ok, recoveryMs, writesAcked, writesLost, …}.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {startLocalMesos, type AgentTunables, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {
  ETCD_BIN,
  Logs,
  RUN_JS,
  etcdNames,
  etcdPids,
  members,
  sandboxLogs,
  startServe,
  stats,
  sweep,
  type MemberView,
  type ServeProc,
  type StatsView,
} from '../helpers/serve.js'
import {freePort, randomPortRange, waitFor} from '../helpers/ports.js'
import type {ZkServer} from '../helpers/zookeeper.js'
import {Writer} from './writer.js'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface Expect {
  /** The scenario must re-seed (true) or must not (false); 'no-seed': a re-seed may START (cluster_reseeds counts
   *  starts) but must end without asking any member to become the seed (so nothing is destroyed). */
  reseed: boolean | 'no-seed'
  /** The scenario ends in TOTAL_LOSS (no recovery, nothing launched). */
  totalLoss?: boolean
  /** The cluster is rebuilt from a backup (restore-check.ts decides which writes must survive): the inject sets
   *  `ctx.lostAt`, the time from which no member of the old cluster exists. */
  restore?: boolean
  /** Exact number of new tasks launched because of the fault (undefined: not checked). */
  launched?: number
  /** Upper bound of new tasks launched (a launch intent persisted but cut by a scheduler kill counts too). */
  launchedAtMost?: number
  /** Lost-quorum episodes counted: 'none' (0), 'some' (≥ 1) or 'any'. */
  livelocks: 'none' | 'some' | 'any'
}

export interface ScenarioDef {
  name: string
  description: string
  expect: Expect
  masters?: number
  /** `--cluster-size` (default 3); the local Mesos runs `agents` agents, default max(5, size + 2). */
  size?: number
  agents?: number
  agentOptions?: AgentTunables
  /** Extra serve flags. */
  serveArgs?: string[]
  /** Extra serve flags that need the scenario's work dir (e.g. a backup target in it). */
  serveArgsFor?: (ctx: Ctx) => Promise<string[]>
  /** The `--etcd-bin` for serve (default ETCD_BIN), prepared once the scenario's work dir exists (netfaults.ts). */
  etcdBin?: (ctx: Ctx) => Promise<string>
  /** Injects the fault; returns once it is injected (and, for timed faults, lifted). */
  inject(ctx: Ctx): Promise<void>
  /** Extra condition for "recovered" (besides healthy with clusterSize running voting members). */
  recovered?: (ctx: Ctx, st: StatsView, ms: MemberView[]) => boolean
  recoveryTimeoutMs?: number
  /** Undoes what the scenario set up outside its work dir (teardown calls it, whatever happened). */
  cleanup?: (ctx: Ctx) => Promise<void>
}

export interface ScenarioResult {
  scenario: string
  ok: boolean
  recoveryMs: number | null
  writesAcked: number
  writesLost: number
  lostByReseed: number
  longestUnavailableMs: number
  failures: string[]
  notes: string[]
  durationMs: number
  faultsInjected?: number
  /** With a role: reservations and volumes left over after recovery (leaks.ts); undefined without a role. */
  leaks?: number
  /** Restore scenarios: ms of acknowledged writes before the loss missing from the restored data (restore-check.ts). */
  recoveryPointMs?: number | null
}

export interface Shared {
  zk: ZkServer
  /** Directory for logs of failed scenarios. */
  logDir: string
  /** Run serve with this Mesos role (reservations and persistent volumes, issue 14); the leak check runs too. */
  role?: string
}

/** What a scenario's fault works with. */
export class Ctx {
  readonly logs = new Logs()
  readonly notes: string[] = []
  readonly mesosLog: string[] = []
  serve!: ServeProc
  mesos!: LocalMesos
  writer!: Writer
  workDir = ''
  adminPort = 0
  serveGen = 0
  /** Tasks the fault ended (failed_servers must grow by at least this). */
  killedTasks = 0
  faultAt = 0
  /** /stats just before the fault. */
  baseline!: StatsView
  /** /members just before the fault. */
  baselineMembers: MemberView[] = []
  /** Restore scenarios: when the old cluster was gone (set by the inject). */
  lostAt = 0
  /** Restore scenarios: the running restore as /stats showed it once its backup was resolved (monitor in run.ts). */
  restoreSeen: {backup: string; toRevision: number; recoveryPointSeconds: number | null; dataUntil: string | null} | null = null
  private endpoints: string[] = []
  private serveArgs: string[] = []

  constructor(
    readonly def: ScenarioDef,
    readonly cluster: string,
    readonly shared: Shared,
    readonly size = 3,
  ) {}

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`
  }

  note(s: string): void {
    this.notes.push(s)
  }

  stats(): Promise<StatsView> {
    return stats(this.adminUrl)
  }

  members(): Promise<MemberView[]> {
    return members(this.adminUrl)
  }

  clientUrls(): string[] {
    return [...this.endpoints]
  }

  async leader(): Promise<MemberView> {
    // After a scheduler restart the new one stands by until the old one's ZooKeeper session expires (10 s),
    // then reconciles before it probes: allow for both.
    return waitUntil('a leader in /members', async () => (await this.members()).find((m) => m.leader), 45_000)
  }

  async followers(): Promise<MemberView[]> {
    const l = await this.leader()
    return (await this.members()).filter((m) => m.name !== l.name)
  }

  agentIndexOf(m: MemberView): number {
    const i = this.mesos.agents.findIndex((a) => a.endpoint.startsWith(`${m.host}:`))
    if (i < 0) throw new Error(`no local agent runs on host ${m.host}`)
    return i
  }

  agentDir(i: number): string {
    return path.join(this.workDir, `agent-${i + 1}`)
  }

  /** The agent is gone for good with its data: stopped hard (no goodbye), its executors and etcd killed. */
  async loseAgent(i: number): Promise<void> {
    await this.mesos.stopAgent(i, 'kill')
    await sweep(this.agentDir(i))
  }

  /** Stops serve (SIGTERM: the members keep running), changes its flags, starts it again (rolling upgrades). */
  async restartServeWith(change: (args: string[]) => string[]): Promise<void> {
    await this.serve.stop()
    this.serveArgs = change([...this.serveArgs])
    await this.startServe()
  }

  async startServe(): Promise<void> {
    this.serveGen++
    this.serve = await startServe(this.serveArgs, this.logs, `serve#${this.serveGen}`, {adminPort: this.adminPort})
  }

  async killServe(): Promise<void> {
    const pid = this.serve.child.pid
    if (pid !== undefined && !this.serve.exited()) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
    await this.serve.exit
  }

  /** SIGKILLs serve the moment its log shows `re` (an injection point); resolves with the matching line. */
  killServeOn(re: RegExp, timeoutMs: number): Promise<string> {
    const child = this.serve.child
    return new Promise((resolve, reject) => {
      let buf = ''
      const onData = (d: Buffer): void => {
        buf = (buf + d.toString('utf8')).slice(-20_000)
        const m = re.exec(buf)
        if (!m) return
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          /* gone */
        }
        cleanup()
        const line = buf.slice(buf.lastIndexOf('\n', m.index) + 1).split('\n')[0] ?? m[0]
        resolve(line)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`serve never logged ${re} within ${timeoutMs} ms`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        child.stderr?.off('data', onData)
        child.stdout?.off('data', onData)
      }
      child.stderr?.on('data', onData)
      child.stdout?.on('data', onData)
    })
  }

  /** All serve logs of this scenario so far (every generation). */
  serveLogs(): string {
    return this.logs.dump(2_000_000)
  }

  async setup(): Promise<void> {
    this.workDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `res-${this.cluster}-`))
    const [lo] = randomPortRange()
    const masters = this.def.masters ?? 1
    const mesosZk = `${this.shared.zk.url}/mesos-${this.cluster}`
    this.logs.add('in-process mesos-local', () => this.mesosLog.slice(-600).join('\n'))
    this.logs.add('executor sandboxes', () => sandboxLogs(this.workDir))
    this.logs.add('etcd logs', () => sandboxLogs(this.workDir, 'etcd.stderr', 3000))
    this.mesos = await startLocalMesos({
      agents: this.def.agents ?? Math.max(5, this.size + 2),
      port: 0,
      workDir: this.workDir,
      allocationIntervalMs: 200,
      heartbeatIntervalSec: 1,
      agentPingTimeoutMs: 1000,
      maxAgentPingTimeouts: 3,
      defaultRefuseSeconds: 1,
      ...(masters > 1 ? {masters, zk: mesosZk} : {}),
      agentResources: `cpus:4;mem:8192;disk:20000;ports:[${lo}-${lo + 199}]`,
      agentOptions: {
        statusUpdateRetryMinMs: 2000,
        statusUpdateRetryMaxMs: 10_000,
        executorShutdownGracePeriodMs: 3000,
        ...this.def.agentOptions,
      },
      log: (l) => {
        this.mesosLog.push(`${new Date().toISOString()} ${l}`)
        if (this.mesosLog.length > 5000) this.mesosLog.splice(0, 1000)
      },
    })
    const master = masters > 1 ? mesosZk : new URL(this.mesos.masterUrl).host
    this.serveArgs = [
      '--master',
      master,
      '--cluster-name',
      this.cluster,
      '--cluster-size',
      String(this.size),
      '--health-interval',
      '1',
      '--bootstrap-wait',
      '3',
      '--reseed-timeout',
      '15',
      '--member-grace',
      '5',
      '--failover-timeout-seconds',
      '300',
      '--mesos-offer-refuse-seconds',
      '1',
      '--executor-bin',
      RUN_JS,
      '--etcd-bin',
      this.def.etcdBin ? await this.def.etcdBin(this) : ETCD_BIN,
      '--zk-framework-persist',
      `${this.shared.zk.url}/resilience`,
      ...(this.shared.role ? ['--framework-role', this.shared.role, '--mesos-authentication-principal', 'resilience'] : []),
      ...(this.def.serveArgs ?? []),
      ...(this.def.serveArgsFor ? await this.def.serveArgsFor(this) : []),
    ]
    this.adminPort = await freePort()
    await this.startServe()
    const ms = await this.waitHealthy(90_000)
    this.endpoints = ms.map((m) => m.client_url)
    this.writer = new Writer(`w/${this.cluster}/`, () => this.endpoints)
  }

  /** Keeps the writer's endpoints in line with /members (the last known ones while serve is down). */
  async refreshEndpoints(): Promise<void> {
    try {
      const ms = await this.members()
      const urls = ms.filter((m) => m.state === 'TASK_RUNNING' && !m.is_learner).map((m) => m.client_url)
      if (urls.length > 0) this.endpoints = urls
    } catch {
      /* serve down or restarting: keep the last known endpoints */
    }
  }

  /** Healthy with `size` running, healthy voting members (and serve's own view agrees). */
  async isHealthy(): Promise<{st: StatsView; ms: MemberView[]} | null> {
    try {
      const st = await this.stats()
      const ms = await this.members()
      const ok =
        st.healthy === 1 &&
        st.running_servers === this.size &&
        st.mode === 'MUTABLE' &&
        ms.length === this.size &&
        ms.every((m) => m.state === 'TASK_RUNNING' && m.healthy === true && !m.is_learner)
      return ok ? {st, ms} : null
    } catch {
      return null
    }
  }

  async waitHealthy(timeoutMs: number): Promise<MemberView[]> {
    try {
      return (await waitUntil(`${this.size} healthy voting members`, () => this.isHealthy(), timeoutMs)).ms
    } catch (err) {
      throw new Error(`${(err as Error).message}; ${await this.lastSeen()}`)
    }
  }

  /** What the scheduler shows now: mode, and each member's state, health and the probe error (for failure messages). */
  async lastSeen(): Promise<string> {
    const st = await this.stats().catch(() => null)
    const ms = await this.members().catch(() => [] as MemberView[])
    const seen = ms.map(
      (m) =>
        `${m.name} ${m.state} healthy=${m.healthy}${m.is_learner ? ' learner' : ''}${m.leader ? ' leader' : ''} term=${m.raft_term ?? '?'}${m.probe_error ? ` (${m.probe_error})` : ''}`,
    )
    return `last seen: ${st ? `mode ${st.mode} healthy=${st.healthy} running=${st.running_servers}` : '/stats unavailable'}; ${seen.join('; ')}`
  }

  async teardown(): Promise<void> {
    await this.def.cleanup?.(this).catch(() => undefined)
    await this.serve?.stop().catch(() => undefined)
    await this.mesos?.stop().catch(() => undefined)
    if (this.workDir) await sweep(this.workDir)
    await sweepClusterEtcd(this.cluster)
    if (this.workDir) await fs.promises.rm(this.workDir, {recursive: true, force: true}).catch(() => undefined)
  }
}

async function sweepClusterEtcd(cluster: string): Promise<void> {
  for (const n of etcdNames(cluster)) {
    for (const p of etcdPids(n)) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * Recovered only once a new task replaced each of `victims` (their names gone from /members). With a role
 * (persistent volumes) a member whose etcd died on a live agent is relaunched on its volume instead: the same
 * name with a new task counts too.
 */
export const replaced =
  (victims: () => string[]) =>
  (ctx: Ctx, st: {launched_servers: number}, ms: MemberView[]): boolean => {
    if (st.launched_servers < ctx.baseline.launched_servers + victims().length) return false
    if (!ctx.shared.role) return !ms.some((m) => victims().includes(m.name))
    const before = new Set(ctx.baselineMembers.map((m) => m.task_id))
    return victims().every((v) => ms.every((m) => m.name !== v || !before.has(m.task_id)))
  }

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  return (await waitFor(what, fn, timeoutMs, everyMs)) as T
}
