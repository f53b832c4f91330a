/**
 * The local Mesos master's state and its framework-facing logic (no HTTP, no ZooKeeper): frameworks and
 * their streams, offers and the allocation loop, tasks and status updates, and simple scheduler calls.
 * ACCEPT lives in launch.ts, RECONCILE in reconcile.ts, the agent side (MasterPort) in agents.ts.
 *
 * Invariants:
 *   - An offer is in `offers` exactly while its framework holds it; its resources count as offered on its agent.
 *   - Resources used on an agent = resources of its tasks whose `latestState` is not terminal (and not
 *     unreachable) + resources of its live custom executors.
 *   - A task leaves `tasks` when its terminal update is acknowledged (or was made without uuid), or its
 *     framework is removed; it then goes to the framework's completed tasks.
 *   - Nothing happens while not leading (`leading === false`): no allocation timer runs.
 *   - An agent id is in at most one of `agents`, `recoveringAgents`, `unreachableAgents`; the shared registry
 *     (registry.ts) is updated by the leader on every admission, removal and unreachable marking.
 */
import {randomUUID} from 'node:crypto'
import type {ServerResponse} from 'node:http'
import type {AgentPort} from './link.js'
import type {AgentInfo, ContentType, ExecutorInfo, MasterInfo, Offer, Resource, SchedulerCall, SchedulerEvent, TaskState, TaskStatus} from '../lib/mesos/types.js'
import {TERMINAL_STATES} from '../lib/mesos/types.js'
import {Allocator, refuseMs, type AllocFramework} from './allocator.js'
import {EventStream, frameworkIdFor, isMultiRole, offerRole, type FrameworkRec, type TaskRec} from './frameworks.js'
import type {Registry} from './registry.js'
import {addResources, subtractResources} from './resources.js'
import {frameworkRoles, validateFrameworkInfo} from './validation.js'

export interface MasterCoreOptions {
  masterInfo: MasterInfo
  allocationIntervalMs: number
  heartbeatIntervalSec: number
  agentPingTimeoutMs: number
  maxAgentPingTimeouts: number
  /** Upper bound on any framework's failover_timeout (ms); none by default. */
  failoverCapMs?: number
  /** refuse_seconds of a DECLINE/ACCEPT without filters (Mesos' Filters default: 5). Tests shrink it. */
  defaultRefuseSeconds?: number
  /** The agents admitted by any master of this cluster (shared; survives killMaster). */
  registry: Registry
  /** How long agents recovered from the registry get to re-register after an election (Mesos --agent_reregister_timeout). */
  agentReregisterTimeoutMs: number
  log: (line: string) => void
}

export interface AgentRec {
  id: string
  port: AgentPort
  connected: boolean
  registeredTime: number
  reregisteredTime?: number
  removalTimer?: NodeJS.Timeout
}

export interface OfferRec {
  offer: Offer
  frameworkId: string
  agentId: string
  resources: Resource[]
}

export interface ExecutorRec {
  frameworkId: string
  agentId: string
  info: ExecutorInfo
}

export const isTerminal = (s: TaskState): boolean => TERMINAL_STATES.has(s)
const MAX_TIMER_MS = 2 ** 31 - 1

export class MasterCore {
  readonly info: MasterInfo
  readonly opts: MasterCoreOptions
  readonly startTime = Date.now() / 1000
  electedTime = 0
  leading = false
  readonly frameworks = new Map<string, FrameworkRec>()
  readonly completedFrameworks = new Map<string, FrameworkRec>()
  readonly agents = new Map<string, AgentRec>()
  /** Agents removed after the ping timeout, with the time they were marked unreachable. */
  readonly unreachableAgents = new Map<string, {nanoseconds: number}>()
  /**
   * Agents the registry lists as admitted that have not re-registered with this master since it was elected
   * (Mesos' `slaves.recovered`): explicit reconciliation about them gets no answer (reconcile.ts).
   */
  readonly recoveringAgents = new Map<string, AgentInfo>()
  readonly offers = new Map<string, OfferRec>()
  /** Active tasks (non-terminal, or terminal with an unacknowledged update) by framework id, then task id. */
  readonly tasks = new Map<string, Map<string, TaskRec>>()
  readonly executors = new Map<string, ExecutorRec>()
  readonly allocator = new Allocator()
  private frameworkSeq = 0
  private orderSeq = 0
  private offerSeq = 0
  agentSeq = 0
  private allocTimer: NodeJS.Timeout | undefined
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(opts: MasterCoreOptions) {
    this.opts = opts
    this.info = opts.masterInfo
  }

  get id(): string {
    return this.info.id
  }

  log(line: string): void {
    this.opts.log(`master ${this.info.address?.ip ?? ''}:${this.info.port}: ${line}`)
  }

  // ------------------------------------------------------------------ leadership and timers

  /** Returns true when this master was not leading before (the caller then recovers agents: agents.ts). */
  becomeLeader(): boolean {
    if (this.leading) return false
    this.leading = true
    this.electedTime = Date.now() / 1000
    this.allocTimer = setInterval(() => this.allocate(), Math.max(1, this.opts.allocationIntervalMs))
    this.allocTimer.unref()
    this.log('elected leader')
    return true
  }

  /** Stops every timer and closes every stream (master stopping or losing leadership). */
  shutdown(): void {
    this.leading = false
    if (this.allocTimer) clearInterval(this.allocTimer)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const fw of this.frameworks.values()) {
      if (fw.failoverTimer) clearTimeout(fw.failoverTimer)
      const s = fw.stream
      fw.stream = null
      if (s) {
        s.onClientClose = undefined
        s.close()
      }
    }
    for (const a of this.agents.values()) if (a.removalTimer) clearTimeout(a.removalTimer)
  }

  /** A one-shot timer owned by the master (cleared on shutdown). */
  timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, Math.min(Math.max(0, ms), MAX_TIMER_MS))
    t.unref()
    this.timers.add(t)
    return t
  }

  clearTimer(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return
    clearTimeout(t)
    this.timers.delete(t)
  }

  // ------------------------------------------------------------------ events

  sendTo(frameworkId: string, event: SchedulerEvent): boolean {
    const s = this.frameworks.get(frameworkId)?.stream
    if (!s) return false
    s.send(event)
    return true
  }

  masterStatus(taskId: string, state: TaskState, reason: string, message: string, agentId?: string, extra: Partial<TaskStatus> = {}): TaskStatus {
    return {
      task_id: {value: taskId}, state, message, source: 'SOURCE_MASTER', reason,
      ...(agentId !== undefined ? {agent_id: {value: agentId}} : {}),
      timestamp: Date.now() / 1000, ...extra,
    }
  }

  // ------------------------------------------------------------------ subscription

  subscribe(call: SchedulerCall, res: ServerResponse, contentType: ContentType): void {
    const sub = call.subscribe!
    const info = sub.framework_info
    const stream = new EventStream(res, contentType, randomUUID())
    stream.open()
    const refuse = (message: string): void => {
      this.log(`refusing subscription of framework '${info.name}': ${message}`)
      stream.send({type: 'ERROR', error: {message}})
      stream.close()
    }
    const invalid = validateFrameworkInfo(info, sub.suppressed_roles ?? [])
    if (invalid) return refuse(invalid)
    const requested = info.id?.value
    if (requested !== undefined && this.completedFrameworks.has(requested)) return refuse('Framework has been removed')
    const now = Date.now() / 1000
    let fw = requested !== undefined ? this.frameworks.get(requested) : undefined
    // A new or disconnected framework is offered resources at once; one failing over from an open stream
    // waits for the next allocation cycle, like Mesos (fixture 07: ~0.8 s with a 1 s interval).
    const allocateNow = !fw?.stream
    if (fw) {
      if (fw.stream) {
        const old = fw.stream
        fw.stream = null
        old.onClientClose = undefined
        old.send({type: 'ERROR', error: {message: 'Framework failed over'}})
        old.close()
        this.log(`framework ${fw.id} failed over`)
      }
      if (fw.failoverTimer) clearTimeout(fw.failoverTimer)
      fw.failoverTimer = undefined
      this.recoverOffers(fw.id, false)
      fw.info = {...info, id: {value: fw.id}}
      fw.reregisteredTime = now
      fw.reregistered = true
    } else {
      const id = requested ?? frameworkIdFor(this.id, this.frameworkSeq++)
      fw = {
        id, info: {...info, id: {value: id}}, roles: [], suppressed: new Set(), stream: null, streamId: null,
        registeredTime: now, reregisteredTime: now, unregisteredTime: 0, completedTasks: [], order: this.orderSeq++,
      }
      this.frameworks.set(id, fw)
      this.log(`framework ${id} ('${info.name}') subscribed`)
    }
    fw.roles = frameworkRoles(info)
    fw.suppressed = new Set(sub.suppressed_roles ?? [])
    fw.stream = stream
    fw.streamId = stream.streamId
    const rec = fw
    stream.onClientClose = () => this.frameworkDisconnected(rec, stream)
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {framework_id: {value: fw.id}, heartbeat_interval_seconds: this.opts.heartbeatIntervalSec, master_info: this.info},
    })
    stream.startHeartbeats(this.opts.heartbeatIntervalSec)
    if (allocateNow) this.scheduleAllocation(0)
  }

  private frameworkDisconnected(fw: FrameworkRec, stream: EventStream): void {
    if (fw.stream !== stream) return
    fw.stream = null
    this.recoverOffers(fw.id, false)
    const requested = Math.max(0, (fw.info.failover_timeout ?? 0) * 1000)
    const ms = Math.min(requested, this.opts.failoverCapMs ?? Infinity)
    this.log(`framework ${fw.id} disconnected; removing it in ${ms} ms unless it re-subscribes`)
    fw.failoverTimer = this.timer(ms, () => this.removeFramework(fw.id, 'failover timeout elapsed'))
  }

  removeFramework(id: string, why: string): void {
    const fw = this.frameworks.get(id)
    if (!fw) return
    this.log(`removing framework ${id}: ${why}`)
    this.clearTimer(fw.failoverTimer)
    const s = fw.stream
    fw.stream = null
    if (s) {
      s.onClientClose = undefined
      s.close()
    }
    this.recoverOffers(id, false)
    for (const a of this.agents.values()) if (a.connected) a.port.shutdownFramework(id)
    for (const rec of this.tasks.get(id)?.values() ?? []) {
      if (!isTerminal(rec.state)) {
        rec.state = 'TASK_KILLED'
        rec.latestState = 'TASK_KILLED'
        rec.statuses.push({task_id: rec.task.task_id, state: 'TASK_KILLED', timestamp: Date.now() / 1000})
      }
      fw.completedTasks.push(rec)
    }
    this.tasks.delete(id)
    for (const [k, e] of this.executors) if (e.frameworkId === id) this.executors.delete(k)
    this.allocator.clearFilters(id)
    fw.unregisteredTime = Date.now() / 1000
    this.frameworks.delete(id)
    this.completedFrameworks.set(id, fw)
  }

  // ------------------------------------------------------------------ offers and allocation

  /** Drops a framework's offers (resources go back to the pool), optionally sending RESCIND. */
  recoverOffers(frameworkId: string, rescind: boolean): void {
    for (const [id, o] of this.offers) if (o.frameworkId === frameworkId) this.removeOffer(id, rescind)
  }

  removeOffer(offerId: string, rescind: boolean): OfferRec | undefined {
    const o = this.offers.get(offerId)
    if (!o) return undefined
    this.offers.delete(offerId)
    if (rescind) this.sendTo(o.frameworkId, {type: 'RESCIND', rescind: {offer_id: {value: offerId}}})
    return o
  }

  /**
   * Unused offered resources go back with a filter (DECLINE, and the leftover of ACCEPT). Like Mesos, they are
   * offered again by the first allocation cycle after the filter expired (fixture 04: refuse 5 s → ~5.0-5.1 s).
   */
  declineResources(frameworkId: string, agentId: string, resources: Resource[], refuseSeconds: number | undefined): void {
    const ms = refuseMs(refuseSeconds, this.opts.defaultRefuseSeconds)
    this.allocator.addFilter(frameworkId, agentId, resources, ms, Date.now())
  }

  scheduleAllocation(ms: number): void {
    if (!this.leading) return
    this.timer(ms, () => this.allocate())
  }

  executorKey(agentId: string, frameworkId: string, executorId: string): string {
    return `${agentId}\u0000${frameworkId}\u0000${executorId}`
  }

  private taskUsage(filter: (rec: TaskRec) => boolean): Resource[] {
    let out: Resource[] = []
    for (const m of this.tasks.values()) {
      for (const rec of m.values()) {
        if (!isTerminal(rec.latestState) && rec.unreachableTime === undefined && filter(rec)) out = addResources(out, rec.resources)
      }
    }
    return out
  }

  usedOn(agentId: string): Resource[] {
    let used = this.taskUsage((r) => r.agentId === agentId)
    for (const e of this.executors.values()) if (e.agentId === agentId) used = addResources(used, e.info.resources ?? [])
    return used
  }

  usedBy(frameworkId: string): Resource[] {
    let used = this.taskUsage((r) => r.frameworkId === frameworkId)
    for (const e of this.executors.values()) if (e.frameworkId === frameworkId) used = addResources(used, e.info.resources ?? [])
    return used
  }

  offeredOn(agentId: string): Resource[] {
    return addResources([], [...this.offers.values()].filter((o) => o.agentId === agentId).flatMap((o) => o.resources))
  }

  offeredTo(frameworkId: string): Resource[] {
    return addResources([], [...this.offers.values()].filter((o) => o.frameworkId === frameworkId).flatMap((o) => o.resources))
  }

  freeOn(agent: AgentRec): Resource[] {
    return subtractResources(subtractResources(agent.port.totalResources(), this.usedOn(agent.id)), this.offeredOn(agent.id))
  }

  allocate(): void {
    if (!this.leading) return
    const agents = [...this.agents.values()].filter((a) => a.connected).map((a) => ({id: a.id, free: this.freeOn(a)}))
    const fws: AllocFramework[] = [...this.frameworks.values()]
      .filter((f) => f.stream !== null)
      .sort((a, b) => a.order - b.order)
      .map((f) => ({id: f.id, role: offerRole(f), allocated: addResources(this.usedBy(f.id), this.offeredTo(f.id))}))
    if (agents.length === 0 || fws.length === 0) return
    const byFramework = new Map<string, Offer[]>()
    for (const a of this.allocator.allocate(agents, fws, Date.now())) {
      const offer = this.makeOffer(a.frameworkId, a.agentId, a.role, a.resources)
      byFramework.set(a.frameworkId, [...(byFramework.get(a.frameworkId) ?? []), offer])
    }
    for (const [fwId, offers] of byFramework) this.sendTo(fwId, {type: 'OFFERS', offers: {offers}})
  }

  private makeOffer(frameworkId: string, agentId: string, role: string, resources: Resource[]): Offer {
    const agent = this.agents.get(agentId)!
    const info = agent.port.info()
    const ep = agent.port.endpoint
    const colon = ep.lastIndexOf(':')
    const multi = isMultiRole(this.frameworks.get(frameworkId))
    // Range/set resources first, then scalars in agent order: the order Mesos 1.12 shows for the default agent
    // resources (`ports; cpus; mem; disk`), which also fixes the text of "Total resources ... available ..." errors.
    // Like Mesos: the ids of this framework's executors running on the agent (fixture 06).
    const executorIds = [...this.executors.values()].filter((e) => e.frameworkId === frameworkId && e.agentId === agentId).map((e) => e.info.executor_id)
    const ordered = [...resources.filter((r) => r.type !== 'SCALAR'), ...resources.filter((r) => r.type === 'SCALAR')]
    const res = ordered.map((r) => {
      const c: Resource = {...(JSON.parse(JSON.stringify(r)) as Resource), role: r.role ?? '*'}
      delete c.allocation_info
      if (multi) c.allocation_info = {role}
      return c
    })
    const offer: Offer = {
      id: {value: `${this.id}-O${this.offerSeq++}`},
      framework_id: {value: frameworkId},
      agent_id: {value: agentId},
      hostname: info.hostname,
      url: {scheme: 'http', address: {hostname: info.hostname, ip: ep.slice(0, colon), port: Number(ep.slice(colon + 1))}, path: '/slave(1)'},
      resources: res,
      ...(executorIds.length > 0 ? {executor_ids: executorIds} : {}),
      ...(multi ? {allocation_info: {role}} : {}),
    }
    this.offers.set(offer.id.value, {offer, frameworkId, agentId, resources: res})
    return offer
  }

  // ------------------------------------------------------------------ simple calls

  decline(fw: FrameworkRec, offerIds: {value: string}[], refuseSeconds: number | undefined): void {
    for (const {value} of offerIds) {
      const o = this.offers.get(value)
      if (!o || o.frameworkId !== fw.id) continue
      this.removeOffer(value, false)
      this.declineResources(fw.id, o.agentId, o.resources, refuseSeconds)
    }
  }

  revive(fw: FrameworkRec, roles: string[] | undefined): void {
    this.allocator.clearFilters(fw.id)
    if (!roles || roles.length === 0) fw.suppressed.clear()
    else for (const r of roles) fw.suppressed.delete(r)
    this.scheduleAllocation(0)
  }

  suppress(fw: FrameworkRec, roles: string[] | undefined): void {
    for (const r of roles && roles.length > 0 ? roles : fw.roles) fw.suppressed.add(r)
  }

  task(frameworkId: string, taskId: string): TaskRec | undefined {
    return this.tasks.get(frameworkId)?.get(taskId)
  }

  /** Moves an active task to its framework's completed tasks. */
  completeTask(rec: TaskRec): void {
    this.tasks.get(rec.frameworkId)?.delete(rec.task.task_id.value)
    const fw = this.frameworks.get(rec.frameworkId)
    fw?.completedTasks.push(rec)
  }

  acknowledge(fw: FrameworkRec, agentId: string, taskId: string, uuid: string): void {
    const agent = this.agents.get(agentId)
    if (agent?.connected) agent.port.acknowledge(fw.id, {value: taskId}, uuid)
    const rec = this.task(fw.id, taskId)
    if (rec && rec.statusUpdateUuid === uuid && isTerminal(rec.state)) this.completeTask(rec)
  }

  shutdownExecutor(fw: FrameworkRec, agentId: string, executorId: string): void {
    const agent = this.agents.get(agentId)
    if (agent?.connected) agent.port.shutdownExecutor(fw.id, {value: executorId})
  }

  message(fw: FrameworkRec, agentId: string, executorId: string, data: string): void {
    const agent = this.agents.get(agentId)
    if (agent?.connected) agent.port.message(fw.id, {value: executorId}, data)
  }
}
