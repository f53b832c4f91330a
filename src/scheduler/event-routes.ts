/**
 * The event log's admin endpoints (issue 18), used by admin.ts:
 *   GET /events?since=N   → 200 {events (seq > N, oldest first), latest}; N absent: 0 (all kept)
 *   GET /events/stream    → Server-Sent Events: `id: <seq>\ndata: <JSON event>\n\n` per event, starting after
 *                           `?since=N` or the `Last-Event-ID` header (the later of the two: a reconnecting
 *                           EventSource keeps its URL and adds the last id it saw), else with the
 *                           last STREAM_DEFAULT_BACKLOG events; a `: ping` comment every `heartbeatMs`; the stream
 *                           ends cleanly when serve stops. At most `maxStreams` at once (then 503), a client that
 *                           does not read (more than MAX_BUFFERED bytes waiting) is cut off.
 * A bad `since` / `Last-Event-ID` is a 400 naming it; no event log (a standby) is a 503 naming the leader.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {type EventsPage, STREAM_DEFAULT_BACKLOG} from './core/event-types.js'
import type {EventSubscriber} from './event-recorder.js'

/** What admin.ts's deps give the event routes (admin-state.ts: the leader's EventRecorder). */
export interface EventSource {
  page(since: number): EventsPage
  subscribe(sub: EventSubscriber, since: number | null, backlog: number): () => void
}

export interface EventRouteOptions {
  maxStreams?: number
  heartbeatMs?: number
}

export const DEFAULT_MAX_STREAMS = 32
export const DEFAULT_HEARTBEAT_MS = 15_000
const MAX_BUFFERED = 1024 * 1024

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff'})
  res.end(`${JSON.stringify(body, null, 2)}\n`)
}

/** A seq from a query parameter or header: a non-negative safe integer, else the problem. */
export function parseSeq(raw: string, what: string): number | string {
  if (!/^\d{1,16}$/.test(raw.trim()))
    return `${what} must be a non-negative integer (an event seq), not ${JSON.stringify(raw.slice(0, 40))}`
  const n = Number(raw.trim())
  return Number.isSafeInteger(n) ? n : `${what} is too large`
}

/**
 * Where a request starts: after ?since= or Last-Event-ID, the later of the two when both are given (a reconnecting
 * EventSource keeps the URL it was opened with and adds the last id it saw); null when neither (the default backlog).
 */
function startOf(req: IncomingMessage): number | null | string {
  const url = new URL(req.url ?? '/', 'http://admin.invalid')
  const q = url.searchParams.get('since')
  const since = q === null ? null : parseSeq(q, 'since')
  const h = req.headers['last-event-id']
  const last = typeof h === 'string' && h.trim() !== '' ? parseSeq(h, 'Last-Event-ID') : null
  if (typeof since === 'string') return since
  if (typeof last === 'string') return last
  if (since === null) return last
  return last === null ? since : Math.max(since, last)
}

export function eventRoutes(
  source: () => EventSource,
  opts: EventRouteOptions = {},
): {list: (req: IncomingMessage, res: ServerResponse) => void; stream: (req: IncomingMessage, res: ServerResponse) => void} {
  const maxStreams = opts.maxStreams ?? DEFAULT_MAX_STREAMS
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  let open = 0
  return {
    list(req, res) {
      const since = startOf(req)
      if (typeof since === 'string') return sendJson(res, 400, {error: since})
      sendJson(res, 200, source().page(since ?? 0))
    },
    stream(req, res) {
      const since = startOf(req)
      if (typeof since === 'string') return sendJson(res, 400, {error: since})
      const src = source() // throws on a standby: admin.ts answers 503
      if (open >= maxStreams) return sendJson(res, 503, {error: `too many event streams open (at most ${maxStreams}); poll GET /events`})
      open++
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      })
      res.socket?.setNoDelay(true)
      // No socket timeout for a stream: it lives as long as the client reads; the heartbeat keeps proxies from closing it.
      res.socket?.setTimeout(0)
      let done = false
      const write = (text: string): void => {
        if (done) return
        res.write(text)
        if (res.writableLength > MAX_BUFFERED) end(true)
      }
      let unsubscribe = (): void => undefined
      const heartbeat = setInterval(() => write(': ping\n\n'), heartbeatMs)
      heartbeat.unref?.()
      const end = (abrupt: boolean): void => {
        if (done) return
        done = true
        open--
        clearInterval(heartbeat)
        unsubscribe()
        if (abrupt) res.destroy()
        else res.end()
      }
      // The response's 'close' (the request's fires once its body is read): the client went away, or we ended it.
      res.once('close', () => end(true))
      write('retry: 3000\n\n')
      unsubscribe = src.subscribe(
        {
          event: (e) => write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`),
          close: () => end(false),
        },
        since,
        STREAM_DEFAULT_BACKLOG,
      )
      if (done) unsubscribe()
    },
  }
}
