/**
 * EventStream: one open SUBSCRIBE response (chunked RecordIO of scheduler.Event in JSON or protobuf).
 *   states: open → closed. `close()` ends the response (server EOF); a client-side close fires `onClientClose`
 *   exactly once (never after `close()`). Heartbeats: one at once after SUBSCRIBED (Surprise 14), then every
 *   `heartbeatSec`.
 */
import type {ServerResponse} from 'node:http'
import {encode} from '../../lib/mesos/codec.js'
import {encodeRecord} from '../../lib/mesos/recordio.js'
import type {ContentType, SchedulerEvent} from '../../lib/mesos/types.js'

export class EventStream {
  private heartbeat: NodeJS.Timeout | undefined
  private closed = false
  onClientClose: (() => void) | undefined

  constructor(
    private readonly res: ServerResponse,
    readonly contentType: ContentType,
    readonly streamId: string,
  ) {
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
