/**
 * Mesos scheduler events → the core's events (the driver dispatches them). SUBSCRIBED is handled by the
 * driver through the client's 'subscribed'; HEARTBEAT and unknown types map to nothing.
 * ERROR "Framework failed over" (another scheduler subscribed with our framework id: Mesos fences us) maps to
 * FrameworkError, on which the core steps down (FATAL); re-subscribing instead would fail the other one over
 * in turn: two schedulers fighting. Other ERRORs end the stream; the client re-subscribes by itself.
 */
import type {SchedulerEvent as MesosEvent} from '../lib/mesos/types.js'
import type {SchedulerEvent} from './core/events.js'

export function coreEventOf(ev: MesosEvent): SchedulerEvent | null {
  switch (ev.type) {
    case 'OFFERS':
      return {type: 'Offers', offers: ev.offers?.offers ?? []}
    case 'RESCIND':
      return ev.rescind ? {type: 'Rescind', offerId: ev.rescind.offer_id.value} : null
    case 'UPDATE':
      return ev.update?.status ? {type: 'Update', status: ev.update.status} : null
    case 'MESSAGE':
      return ev.message
        ? {type: 'FrameworkMessage', agentId: ev.message.agent_id.value, executorId: ev.message.executor_id.value, data: ev.message.data}
        : null
    case 'FAILURE': {
      const f = ev.failure ?? {}
      return {
        type: 'Failure',
        ...(f.agent_id ? {agentId: f.agent_id.value} : {}),
        ...(f.executor_id ? {executorId: f.executor_id.value} : {}),
        ...(f.status !== undefined ? {status: f.status} : {}),
      }
    }
    case 'ERROR': {
      const message = ev.error?.message ?? ''
      return /framework failed over/i.test(message) ? {type: 'FrameworkError', message} : null
    }
    default:
      return null
  }
}
