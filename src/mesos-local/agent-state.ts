/**
 * The local agent's in-memory records (frameworks, executors, tasks) and the agent `/state` JSON built
 * from them (shape of a real agent's `/state`, fixture 09 step 24: flattened resources, tasks under their
 * executor, command tasks with `"executor_id": ""`, statuses without uuid/executor_pid).
 *
 * Executor states: REGISTERING (launched, no SUBSCRIBE yet) → RUNNING (subscribed; or recovered after an
 * agent restart and waiting to re-SUBSCRIBE, `recovered` = true) → TERMINATING (SHUTDOWN sent, or being
 * destroyed) → TERMINATED (process gone). Tasks belong to exactly one executor; a task is `queued` until
 * it is delivered in a LAUNCH event.
 */
import type {ExecutorInfo, FrameworkID, FrameworkInfo, Resource, TaskInfo, TaskState, TaskStatus} from '../lib/mesos/types.js'
import type {CommandExecutor} from './command-executor.js'
import type {ContainerExit} from './containerizer.js'
import type {ExecutorStream} from './executor-api.js'
import {addResources, flattenResources, withRole} from './resources.js'

export type ExecutorState = 'REGISTERING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED'

export interface Termination {
  state: TaskState
  reason: string
  message: string
}

export interface FrameworkRecord {
  info: FrameworkInfo & {id: FrameworkID}
  removing: boolean
}

export interface ExecutorRecord {
  frameworkId: string
  id: string
  kind: 'custom' | 'command'
  info: ExecutorInfo
  containerId: string
  directory: string
  state: ExecutorState
  pid?: number
  queued: TaskInfo[]
  stream?: ExecutorStream
  /** Recovered after an agent restart, not yet re-subscribed. */
  recovered: boolean
  pendingTermination?: Termination
  registrationTimer?: unknown
  shutdownTimer?: unknown
  watch?: AbortController
  command?: CommandExecutor
  killing?: boolean
  /** Exit seen while the agent was down (recovery), reported after registration. */
  goneExit?: ContainerExit
}

export interface TaskRecord {
  frameworkId: string
  executorId: string
  info: TaskInfo
  state: TaskState
  statuses: TaskStatus[]
}

export interface AgentStateView {
  agentId: string
  pid: string
  hostname: string
  startTime: number
  total: Resource[]
  flags: Record<string, string>
  frameworks: FrameworkRecord[]
  executors: ExecutorRecord[]
  tasks: TaskRecord[]
  completedExecutors: ExecutorRecord[]
}

function statusForState(s: TaskStatus): Record<string, unknown> {
  const out: Record<string, unknown> = {state: s.state, timestamp: s.timestamp}
  if (s.container_status) {
    const cs = {...s.container_status}
    delete cs.executor_pid
    out.container_status = cs
  }
  return out
}

function taskJson(t: TaskRecord, kind: 'custom' | 'command', agentId: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: t.info.task_id.value,
    name: t.info.name,
    framework_id: t.frameworkId,
    executor_id: kind === 'command' ? '' : t.executorId,
    slave_id: agentId,
    state: t.state,
    resources: flattenResources(t.info.resources ?? []),
    role: '*',
    statuses: t.statuses.map(statusForState),
  }
  if (t.info.labels) out.labels = t.info.labels.labels
  if (t.info.discovery) out.discovery = t.info.discovery
  return out
}

function executorJson(e: ExecutorRecord, tasks: TaskRecord[], agentId: string): Record<string, unknown> {
  const mine = tasks.filter((t) => t.frameworkId === e.frameworkId && t.executorId === e.id)
  const queuedIds = new Set(e.queued.map((q) => q.task_id.value))
  const resources = addResources(e.info.resources ?? [], mine.flatMap((t) => t.info.resources ?? []))
  const out: Record<string, unknown> = {
    id: e.id,
    name: e.info.name ?? '',
    source: e.info.source ?? '',
    container: e.containerId,
    directory: e.directory,
    resources: flattenResources(resources),
    role: '*',
  }
  if (e.kind === 'custom') out.type = e.info.type ?? 'CUSTOM'
  if (e.info.labels) out.labels = e.info.labels.labels
  const isTerminal = (s: TaskState): boolean => ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR'].includes(s)
  out.tasks = mine.filter((t) => !queuedIds.has(t.info.task_id.value) && !isTerminal(t.state)).map((t) => taskJson(t, e.kind, agentId))
  out.queued_tasks = mine.filter((t) => queuedIds.has(t.info.task_id.value)).map((t) => taskJson(t, e.kind, agentId))
  out.completed_tasks = mine.filter((t) => !queuedIds.has(t.info.task_id.value) && isTerminal(t.state)).map((t) => taskJson(t, e.kind, agentId))
  return out
}

/** The agent `/state` document. */
export function buildAgentState(v: AgentStateView): Record<string, unknown> {
  const flat = flattenResources(v.total)
  return {
    version: '1.12.0',
    build_date: '',
    build_time: 0,
    build_user: '',
    start_time: v.startTime,
    id: v.agentId,
    pid: v.pid,
    hostname: v.hostname,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
    resources: flat,
    reserved_resources: {},
    unreserved_resources: flat,
    reserved_resources_full: {},
    unreserved_resources_full: withRole(v.total, '*'),
    reserved_resources_allocated: {},
    unreserved_resources_allocated: flattenResources(
      v.executors.filter((e) => e.state !== 'TERMINATED').flatMap((e) => [
        ...(e.info.resources ?? []),
        ...v.tasks.filter((t) => t.frameworkId === e.frameworkId && t.executorId === e.id && !['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED'].includes(t.state)).flatMap((t) => t.info.resources ?? []),
      ]),
    ),
    resource_providers: [],
    attributes: {},
    flags: v.flags,
    frameworks: v.frameworks.map((f) => ({
      id: f.info.id.value,
      name: f.info.name,
      user: f.info.user,
      failover_timeout: f.info.failover_timeout ?? 0,
      checkpoint: f.info.checkpoint ?? false,
      hostname: f.info.hostname ?? '',
      roles: f.info.roles ?? [f.info.role ?? '*'],
      executors: v.executors.filter((e) => e.frameworkId === f.info.id.value && e.state !== 'TERMINATED').map((e) => executorJson(e, v.tasks, v.agentId)),
      completed_executors: v.completedExecutors.filter((e) => e.frameworkId === f.info.id.value).map((e) => executorJson(e, v.tasks, v.agentId)),
    })),
    completed_frameworks: [],
  }
}
