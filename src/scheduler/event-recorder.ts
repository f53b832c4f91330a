/**
 * The event log's driver side (issue 18): one EventRecorder per leading `serve`. It stamps and numbers events
 * (core/event-log.ts), derives them from the core's steps (core/step-events.ts, following the driver's 'stepped'),
 * takes the others from serve (ZooKeeper connection, leadership, backups), hands each to the live subscribers
 * (GET /events/stream) and persists the newest `persistMax` in a ZooKeeper node next to the scheduler's state.
 *
 * States: loading (load(): the persisted history is read and continued: seq goes on after what the last leader
 *   reserved; our own reservation is written at once) → recording (saves at most every `persistEveryMs`, the newest
 *   events coalesced, each reserving `reserve` seqs ahead; at once when half the reservation is used; a failed save
 *   is retried at the next interval) → stopped (stop(): one last save releasing the reservation, bounded; the
 *   subscribers are told the log closes). A leader that crashes may lose its last seconds of events, never their
 *   seqs: the next one numbers on after the reservation, so a seq a client saw (Last-Event-ID) names one event.
 *   Without a store (--master local without ZooKeeper), or when the history could not be read, or when another
 *   scheduler wrote the node (StateConflictError: it leads now), nothing is persisted; the log stays in memory.
 * Invariants: never throws into the driver; a subscriber that throws is dropped; persistence never blocks recording.
 */
import type {Event, EventKind, EventsPage} from './core/event-types.js'
import {DEFAULT_CAPACITY, DEFAULT_PERSIST_MAX, type EventDraft, EventRing} from './core/event-log.js'
import {eventsOfStep} from './core/step-events.js'
import type {SchedulerEvent} from './core/events.js'
import type {SchedulerState} from './core/state.js'
import type {Logger} from './logger.js'
import type {StateStore} from './state-store.js'

export interface EventSubscriber {
  event(e: Event): void
  /** The log closes (serve stops): end the stream. */
  close(): void
}

export interface EventRecorderOptions {
  log: Logger
  /** Where the newest events are persisted (null: in memory only). */
  store?: StateStore | null
  now?: () => number
  capacity?: number
  persistMax?: number
  persistEveryMs?: number
  /** Seqs reserved ahead of `latest` with each save (default 1000). */
  reserve?: number
}

/** The driver as the recorder follows it. */
export interface SteppingDriver {
  readonly current: SchedulerState
  on(ev: 'stepped', fn: (e: SchedulerEvent) => void): unknown
  off(ev: 'stepped', fn: (e: SchedulerEvent) => void): unknown
}

export class EventRecorder {
  private readonly ring: EventRing
  private readonly subscribers = new Set<EventSubscriber>()
  private readonly now: () => number
  private readonly persistMax: number
  private readonly persistEveryMs: number
  private readonly reserve: number
  /** The reservation the store holds (events beyond it would be unreserved: a save goes at once before that). */
  private reserved = 0
  private store: StateStore | null
  private timer: NodeJS.Timeout | null = null
  private dirty = false
  private saving: Promise<void> | null = null
  private stopped = false

  constructor(private readonly opts: EventRecorderOptions) {
    this.ring = new EventRing(opts.capacity ?? DEFAULT_CAPACITY)
    this.now = opts.now ?? Date.now
    this.persistMax = opts.persistMax ?? DEFAULT_PERSIST_MAX
    this.persistEveryMs = opts.persistEveryMs ?? 3000
    this.reserve = opts.reserve ?? 1000
    this.store = opts.store ?? null
  }

  get latest(): number {
    return this.ring.latest
  }

  get subscriberCount(): number {
    return this.subscribers.size
  }

  /**
   * Reads the persisted history and continues it (events recorded before are renumbered after it). A history that
   * cannot be read or used turns persistence off (never overwrite what we could not read), with a warning.
   */
  async load(): Promise<void> {
    const store = this.store
    if (!store) return
    try {
      const doc = await store.load()
      if (doc !== null) {
        const problem = this.ring.continueFrom(doc)
        if (problem !== null) throw new Error(`${store.description} does not hold an event log (${problem})`)
        this.opts.log.info('event log: the recent history continued', {latest: this.ring.latest, from: store.description})
      }
    } catch (err) {
      this.store = null
      this.opts.log.warn('event log: the persisted history cannot be read; events are kept in memory only', {
        error: (err as Error).message,
      })
      return
    }
    // Our reservation first: a crash from now on cannot make the next leader reuse the seqs we hand out.
    this.dirty = true
    await this.save()
  }

  /** Records one event (kind, one-line message, the member concerned). */
  record(kind: EventKind, message: string, member?: string): void {
    this.add([{kind, message, ...(member ? {member} : {})}])
  }

  /** Follows a driver: every step that changes something is recorded. Returns a function that stops following. */
  followDriver(driver: SteppingDriver): () => void {
    let prev = driver.current
    const onStep = (ev: SchedulerEvent): void => {
      const next = driver.current
      try {
        this.add(eventsOfStep(prev, ev, next))
      } catch (err) {
        this.opts.log.warn('event log: a step could not be described (a bug); no event recorded for it', {
          event: ev.type,
          error: (err as Error).message,
        })
      }
      prev = next
    }
    driver.on('stepped', onStep)
    return () => void driver.off('stepped', onStep)
  }

  /** GET /events?since=N. */
  page(since: number): EventsPage {
    return this.ring.page(since)
  }

  /** The events after `since` (null: the last `backlog`), then every new one, until the returned function is called. */
  subscribe(sub: EventSubscriber, since: number | null, backlog: number): () => void {
    const past = since === null ? this.ring.last(backlog) : this.ring.since(since)
    for (const e of past) sub.event(e)
    if (this.stopped) {
      sub.close()
      return () => undefined
    }
    this.subscribers.add(sub)
    return () => void this.subscribers.delete(sub)
  }

  /** Saves the newest events (bounded wait), closes the subscribers' streams. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const s of [...this.subscribers]) {
      try {
        s.close()
      } catch {
        /* a stream already gone */
      }
    }
    this.subscribers.clear()
    await this.saving
    // The last save releases the reservation (reserved = latest): the next leader numbers on without a gap.
    if (this.store && (this.dirty || this.reserved > this.ring.latest)) {
      this.dirty = true
      await this.save(0)
    }
  }

  private add(drafts: EventDraft[]): void {
    if (drafts.length === 0 || this.stopped) return
    const added = this.ring.append(drafts, new Date(this.now()).toISOString())
    for (const e of added) {
      for (const s of [...this.subscribers]) {
        try {
          s.event(e)
        } catch {
          this.subscribers.delete(s)
        }
      }
    }
    this.dirty = true
    this.schedule(this.ring.latest > this.reserved - this.reserve / 2)
  }

  /** A save after persistEveryMs, or at once when `urgent` (half the reservation used). */
  private schedule(urgent = false): void {
    if (!this.store || this.stopped) return
    if (this.timer && !urgent) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(
      () => {
        this.timer = null
        if (this.saving) {
          this.schedule()
          return
        }
        this.saving = this.save().finally(() => {
          this.saving = null
        })
      },
      urgent ? 0 : this.persistEveryMs,
    )
    this.timer.unref?.()
  }

  private async save(reserve = this.reserve): Promise<void> {
    const store = this.store
    if (!store || !this.dirty) return
    this.dirty = false
    const doc = this.ring.persisted(this.persistMax, reserve)
    try {
      await store.save(doc)
      this.reserved = doc.reserved
    } catch (err) {
      if ((err as Error).name === 'StateConflictError') {
        this.store = null
        this.opts.log.warn('event log: another scheduler wrote the persisted history; this one stops persisting it', {
          error: (err as Error).message,
        })
        return
      }
      this.dirty = true
      this.opts.log.debug('event log: saving the history failed; retried', {error: (err as Error).message})
      this.schedule()
    }
  }
}
