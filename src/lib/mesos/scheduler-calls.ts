/**
 * Scheduler call builders (Mesos v1 `scheduler.Call`), one method per call type, as the base class of
 * SchedulerClient: each builds the call's JSON form (undefined fields dropped) and hands it to `call()`, which
 * adds framework_id and sends it. Also the SUBSCRIBE call and `compact`.
 */
import { EventEmitter } from 'node:events'
import type {
  AgentID, ExecutorID, Filters, FrameworkInfo, KillPolicy, OfferID, OfferOperation, SchedulerCall, TaskID,
} from './types.js'

/** Drop undefined-valued keys (clean JSON, no empty protobuf sub-messages). */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** SUBSCRIBE for `frameworkInfo`, re-using `frameworkId` when one is known (failover/re-subscription). */
export function subscribeCall(frameworkInfo: FrameworkInfo, frameworkId: string | undefined): SchedulerCall {
  const framework_info: FrameworkInfo = { ...frameworkInfo, ...(frameworkId ? { id: { value: frameworkId } } : {}) }
  return compact({ type: 'SUBSCRIBE' as const, framework_id: framework_info.id, subscribe: { framework_info } })
}

/** A non-SUBSCRIBE call with its framework_id (the type first, undefined fields dropped). */
export function withFrameworkId(c: Omit<SchedulerCall, 'framework_id'>, frameworkId: string): SchedulerCall {
  const { type, ...rest } = compact(c)
  return { type, framework_id: { value: frameworkId }, ...rest }
}

export abstract class SchedulerCalls extends EventEmitter {
  /** Send a non-SUBSCRIBE call (framework_id and Mesos-Stream-Id added). */
  abstract call(c: Omit<SchedulerCall, 'framework_id'>): Promise<void>

  accept(offerIds: OfferID[], operations: OfferOperation[], filters?: Filters): Promise<void> {
    return this.call({ type: 'ACCEPT', accept: compact({ offer_ids: offerIds, operations, filters }) })
  }
  decline(offerIds: OfferID[], filters?: Filters): Promise<void> {
    return this.call({ type: 'DECLINE', decline: compact({ offer_ids: offerIds, filters }) })
  }
  revive(roles?: string[]): Promise<void> {
    return this.call({ type: 'REVIVE', ...(roles ? { revive: { roles } } : {}) })
  }
  suppress(roles?: string[]): Promise<void> {
    return this.call({ type: 'SUPPRESS', ...(roles ? { suppress: { roles } } : {}) })
  }
  kill(taskId: TaskID, agentId?: AgentID, killPolicy?: KillPolicy): Promise<void> {
    return this.call({ type: 'KILL', kill: compact({ task_id: taskId, agent_id: agentId, kill_policy: killPolicy }) })
  }
  shutdown(executorId: ExecutorID, agentId: AgentID): Promise<void> {
    return this.call({ type: 'SHUTDOWN', shutdown: { executor_id: executorId, agent_id: agentId } })
  }
  acknowledge(agentId: AgentID, taskId: TaskID, uuid: string): Promise<void> {
    return this.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: agentId, task_id: taskId, uuid } })
  }
  reconcile(tasks: { task_id: TaskID; agent_id?: AgentID }[]): Promise<void> {
    return this.call({ type: 'RECONCILE', reconcile: { tasks: tasks.map((t) => compact(t)) } })
  }
  message(agentId: AgentID, executorId: ExecutorID, data: string): Promise<void> {
    return this.call({ type: 'MESSAGE', message: { agent_id: agentId, executor_id: executorId, data } })
  }
}
