/**
 * The core's Mesos actions as Mesos v1 scheduler calls: `toCall(action)` is pure, so one ACCEPT has one shape
 * on the wire (built by `calls.accept` in lib/mesos/scheduler-calls.ts). The framework_id is not part of the
 * value: the session that sends the call adds it (lib/mesos/scheduler-client.ts `call`).
 */
import {calls, type Call} from '../lib/mesos/scheduler-calls.js'
import type {SchedulerAction} from './core/actions.js'

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
