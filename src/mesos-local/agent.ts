/**
 * LocalAgent: the agent half of the embedded local Mesos. Runs executors as process groups on this
 * machine, serves the v1 executor API on its own loopback ip, and talks to the master in-process
 * (AgentPort / MasterPort, see link.ts).
 *
 * Lifecycle: new → start() (recover checkpoint, listen, register; re-registers whenever `master()`
 * returns a different MasterPort) → stop({kill:false}) clean shutdown (executors shut down, checkpoint
 * removed) | stop({kill:true}) simulated crash (HTTP breaks, executors keep running, checkpoint kept;
 * start() again recovers: same id/port, executors of checkpointing frameworks must re-SUBSCRIBE within
 * the re-registration timeout or are destroyed with REASON_EXECUTOR_REREGISTRATION_TIMEOUT).
 * Executor states and records: agent-state.ts. Reliable updates: status-updates.ts.
 * Invariants: every update sent to the master goes through the status update manager (has a uuid);
 * a task's record is dropped only after its terminal update was acknowledged; the checkpoint is
 * rewritten after every change.
 */
import {randomUUID} from 'node:crypto'
import dns from 'node:dns/promises'
import fs from 'node:fs'
import path from 'node:path'
import {formatDuration} from '../lib/mesos/duration.js'
import {TERMINAL_STATES, type ExecutorInfo, type FrameworkID, type FrameworkInfo, type KillPolicy, type Resource, type TaskID, type TaskInfo, type TaskStatus} from '../lib/mesos/types.js'
import {uuidBase64} from '../lib/mesos/uuid.js'
import type {AgentPort, AgentTaskView, MasterPort} from './link.js'
import {listenAgent, buildAgentHandler, type AgentServer} from './agent-http.js'
import {COMMAND_EXECUTOR_RESOURCES, agentFlags, buildAgentState, type ExecutorRecord, type FrameworkRecord, type TaskRecord, type Termination} from './agent-state.js'
import {readCheckpoint, removeCheckpoint, writeCheckpoint, CHECKPOINT_VERSION, type AgentCheckpoint} from './checkpoint.js'
import {CommandExecutor} from './command-executor.js'
import {destroyContainer, executorEnvironment, forgetExited, isAlive, knownExit, launchProcess, watchExit, type ContainerExit} from './containerizer.js'
import type {ExecutorApiBackend, ExecutorLookup, ExecutorStream} from './executor-api.js'
import {ExecutorCalls} from './executor-calls.js'
import {fetchAll} from './fetcher.js'
import {bareResources, formatResources, withRole} from './resources.js'
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

const key = (a: string, b: string): string => `${a}\u0000${b}`
const isTerminal = (s: TaskStatus['state']): boolean => TERMINAL_STATES.has(s)

export class LocalAgent {
  readonly port: AgentPort
  private readonly o: Required<Omit<LocalAgentOptions, 'log'>> & {log: (line: string) => void}
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
  private completed: ExecutorRecord[] = []
  private pendingGone: ExecutorRecord[] = []
  private sum: StatusUpdateManager
  private readonly calls: ExecutorCalls

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
      launch: (fw, task, executor) => this.launch(fw, task, executor),
      kill: (fid, taskId, policy) => this.kill(fid, taskId, policy),
      shutdownExecutor: (fid, eid) => this.shutdownExecutor(fid, eid.value),
      message: (fid, eid, data) => this.calls.deliverMessage(fid, eid.value, data),
      acknowledge: (fid, taskId, uuid) => this.acknowledge(fid, taskId, uuid),
      shutdownFramework: (fid) => this.shutdownFramework(fid),
      tasks: (fid) => this.taskViews(fid),
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
  get options(): Readonly<LocalAgentOptions> {
    return this.o
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
    this.server = await listenAgent(buildAgentHandler({executor: this.backend(), state: () => this.stateJson()}), this.o.ip, this.tcpPort)
    this.tcpPort = this.server.port
    this.running = true
    this.startTime = Date.now() / 1000
    if (cp) this.recover(cp)
    this.checkpoint()
    this.pollMaster()
    this.pollTimer = setInterval(() => this.pollMaster(), this.o.masterPollMs)
    this.pollTimer.unref()
  }

  async stop(opts: {kill: boolean}): Promise<void> {
    if (!this.running) return
    if (!opts.kill) {
      await this.shutdownAll()
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

  private async shutdownAll(): Promise<void> {
    const live = [...this.executors.values()].filter((e) => e.state !== 'TERMINATED')
    const polls: NodeJS.Timeout[] = []
    const exits = live.map((e) => new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (e.state === 'TERMINATED') {
          clearInterval(t)
          resolve()
        }
      }, 50)
      polls.push(t)
    }))
    for (const e of live) this.shutdownExecutor(e.frameworkId, e.id)
    const grace = Math.max(this.o.executorShutdownGracePeriodMs, ...live.map((e) => this.graceMs(e))) + 3000
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(exits), new Promise((r) => (timer = setTimeout(r, grace)))])
    // Else they keep the process alive: the grace timer after every stop, the polls forever for a laggard.
    clearTimeout(timer)
    for (const t of polls) clearInterval(t)
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

  // ------------------------------------------------------------------ AgentPort

  private launch(framework: FrameworkInfo & {id: FrameworkID}, task: TaskInfo, executor?: ExecutorInfo): void {
    if (!this.running) return this.o.log(`agent ${this.endpoint}: not running, dropping task ${task.task_id.value}`)
    const fid = framework.id.value
    const fw = this.frameworks.get(fid)
    if (fw?.removing) return this.o.log(`Ignoring task ${task.task_id.value}: framework ${fid} is terminating`)
    this.frameworks.set(fid, {info: framework, removing: false})
    const isCommand = executor === undefined
    const eid = isCommand ? task.task_id.value : executor.executor_id.value
    this.tasks.set(key(fid, task.task_id.value), {frameworkId: fid, executorId: eid, info: task, state: 'TASK_STAGING', statuses: []})
    let ex = this.executors.get(key(fid, eid))
    if (ex && ex.state !== 'TERMINATED') {
      if (ex.state === 'TERMINATING' || isCommand) {
        this.agentUpdate(ex, task.task_id, {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminating'})
      } else if (ex.state === 'REGISTERING' || (ex.stream === undefined && ex.recovered)) {
        ex.queued.push(task)
      } else {
        this.calls.deliverLaunch(ex, task)
      }
      return this.checkpoint()
    }
    const info: ExecutorInfo = isCommand
      ? {executor_id: {value: eid}, framework_id: {value: fid}, name: `Command Executor (Task: ${eid}) (Command: sh -c '${task.command?.value ?? ''}')`, source: eid, command: task.command, resources: COMMAND_EXECUTOR_RESOURCES, ...(task.labels ? {labels: task.labels} : {})}
      : {...executor, framework_id: {value: fid}}
    const containerId = randomUUID()
    const directory = path.join(this.o.workDir, 'slaves', this.agentId, 'frameworks', fid, 'executors', eid, 'runs', containerId)
    ex = {frameworkId: fid, id: eid, kind: isCommand ? 'command' : 'custom', info, containerId, directory, state: 'REGISTERING', queued: [task], recovered: false}
    if (this.completed.some((c) => c.frameworkId === fid && c.id === eid)) this.completed = this.completed.filter((c) => !(c.frameworkId === fid && c.id === eid))
    this.executors.set(key(fid, eid), ex)
    this.checkpoint()
    void this.startExecutor(ex, framework)
  }

  private async startExecutor(ex: ExecutorRecord, fw: FrameworkInfo & {id: FrameworkID}): Promise<void> {
    const env = executorEnvironment({
      agentIp: this.o.ip, agentPort: this.tcpPort, agentId: this.agentId, frameworkId: ex.frameworkId, executorId: ex.id,
      directory: ex.directory, checkpoint: fw.checkpoint === true, shutdownGracePeriod: formatDuration(this.graceMs(ex)),
      recoveryTimeout: formatDuration(this.o.recoveryTimeoutMs), subscriptionBackoffMax: formatDuration(this.o.subscriptionBackoffMaxMs),
      command: ex.info.command,
    })
    try {
      fs.mkdirSync(ex.directory, {recursive: true})
      await fetchAll(ex.info.command?.uris, ex.directory)
      if (ex.kind === 'command') {
        const task = ex.queued[0]!
        await fetchAll(task.command?.uris?.filter((u) => !(ex.info.command?.uris ?? []).includes(u)), ex.directory)
      }
    } catch (e) {
      return this.launchFailed(ex, (e as Error).message)
    }
    if (ex.state !== 'REGISTERING' || !this.running) return
    if (ex.kind === 'command') return this.startCommand(ex, fw, env)
    try {
      const {pid} = await launchProcess({command: ex.info.command ?? {}, sandbox: ex.directory, env})
      ex.pid = pid
    } catch (e) {
      return this.launchFailed(ex, `Failed to launch container: ${(e as Error).message}`)
    }
    this.checkpoint()
    this.watchExecutor(ex)
    if (ex.state !== 'REGISTERING') return // killed while starting
    ex.registrationTimer = setTimeout(() => {
      if (ex.state !== 'REGISTERING') return
      this.o.log(`Terminating executor ${ex.id}: did not register within ${formatDuration(this.o.executorRegistrationTimeoutMs)}`)
      this.destroy(ex, {state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT', message: `Executor did not register within ${formatDuration(this.o.executorRegistrationTimeoutMs)}`})
    }, this.o.executorRegistrationTimeoutMs)
    ;(ex.registrationTimer as NodeJS.Timeout).unref()
  }

  private startCommand(ex: ExecutorRecord, fw: FrameworkInfo, env: Record<string, string>): void {
    const task = ex.queued.shift()!
    ex.state = 'RUNNING'
    ex.command = new CommandExecutor({
      task, sandbox: ex.directory, env, log: this.o.log,
      killingState: (fw.capabilities ?? []).some((c) => c.type === 'TASK_KILLING_STATE'),
      update: (status) => {
        if (ex.command?.pid !== undefined) ex.pid = ex.command.pid
        this.calls.acceptUpdate(ex, status, true)
      },
      onExit: (exit) => this.executorExited(ex, exit),
    })
    void ex.command.launch().then(() => {
      ex.pid = ex.command?.pid
      this.checkpoint()
    })
  }

  private launchFailed(ex: ExecutorRecord, message: string): void {
    this.o.log(`Executor ${ex.id} of framework ${ex.frameworkId} failed to start: ${message}`)
    ex.pendingTermination = {state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message}
    this.executorExited(ex, {waitStatus: null, code: null, signal: null}, false)
  }

  watchExecutor(ex: ExecutorRecord): void {
    if (ex.pid === undefined) return
    ex.watch?.abort()
    const ac = new AbortController()
    ex.watch = ac
    void watchExit(ex.pid, {signal: ac.signal}).then((exit) => {
      if (!ac.signal.aborted) this.executorExited(ex, exit)
    })
  }

  private kill(fid: string, taskId: TaskID, killPolicy?: KillPolicy): void {
    if (!this.frameworks.has(fid)) return this.o.log(`Ignoring kill of task ${taskId.value}: no framework ${fid}`)
    const t = this.tasks.get(key(fid, taskId.value))
    const ex = t ? this.executors.get(key(fid, t.executorId)) : undefined
    if (!t || !ex || ex.state === 'TERMINATED') {
      const status = this.makeAgentStatus(taskId, {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Cannot find executor'})
      this.sum.enqueue(fid, status)
      return
    }
    if (isTerminal(t.state)) return this.o.log(`Ignoring kill of task ${taskId.value}: already ${t.state}`)
    const qi = ex.queued.findIndex((q) => q.task_id.value === taskId.value)
    if (qi >= 0) {
      ex.queued.splice(qi, 1)
      this.agentUpdate(ex, taskId, {state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH', message: 'Killed before delivery to the executor'})
      const live = [...this.tasks.values()].some((x) => x.frameworkId === fid && x.executorId === ex.id && !isTerminal(x.state))
      if (!live && ex.state === 'REGISTERING') this.destroy(ex)
      return this.checkpoint()
    }
    if (ex.state === 'TERMINATING') return this.o.log(`Ignoring kill of task ${taskId.value}: executor ${ex.id} is terminating`)
    if (ex.kind === 'command') {
      ex.killing = true
      ex.command?.kill()
      return this.checkpoint()
    }
    if (!ex.stream) return this.o.log(`Dropping kill of task ${taskId.value}: executor ${ex.id} is not connected`)
    ex.stream.send({type: 'KILL', kill: {task_id: taskId, ...(killPolicy ? {kill_policy: killPolicy} : {})}})
  }

  shutdownExecutor(fid: string, eid: string): void {
    const ex = this.executors.get(key(fid, eid))
    if (!ex || ex.state === 'TERMINATED' || ex.state === 'TERMINATING') return
    if (ex.state === 'REGISTERING' || (ex.recovered && !ex.stream)) {
      return this.destroy(ex, {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated'})
    }
    ex.state = 'TERMINATING'
    ex.pendingTermination = {state: 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated'}
    if (ex.kind === 'command') ex.command?.kill()
    else ex.stream?.send({type: 'SHUTDOWN'})
    ex.shutdownTimer = setTimeout(() => {
      if (ex.state !== 'TERMINATED') this.destroy(ex)
    }, this.graceMs(ex))
    ;(ex.shutdownTimer as NodeJS.Timeout).unref()
    this.checkpoint()
  }

  /** Destroy the container now (SIGKILL of its process group); the exit watcher finishes the job. */
  destroy(ex: ExecutorRecord, termination?: Termination): void {
    if (ex.state === 'TERMINATED') return
    if (termination) ex.pendingTermination = termination
    ex.state = 'TERMINATING'
    if (ex.pid !== undefined) {
      destroyContainer(ex.pid)
      if (!ex.watch && ex.kind === 'custom') this.watchExecutor(ex)
    } else if (ex.kind === 'command' && ex.command) {
      ex.command.kill()
    } else {
      this.executorExited(ex, {waitStatus: null, code: null, signal: null}, false)
    }
  }

  private acknowledge(fid: string, taskId: TaskID, uuid: string): void {
    const res = this.sum.acknowledge(fid, taskId.value, uuid)
    if (res !== 'acknowledged') return this.o.log(`Ignoring ACK ${uuid} for task ${taskId.value} of framework ${fid}: ${res}`)
    const t = this.tasks.get(key(fid, taskId.value))
    if (t && isTerminal(t.state) && !this.sum.hasStream(fid, taskId.value)) {
      this.tasks.delete(key(fid, taskId.value))
      this.gc(fid, t.executorId)
    }
    this.checkpoint()
  }

  private shutdownFramework(fid: string): void {
    const fw = this.frameworks.get(fid)
    if (!fw) return
    fw.removing = true
    this.sum.cleanupFramework(fid)
    for (const ex of [...this.executors.values()]) if (ex.frameworkId === fid) this.shutdownExecutor(fid, ex.id)
    this.gc(fid)
    this.checkpoint()
  }

  private taskViews(fid?: string): AgentTaskView[] {
    return [...this.tasks.values()]
      .filter((t) => fid === undefined || t.frameworkId === fid)
      .map((t) => {
        const ex = this.executors.get(key(t.frameworkId, t.executorId)) ?? this.completed.find((c) => c.frameworkId === t.frameworkId && c.id === t.executorId)
        const head = this.sum.head(t.frameworkId, t.info.task_id.value)
        return {
          frameworkId: t.frameworkId,
          task: t.info,
          ...(ex?.kind === 'command' ? {} : {executorId: t.executorId}),
          state: t.state,
          ...(head ? {statusUpdateState: head.state, statusUpdateUuid: head.uuid} : {}),
          statuses: t.statuses,
        }
      })
  }

  // ------------------------------------------------------------------ executor termination

  /** The executor's process is gone: FAILURE (custom executors), then agent updates for its live tasks. */
  executorExited(ex: ExecutorRecord, exit: ContainerExit, sendFailure = true): void {
    if (ex.state === 'TERMINATED') return
    ex.state = 'TERMINATED'
    ex.watch?.abort()
    ex.watch = undefined
    clearTimeout(ex.registrationTimer as NodeJS.Timeout)
    clearTimeout(ex.shutdownTimer as NodeJS.Timeout)
    if (ex.pid !== undefined) {
      destroyContainer(ex.pid)
      forgetExited(ex.pid)
    }
    ex.stream?.close()
    ex.stream = undefined
    const fw = this.frameworks.get(ex.frameworkId)
    this.o.log(`Executor ${ex.id} of framework ${ex.frameworkId} terminated (wait status ${exit.waitStatus ?? 'unknown'})`)
    if (sendFailure && ex.kind === 'custom' && fw && !fw.removing) {
      this.registeredWith?.executorExited(this.agentId, ex.frameworkId, {value: ex.id}, exit.waitStatus ?? -1)
    }
    const term = ex.pendingTermination ?? {state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated'}
    ex.queued = []
    for (const t of [...this.tasks.values()]) {
      if (t.frameworkId === ex.frameworkId && t.executorId === ex.id && !isTerminal(t.state)) this.agentUpdate(ex, t.info.task_id, term)
    }
    this.registeredWith?.resourcesFreed(this.agentId)
    this.gc(ex.frameworkId, ex.id)
    this.checkpoint()
  }

  private makeAgentStatus(taskId: TaskID, term: Termination, executorId?: string): TaskStatus {
    return {
      task_id: taskId, state: term.state, message: term.message, source: 'SOURCE_AGENT', reason: term.reason,
      agent_id: {value: this.agentId}, ...(executorId ? {executor_id: {value: executorId}} : {}),
      timestamp: Date.now() / 1000, uuid: uuidBase64(),
    }
  }

  /** An update made by the agent itself (SOURCE_AGENT, with uuid, no container_status). */
  agentUpdate(ex: ExecutorRecord, taskId: TaskID, term: Termination): void {
    this.calls.acceptUpdate(ex, this.makeAgentStatus(taskId, term, ex.id), false)
  }

  /** Forget terminated executors without tasks, and removed frameworks without executors. */
  gc(fid: string, eid?: string): void {
    for (const ex of [...this.executors.values()]) {
      if (ex.frameworkId !== fid || (eid !== undefined && ex.id !== eid) || ex.state !== 'TERMINATED') continue
      if ([...this.tasks.values()].some((t) => t.frameworkId === fid && t.executorId === ex.id)) continue
      this.executors.delete(key(fid, ex.id))
      this.completed.push(ex)
      if (this.completed.length > 150) this.completed.shift()
    }
    const fw = this.frameworks.get(fid)
    if (fw?.removing && ![...this.executors.values()].some((e) => e.frameworkId === fid && e.state !== 'TERMINATED')) {
      for (const [k, t] of this.tasks) if (t.frameworkId === fid) this.tasks.delete(k)
      for (const [k, e] of this.executors) if (e.frameworkId === fid) this.executors.delete(k)
      this.frameworks.delete(fid)
    }
  }

  graceMs(ex: ExecutorRecord): number {
    const ns = ex.info.shutdown_grace_period?.nanoseconds
    return ns !== undefined ? ns / 1e6 : this.o.executorShutdownGracePeriodMs
  }

  /** Status update manager (used by executor-calls.ts). */
  get updates(): StatusUpdateManager {
    return this.sum
  }

  // ------------------------------------------------------------------ HTTP backend, /state

  private backend(): ExecutorApiBackend {
    return {
      lookup: (fid: string, eid: string): ExecutorLookup => {
        if (!this.frameworks.has(fid)) return 'no-framework'
        const ex = this.executors.get(key(fid, eid))
        if (!ex || ex.kind === 'command') return 'no-executor'
        return ex.state === 'REGISTERING' ? 'not-subscribed' : 'ok'
      },
      subscribe: (call, stream: ExecutorStream) => this.calls.subscribe(call, stream),
      update: (call) => this.calls.update(call),
      message: (call) => this.calls.message(call),
    }
  }

  private stateJson(): Record<string, unknown> {
    return buildAgentState({
      agentId: this.agentId, pid: `slave(1)@${this.endpoint}`, hostname: this.o.hostname, startTime: this.startTime,
      ...(this.registeredWith && this.masterHostname !== undefined ? {masterHostname: this.masterHostname} : {}),
      total: this.o.resources, frameworks: [...this.frameworks.values()], executors: [...this.executors.values()],
      tasks: [...this.tasks.values()], completedExecutors: this.completed,
      flags: agentFlags({
        ip: this.o.ip, port: this.tcpPort, hostname: this.o.hostname, workDir: this.o.workDir, master: this.masterFlag(),
        resources: formatResources(this.o.resources).replace(/; /g, ';'),
        executorRegistrationTimeout: formatDuration(this.o.executorRegistrationTimeoutMs),
        executorReregistrationTimeout: formatDuration(this.o.executorReregistrationTimeoutMs),
        executorShutdownGracePeriod: formatDuration(this.o.executorShutdownGracePeriodMs),
        recoveryTimeout: formatDuration(this.o.recoveryTimeoutMs),
      }),
    })
  }

  private masterFlag(): string {
    if (this.o.masterFlag !== '') return this.o.masterFlag
    const a = this.registeredWith?.masterInfo?.().address
    return a ? `${a.ip ?? ''}:${a.port}` : ''
  }

  /** Agent resources as executors see them (no role, no allocation_info). */
  agentInfoForExecutors(): {hostname: string; port: number; resources: Resource[]; id: {value: string}} {
    return {hostname: this.o.hostname, port: this.tcpPort, resources: bareResources(this.o.resources), id: {value: this.agentId}}
  }

  // ------------------------------------------------------------------ checkpoint & recovery

  checkpoint(): void {
    if (!this.running || !this.agentId) return
    const cp: AgentCheckpoint = {
      version: CHECKPOINT_VERSION, agentId: this.agentId, ip: this.o.ip, port: this.tcpPort,
      frameworks: [...this.frameworks.values()].filter((f) => !f.removing).map((f) => f.info),
      executors: [...this.executors.values()].filter((e) => e.state !== 'TERMINATED').map((e) => ({
        frameworkId: e.frameworkId, id: e.id, kind: e.kind, info: e.info, containerId: e.containerId, directory: e.directory,
        ...(e.pid !== undefined ? {pid: e.pid} : {}), state: e.state, queued: e.queued, ...(e.killing ? {killing: true} : {}),
      })),
      tasks: [...this.tasks.values()],
      updates: this.sum.snapshot(),
    }
    writeCheckpoint(this.o.workDir, cp)
  }

  private recover(cp: AgentCheckpoint): void {
    for (const f of cp.frameworks) this.frameworks.set(f.id.value, {info: f, removing: false})
    const checkpointing = (fid: string): boolean => this.frameworks.get(fid)?.info.checkpoint === true
    for (const t of cp.tasks) if (checkpointing(t.frameworkId)) this.tasks.set(key(t.frameworkId, t.info.task_id.value), t)
    this.sum.restore(cp.updates.filter((u) => checkpointing(u.frameworkId)))
    const gone: ExecutorRecord[] = []
    for (const c of cp.executors) {
      if (!checkpointing(c.frameworkId)) {
        if (c.pid !== undefined) destroyContainer(c.pid)
        continue
      }
      const ex: ExecutorRecord = {...c, recovered: true, ...(c.killing ? {killing: true} : {})}
      this.executors.set(key(c.frameworkId, c.id), ex)
      if (c.pid === undefined || !isAlive(c.pid)) {
        // Died while the agent was down: reported (FAILURE + updates) after registration. Forget the pid:
        // it may already belong to another process.
        ex.recovered = false
        ex.state = 'TERMINATING'
        ex.goneExit = c.pid !== undefined ? knownExit(c.pid) : undefined
        delete ex.pid
        gone.push(ex)
        continue
      }
      if (ex.kind === 'command') {
        ex.recovered = false
        ex.state = 'RUNNING'
        const task = [...this.tasks.values()].find((t) => t.frameworkId === c.frameworkId && t.executorId === c.id)
        if (task) {
          ex.command = new CommandExecutor({
            task: task.info, sandbox: ex.directory, env: {}, log: this.o.log, killingState: false,
            update: (status) => this.calls.acceptUpdate(ex, status, true),
            onExit: (exit) => this.executorExited(ex, exit),
          })
          ex.command.adopt(c.pid, c.killing === true)
        }
      } else {
        ex.state = c.state === 'TERMINATING' ? 'TERMINATING' : 'RUNNING'
        this.watchExecutor(ex)
      }
    }
    for (const [fid] of this.frameworks) if (!checkpointing(fid)) this.frameworks.delete(fid)
    this.pendingGone = gone
    const timeout = this.o.executorReregistrationTimeoutMs
    this.reregisterTimer = setTimeout(() => {
      for (const ex of this.executors.values()) {
        if (ex.kind !== 'custom' || !ex.recovered || ex.state === 'TERMINATED') continue
        this.o.log(`Killing executor ${ex.id}: it did not re-subscribe within ${formatDuration(timeout)}`)
        this.destroy(ex, {state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', message: `Executor did not reregister within ${formatDuration(timeout)}`})
      }
    }, timeout)
    this.reregisterTimer.unref()
  }
}

