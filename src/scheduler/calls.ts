/**
 * The core's Mesos actions as Mesos v1 scheduler calls: `toCall(action)` is pure, so one ACCEPT has one shape
 * on the wire (built by `calls.accept` in lib/mesos/scheduler-calls.ts). The framework_id is not part of the
 * value: the session that sends the call adds it (lib/mesos/scheduler-client.ts `call`).
 * `coalesceDeclines(actions)` merges consecutive DECLINEs with the same filters (Call.Decline lists many offer
 * ids): the core declines offer by offer, and an offer storm of 10,000 offers would otherwise be 10,000 calls.
 */
import {calls, type Call} from '../lib/mesos/scheduler-calls.js'
import type {SchedulerAction} from './core/actions.js'
import type {Filters} from '../lib/mesos/types.js'

export type MesosAction = Extract<
  SchedulerAction,
  {type: 'ACCEPT' | 'DECLINE' | 'REVIVE' | 'SUPPRESS' | 'KILL' | 'ACKNOWLEDGE' | 'RECONCILE' | 'MESSAGE'}
>

const MESOS_TYPES: ReadonlySet<SchedulerAction['type']> = new Set([
  'ACCEPT',
  'DECLINE',
  'REVIVE',
  'SUPPRESS',
  'KILL',
  'ACKNOWLEDGE',
  'RECONCILE',
  'MESSAGE',
])

export function isMesosAction(a: SchedulerAction): a is MesosAction {
  return MESOS_TYPES.has(a.type)
}

/** Most offer ids one DECLINE call lists (the driver coalesces consecutive DECLINEs of a batch, driver.ts). */
export const DECLINE_CHUNK = 1000

/** The batch with each run of consecutive DECLINEs of equal filters merged into DECLINEs of at most
 *  DECLINE_CHUNK offer ids (order kept; every other action untouched, in place). */
export function coalesceDeclines(actions: SchedulerAction[]): SchedulerAction[] {
  const out: SchedulerAction[] = []
  let run: {offerIds: string[]; filters: Filters; key: string} | null = null
  for (const a of actions) {
    if (a.type !== 'DECLINE') {
      run = null
      out.push(a)
      continue
    }
    const key = JSON.stringify(a.filters ?? null)
    if (run === null || run.key !== key || run.offerIds.length + a.offerIds.length > DECLINE_CHUNK) {
      run = {offerIds: [...a.offerIds], filters: a.filters, key}
      out.push({type: 'DECLINE', offerIds: run.offerIds, filters: a.filters})
    } else run.offerIds.push(...a.offerIds)
  }
  return out
}

const id = (value: string): {value: string} => ({value})

export function toCall(a: MesosAction): Call {
  switch (a.type) {
    case 'ACCEPT':
      return calls.accept(a.offerIds.map(id), a.operations, a.filters)
    case 'DECLINE':
      return calls.decline(a.offerIds.map(id), a.filters)
    case 'REVIVE':
      return calls.revive()
    case 'SUPPRESS':
      return calls.suppress()
    case 'KILL':
      return calls.kill(id(a.taskId), a.agentId ? id(a.agentId) : undefined)
    case 'ACKNOWLEDGE':
      return calls.acknowledge(id(a.agentId), id(a.taskId), a.uuid)
    case 'RECONCILE':
      return calls.reconcile(a.tasks.map((t) => (t.agentId ? {task_id: id(t.taskId), agent_id: id(t.agentId)} : {task_id: id(t.taskId)})))
    case 'MESSAGE':
      return calls.message(id(a.agentId), id(a.executorId), a.data)
  }
}
