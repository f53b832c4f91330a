/**
 * A framework's lifecycle at the local master (Mesos' Master::subscribe, exited, removeFramework); its record
 * (states and invariant) is FrameworkRec in state.ts, its event stream event-stream.ts.
 *
 *   SUBSCRIBE, invalid FrameworkInfo or removed id → ERROR event, stream closed, nothing recorded.
 *   SUBSCRIBE, new id (or none)  → subscribed: SUBSCRIBED + heartbeats, offers at once.
 *   SUBSCRIBE, known id          → the old stream (if any) gets ERROR "Framework failed over" and is closed;
 *     the failover timer is cancelled and the framework's offers are recovered. Offers come at once after a
 *     disconnection, or with the next allocation cycle when failing over from an open stream.
 *   stream closed by the client  → disconnected: offers recovered, removal after failover_timeout (capped).
 *   removal                      → stream closed, offers recovered, agents shut the framework down, live
 *     tasks become TASK_KILLED and all move to completed tasks; the framework goes to completedFrameworks
 *     and can never subscribe again.
 */
import {randomUUID} from 'node:crypto'
import type {ServerResponse} from 'node:http'
import type {ContentType, SchedulerCall} from '../../lib/mesos/types.js'
import {EventStream} from './event-stream.js'
import {recoverOffers, scheduleAllocation} from './offers.js'
import {clearTimer, isTerminal, log, startTimer, type FrameworkRec, type MasterState} from './state.js'
import {frameworkRoles, validateFrameworkInfo} from './validation.js'

/** Four-digit framework counter like Mesos' `<masterId>-0000`. */
export function frameworkIdFor(masterId: string, seq: number): string {
  return `${masterId}-${String(seq).padStart(4, '0')}`
}

export function subscribe(m: MasterState, call: SchedulerCall, res: ServerResponse, contentType: ContentType): void {
  const sub = call.subscribe!
  const info = sub.framework_info
  const stream = new EventStream(res, contentType, randomUUID())
  stream.open()
  const refuse = (message: string): void => {
    log(m, `refusing subscription of framework '${info.name}': ${message}`)
    stream.send({type: 'ERROR', error: {message}})
    stream.close()
  }
  const invalid = validateFrameworkInfo(info, sub.suppressed_roles ?? [])
  if (invalid) return refuse(invalid)
  const requested = info.id?.value
  if (requested !== undefined && m.completedFrameworks.has(requested)) return refuse('Framework has been removed')
  const now = Date.now() / 1000
  let fw = requested !== undefined ? m.frameworks.get(requested) : undefined
  // A new or disconnected framework is offered resources at once; one failing over from an open stream
  // waits for the next allocation cycle, like Mesos (fixture 07: ~0.8 s with a 1 s interval).
  const allocateNow = !fw?.stream
  if (fw) {
    if (fw.stream) {
      const old = fw.stream
      fw.stream = null
      old.onClientClose = undefined
      old.send({type: 'ERROR', error: {message: 'Framework failed over'}})
      old.close()
      log(m, `framework ${fw.id} failed over`)
    }
    if (fw.failoverTimer) clearTimeout(fw.failoverTimer)
    fw.failoverTimer = undefined
    recoverOffers(m, fw.id, false)
    fw.info = {...info, id: {value: fw.id}}
    fw.reregisteredTime = now
    fw.reregistered = true
  } else {
    const id = requested ?? frameworkIdFor(m.info.id, m.seq.framework++)
    fw = {
      id,
      info: {...info, id: {value: id}},
      roles: [],
      suppressed: new Set(),
      stream: null,
      streamId: null,
      registeredTime: now,
      reregisteredTime: now,
      unregisteredTime: 0,
      completedTasks: [],
      order: m.seq.order++,
    }
    m.frameworks.set(id, fw)
    log(m, `framework ${id} ('${info.name}') subscribed`)
  }
  fw.roles = frameworkRoles(info)
  fw.suppressed = new Set(sub.suppressed_roles ?? [])
  fw.stream = stream
  fw.streamId = stream.streamId
  const rec = fw
  stream.onClientClose = () => frameworkDisconnected(m, rec, stream)
  stream.send({
    type: 'SUBSCRIBED',
    subscribed: {framework_id: {value: fw.id}, heartbeat_interval_seconds: m.config.heartbeatIntervalSec, master_info: m.info},
  })
  stream.startHeartbeats(m.config.heartbeatIntervalSec)
  if (allocateNow) scheduleAllocation(m, 0)
}

function frameworkDisconnected(m: MasterState, fw: FrameworkRec, stream: EventStream): void {
  if (fw.stream !== stream) return
  fw.stream = null
  recoverOffers(m, fw.id, false)
  const requested = Math.max(0, (fw.info.failover_timeout ?? 0) * 1000)
  const ms = Math.min(requested, m.config.failoverCapMs ?? Infinity)
  log(m, `framework ${fw.id} disconnected; removing it in ${ms} ms unless it re-subscribes`)
  fw.failoverTimer = startTimer(m, ms, () => removeFramework(m, fw.id, 'failover timeout elapsed'))
}

export function removeFramework(m: MasterState, id: string, why: string): void {
  const fw = m.frameworks.get(id)
  if (!fw) return
  log(m, `removing framework ${id}: ${why}`)
  clearTimer(m, fw.failoverTimer)
  const s = fw.stream
  fw.stream = null
  if (s) {
    s.onClientClose = undefined
    s.close()
  }
  recoverOffers(m, id, false)
  for (const a of m.agents.values()) if (a.connected) a.port.shutdownFramework(id)
  for (const rec of m.tasks.get(id)?.values() ?? []) {
    if (!isTerminal(rec.state)) {
      rec.state = 'TASK_KILLED'
      rec.latestState = 'TASK_KILLED'
      rec.statuses.push({task_id: rec.task.task_id, state: 'TASK_KILLED', timestamp: Date.now() / 1000})
    }
    fw.completedTasks.push(rec)
  }
  m.tasks.delete(id)
  for (const [k, e] of m.executors) if (e.frameworkId === id) m.executors.delete(k)
  m.allocator.clearFilters(id)
  fw.unregisteredTime = Date.now() / 1000
  m.frameworks.delete(id)
  m.completedFrameworks.set(id, fw)
}
