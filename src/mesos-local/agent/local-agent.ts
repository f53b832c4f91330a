/**
 * LocalAgent: the agent half of the embedded local Mesos. Runs executors as process groups on this
 * machine, serves the v1 executor API on its own loopback ip, and talks to the master in-process
 * (AgentPort / MasterPort, see ../link.ts). This file holds the agent's lifecycle and its registration with
 * the master, and turns AgentPort calls into calls of the functions that do the work on the agent's state
 * (state.ts, a plain record):
 *   launch.ts (LAUNCH, starting executors), termination.ts (KILL, shutdown, executor exit, ACK, GC),
 *   executor-calls.ts (executor calls), updates.ts (status updates), status-updates.ts (their reliable
 *   delivery), checkpoint.ts and recovery.ts (checkpoint, recovery), views.ts (executor-API backend, /state,
 *   task views), volumes.ts (checkpointed resources, persistent volumes), files.ts (/files/read), http.ts (the
 *   agent's HTTP server).
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
import type {Resource} from '../../lib/mesos/types.js'
import type {AgentPort, MasterPort} from '../link.js'
import {withRole} from '../resources.js'
import {readCheckpoint, readResourcesCheckpoint, removeCheckpoint, saveCheckpoint} from './checkpoint.js'
import {destroyContainer} from './containerizer.js'
import {deliverMessage} from './executor-calls.js'
import {filesRead} from './files.js'
import {buildAgentHandler, listenAgent, type AgentServer} from './http.js'
import {launchTask} from './launch.js'
import {recoverCheckpoint} from './recovery.js'
import {endpointOf, type AgentState, type ExecutorRecord, type LocalAgentOptions, type ResolvedAgentOptions} from './state.js'
import {StatusUpdateManager, type UpdateFaults} from './status-updates.js'
import {acknowledge, executorExited, killTask, shutdownAll, shutdownExecutor, shutdownFramework} from './termination.js'
import {agentStateJson, executorBackend, taskViews} from './views.js'
import {checkpointResources} from './volumes.js'

export type {LocalAgentOptions, ResolvedAgentOptions} from './state.js'

/** A status update manager that forwards to the master the agent reports to and checkpoints every change. */
function newUpdateManager(o: ResolvedAgentOptions, agent: () => AgentState, faults: UpdateFaults = {}): StatusUpdateManager {
  const sum = new StatusUpdateManager({
    retryMinMs: o.statusUpdateRetryMinMs,
    retryMaxMs: o.statusUpdateRetryMaxMs,
    forward: (fid, status) => agent().master?.statusUpdate(agent().id, fid, status),
    onChange: () => saveCheckpoint(agent()),
  })
  sum.faults = faults
  return sum
}

export class LocalAgent {
  readonly port: AgentPort
  private readonly state: AgentState
  private server: AgentServer | undefined
  /** Reverse lookup of the registered master's ip, for /state `master_hostname` (undefined while unknown). */
  private masterHostname: string | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private reregisterTimer: NodeJS.Timeout | undefined
  private startTime = 0
  private pendingGone: ExecutorRecord[] = []

  constructor(opts: LocalAgentOptions) {
    const backoff = opts.subscriptionBackoffMaxMs ?? 2000
    const options: ResolvedAgentOptions = {
      executorShutdownGracePeriodMs: 5000,
      recoveryTimeoutMs: 15 * 60_000,
      executorRegistrationTimeoutMs: 60_000,
      statusUpdateRetryMinMs: 10_000,
      statusUpdateRetryMaxMs: 600_000,
      masterPollMs: 200,
      masterFlag: '',
      ...opts,
      subscriptionBackoffMaxMs: backoff,
      executorReregistrationTimeoutMs: opts.executorReregistrationTimeoutMs ?? backoff,
      log: opts.log ?? (() => {}),
    }
    const state: AgentState = {
      options,
      id: '',
      tcpPort: opts.port,
      running: false,
      master: null,
      frameworks: new Map(),
      executors: new Map(),
      tasks: new Map(),
      completed: [],
      updates: newUpdateManager(options, () => state),
    }
    this.state = state
    this.port = {
      get id() {
        return state.id
      },
      get endpoint() {
        return endpointOf(state)
      },
      info: () => this.info(),
      totalResources: () => state.checkpointed ?? withRole(options.resources, '*'),
      checkpointResources: (total) => {
        // A real agent exits when it cannot apply them; here the master's call must not throw: logged, old total kept.
        try {
          checkpointResources(state, total)
        } catch (e) {
          options.log(`agent ${endpointOf(state)}: failed to update checkpointed resources: ${(e as Error).message}`)
        }
      },
      launch: (fw, task, executor) => launchTask(state, fw, task, executor),
      kill: (fid, taskId, policy) => killTask(state, fid, taskId, policy),
      shutdownExecutor: (fid, eid) => shutdownExecutor(state, fid, eid.value),
      message: (fid, eid, data) => deliverMessage(state, fid, eid.value, data),
      acknowledge: (fid, taskId, uuid) => acknowledge(state, fid, taskId, uuid),
      shutdownFramework: (fid) => shutdownFramework(state, fid),
      tasks: (fid) => taskViews(state, fid),
    }
  }

  get endpoint(): string {
    return endpointOf(this.state)
  }
  get id(): string {
    return this.state.id
  }
  get ip(): string {
    return this.state.options.ip
  }
  /** The agent's executors (tests look at their records). */
  get executors(): ReadonlyMap<string, ExecutorRecord> {
    return this.state.executors
  }
  /** Fault hooks of the status update manager (tests). */
  get faults(): UpdateFaults {
    return this.state.updates.faults
  }
  set faults(f: UpdateFaults) {
    this.state.updates.faults = f
  }

  info(): {hostname: string; port: number; resources: Resource[]; id?: {value: string}} {
    const s = this.state
    return {
      hostname: s.options.hostname,
      port: s.tcpPort,
      resources: withRole(s.options.resources, '*'),
      ...(s.id ? {id: {value: s.id}} : {}),
    }
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    const s = this.state
    const o = s.options
    if (s.running) return
    fs.mkdirSync(o.workDir, {recursive: true})
    const cp = readCheckpoint(o.workDir)
    s.checkpointed = readResourcesCheckpoint(o.workDir)
    if (cp) {
      s.id = cp.agentId
      if (s.tcpPort === 0) s.tcpPort = cp.port
    }
    s.updates = newUpdateManager(o, () => s, s.updates.faults)
    const state = (): Record<string, unknown> => agentStateJson(s, this.startTime, this.masterHostname)
    const handler = buildAgentHandler({executor: executorBackend(s), state, filesRead: (q) => filesRead(s, q)})
    this.server = await listenAgent(handler, o.ip, s.tcpPort)
    s.tcpPort = this.server.port
    s.running = true
    this.startTime = Date.now() / 1000
    if (cp) {
      const recovered = recoverCheckpoint(s, cp)
      this.pendingGone = recovered.gone
      this.reregisterTimer = recovered.reregisterTimer
    }
    saveCheckpoint(s)
    this.pollMaster()
    this.pollTimer = setInterval(() => this.pollMaster(), o.masterPollMs)
    this.pollTimer.unref()
  }

  async stop(opts: {kill: boolean}): Promise<void> {
    const s = this.state
    if (!s.running) return
    if (!opts.kill) {
      await shutdownAll(s)
      for (const ex of s.executors.values()) if (ex.pid !== undefined && ex.state !== 'TERMINATED') destroyContainer(ex.pid)
    }
    s.running = false
    this.pendingGone = []
    clearInterval(this.pollTimer)
    clearTimeout(this.reregisterTimer)
    s.updates.stop()
    for (const ex of s.executors.values()) {
      ex.watch?.abort()
      ex.command?.detach()
      clearTimeout(ex.registrationTimer as NodeJS.Timeout)
      clearTimeout(ex.shutdownTimer as NodeJS.Timeout)
      ex.stream?.destroy()
      ex.stream = undefined
    }
    if (opts.kill) saveCheckpoint(s)
    else removeCheckpoint(s.options.workDir)
    await this.server?.close()
    this.server = undefined
    const m = s.master
    s.master = null
    if (m && s.id) m.agentDisconnected(s.id)
    s.frameworks.clear()
    s.executors.clear()
    s.tasks.clear()
    s.completed = []
    if (!opts.kill) s.id = ''
  }

  // ------------------------------------------------------------------ registration with the master

  private pollMaster(): void {
    const s = this.state
    const o = s.options
    if (!s.running) return
    let m: MasterPort | null
    try {
      m = o.master()
    } catch (e) {
      m = null
      o.log(`agent ${endpointOf(s)}: no master: ${(e as Error).message}`)
    }
    if (m === s.master) return
    s.updates.pause()
    s.master = null
    if (!m) return
    const reregister = s.id !== ''
    let agentId: {value: string}
    try {
      agentId = m.registerAgent(this.port, reregister).agentId
    } catch (e) {
      o.log(`agent ${endpointOf(s)}: registration failed: ${(e as Error).message}`)
      return
    }
    if (s.id && agentId.value !== s.id) o.log(`agent ${s.id}: master assigned a different id ${agentId.value}`)
    s.id = agentId.value
    s.master = m
    o.log(`agent ${endpointOf(s)} ${reregister ? 're-registered' : 'registered'} as ${s.id}`)
    this.lookupMasterHostname(m)
    saveCheckpoint(s)
    s.updates.resume()
    // Executors found dead during recovery are reported once a master listens.
    for (const ex of this.pendingGone.splice(0)) executorExited(s, ex, ex.goneExit ?? {waitStatus: null, code: null, signal: null}, true)
  }

  /** /state `master_hostname`: like a real agent, the name getnameinfo gives the master's ip (none if it has none). */
  private lookupMasterHostname(m: MasterPort): void {
    this.masterHostname = undefined
    const ip = m.masterInfo?.().address?.ip
    if (ip === undefined) return
    dns.lookupService(ip, 0).then(
      ({hostname}) => {
        if (this.state.master === m) this.masterHostname = hostname
      },
      () => {},
    )
  }
}
