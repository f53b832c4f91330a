/**
 * Mesos v1 `scheduler.Call` values (mesos-go's `calls.Accept(...)`): pure constructors, one per call type, each
 * building the call's JSON form (undefined fields dropped) without its framework_id, which the session adds when
 * it sends the call. `SchedulerCalls`, the base class of SchedulerClient, sends them by name. Also the SUBSCRIBE
 * call and `compact`.
 */
import {EventEmitter} from 'node:events'
import type {AgentID, ExecutorID, Filters, FrameworkInfo, KillPolicy, OfferID, OfferOperation, SchedulerCall, TaskID} from './types.js'

/** Drop undefined-valued keys (clean JSON, no empty protobuf sub-messages). */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** SUBSCRIBE for `frameworkInfo`, re-using `frameworkId` when one is known (failover/re-subscription). */
export function subscribeCall(frameworkInfo: FrameworkInfo, frameworkId: string | undefined): SchedulerCall {
  const framework_info: FrameworkInfo = {...frameworkInfo, ...(frameworkId ? {id: {value: frameworkId}} : {})}
  return compact({type: 'SUBSCRIBE' as const, framework_id: framework_info.id, subscribe: {framework_info}})
}

/** A non-SUBSCRIBE call with its framework_id (the type first, undefined fields dropped). */
export function withFrameworkId(c: Call, frameworkId: string): SchedulerCall {
  const {type, ...rest} = compact(c)
  return {type, framework_id: {value: frameworkId}, ...rest}
}

/** A call as built here and sent by a session: everything but the framework_id. */
export type Call = Omit<SchedulerCall, 'framework_id'>

export const calls = {
  accept: (offerIds: OfferID[], operations: OfferOperation[], filters?: Filters): Call => ({
    type: 'ACCEPT',
    accept: compact({offer_ids: offerIds, operations, filters}),
  }),
  decline: (offerIds: OfferID[], filters?: Filters): Call => ({type: 'DECLINE', decline: compact({offer_ids: offerIds, filters})}),
  revive: (roles?: string[]): Call => ({type: 'REVIVE', ...(roles ? {revive: {roles}} : {})}),
  suppress: (roles?: string[]): Call => ({type: 'SUPPRESS', ...(roles ? {suppress: {roles}} : {})}),
  kill: (taskId: TaskID, agentId?: AgentID, killPolicy?: KillPolicy): Call => ({
    type: 'KILL',
    kill: compact({task_id: taskId, agent_id: agentId, kill_policy: killPolicy}),
  }),
  shutdown: (executorId: ExecutorID, agentId: AgentID): Call => ({
    type: 'SHUTDOWN',
    shutdown: {executor_id: executorId, agent_id: agentId},
  }),
  acknowledge: (agentId: AgentID, taskId: TaskID, uuid: string): Call => ({
    type: 'ACKNOWLEDGE',
    acknowledge: {agent_id: agentId, task_id: taskId, uuid},
  }),
  reconcile: (tasks: {task_id: TaskID; agent_id?: AgentID}[]): Call => ({
    type: 'RECONCILE',
    reconcile: {tasks: tasks.map((t) => compact(t))},
  }),
  message: (agentId: AgentID, executorId: ExecutorID, data: string): Call => ({
    type: 'MESSAGE',
    message: {agent_id: agentId, executor_id: executorId, data},
  }),
}

/** Sends the calls above by name (the client's API for tests and tools; the driver sends `toCall(action)`). */
export abstract class SchedulerCalls extends EventEmitter {
  /** Send a non-SUBSCRIBE call (framework_id and Mesos-Stream-Id added). */
  abstract call(c: Call): Promise<void>

  accept(offerIds: OfferID[], operations: OfferOperation[], filters?: Filters): Promise<void> {
    return this.call(calls.accept(offerIds, operations, filters))
  }
  decline(offerIds: OfferID[], filters?: Filters): Promise<void> {
    return this.call(calls.decline(offerIds, filters))
  }
  revive(roles?: string[]): Promise<void> {
    return this.call(calls.revive(roles))
  }
  suppress(roles?: string[]): Promise<void> {
    return this.call(calls.suppress(roles))
  }
  kill(taskId: TaskID, agentId?: AgentID, killPolicy?: KillPolicy): Promise<void> {
    return this.call(calls.kill(taskId, agentId, killPolicy))
  }
  shutdown(executorId: ExecutorID, agentId: AgentID): Promise<void> {
    return this.call(calls.shutdown(executorId, agentId))
  }
  acknowledge(agentId: AgentID, taskId: TaskID, uuid: string): Promise<void> {
    return this.call(calls.acknowledge(agentId, taskId, uuid))
  }
  reconcile(tasks: {task_id: TaskID; agent_id?: AgentID}[]): Promise<void> {
    return this.call(calls.reconcile(tasks))
  }
  message(agentId: AgentID, executorId: ExecutorID, data: string): Promise<void> {
    return this.call(calls.message(agentId, executorId, data))
  }
}
