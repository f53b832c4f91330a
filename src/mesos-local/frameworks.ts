/**
 * Framework records and their subscription streams.
 *
 * EventStream: one open SUBSCRIBE response (chunked RecordIO of scheduler.Event in JSON or protobuf).
 *   states: open → closed. `close()` ends the response (server EOF); a client-side close fires `onClientClose`
 *   exactly once (never after `close()`). Heartbeats: one at once after SUBSCRIBED (Surprise 14), then every
 *   `heartbeatSec`.
 *
 * Framework lifecycle (per framework id):
 *   connected (stream open) --client closes stream--> disconnected (failover timer running)
 *   disconnected --SUBSCRIBE same id--> connected (new stream id)
 *   connected --SUBSCRIBE same id--> connected (old stream: ERROR "Framework failed over", closed)
 *   connected|disconnected --TEARDOWN / failover timeout--> removed (kept in `completed`; a later SUBSCRIBE
 *   with the id gets ERROR "Framework has been removed", calls get 400 "Framework cannot be found").
 * Invariant: `stream !== null` ⇔ connected; `streamId` is the id of the current (or last) stream.
 */
import type {ServerResponse} from 'node:http'
import {encode} from '../lib/mesos/codec.js'
import {encodeRecord} from '../lib/mesos/recordio.js'
import type {ContentType, FrameworkInfo, SchedulerEvent, TaskInfo, TaskState, TaskStatus, TimeInfo, Resource} from '../lib/mesos/types.js'

export class EventStream {
  private heartbeat: NodeJS.Timeout | undefined
  private closed = false
  onClientClose: (() => void) | undefined

  constructor(private readonly res: ServerResponse, readonly contentType: ContentType, readonly streamId: string) {
    res.on('close', () => {
      if (this.closed) return
      this.closed = true
      this.stopHeartbeat()
      this.onClientClose?.()
    })
  }

  /** Writes the 200 head (Mesos-Stream-Id only when given: rejected subscriptions have one too). */
  open(): void {
    this.res.writeHead(200, {'Content-Type': this.contentType, 'Mesos-Stream-Id': this.streamId})
    this.res.flushHeaders()
  }

  get isOpen(): boolean {
    return !this.closed
  }

  send(event: SchedulerEvent): void {
    if (this.closed) return
    this.res.write(encodeRecord(encode('scheduler.Event', event, this.contentType)))
  }

  startHeartbeats(heartbeatSec: number): void {
    this.send({type: 'HEARTBEAT'})
    this.heartbeat = setInterval(() => this.send({type: 'HEARTBEAT'}), Math.max(1, heartbeatSec * 1000))
    this.heartbeat.unref()
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.heartbeat = undefined
  }

  /** Server-side close (EOF after the last record). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.stopHeartbeat()
    this.res.end()
  }
}

export interface TaskRec {
  frameworkId: string
  agentId: string
  task: TaskInfo
  /** Custom executor id; undefined for command tasks. */
  executorId?: string
  /** State of the last update forwarded to the scheduler (what reconciliation and /master/tasks report). */
  state: TaskState
  /** Latest state the agent knows (resource accounting). */
  latestState: TaskState
  statusUpdateUuid?: string
  statuses: TaskStatus[]
  /** Set while the task's agent is removed/unreachable. */
  unreachableTime?: TimeInfo
  resources: Resource[]
}

export interface FrameworkRec {
  id: string
  info: FrameworkInfo & {id: {value: string}}
  roles: string[]
  suppressed: Set<string>
  stream: EventStream | null
  streamId: string | null
  registeredTime: number
  reregisteredTime: number
  /** Re-subscribed at least once (the legacy JSON shows reregistered_time only then). */
  reregistered?: boolean
  unregisteredTime: number
  failoverTimer?: NodeJS.Timeout
  completedTasks: TaskRec[]
  /** Subscription order (allocation tie-break). */
  order: number
}

export function isPartitionAware(fw: FrameworkRec | undefined): boolean {
  return (fw?.info.capabilities ?? []).some((c) => c?.type === 'PARTITION_AWARE')
}

export function isMultiRole(fw: FrameworkRec | undefined): boolean {
  return (fw?.info.capabilities ?? []).some((c) => c?.type === 'MULTI_ROLE')
}

/** First role that is not suppressed, or null. */
export function offerRole(fw: FrameworkRec): string | null {
  return fw.roles.find((r) => !fw.suppressed.has(r)) ?? null
}

/** Four-digit framework counter like Mesos' `<masterId>-0000`. */
export function frameworkIdFor(masterId: string, seq: number): string {
  return `${masterId}-${String(seq).padStart(4, '0')}`
}
