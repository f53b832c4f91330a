/**
 * The legacy JSON state endpoints of the local master (/master/state, /state-summary, /tasks, /frameworks,
 * /slaves, /roles, /flags, /version), shaped like Mesos 1.12's (fixture 09, §6.1): task JSON with flattened
 * resources and a `ports` string, statuses without executor_pid, command tasks with `"executor_id": ""`.
 * Pure readers of MasterCore state.
 */
import type {Resource, TaskStatus} from '../lib/mesos/types.js'
import type {FrameworkRec, TaskRec} from './frameworks.js'
import type {AgentRec, MasterCore} from './master-core.js'
import {addResources, flattenResources} from './resources.js'

export const MESOS_VERSION = '1.12.0'
export const VERSION_JSON = {build_date: '2024-08-23 00:00:00', build_time: 1724371200, build_user: '', version: MESOS_VERSION}
export const AGENT_CAPABILITIES = ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT', 'RESOURCE_PROVIDER', 'RESIZE_VOLUME',
  'AGENT_OPERATION_FEEDBACK', 'AGENT_DRAINING', 'TASK_RESOURCE_LIMITS']
const STATE_COUNTERS = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_KILLED', 'TASK_FAILED',
  'TASK_LOST', 'TASK_ERROR', 'TASK_UNREACHABLE'] as const

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
    id: t.task_id.value, name: t.name, framework_id: rec.frameworkId, executor_id: rec.executorId ?? '',
    slave_id: rec.agentId, state: rec.state, resources: flattenResources(rec.resources),
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

function agentJson(core: MasterCore, a: AgentRec): Json {
  const info = a.port.info()
  const total = a.port.totalResources()
  return {
    id: a.id, hostname: info.hostname, port: info.port ?? Number(a.port.endpoint.split(':').pop()), attributes: {}, pid: agentPid(a),
    registered_time: a.registeredTime, ...(a.reregisteredTime !== undefined ? {reregistered_time: a.reregisteredTime} : {}),
    resources: flattenResources(total), used_resources: flattenResources(core.usedOn(a.id)),
    offered_resources: flattenResources(core.offeredOn(a.id)), reserved_resources: {}, unreserved_resources: flattenResources(total),
    active: a.connected, deactivated: !a.connected, version: MESOS_VERSION, capabilities: AGENT_CAPABILITIES,
  }
}

function activeTasks(core: MasterCore, fwId: string): TaskRec[] {
  return [...(core.tasks.get(fwId)?.values() ?? [])]
}

/** Mesos 1.12 reports a framework's (and role's) offered resources as scalar quantities only (fixture 09). */
function scalarsOnly(rs: readonly Resource[]): Resource[] {
  return rs.filter((r) => r.type === 'SCALAR')
}

function frameworkJson(core: MasterCore, fw: FrameworkRec, completed: boolean): Json {
  const tasks = completed ? [] : activeTasks(core, fw.id)
  const used = completed ? [] : core.usedBy(fw.id)
  const offered = completed ? [] : scalarsOnly(core.offeredTo(fw.id))
  const info = fw.info
  const executors = completed ? [] : [...core.executors.values()].filter((e) => e.frameworkId === fw.id).map((e) => ({
    executor_id: e.info.executor_id.value, name: e.info.name ?? '', framework_id: fw.id,
    command: {value: e.info.command?.value ?? '', argv: e.info.command?.arguments ?? [], uris: e.info.command?.uris ?? []},
    resources: flattenResources(e.info.resources ?? []), role: fw.roles[0] ?? '*', type: e.info.type ?? 'CUSTOM', slave_id: e.agentId,
  }))
  return {
    id: fw.id, name: info.name, used_resources: flattenResources(used), offered_resources: flattenResources(offered),
    capabilities: (info.capabilities ?? []).map((c) => c.type).filter((t) => t !== undefined),
    hostname: info.hostname ?? '', webui_url: info.webui_url ?? '',
    active: fw.stream !== null, connected: fw.stream !== null, recovered: false,
    user: info.user, failover_timeout: info.failover_timeout ?? 0, checkpoint: info.checkpoint ?? false,
    registered_time: fw.registeredTime, unregistered_time: fw.unregisteredTime,
    ...(info.principal !== undefined ? {principal: info.principal} : {}),
    resources: flattenResources(addResources(used, offered)), ...(fw.reregistered ? {reregistered_time: fw.reregisteredTime} : {}),
    ...(info.role !== undefined ? {role: info.role} : {roles: fw.roles}),
    tasks: tasks.filter((t) => t.unreachableTime === undefined).map(taskJson),
    unreachable_tasks: tasks.filter((t) => t.unreachableTime !== undefined).map(taskJson),
    completed_tasks: fw.completedTasks.map(taskJson),
    offers: completed ? [] : [...core.offers.values()].filter((o) => o.frameworkId === fw.id).map((o) => ({
      id: o.offer.id.value, framework_id: fw.id, allocation_info: o.offer.allocation_info ?? {role: '*'}, slave_id: o.agentId,
      resources: flattenResources(o.resources),
    })),
    executors,
    ...(info.labels ? {labels: info.labels.labels} : {}),
    offer_constraints: {},
  }
}

export function frameworksJson(core: MasterCore): Json {
  return {
    frameworks: [...core.frameworks.values()].map((f) => frameworkJson(core, f, false)),
    completed_frameworks: [...core.completedFrameworks.values()].map((f) => frameworkJson(core, f, true)),
    unregistered_frameworks: [],
  }
}

/** /master/slaves adds the resources in full Resource form (not in /master/state), like Mesos 1.12 (fixture 08). */
export function slavesJson(core: MasterCore): Json {
  const full = (rs: readonly Resource[]): Resource[] => rs.map((r) => ({...r, role: r.role ?? '*'}))
  return {
    slaves: [...core.agents.values()].map((a) => {
      const total = a.port.totalResources().map((r) => {
        const c: Resource = {...r, role: r.role ?? '*'}
        delete c.allocation_info
        return c
      })
      return {
        ...agentJson(core, a), reserved_resources_full: {}, unreserved_resources_full: total,
        used_resources_full: full(core.usedOn(a.id)), offered_resources_full: full(core.offeredOn(a.id)),
      }
    }),
    recovered_slaves: recoveredSlavesJson(core),
  }
}

/** Agents recovered from the registry that have not re-registered yet, as Mesos' `json(SlaveInfo)`. */
export function recoveredSlavesJson(core: MasterCore): Json[] {
  return [...core.recoveringAgents].map(([id, info]) => ({id, hostname: info.hostname, port: info.port ?? 5051, attributes: {}}))
}

export function leaderInfoJson(core: MasterCore): Json {
  const i = core.info
  return {id: i.id, pid: i.pid, port: i.port, hostname: i.hostname}
}

export function stateJson(core: MasterCore, flags: Record<string, string>): Json {
  const agents = [...core.agents.values()]
  return {
    ...VERSION_JSON, start_time: core.startTime, elected_time: core.electedTime, id: core.id, pid: core.info.pid,
    hostname: core.info.hostname, capabilities: (core.info.capabilities ?? []).map((c) => c.type),
    activated_slaves: agents.filter((a) => a.connected).length, deactivated_slaves: agents.filter((a) => !a.connected).length,
    unreachable_slaves: core.unreachableAgents.size, leader: core.info.pid, leader_info: leaderInfoJson(core),
    flags, slaves: agents.map((a) => agentJson(core, a)), recovered_slaves: recoveredSlavesJson(core),
    ...frameworksJson(core), orphan_tasks: [],
  }
}

function counters(tasks: TaskRec[]): Json {
  const out: Json = {}
  for (const s of STATE_COUNTERS) out[s] = tasks.filter((t) => t.state === s).length
  return out
}

export function stateSummaryJson(core: MasterCore): Json {
  const all = [...core.tasks.values()].flatMap((m) => [...m.values()])
  return {
    hostname: core.info.hostname,
    slaves: [...core.agents.values()].map((a) => {
      const mine = all.filter((t) => t.agentId === a.id)
      return {...agentJson(core, a), ...counters(mine), framework_ids: [...new Set(mine.map((t) => t.frameworkId))]}
    }),
    frameworks: [...core.frameworks.values()].map((fw) => {
      const j = frameworkJson(core, fw, false)
      const mine = activeTasks(core, fw.id)
      return {
        id: j.id, name: j.name, used_resources: j.used_resources, offered_resources: j.offered_resources,
        capabilities: j.capabilities, hostname: j.hostname, webui_url: j.webui_url, active: j.active, connected: j.connected,
        recovered: false, ...counters(mine), slave_ids: [...new Set(mine.map((t) => t.agentId))],
      }
    }),
  }
}

/** /master/tasks?limit&offset&order&framework_id&task_id (default limit 100, order des by first status time). */
export function tasksJson(core: MasterCore, q: URLSearchParams): Json {
  const fwFilter = q.get('framework_id')
  const taskFilter = q.get('task_id')
  const limit = Math.max(0, Number.parseInt(q.get('limit') ?? '100', 10) || 100)
  const offset = Math.max(0, Number.parseInt(q.get('offset') ?? '0', 10) || 0)
  const asc = q.get('order') === 'asc'
  const fws = [...core.frameworks.values(), ...core.completedFrameworks.values()]
  let all = fws.flatMap((fw) => [...activeTasks(core, fw.id), ...fw.completedTasks])
  if (fwFilter) all = all.filter((t) => t.frameworkId === fwFilter)
  if (taskFilter) all = all.filter((t) => t.task.task_id.value === taskFilter)
  const ts = (t: TaskRec): number => t.statuses[0]?.timestamp ?? Number.MAX_VALUE
  all.sort((a, b) => (asc ? ts(a) - ts(b) : ts(b) - ts(a)))
  return {tasks: all.slice(offset, offset + limit).map(taskJson)}
}

function quantities(rs: readonly Resource[]): Json {
  const out: Json = {}
  for (const r of rs) {
    if (r.type === 'SCALAR') out[r.name] = (out[r.name] as number | undefined ?? 0) + (r.scalar?.value ?? 0)
    if (r.type === 'RANGES') out[r.name] = (r.ranges?.range ?? []).reduce((n, x) => n + x.end - x.begin + 1, out[r.name] as number | undefined ?? 0)
  }
  return out
}

export function rolesJson(core: MasterCore): Json {
  const byRole = new Map<string, FrameworkRec[]>()
  for (const fw of core.frameworks.values()) for (const r of fw.roles) byRole.set(r, [...(byRole.get(r) ?? []), fw])
  return {
    roles: [...byRole].map(([name, fws]) => {
      const used = addResources([], fws.flatMap((f) => core.usedBy(f.id)))
      const offered = addResources([], fws.flatMap((f) => scalarsOnly(core.offeredTo(f.id))))
      return {
        name, weight: 1, quota: {role: name, guarantee: {}, limit: {}, consumed: quantities(used)},
        resources: quantities(addResources(used, offered)), allocated: quantities(used), offered: quantities(offered),
        reserved: {}, frameworks: fws.map((f) => f.id),
      }
    }),
  }
}

/** Mesos' Duration text: `1secs`, `15secs`, `500ms`, `10mins`. */
export function durationText(ms: number): string {
  const units: [number, string][] = [[604800000, 'weeks'], [86400000, 'days'], [3600000, 'hrs'], [60000, 'mins'], [1000, 'secs'], [1, 'ms']]
  for (const [size, name] of units) if (ms >= size) return `${Number((ms / size).toFixed(3))}${name}`
  return `${ms}ms`
}
