/**
 * The v1 operator API of the local master (POST /api/v1, /master/api/v1): GET_HEALTH, GET_VERSION, GET_MASTER,
 * GET_TASKS, GET_FRAMEWORKS, GET_AGENTS, GET_EXECUTORS, GET_STATE, answered as `{"type":"GET_X","get_x":{...}}`
 * (fixture 09). Builds plain JSON-form objects; http.ts encodes them as master.Response.
 */
import type {Resource} from '../../lib/mesos/types.js'
import {AGENT_CAPABILITIES, MESOS_VERSION, VERSION_JSON} from '../mesos-version.js'
import {bareResources, isReserved, toEndpoint} from '../reservations.js'
import {offeredOn, offeredTo, totalOf, usedBy, usedOn} from './accounting.js'
import type {FrameworkRec, MasterState, TaskRec} from './state.js'

type Json = Record<string, unknown>

/** Operator call types we answer (others get 501). */
export const OPERATOR_CALLS = [
  'GET_HEALTH',
  'GET_VERSION',
  'GET_MASTER',
  'GET_TASKS',
  'GET_FRAMEWORKS',
  'GET_AGENTS',
  'GET_EXECUTORS',
  'GET_STATE',
] as const
export type OperatorCall = (typeof OPERATOR_CALLS)[number]

const nanos = (seconds: number): {nanoseconds: number} => ({nanoseconds: Math.round(seconds * 1e9)})

/**
 * Resources as the operator API shows them inside offers/TaskInfo/AgentInfo: the master's refinement format,
 * without `role` (fixture 09); the agent and framework resource lists are in the endpoint format (toEndpoint).
 */
function withoutRole(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => {
    const c: Resource = {...r}
    delete c.role
    return c
  })
}

/**
 * List fields the real master writes even when empty (its operator API JSON is written field by field, unlike
 * the scheduler API's protobuf-to-JSON, which drops empty repeated fields): `[response key, list keys]`.
 */
export const ALWAYS_LISTED: Record<string, string[]> = {
  get_tasks: ['tasks', 'unreachable_tasks', 'completed_tasks'],
  get_frameworks: ['frameworks', 'completed_frameworks'],
  get_agents: ['agents', 'recovered_agents'],
  get_executors: ['executors'],
}

function taskProto(rec: TaskRec): Json {
  const t = rec.task
  return {
    name: t.name,
    task_id: t.task_id,
    framework_id: {value: rec.frameworkId},
    ...(rec.executorId !== undefined ? {executor_id: {value: rec.executorId}} : {}),
    agent_id: {value: rec.agentId},
    state: rec.state,
    resources: withoutRole(rec.resources),
    // The master keeps statuses without `data` (fixture 09).
    statuses: rec.statuses.map((s) => {
      const c = {...s}
      delete c.data
      return c
    }),
    ...(rec.statuses.length > 0 ? {status_update_state: rec.state} : {}),
    ...(rec.statusUpdateUuid !== undefined ? {status_update_uuid: rec.statusUpdateUuid} : {}),
    ...(t.labels ? {labels: t.labels} : {}),
    ...(t.discovery ? {discovery: t.discovery} : {}),
  }
}

function getTasks(m: MasterState): Json {
  const active = [...m.tasks.values()].flatMap((m) => [...m.values()])
  const completed = [...m.frameworks.values(), ...m.completedFrameworks.values()].flatMap((f) => f.completedTasks)
  return {
    tasks: active.filter((t) => t.unreachableTime === undefined).map(taskProto),
    unreachable_tasks: active.filter((t) => t.unreachableTime !== undefined).map(taskProto),
    completed_tasks: completed.map(taskProto),
  }
}

function getFrameworks(m: MasterState): Json {
  const fw =
    (completed: boolean) =>
    (f: FrameworkRec): Json => ({
      framework_info: f.info,
      active: !completed && f.stream !== null,
      connected: !completed && f.stream !== null,
      recovered: false,
      registered_time: nanos(f.registeredTime),
      reregistered_time: nanos(f.reregisteredTime),
      ...(f.unregisteredTime > 0 ? {unregistered_time: nanos(f.unregisteredTime)} : {}),
      offers: completed
        ? []
        : [...m.offers.values()]
            .filter((o) => o.frameworkId === f.id)
            .map((o) => ({...o.offer, resources: withoutRole(o.offer.resources)})),
      allocated_resources: completed ? [] : toEndpoint(usedBy(m, f.id)),
      offered_resources: completed ? [] : toEndpoint(offeredTo(m, f.id)),
    })
  return {frameworks: [...m.frameworks.values()].map(fw(false)), completed_frameworks: [...m.completedFrameworks.values()].map(fw(true))}
}

function getAgents(m: MasterState): Json {
  return {
    agents: [...m.agents.values()].map((a) => ({
      agent_info: {
        ...a.port.info(),
        resources: withoutRole(a.port.info().resources ?? []).map((r) => {
          const c: Resource = {...r}
          delete c.allocation_info
          return c
        }),
        id: {value: a.id},
      },
      active: a.connected,
      version: MESOS_VERSION,
      pid: `slave(1)@${a.port.endpoint}`,
      registered_time: nanos(a.registeredTime),
      ...(a.reregisteredTime !== undefined ? {reregistered_time: nanos(a.reregisteredTime)} : {}),
      // Unreserved resources first, then the reserved ones (volumes included), in the endpoint format (fixture 13).
      total_resources: toEndpoint([...totalOf(a).filter((r) => !isReserved(r)), ...totalOf(a).filter(isReserved)]),
      allocated_resources: toEndpoint(usedOn(m, a.id)),
      offered_resources: toEndpoint(offeredOn(m, a.id)),
      capabilities: AGENT_CAPABILITIES.map((type) => ({type})),
    })),
    recovered_agents: [...m.recoveringAgents].map(([id, info]) => ({
      ...info,
      resources: bareResources(info.resources ?? []),
      id: {value: id},
    })),
  }
}

function getExecutors(m: MasterState): Json {
  return {executors: [...m.executors.values()].map((e) => ({executor_info: e.info, agent_id: {value: e.agentId}}))}
}

export function operatorResponse(m: MasterState, type: OperatorCall): Json {
  switch (type) {
    case 'GET_HEALTH':
      return {type, get_health: {healthy: true}}
    case 'GET_VERSION':
      return {type, get_version: {version_info: VERSION_JSON}}
    case 'GET_MASTER':
      return {type, get_master: {master_info: m.info, start_time: m.startTime, elected_time: m.electedTime}}
    case 'GET_TASKS':
      return {type, get_tasks: getTasks(m)}
    case 'GET_FRAMEWORKS':
      return {type, get_frameworks: getFrameworks(m)}
    case 'GET_AGENTS':
      return {type, get_agents: getAgents(m)}
    case 'GET_EXECUTORS':
      return {type, get_executors: getExecutors(m)}
    case 'GET_STATE':
      return {
        type,
        get_state: {get_tasks: getTasks(m), get_executors: getExecutors(m), get_frameworks: getFrameworks(m), get_agents: getAgents(m)},
      }
  }
}
