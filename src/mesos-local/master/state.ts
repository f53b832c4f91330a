/**
 * The local Mesos master's state: one plain record (MasterState) with the records it holds — frameworks and
 * their streams, agents, offers, tasks and executors — and the small helpers every master module uses on it
 * (log, one-shot timers, events to a framework, master-made statuses, task lookup). No module owns the state:
 * local-master.ts makes it (createMasterState) and serves it; the others are functions of it:
 *   leadership.ts (elected / stepping down), frameworks.ts (SUBSCRIBE, failover, removal), offers.ts
 *   (allocation, offers, DECLINE/REVIVE/SUPPRESS), accounting.ts (used/offered/free resources), launch.ts
 *   (ACCEPT), reconcile.ts (RECONCILE, KILL), agent-calls.ts (ACKNOWLEDGE, SHUTDOWN, MESSAGE),
 *   agent-lifecycle.ts and agent-link.ts (the agents, MasterPort), scheduler-api.ts, operator-api.ts,
 *   state-json.ts and http.ts (what the master serves).
 *
 * Invariants:
 *   - An offer is in `offers` exactly while its framework holds it; its resources count as offered on its agent.
 *   - Resources used on an agent = resources of its tasks whose `latestState` is not terminal (and not
 *     unreachable) + resources of its live custom executors.
 *   - Every Resource the master holds (agent totals, offers, tasks, executors) is in the refinement format
 *     (../reservations.ts); it is converted only where it leaves the master (offers to frameworks without
 *     RESERVATION_REFINEMENT, the state endpoints, the operator API).
 *   - A task leaves `tasks` when its terminal update is acknowledged (or was made without uuid), or its
 *     framework is removed; it then goes to the framework's completed tasks.
 *   - Nothing happens while not leading (`leading === false`): no allocation timer runs.
 *   - An agent id is in at most one of `agents`, `recoveringAgents`, `unreachableAgents`; the shared registry
 *     (registry.ts) is updated by the leader on every admission, removal and unreachable marking.
 *   - Every timer of the master is in `timers` (or is `allocTimer`, or a framework's/agent's timer) and is
 *     cleared when the master steps down.
 */
import {TERMINAL_STATES} from '../../lib/mesos/types.js'
import type {
  AgentInfo,
  ExecutorInfo,
  FrameworkInfo,
  MasterInfo,
  Offer,
  Resource,
  SchedulerEvent,
  TaskInfo,
  TaskState,
  TaskStatus,
  TimeInfo,
} from '../../lib/mesos/types.js'
import type {AgentPort} from '../link.js'
import {Allocator} from './allocator.js'
import type {EventStream} from './event-stream.js'
import type {Registry} from './registry.js'

export interface MasterConfig {
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

/**
 * Framework lifecycle (per framework id; frameworks.ts):
 *   connected (stream open) --client closes stream--> disconnected (failover timer running)
 *   disconnected --SUBSCRIBE same id--> connected (new stream id)
 *   connected --SUBSCRIBE same id--> connected (old stream: ERROR "Framework failed over", closed)
 *   connected|disconnected --TEARDOWN / failover timeout--> removed (kept in `completedFrameworks`; a later
 *   SUBSCRIBE with the id gets ERROR "Framework has been removed", calls get 400 "Framework cannot be found").
 * Invariant: `stream !== null` ⇔ connected; `streamId` is the id of the current (or last) stream.
 */
export interface FrameworkRec {
  id: string
  info: FrameworkInfo & {id: {value: string}}
  roles: string[]
  suppressed: Set<string>
  stream: EventStream | null
  streamId: string | null
  registeredTime: number
  reregisteredTime: number
  /** Re-subscribed at least once (the legacy JSON shows reregistered_time only then). */
  reregistered?: boolean
  unregisteredTime: number
  failoverTimer?: NodeJS.Timeout
  completedTasks: TaskRec[]
  /**
   * Mesos' Framework::totalOfferedResources: each offer's resources added when made and subtracted when it goes,
   * across agents. Ranges of two agents' offers merge (a union), so one offer going removes ports another offer
   * still holds: what the real master reports (fixture 09 shows no ports offered, fixture 13 shows them).
   */
  offeredTotal?: Resource[]
  /** Subscription order (allocation tie-break). */
  order: number
}

export interface TaskRec {
  frameworkId: string
  agentId: string
  task: TaskInfo
  /** Custom executor id; undefined for command tasks. */
  executorId?: string
  /** State of the last update forwarded to the scheduler (what reconciliation and /master/tasks report). */
  state: TaskState
  /** Latest state the agent knows (resource accounting). */
  latestState: TaskState
  statusUpdateUuid?: string
  statuses: TaskStatus[]
  /** Set while the task's agent is removed/unreachable. */
  unreachableTime?: TimeInfo
  resources: Resource[]
}

export interface AgentRec {
  id: string
  port: AgentPort
  /**
   * The agent's total as this master last set it by RESERVE/UNRESERVE/CREATE/DESTROY (refinement format, no
   * allocation_info); undefined = what the agent reports (AgentPort.totalResources), e.g. after (re-)registration.
   */
  total?: Resource[]
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

export interface MasterState {
  readonly info: MasterInfo
  readonly config: MasterConfig
  readonly startTime: number
  electedTime: number
  leading: boolean
  readonly frameworks: Map<string, FrameworkRec>
  readonly completedFrameworks: Map<string, FrameworkRec>
  readonly agents: Map<string, AgentRec>
  /** Agents removed after the ping timeout, with the time they were marked unreachable. */
  readonly unreachableAgents: Map<string, {nanoseconds: number}>
  /**
   * Agents the registry lists as admitted that have not re-registered with this master since it was elected
   * (Mesos' `slaves.recovered`): explicit reconciliation about them gets no answer (reconcile.ts).
   */
  readonly recoveringAgents: Map<string, AgentInfo>
  readonly offers: Map<string, OfferRec>
  /** Active tasks (non-terminal, or terminal with an unacknowledged update) by framework id, then task id. */
  readonly tasks: Map<string, Map<string, TaskRec>>
  /** Custom executors by executorKey(agent, framework, executor). */
  readonly executors: Map<string, ExecutorRec>
  readonly allocator: Allocator
  /** Counters of framework ids, framework order, offer ids and agent ids. */
  readonly seq: {framework: number; order: number; offer: number; agent: number}
  /** The allocation cycle's interval timer (while leading). */
  allocTimer: NodeJS.Timeout | undefined
  /** One-shot timers (startTimer), cleared when the master steps down. */
  readonly timers: Set<NodeJS.Timeout>
}

export function createMasterState(config: MasterConfig): MasterState {
  return {
    info: config.masterInfo,
    config,
    startTime: Date.now() / 1000,
    electedTime: 0,
    leading: false,
    frameworks: new Map(),
    completedFrameworks: new Map(),
    agents: new Map(),
    unreachableAgents: new Map(),
    recoveringAgents: new Map(),
    offers: new Map(),
    tasks: new Map(),
    executors: new Map(),
    allocator: new Allocator(),
    seq: {framework: 0, order: 0, offer: 0, agent: 0},
    allocTimer: undefined,
    timers: new Set(),
  }
}

export const isTerminal = (s: TaskState): boolean => TERMINAL_STATES.has(s)
const MAX_TIMER_MS = 2 ** 31 - 1

export function log(m: MasterState, line: string): void {
  m.config.log(`master ${m.info.address?.ip ?? ''}:${m.info.port}: ${line}`)
}

/** A one-shot timer owned by the master (cleared when it steps down). */
export function startTimer(m: MasterState, ms: number, fn: () => void): NodeJS.Timeout {
  const t = setTimeout(
    () => {
      m.timers.delete(t)
      fn()
    },
    Math.min(Math.max(0, ms), MAX_TIMER_MS),
  )
  t.unref()
  m.timers.add(t)
  return t
}

export function clearTimer(m: MasterState, t: NodeJS.Timeout | undefined): void {
  if (t === undefined) return
  clearTimeout(t)
  m.timers.delete(t)
}

/** An event on the framework's stream; false when it has none. */
export function sendTo(m: MasterState, frameworkId: string, event: SchedulerEvent): boolean {
  const s = m.frameworks.get(frameworkId)?.stream
  if (!s) return false
  s.send(event)
  return true
}

/** A status made by the master: SOURCE_MASTER, no uuid. */
export function masterStatus(
  taskId: string,
  state: TaskState,
  reason: string,
  message: string,
  agentId?: string,
  extra: Partial<TaskStatus> = {},
): TaskStatus {
  return {
    task_id: {value: taskId},
    state,
    message,
    source: 'SOURCE_MASTER',
    reason,
    ...(agentId !== undefined ? {agent_id: {value: agentId}} : {}),
    timestamp: Date.now() / 1000,
    ...extra,
  }
}

export function findTask(m: MasterState, frameworkId: string, taskId: string): TaskRec | undefined {
  return m.tasks.get(frameworkId)?.get(taskId)
}

/** Moves an active task to its framework's completed tasks. */
export function completeTask(m: MasterState, rec: TaskRec): void {
  m.tasks.get(rec.frameworkId)?.delete(rec.task.task_id.value)
  const fw = m.frameworks.get(rec.frameworkId)
  fw?.completedTasks.push(rec)
}

export function executorKey(agentId: string, frameworkId: string, executorId: string): string {
  return `${agentId}\u0000${frameworkId}\u0000${executorId}`
}

export function isPartitionAware(fw: FrameworkRec | undefined): boolean {
  return (fw?.info.capabilities ?? []).some((c) => c?.type === 'PARTITION_AWARE')
}

/** The framework takes resources in the refinement format (Surprise 39). */
export function isRefinementCapable(fw: FrameworkRec | undefined): boolean {
  return (fw?.info.capabilities ?? []).some((c) => c?.type === 'RESERVATION_REFINEMENT')
}

export function isMultiRole(fw: FrameworkRec | undefined): boolean {
  return (fw?.info.capabilities ?? []).some((c) => c?.type === 'MULTI_ROLE')
}
