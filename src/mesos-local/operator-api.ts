/**
 * The v1 operator API of the local master (POST /api/v1, /master/api/v1): GET_HEALTH, GET_VERSION, GET_MASTER,
 * GET_TASKS, GET_FRAMEWORKS, GET_AGENTS, GET_EXECUTORS, GET_STATE, answered as `{"type":"GET_X","get_x":{...}}`
 * (fixture 09). Builds plain JSON-form objects; master-http.ts encodes them as master.Response.
 */
import type {Resource} from '../lib/mesos/types.js'
import type {TaskRec} from './frameworks.js'
import type {MasterCore} from './master-core.js'
import {bareResources} from './resources.js'
import {AGENT_CAPABILITIES, MESOS_VERSION, VERSION_JSON} from './state-json.js'

type Json = Record<string, unknown>

/** Operator call types we answer (others get 501). */
export const OPERATOR_CALLS = ['GET_HEALTH', 'GET_VERSION', 'GET_MASTER', 'GET_TASKS', 'GET_FRAMEWORKS', 'GET_AGENTS', 'GET_EXECUTORS', 'GET_STATE'] as const
export type OperatorCall = (typeof OPERATOR_CALLS)[number]

const nanos = (seconds: number): {nanoseconds: number} => ({nanoseconds: Math.round(seconds * 1e9)})

/** Resources as the operator API shows them inside offers/TaskInfo/AgentInfo: without `role` (fixture 09). */
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
    name: t.name, task_id: t.task_id, framework_id: {value: rec.frameworkId},
    ...(rec.executorId !== undefined ? {executor_id: {value: rec.executorId}} : {}),
    agent_id: {value: rec.agentId}, state: rec.state,
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

function getTasks(core: MasterCore): Json {
  const active = [...core.tasks.values()].flatMap((m) => [...m.values()])
  const completed = [...core.frameworks.values(), ...core.completedFrameworks.values()].flatMap((f) => f.completedTasks)
  return {
    tasks: active.filter((t) => t.unreachableTime === undefined).map(taskProto),
    unreachable_tasks: active.filter((t) => t.unreachableTime !== undefined).map(taskProto),
    completed_tasks: completed.map(taskProto),
  }
}

function getFrameworks(core: MasterCore): Json {
  const fw = (completed: boolean) => (f: import('./frameworks.js').FrameworkRec): Json => ({
    framework_info: f.info, active: !completed && f.stream !== null, connected: !completed && f.stream !== null, recovered: false,
    registered_time: nanos(f.registeredTime), reregistered_time: nanos(f.reregisteredTime),
    ...(f.unregisteredTime > 0 ? {unregistered_time: nanos(f.unregisteredTime)} : {}),
    offers: completed ? [] : [...core.offers.values()].filter((o) => o.frameworkId === f.id).map((o) => ({...o.offer, resources: withoutRole(o.offer.resources)})),
    allocated_resources: completed ? [] : core.usedBy(f.id),
    // Scalar quantities only, like Mesos 1.12 (fixture 09).
    offered_resources: completed ? [] : core.offeredTo(f.id).filter((r) => r.type === 'SCALAR'),
  })
  return {frameworks: [...core.frameworks.values()].map(fw(false)), completed_frameworks: [...core.completedFrameworks.values()].map(fw(true))}
}

function getAgents(core: MasterCore): Json {
  return {
    agents: [...core.agents.values()].map((a) => ({
      agent_info: {...a.port.info(), resources: withoutRole(a.port.info().resources ?? []).map((r) => {
        const c: Resource = {...r}
        delete c.allocation_info
        return c
      }), id: {value: a.id}},
      active: a.connected, version: MESOS_VERSION, pid: `slave(1)@${a.port.endpoint}`,
      registered_time: nanos(a.registeredTime), ...(a.reregisteredTime !== undefined ? {reregistered_time: nanos(a.reregisteredTime)} : {}),
      total_resources: a.port.totalResources().map((r) => ({...r, role: r.role ?? '*'})),
      allocated_resources: core.usedOn(a.id), offered_resources: core.offeredOn(a.id),
      capabilities: AGENT_CAPABILITIES.map((type) => ({type})),
    })),
    recovered_agents: [...core.recoveringAgents].map(([id, info]) => ({...info, resources: bareResources(info.resources ?? []), id: {value: id}})),
  }
}

function getExecutors(core: MasterCore): Json {
  return {executors: [...core.executors.values()].map((e) => ({executor_info: e.info, agent_id: {value: e.agentId}}))}
}

export function operatorResponse(core: MasterCore, type: OperatorCall): Json {
  switch (type) {
    case 'GET_HEALTH':
      return {type, get_health: {healthy: true}}
    case 'GET_VERSION':
      return {type, get_version: {version_info: VERSION_JSON}}
    case 'GET_MASTER':
      return {type, get_master: {master_info: core.info, start_time: core.startTime, elected_time: core.electedTime}}
    case 'GET_TASKS':
      return {type, get_tasks: getTasks(core)}
    case 'GET_FRAMEWORKS':
      return {type, get_frameworks: getFrameworks(core)}
    case 'GET_AGENTS':
      return {type, get_agents: getAgents(core)}
    case 'GET_EXECUTORS':
      return {type, get_executors: getExecutors(core)}
    case 'GET_STATE':
      return {type, get_state: {get_tasks: getTasks(core), get_executors: getExecutors(core), get_frameworks: getFrameworks(core), get_agents: getAgents(core)}}
  }
}
