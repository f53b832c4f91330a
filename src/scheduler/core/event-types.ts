/**
 * The event log's contract (issue 18): what `GET /events`, `GET /events/stream` and
 * `etcd-mesos events` carry, and what the dashboard reads.
 *
 * - `seq` increases by one from 1 and continues across leader changes (the log is persisted in
 *   ZooKeeper in bounded form; a standby that takes over continues after the last persisted seq).
 * - `at` is an ISO-8601 time (UTC) taken from the scheduler's clock when the event was recorded.
 * - `kind` says what the event is about; `member` names the member concerned, when one is.
 * - `message` is one line: what happened and why.
 *
 * `GET /events?since=N` → `EventsPage` (events with seq > N, oldest first; `latest` is the newest
 * seq recorded, 0 when none). `GET /events/stream` is Server-Sent Events: `id: <seq>\ndata: <JSON
 * Event>\n\n` per event, starting after `?since=` / `Last-Event-ID` (default: the last 50), and
 * `: ping` comments as a heartbeat.
 */

export const EVENT_KINDS = [
  'launch',
  'task',
  'member',
  'health',
  'livelock',
  'reseed',
  'backup',
  'restore',
  'rollout',
  'defrag',
  'nospace',
  'master',
  'zookeeper',
  'leadership',
] as const

export type EventKind = (typeof EVENT_KINDS)[number]

export interface Event {
  /** Increasing from 1; continues across leader changes. */
  seq: number
  /** ISO-8601 time (UTC). */
  at: string
  kind: EventKind
  /** The member concerned (its name, e.g. "etcd-3"), when one is. */
  member?: string
  /** One line: what happened and why. */
  message: string
}

/** The body of `GET /events?since=N`. */
export interface EventsPage {
  /** Events with seq > since, oldest first. */
  events: Event[]
  /** The newest seq recorded (0 when none). */
  latest: number
}

/** How many events `/events/stream` replays when neither `?since=` nor `Last-Event-ID` is given. */
export const STREAM_DEFAULT_BACKLOG = 50

export function isEventKind(s: string): s is EventKind {
  return (EVENT_KINDS as readonly string[]).includes(s)
}
