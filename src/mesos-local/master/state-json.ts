/**
 * The legacy JSON state endpoints of the local master (/master/state, /state-summary, /tasks, /frameworks,
 * /slaves, /roles, /flags, /version), shaped like Mesos 1.12's (fixture 09, §6.1): task JSON with flattened
 * resources and a `ports` string, statuses without executor_pid, command tasks with `"executor_id": ""`.
 * Pure readers of the master's state (state.ts).
 */
import type {Resource, TaskStatus} from '../../lib/mesos/types.js'
import {AGENT_CAPABILITIES, MESOS_VERSION, VERSION_JSON} from '../mesos-version.js'
import {addResources, flattenResources} from '../resources.js'
import {isReserved, reservedByRole, toEndpoint} from '../reservations.js'
import {offeredOn, offeredTo, totalOf, usedBy, usedOn} from './accounting.js'
import type {AgentRec, FrameworkRec, MasterState, TaskRec} from './state.js'
const STATE_COUNTERS = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_KILLED',
  'TASK_FAILED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_UNREACHABLE',
] as const

type Json = Record<string, unknown>

function statusJson(s: TaskStatus): Json {
  const out: Json = {state: s.state, timestamp: s.timestamp ?? 0}
  if (s.labels) out.labels = s.labels.labels
  if (s.container_status) {
    const cs: Json = {...s.container_status}
    delete cs.executor_pid
    out.container_status = cs
  }
  if (s.healthy !== undefined) out.healthy = s.healthy
  return out
}

export function taskJson(rec: TaskRec): Json {
  const t = rec.task
  const out: Json = {
    id: t.task_id.value,
    name: t.name,
    framework_id: rec.frameworkId,
    executor_id: rec.executorId ?? '',
    slave_id: rec.agentId,
    state: rec.state,
    resources: flattenResources(rec.resources),
    role: rec.resources.find((r) => r.allocation_info?.role)?.allocation_info?.role ?? '*',
    statuses: rec.statuses.map(statusJson),
  }
  if (t.labels) out.labels = t.labels.labels
  if (t.discovery) out.discovery = t.discovery
  return out
}

function agentPid(a: AgentRec): string {
  return `slave(1)@${a.port.endpoint}`
}

/** `{role: flattened}` of the reserved resources (Surprise 39: `{"etcd-pv":{"disk":64.0,...}}`). */
function reservedFlat(total: readonly Resource[]): Json {
  return Object.fromEntries([...reservedByRole(total)].map(([role, rs]) => [role, flattenResources(rs)]))
}

function agentJson(m: MasterState, a: AgentRec): Json {
  const info = a.port.info()
  const total = totalOf(a)
  return {
    id: a.id,
    hostname: info.hostname,
    port: info.port ?? Number(a.port.endpoint.split(':').pop()),
    attributes: {},
    pid: agentPid(a),
    registered_time: a.registeredTime,
    ...(a.reregisteredTime !== undefined ? {reregistered_time: a.reregisteredTime} : {}),
    resources: flattenResources(total),
    used_resources: flattenResources(usedOn(m, a.id)),
    offered_resources: flattenResources(offeredOn(m, a.id)),
    reserved_resources: reservedFlat(total),
    unreserved_resources: flattenResources(total.filter((r) => !isReserved(r))),
    active: a.connected,
    deactivated: !a.connected,
    version: MESOS_VERSION,
    capabilities: AGENT_CAPABILITIES,
  }
}

function activeTasks(m: MasterState, fwId: string): TaskRec[] {
  return [...(m.tasks.get(fwId)?.values() ?? [])]
}

function frameworkJson(m: MasterState, fw: FrameworkRec, completed: boolean): Json {
  const tasks = completed ? [] : activeTasks(m, fw.id)
  const used = completed ? [] : usedBy(m, fw.id)
  const offered = completed ? [] : offeredTo(m, fw.id)
  const info = fw.info
  const executors = completed
    ? []
    : [...m.executors.values()]
        .filter((e) => e.frameworkId === fw.id)
        .map((e) => ({
          executor_id: e.info.executor_id.value,
          name: e.info.name ?? '',
          framework_id: fw.id,
          command: {value: e.info.command?.value ?? '', argv: e.info.command?.arguments ?? [], uris: e.info.command?.uris ?? []},
          resources: flattenResources(e.info.resources ?? []),
          role: fw.roles[0] ?? '*',
          type: e.info.type ?? 'CUSTOM',
          slave_id: e.agentId,
        }))
  return {
    id: fw.id,
    name: info.name,
    used_resources: flattenResources(used),
    offered_resources: flattenResources(offered),
    capabilities: (info.capabilities ?? []).map((c) => c.type).filter((t) => t !== undefined),
    hostname: info.hostname ?? '',
    webui_url: info.webui_url ?? '',
    active: fw.stream !== null,
    connected: fw.stream !== null,
    recovered: false,
    user: info.user,
    failover_timeout: info.failover_timeout ?? 0,
    checkpoint: info.checkpoint ?? false,
    registered_time: fw.registeredTime,
    unregistered_time: fw.unregisteredTime,
    ...(info.principal !== undefined ? {principal: info.principal} : {}),
    resources: flattenResources(addResources(used, offered)),
    ...(fw.reregistered ? {reregistered_time: fw.reregisteredTime} : {}),
    ...(info.role !== undefined ? {role: info.role} : {roles: fw.roles}),
    tasks: tasks.filter((t) => t.unreachableTime === undefined).map(taskJson),
    unreachable_tasks: tasks.filter((t) => t.unreachableTime !== undefined).map(taskJson),
    completed_tasks: fw.completedTasks.map(taskJson),
    offers: completed
      ? []
      : [...m.offers.values()]
          .filter((o) => o.frameworkId === fw.id)
          .map((o) => ({
            id: o.offer.id.value,
            framework_id: fw.id,
            allocation_info: o.offer.allocation_info ?? {role: '*'},
            slave_id: o.agentId,
            resources: flattenResources(o.resources),
          })),
    executors,
    ...(info.labels ? {labels: info.labels.labels} : {}),
    offer_constraints: {},
  }
}

export function frameworksJson(m: MasterState): Json {
  return {
    frameworks: [...m.frameworks.values()].map((f) => frameworkJson(m, f, false)),
    completed_frameworks: [...m.completedFrameworks.values()].map((f) => frameworkJson(m, f, true)),
    unregistered_frameworks: [],
  }
}

/**
 * /master/slaves adds the resources in full Resource form (not in /master/state), like Mesos 1.12 (fixtures 08, 13),
 * in the endpoint format (`role` and `reservation` beside `reservations`): reserved ones by role (volumes with their
 * DiskInfo), used and offered ones with allocation_info.
 */
export function slavesJson(m: MasterState): Json {
  return {
    slaves: [...m.agents.values()].map((a) => {
      const total = totalOf(a)
      return {
        ...agentJson(m, a),
        reserved_resources_full: Object.fromEntries([...reservedByRole(total)].map(([role, rs]) => [role, toEndpoint(rs)])),
        unreserved_resources_full: toEndpoint(total.filter((r) => !isReserved(r))),
        used_resources_full: toEndpoint(usedOn(m, a.id)),
        offered_resources_full: toEndpoint(offeredOn(m, a.id)),
      }
    }),
    recovered_slaves: recoveredSlavesJson(m),
  }
}

/** Agents recovered from the registry that have not re-registered yet, as Mesos' `json(SlaveInfo)`. */
export function recoveredSlavesJson(m: MasterState): Json[] {
  return [...m.recoveringAgents].map(([id, info]) => ({id, hostname: info.hostname, port: info.port ?? 5051, attributes: {}}))
}

export function leaderInfoJson(m: MasterState): Json {
  const i = m.info
  return {id: i.id, pid: i.pid, port: i.port, hostname: i.hostname}
}

export function stateJson(m: MasterState, flags: Record<string, string>): Json {
  const agents = [...m.agents.values()]
  return {
    ...VERSION_JSON,
    start_time: m.startTime,
    elected_time: m.electedTime,
    id: m.info.id,
    pid: m.info.pid,
    hostname: m.info.hostname,
    capabilities: (m.info.capabilities ?? []).map((c) => c.type),
    activated_slaves: agents.filter((a) => a.connected).length,
    deactivated_slaves: agents.filter((a) => !a.connected).length,
    unreachable_slaves: m.unreachableAgents.size,
    leader: m.info.pid,
    leader_info: leaderInfoJson(m),
    flags,
    slaves: agents.map((a) => agentJson(m, a)),
    recovered_slaves: recoveredSlavesJson(m),
    ...frameworksJson(m),
    orphan_tasks: [],
  }
}

function counters(tasks: TaskRec[]): Json {
  const out: Json = {}
  for (const s of STATE_COUNTERS) out[s] = tasks.filter((t) => t.state === s).length
  return out
}

export function stateSummaryJson(m: MasterState): Json {
  const all = [...m.tasks.values()].flatMap((m) => [...m.values()])
  return {
    hostname: m.info.hostname,
    slaves: [...m.agents.values()].map((a) => {
      const mine = all.filter((t) => t.agentId === a.id)
      return {...agentJson(m, a), ...counters(mine), framework_ids: [...new Set(mine.map((t) => t.frameworkId))]}
    }),
    frameworks: [...m.frameworks.values()].map((fw) => {
      const j = frameworkJson(m, fw, false)
      const mine = activeTasks(m, fw.id)
      return {
        id: j.id,
        name: j.name,
        used_resources: j.used_resources,
        offered_resources: j.offered_resources,
        capabilities: j.capabilities,
        hostname: j.hostname,
        webui_url: j.webui_url,
        active: j.active,
        connected: j.connected,
        recovered: false,
        ...counters(mine),
        slave_ids: [...new Set(mine.map((t) => t.agentId))],
      }
    }),
  }
}

/** /master/tasks?limit&offset&order&framework_id&task_id (default limit 100, order des by first status time). */
export function tasksJson(m: MasterState, q: URLSearchParams): Json {
  const fwFilter = q.get('framework_id')
  const taskFilter = q.get('task_id')
  const limit = Math.max(0, Number.parseInt(q.get('limit') ?? '100', 10) || 100)
  const offset = Math.max(0, Number.parseInt(q.get('offset') ?? '0', 10) || 0)
  const asc = q.get('order') === 'asc'
  const fws = [...m.frameworks.values(), ...m.completedFrameworks.values()]
  let all = fws.flatMap((fw) => [...activeTasks(m, fw.id), ...fw.completedTasks])
  if (fwFilter) all = all.filter((t) => t.frameworkId === fwFilter)
  if (taskFilter) all = all.filter((t) => t.task.task_id.value === taskFilter)
  const ts = (t: TaskRec): number => t.statuses[0]?.timestamp ?? Number.MAX_VALUE
  all.sort((a, b) => (asc ? ts(a) - ts(b) : ts(b) - ts(a)))
  return {tasks: all.slice(offset, offset + limit).map(taskJson)}
}
