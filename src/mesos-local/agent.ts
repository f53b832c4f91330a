/**
 * LocalAgent: the agent half of the embedded local Mesos. Runs executors as process groups on this
 * machine, serves the v1 executor API on its own loopback ip, and talks to the master in-process
 * (AgentPort / MasterPort, see link.ts). This file holds the agent's state, its lifecycle and its
 * registration with the master; the work is done by:
 *   agent-launch.ts (LAUNCH, starting executors), agent-termination.ts (KILL, shutdown, executor exit, ACK, GC),
 *   agent-recovery.ts (checkpoint contents, recovery), agent-views.ts (executor-API backend, /state, task
 *   views), executor-calls.ts (executor calls), status-updates.ts (reliable updates), agent-state.ts (records).
 *
 * Lifecycle: new → start() (recover checkpoint, listen, register; re-registers whenever `master()`
 * returns a different MasterPort) → stop({kill:false}) clean shutdown (executors shut down, checkpoint
 * removed) | stop({kill:true}) simulated crash (HTTP breaks, executors keep running, checkpoint kept;
 * start() again recovers: same id/port, executors of checkpointing frameworks must re-SUBSCRIBE within
 * the re-registration timeout or are destroyed with REASON_EXECUTOR_REREGISTRATION_TIMEOUT).
 * Invariants: every update sent to the master goes through the status update manager (has a uuid);
 * a task's record is dropped only after its terminal update was acknowledged; the checkpoint is
 * rewritten after every change.
 */
import dns from 'node:dns/promises'
import fs from 'node:fs'
import type {Resource, TaskID} from '../lib/mesos/types.js'
import type {AgentPort, MasterPort} from './link.js'
import {listenAgent, buildAgentHandler, type AgentServer} from './agent-http.js'
import {launchTask, watchExecutor} from './agent-launch.js'
import {checkpointSnapshot, recoverCheckpoint} from './agent-recovery.js'
import type {ExecutorRecord, FrameworkRecord, TaskRecord, Termination} from './agent-state.js'
import * as end from './agent-termination.js'
import {agentStateJson, executorBackend, taskViews} from './agent-views.js'
import {readCheckpoint, removeCheckpoint, writeCheckpoint} from './checkpoint.js'
import {destroyContainer, type ContainerExit} from './containerizer.js'
import {ExecutorCalls} from './executor-calls.js'
import {bareResources, withRole} from './resources.js'
import {StatusUpdateManager, type UpdateFaults} from './status-updates.js'

export interface LocalAgentOptions {
  index: number
  ip: string
  hostname: string
  port: number
  workDir: string
  resources: Resource[]
  master: () => MasterPort | null
  log?: (line: string) => void
  executorShutdownGracePeriodMs?: number
  recoveryTimeoutMs?: number
  subscriptionBackoffMaxMs?: number
  executorRegistrationTimeoutMs?: number
  /** How long recovered executors get to re-SUBSCRIBE (Mesos --executor_reregistration_timeout); default subscriptionBackoffMaxMs. */
  executorReregistrationTimeoutMs?: number
  /** Status update resend base/cap (default 10 s / 10 min). */
  statusUpdateRetryMinMs?: number
  statusUpdateRetryMaxMs?: number
  /** How often `master()` is polled for a new leader (default 200 ms). */
  masterPollMs?: number
  /** The `master` flag shown in /state (zk://… or ip:port); default: the registered master's ip:port. */
  masterFlag?: string
}

/** LocalAgentOptions with every default filled in. */
export type ResolvedAgentOptions = Required<Omit<LocalAgentOptions, 'log'>> & {log: (line: string) => void}

export class LocalAgent {
  readonly port: AgentPort
  private readonly o: ResolvedAgentOptions
  private agentId = ''
  private tcpPort: number
  private server: AgentServer | undefined
  private registeredWith: MasterPort | null = null
  /** Reverse lookup of the registered master's ip, for /state `master_hostname` (undefined while unknown). */
  private masterHostname: string | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private reregisterTimer: NodeJS.Timeout | undefined
  private running = false
  private startTime = 0
  readonly frameworks = new Map<string, FrameworkRecord>()
  readonly executors = new Map<string, ExecutorRecord>()
  readonly tasks = new Map<string, TaskRecord>()
  /** Executors gone and forgotten (the last 150; /state `completed_executors`). */
  completed: ExecutorRecord[] = []
  private pendingGone: ExecutorRecord[] = []
  private sum: StatusUpdateManager
  /** Executor calls and events (executor-calls.ts). */
  readonly calls: ExecutorCalls

  constructor(opts: LocalAgentOptions) {
    const backoff = opts.subscriptionBackoffMaxMs ?? 2000
    this.o = {
      executorShutdownGracePeriodMs: 5000, recoveryTimeoutMs: 15 * 60_000, executorRegistrationTimeoutMs: 60_000,
      statusUpdateRetryMinMs: 10_000, statusUpdateRetryMaxMs: 600_000, masterPollMs: 200, masterFlag: '',
      ...opts,
      subscriptionBackoffMaxMs: backoff,
      executorReregistrationTimeoutMs: opts.executorReregistrationTimeoutMs ?? backoff,
      log: opts.log ?? (() => {}),
    }
    this.tcpPort = opts.port
    this.sum = this.newSum()
    this.calls = new ExecutorCalls(this)
    const self = this // for the getters below
    this.port = {
      get id() { return self.agentId },
      get endpoint() { return self.endpoint },
      info: () => this.info(),
      totalResources: () => withRole(this.o.resources, '*'),
      launch: (fw, task, executor) => launchTask(this, fw, task, executor),
      kill: (fid, taskId, policy) => end.killTask(this, fid, taskId, policy),
      shutdownExecutor: (fid, eid) => this.shutdownExecutor(fid, eid.value),
      message: (fid, eid, data) => this.calls.deliverMessage(fid, eid.value, data),
      acknowledge: (fid, taskId, uuid) => end.acknowledge(this, fid, taskId, uuid),
      shutdownFramework: (fid) => end.shutdownFramework(this, fid),
      tasks: (fid) => taskViews(this, fid),
    }
  }

  get endpoint(): string {
    return `${this.o.ip}:${this.tcpPort}`
  }
  get id(): string {
    return this.agentId
  }
  get ip(): string {
    return this.o.ip
  }
  get tcp(): number {
    return this.tcpPort
  }
  get log(): (line: string) => void {
    return this.o.log
  }
  get options(): Readonly<ResolvedAgentOptions> {
    return this.o
  }
  /** Between start() and stop(). */
  get isRunning(): boolean {
    return this.running
  }
  /** Fault hooks of the status update manager (tests). */
  get faults(): UpdateFaults {
    return this.sum.faults
  }
  set faults(f: UpdateFaults) {
    this.sum.faults = f
  }

  info(): {hostname: string; port: number; resources: Resource[]; id?: {value: string}} {
    return {hostname: this.o.hostname, port: this.tcpPort, resources: withRole(this.o.resources, '*'), ...(this.agentId ? {id: {value: this.agentId}} : {})}
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.running) return
    fs.mkdirSync(this.o.workDir, {recursive: true})
    const cp = readCheckpoint(this.o.workDir)
    if (cp) {
      this.agentId = cp.agentId
      if (this.tcpPort === 0) this.tcpPort = cp.port
    }
    this.sum = this.newSum(this.sum.faults)
    const state = (): Record<string, unknown> => agentStateJson(this, this.startTime, this.masterHostname)
    this.server = await listenAgent(buildAgentHandler({executor: executorBackend(this), state}), this.o.ip, this.tcpPort)
    this.tcpPort = this.server.port
    this.running = true
    this.startTime = Date.now() / 1000
    if (cp) {
      const recovered = recoverCheckpoint(this, cp)
      this.pendingGone = recovered.gone
      this.reregisterTimer = recovered.reregisterTimer
    }
    this.checkpoint()
    this.pollMaster()
    this.pollTimer = setInterval(() => this.pollMaster(), this.o.masterPollMs)
    this.pollTimer.unref()
  }

  async stop(opts: {kill: boolean}): Promise<void> {
    if (!this.running) return
    if (!opts.kill) {
      await end.shutdownAll(this)
      for (const ex of this.executors.values()) if (ex.pid !== undefined && ex.state !== 'TERMINATED') destroyContainer(ex.pid)
    }
    this.running = false
    this.pendingGone = []
    clearInterval(this.pollTimer)
    clearTimeout(this.reregisterTimer)
    this.sum.stop()
    for (const ex of this.executors.values()) {
      ex.watch?.abort()
      ex.command?.detach()
      clearTimeout(ex.registrationTimer as NodeJS.Timeout)
      clearTimeout(ex.shutdownTimer as NodeJS.Timeout)
      ex.stream?.destroy()
      ex.stream = undefined
    }
    if (opts.kill) this.checkpoint()
    else removeCheckpoint(this.o.workDir)
    await this.server?.close()
    this.server = undefined
    const m = this.registeredWith
    this.registeredWith = null
    if (m && this.agentId) m.agentDisconnected(this.agentId)
    this.frameworks.clear()
    this.executors.clear()
    this.tasks.clear()
    this.completed = []
    if (!opts.kill) this.agentId = ''
  }

  private newSum(faults: UpdateFaults = {}): StatusUpdateManager {
    const sum = new StatusUpdateManager({
      retryMinMs: this.o?.statusUpdateRetryMinMs ?? 10_000,
      retryMaxMs: this.o?.statusUpdateRetryMaxMs ?? 600_000,
      forward: (fid, status) => this.registeredWith?.statusUpdate(this.agentId, fid, status),
      onChange: () => this.checkpoint(),
    })
    sum.faults = faults
    return sum
  }

  // ------------------------------------------------------------------ registration with the master

  private pollMaster(): void {
    if (!this.running) return
    let m: MasterPort | null
    try {
      m = this.o.master()
    } catch (e) {
      m = null
      this.o.log(`agent ${this.endpoint}: no master: ${(e as Error).message}`)
    }
    if (m === this.registeredWith) return
    this.sum.pause()
    this.registeredWith = null
    if (!m) return
    const reregister = this.agentId !== ''
    let agentId: {value: string}
    try {
      agentId = m.registerAgent(this.port, reregister).agentId
    } catch (e) {
      this.o.log(`agent ${this.endpoint}: registration failed: ${(e as Error).message}`)
      return
    }
    if (this.agentId && agentId.value !== this.agentId) this.o.log(`agent ${this.agentId}: master assigned a different id ${agentId.value}`)
    this.agentId = agentId.value
    this.registeredWith = m
    this.o.log(`agent ${this.endpoint} ${reregister ? 're-registered' : 'registered'} as ${this.agentId}`)
    this.lookupMasterHostname(m)
    this.checkpoint()
    this.sum.resume()
    // Executors found dead during recovery are reported once a master listens.
    for (const ex of this.pendingGone.splice(0)) this.executorExited(ex, ex.goneExit ?? {waitStatus: null, code: null, signal: null})
  }

  /** /state `master_hostname`: like a real agent, the name getnameinfo gives the master's ip (none if it has none). */
  private lookupMasterHostname(m: MasterPort): void {
    this.masterHostname = undefined
    const ip = m.masterInfo?.().address?.ip
    if (ip === undefined) return
    dns.lookupService(ip, 0).then(({hostname}) => {
      if (this.registeredWith === m) this.masterHostname = hostname
    }, () => {})
  }

  /** Master to report to right now (null while unregistered). */
  get master(): MasterPort | null {
    return this.registeredWith
  }

  // ------------------------------------------------------------------ updates and executors

  /** An update made by the agent itself (SOURCE_AGENT, with uuid, no container_status). */
  agentUpdate(ex: ExecutorRecord, taskId: TaskID, term: Termination): void {
    this.calls.acceptUpdate(ex, end.agentStatus(this, taskId, term, ex.id), false)
  }

  /** Status update manager (used by executor-calls.ts). */
  get updates(): StatusUpdateManager {
    return this.sum
  }

  // Entry points of agent-termination.ts and agent-launch.ts (documented there), for the agent's modules.
  shutdownExecutor(fid: string, eid: string): void {
    end.shutdownExecutor(this, fid, eid)
  }
  destroy(ex: ExecutorRecord, termination?: Termination): void {
    end.destroy(this, ex, termination)
  }
  executorExited(ex: ExecutorRecord, exit: ContainerExit, sendFailure = true): void {
    end.executorExited(this, ex, exit, sendFailure)
  }
  gc(fid: string, eid?: string): void {
    end.gc(this, fid, eid)
  }
  graceMs(ex: ExecutorRecord): number {
    return end.graceMs(this, ex)
  }
  watchExecutor(ex: ExecutorRecord): void {
    watchExecutor(this, ex)
  }

  /** Agent resources as executors see them (no role, no allocation_info). */
  agentInfoForExecutors(): {hostname: string; port: number; resources: Resource[]; id: {value: string}} {
    return {hostname: this.o.hostname, port: this.tcpPort, resources: bareResources(this.o.resources), id: {value: this.agentId}}
  }

  /** Rewrite the checkpoint (while running and registered once). */
  checkpoint(): void {
    if (!this.running || !this.agentId) return
    writeCheckpoint(this.o.workDir, checkpointSnapshot(this))
  }
}
