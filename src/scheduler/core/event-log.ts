/**
 * The event log's ring (issue 18), PURE: no clock (times arrive as ISO strings), no I/O.
 *
 * State: `latest` (the seq of the newest event, 0 when none) and at most `capacity` events, oldest first.
 * Transitions:
 *   append(drafts, at) → each draft becomes {seq: ++latest, at, ...}; the oldest events beyond capacity are dropped
 *   continueFrom(doc)  → the ring a persisted form describes (its well-formed events kept), numbering on after its
 *                        `reserved` (≥ `latest`): the seqs a leader may have used without saving them (it saves at
 *                        most every few seconds and reserves ahead) are never reused by the next one
 * Invariants: seqs increase (consecutive within one leader; a gap after a crashed one); `latest` never goes back,
 *   so seq continues across leader changes and identifies an event (Last-Event-ID); messages are one line of at most MAX_MESSAGE
 *   characters (the persisted form, at most `persistMax` events, stays well under ZooKeeper's 1 MB node limit).
 */
import {type Event, type EventKind, type EventsPage, isEventKind} from './event-types.js'

/** An event before it is numbered and stamped. */
export interface EventDraft {
  kind: EventKind
  member?: string
  message: string
}

/** The persisted form (a ZooKeeper node next to the scheduler's state). */
export interface PersistedEventLog {
  version: 1
  latest: number
  /** The highest seq the writer may have used before its next save (≥ latest; = latest after a clean stop). */
  reserved: number
  events: Event[]
}

export const DEFAULT_CAPACITY = 1000
export const DEFAULT_PERSIST_MAX = 200
export const MAX_MESSAGE = 400
const MAX_MEMBER = 128

/** `scheme://user:pass@` → `scheme://user:***@`: a message may quote a URL from an error (zk://, s3 endpoints). */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/)([^@/\s:]*):([^@/\s]*)@/gi

/** One line, bounded, without URL passwords. */
export function oneLine(s: string, max = MAX_MESSAGE): string {
  const flat = s
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(URL_PASSWORD, '$1$2:***@')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

export class EventRing {
  private events: Event[] = []
  private _latest = 0

  constructor(readonly capacity = DEFAULT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`event log capacity must be a positive integer, not ${capacity}`)
  }

  get latest(): number {
    return this._latest
  }

  get size(): number {
    return this.events.length
  }

  /** Numbers and stamps the drafts; returns the events added. */
  append(drafts: readonly EventDraft[], at: string): Event[] {
    const added: Event[] = []
    for (const d of drafts) {
      const e: Event = {
        seq: ++this._latest,
        at,
        kind: d.kind,
        ...(d.member !== undefined && d.member !== '' ? {member: oneLine(d.member, MAX_MEMBER)} : {}),
        message: oneLine(d.message),
      }
      this.events.push(e)
      added.push(e)
    }
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity)
    return added
  }

  /** Events with seq > since, oldest first (all kept when since < the oldest kept). */
  since(since: number): Event[] {
    if (since >= this._latest) return []
    // Seqs increase (with gaps only where a persisted log held malformed events): the first one after `since`.
    const i = this.events.findIndex((e) => e.seq > since)
    return i < 0 ? [] : this.events.slice(i)
  }

  /** The last `n` events, oldest first. */
  last(n: number): Event[] {
    return n <= 0 ? [] : this.events.slice(-n)
  }

  page(since: number): EventsPage {
    return {events: this.since(since), latest: this._latest}
  }

  /** The newest `max` events, `latest`, and `reserve` seqs beyond it reserved until the next save, for ZooKeeper. */
  persisted(max = DEFAULT_PERSIST_MAX, reserve = 0): PersistedEventLog {
    return {version: 1, latest: this._latest, reserved: this._latest + Math.max(0, reserve), events: this.last(max)}
  }

  /**
   * Takes a persisted log (of an earlier leader) as the start of this one: its well-formed events are kept and the
   * next seq continues after its `reserved`. Events already recorded here are renumbered after it (they are newer).
   * Returns a problem description when the document is not a usable log (then nothing changes).
   */
  continueFrom(doc: unknown): string | null {
    const p = parsePersisted(doc)
    if (typeof p === 'string') return p
    const mine = this.events
    this.events = p.events.slice(-this.capacity)
    this._latest = p.reserved
    for (const e of mine) {
      const {seq: _old, at, ...rest} = e
      this.append([rest], at)
    }
    return null
  }
}

function isEvent(v: unknown): v is Event {
  if (typeof v !== 'object' || v === null) return false
  const e = v as Record<string, unknown>
  return (
    Number.isSafeInteger(e.seq) &&
    (e.seq as number) > 0 &&
    typeof e.at === 'string' &&
    typeof e.kind === 'string' &&
    isEventKind(e.kind) &&
    typeof e.message === 'string' &&
    (e.member === undefined || typeof e.member === 'string')
  )
}

/** A persisted log, or what is wrong with it. Malformed events are dropped; the rest must increase. */
export function parsePersisted(doc: unknown): PersistedEventLog | string {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a JSON object'
  const d = doc as Record<string, unknown>
  if (d.version !== 1) return `unknown version ${JSON.stringify(d.version)}`
  if (!Number.isSafeInteger(d.latest) || (d.latest as number) < 0) return '"latest" is not a non-negative integer'
  if (!Array.isArray(d.events)) return '"events" is not an array'
  const latest = d.latest as number
  // Written before reservations existed: nothing reserved beyond latest.
  const reserved = d.reserved === undefined ? latest : d.reserved
  if (!Number.isSafeInteger(reserved) || (reserved as number) < latest) return '"reserved" is not an integer at least "latest"'
  const events: Event[] = []
  for (const v of d.events) {
    if (!isEvent(v) || v.seq > latest) continue
    if (events.length > 0 && v.seq <= events[events.length - 1]!.seq) continue
    events.push({
      seq: v.seq,
      at: v.at,
      kind: v.kind,
      ...(v.member !== undefined ? {member: oneLine(v.member, MAX_MEMBER)} : {}),
      message: oneLine(v.message),
    })
  }
  return {version: 1, latest, reserved: reserved as number, events}
}
