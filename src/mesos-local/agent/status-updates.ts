/**
 * The agent's task status update manager (Mesos src/slave/task_status_update_manager.cpp), made small.
 *
 * Per task (framework id + task id) there is one ordered stream of reliable updates (each has a uuid).
 *   - enqueue(): appends an update; a uuid already seen on the stream is a duplicate and is ignored
 *     (executors replay unacknowledged updates on re-SUBSCRIBE).
 *   - Only the HEAD of a stream is forwarded. It is re-sent with the same uuid and timestamp at
 *     +base, +3·base, +7·base … (interval doubling from `retryMinMs` = 10 s, capped at `retryMaxMs` = 10 min)
 *     until acknowledge(uuid of the head) arrives; then the next update (if any) is forwarded at once.
 *   - Acknowledging a TERMINAL head removes the stream (the task is forgotten).
 *   - pause(): stop forwarding (no master); resume(): forward every head now and restart its backoff.
 *
 * Invariants: at most one retry timer per stream, only for a non-empty stream while not paused; the head
 * of a stream is the oldest unacknowledged update. Time comes from injected timers (tests use fakes).
 *
 * Fault hooks (tests): `faults.dropUpdates(status)` → true drops that send on the floor (the retry timer
 * still runs, as if the message was lost); `faults.delayUpdatesMs` delays every send.
 */
import {TERMINAL_STATES, type TaskStatus} from '../../lib/mesos/types.js'

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
}

export interface UpdateFaults {
  dropUpdates?: (s: TaskStatus) => boolean
  delayUpdatesMs?: number
}

export interface StatusUpdateManagerOptions {
  /** Deliver one update to the master (called for first sends and for re-sends). */
  forward: (frameworkId: string, status: TaskStatus) => void
  timers?: Timers
  retryMinMs?: number
  retryMaxMs?: number
  /** Called after every change of the queued updates (the agent checkpoints then). */
  onChange?: () => void
}

export interface StreamSnapshot {
  frameworkId: string
  taskId: string
  pending: TaskStatus[]
  seen: string[]
}

export type AckResult = 'acknowledged' | 'unknown-stream' | 'not-head'

export const STATUS_UPDATE_RETRY_INTERVAL_MIN_MS = 10_000
export const STATUS_UPDATE_RETRY_INTERVAL_MAX_MS = 600_000

interface Stream {
  frameworkId: string
  taskId: string
  pending: TaskStatus[]
  seen: Set<string>
  timer?: unknown
  interval: number
}

const key = (fid: string, tid: string): string => `${fid}\u0000${tid}`

export class StatusUpdateManager {
  faults: UpdateFaults = {}
  private readonly streams = new Map<string, Stream>()
  private readonly timers: Timers
  private readonly retryMinMs: number
  private readonly retryMaxMs: number
  private paused = true
  private readonly delayed = new Set<unknown>()

  constructor(private readonly opts: StatusUpdateManagerOptions) {
    this.timers = opts.timers ?? realTimers
    this.retryMinMs = opts.retryMinMs ?? STATUS_UPDATE_RETRY_INTERVAL_MIN_MS
    this.retryMaxMs = opts.retryMaxMs ?? STATUS_UPDATE_RETRY_INTERVAL_MAX_MS
    if (!(this.retryMinMs > 0) || !(this.retryMaxMs >= this.retryMinMs)) {
      throw new RangeError(`status update retry interval must satisfy 0 < min <= max, got min=${this.retryMinMs} max=${this.retryMaxMs}`)
    }
  }

  /** Queue a reliable update. Returns false for a duplicate (uuid already on the stream) or a missing uuid. */
  enqueue(frameworkId: string, status: TaskStatus): boolean {
    if (!status.uuid) return false
    const k = key(frameworkId, status.task_id.value)
    let s = this.streams.get(k)
    if (!s) {
      s = {frameworkId, taskId: status.task_id.value, pending: [], seen: new Set(), interval: this.retryMinMs}
      this.streams.set(k, s)
    }
    if (s.seen.has(status.uuid)) return false
    s.seen.add(status.uuid)
    s.pending.push(status)
    this.opts.onChange?.()
    if (s.pending.length === 1) this.sendHead(s, true)
    return true
  }

  /** The scheduler acknowledged `uuid` for a task. Only the head can be acknowledged. */
  acknowledge(frameworkId: string, taskId: string, uuid: string): AckResult {
    const s = this.streams.get(key(frameworkId, taskId))
    if (!s || s.pending.length === 0) return 'unknown-stream'
    const head = s.pending[0]!
    if (head.uuid !== uuid) return 'not-head'
    this.clearTimer(s)
    s.pending.shift()
    if (TERMINAL_STATES.has(head.state)) {
      this.streams.delete(key(frameworkId, taskId))
    } else if (s.pending.length > 0) {
      this.sendHead(s, true)
    }
    this.opts.onChange?.()
    return 'acknowledged'
  }

  /** The update being delivered for a task (head of its stream), if any. */
  head(frameworkId: string, taskId: string): TaskStatus | undefined {
    return this.streams.get(key(frameworkId, taskId))?.pending[0]
  }

  /** True while the task still has a stream (unacknowledged updates, or none yet after a non-terminal ACK). */
  hasStream(frameworkId: string, taskId: string): boolean {
    return this.streams.has(key(frameworkId, taskId))
  }

  /** True if `uuid` was already enqueued on the task's (still existing) stream. */
  hasSeen(frameworkId: string, taskId: string, uuid: string): boolean {
    return this.streams.get(key(frameworkId, taskId))?.seen.has(uuid) ?? false
  }

  pending(frameworkId: string, taskId: string): readonly TaskStatus[] {
    return this.streams.get(key(frameworkId, taskId))?.pending ?? []
  }

  /** Stop forwarding (agent has no master). Timers are cleared. */
  pause(): void {
    this.paused = true
    for (const s of this.streams.values()) this.clearTimer(s)
  }

  /** Forward every head now (with a fresh backoff) and keep forwarding. */
  resume(): void {
    this.paused = false
    for (const s of this.streams.values()) {
      this.clearTimer(s)
      if (s.pending.length > 0) this.sendHead(s, true)
    }
  }

  get isPaused(): boolean {
    return this.paused
  }

  /** Forget every stream of a framework (framework removed). */
  cleanupFramework(frameworkId: string): void {
    for (const [k, s] of this.streams) {
      if (s.frameworkId !== frameworkId) continue
      this.clearTimer(s)
      this.streams.delete(k)
    }
    this.opts.onChange?.()
  }

  snapshot(): StreamSnapshot[] {
    return [...this.streams.values()].map((s) => ({
      frameworkId: s.frameworkId,
      taskId: s.taskId,
      pending: s.pending.map((p) => ({...p})),
      seen: [...s.seen],
    }))
  }

  /** Replace all streams with a checkpointed snapshot (paused; resume() sends the heads). */
  restore(snapshot: readonly StreamSnapshot[]): void {
    this.stop()
    this.paused = true
    for (const snap of snapshot) {
      this.streams.set(key(snap.frameworkId, snap.taskId), {
        frameworkId: snap.frameworkId,
        taskId: snap.taskId,
        pending: snap.pending.map((p) => ({...p})),
        seen: new Set(snap.seen),
        interval: this.retryMinMs,
      })
    }
  }

  /** Clear every timer (agent stopping). Streams are kept. */
  stop(): void {
    for (const s of this.streams.values()) this.clearTimer(s)
    for (const d of this.delayed) this.timers.clearTimeout(d)
    this.delayed.clear()
    this.paused = true
  }

  private clearTimer(s: Stream): void {
    if (s.timer !== undefined) this.timers.clearTimeout(s.timer)
    s.timer = undefined
  }

  private sendHead(s: Stream, fresh: boolean): void {
    if (this.paused) return
    const head = s.pending[0]
    if (!head) return
    if (fresh) s.interval = this.retryMinMs
    this.deliver(s.frameworkId, head)
    const wait = s.interval
    s.interval = Math.min(s.interval * 2, this.retryMaxMs)
    s.timer = this.timers.setTimeout(() => {
      s.timer = undefined
      if (this.streams.get(key(s.frameworkId, s.taskId)) === s && s.pending[0] === head) this.sendHead(s, false)
    }, wait)
  }

  private deliver(frameworkId: string, status: TaskStatus): void {
    if (this.faults.dropUpdates?.(status)) return
    const delay = this.faults.delayUpdatesMs ?? 0
    if (delay > 0) {
      const h = this.timers.setTimeout(() => {
        this.delayed.delete(h)
        if (!this.paused) this.opts.forward(frameworkId, status)
      }, delay)
      this.delayed.add(h)
      return
    }
    this.opts.forward(frameworkId, status)
  }
}
