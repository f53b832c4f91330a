/**
 * The local Mesos master's state (no HTTP, no ZooKeeper): frameworks and their streams, agents, offers,
 * tasks and executors; leadership and the master's timers; events to frameworks; and the simple scheduler
 * calls that reach agents (ACKNOWLEDGE, SHUTDOWN, MESSAGE). The rest works on this state:
 * master-frameworks.ts (SUBSCRIBE, failover, removal), master-offers.ts (accounting, allocation, offers,
 * DECLINE/REVIVE/SUPPRESS), launch.ts (ACCEPT), reconcile.ts (RECONCILE, KILL), agents.ts (MasterPort).
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
import type {ServerResponse} from 'node:http'
import type {AgentPort} from './link.js'
import type {AgentInfo, ContentType, ExecutorInfo, MasterInfo, Offer, Resource, SchedulerCall, SchedulerEvent, TaskState, TaskStatus} from '../lib/mesos/types.js'
import {TERMINAL_STATES} from '../lib/mesos/types.js'
import {Allocator} from './allocator.js'
import type {FrameworkRec, TaskRec} from './frameworks.js'
import * as frameworks from './master-frameworks.js'
import * as offers from './master-offers.js'
import type {Registry} from './registry.js'

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
  /** Counters of framework ids, framework order and offer ids (master-frameworks.ts, master-offers.ts). */
  readonly seq = {framework: 0, order: 0, offer: 0}
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

  // ------------------------------------------------------------------ frameworks (master-frameworks.ts)

  subscribe(call: SchedulerCall, res: ServerResponse, contentType: ContentType): void {
    frameworks.subscribe(this, call, res, contentType)
  }

  removeFramework(id: string, why: string): void {
    frameworks.removeFramework(this, id, why)
  }

  // ------------------------------------------------------------------ offers and allocation (master-offers.ts)

  /** Drops a framework's offers (resources go back to the pool), optionally sending RESCIND. */
  recoverOffers(frameworkId: string, rescind: boolean): void {
    offers.recoverOffers(this, frameworkId, rescind)
  }
  removeOffer(offerId: string, rescind: boolean): OfferRec | undefined {
    return offers.removeOffer(this, offerId, rescind)
  }
  /** Unused offered resources go back with a refuse filter (DECLINE, and the leftover of ACCEPT). */
  declineResources(frameworkId: string, agentId: string, resources: Resource[], refuseSeconds: number | undefined): void {
    offers.declineResources(this, frameworkId, agentId, resources, refuseSeconds)
  }
  usedOn(agentId: string): Resource[] {
    return offers.usedOn(this, agentId)
  }
  usedBy(frameworkId: string): Resource[] {
    return offers.usedBy(this, frameworkId)
  }
  offeredOn(agentId: string): Resource[] {
    return offers.offeredOn(this, agentId)
  }
  offeredTo(frameworkId: string): Resource[] {
    return offers.offeredTo(this, frameworkId)
  }
  freeOn(agent: AgentRec): Resource[] {
    return offers.freeOn(this, agent)
  }
  allocate(): void {
    offers.allocate(this)
  }
  decline(fw: FrameworkRec, offerIds: {value: string}[], refuseSeconds: number | undefined): void {
    offers.decline(this, fw, offerIds, refuseSeconds)
  }
  revive(fw: FrameworkRec, roles: string[] | undefined): void {
    offers.revive(this, fw, roles)
  }
  suppress(fw: FrameworkRec, roles: string[] | undefined): void {
    offers.suppress(fw, roles)
  }

  scheduleAllocation(ms: number): void {
    if (!this.leading) return
    this.timer(ms, () => this.allocate())
  }

  executorKey(agentId: string, frameworkId: string, executorId: string): string {
    return `${agentId}\u0000${frameworkId}\u0000${executorId}`
  }

  // ------------------------------------------------------------------ tasks and calls that reach agents

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
