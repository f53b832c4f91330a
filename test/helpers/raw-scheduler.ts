/**
 * Raw Mesos v1 HTTP for conformance-style tests of the local master (node:http, exact headers, no redirects
 * followed, no client-side normalisation): `send` answers {status, headers, body}, or for a 200 streaming SUBSCRIBE
 * an open RawSub collecting the RecordIO-decoded JSON events as the master sent them. `call` posts a scheduler call,
 * `operator` an operator API call, `getJson` reads a state endpoint; `unusedOffers` / `unusedOffer` pick offers from a
 * subscription's events, `autoAck` acknowledges its status updates.
 */
import http from 'node:http'
import {RecordIODecoder} from '../../src/lib/mesos/recordio.js'
import type {Offer, SchedulerEvent} from '../../src/lib/mesos/types.js'
import {waitFor} from './ports.js'

export interface RawReply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  sub?: RawSub
}

export class RawSub {
  readonly events: SchedulerEvent[] = []
  /** Who ended the stream, once it ended. */
  closedBy: 'server' | 'client' | null = null
  private decoder = new RecordIODecoder()
  constructor(
    private readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.on('data', (c: Buffer) => {
      for (const rec of this.decoder.push(c)) this.events.push(JSON.parse(rec.toString('utf8')) as SchedulerEvent)
    })
    res.on('end', () => {
      this.closedBy ??= 'server'
    })
    res.on('error', () => {})
    req.on('error', () => {})
  }

  get streamId(): string {
    return String(this.res.headers['mesos-stream-id'])
  }

  get frameworkId(): string {
    const s = this.events.find((e) => e.type === 'SUBSCRIBED')
    if (!s) throw new Error(`no SUBSCRIBED event (events: ${JSON.stringify(this.events.map((e) => e.type))})`)
    return s.subscribed!.framework_id.value
  }

  of(type: SchedulerEvent['type']): SchedulerEvent[] {
    return this.events.filter((e) => e.type === type)
  }

  /** Waits for the first event at index >= `from` matching `pred`. */
  async next(what: string, pred: (e: SchedulerEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<SchedulerEvent> {
    return (await waitFor(what, () => this.events.slice(from).find(pred), timeoutMs, 10))!
  }

  close(): void {
    this.closedBy ??= 'client'
    this.req.destroy()
  }
}

export function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawReply> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({host: u.hostname, port: u.port, method, path, headers, agent: false}, (res) => {
      if (res.statusCode === 200 && res.headers['mesos-stream-id'] !== undefined) {
        resolve({status: 200, headers: res.headers, body: '', sub: new RawSub(req, res)})
        return
      }
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export const JSON_HEADERS = {'Content-Type': 'application/json', Accept: 'application/json'}

export function call(base: string, body: unknown, streamId?: string): Promise<RawReply> {
  return send(
    base,
    'POST',
    '/api/v1/scheduler',
    {...JSON_HEADERS, ...(streamId ? {'Mesos-Stream-Id': streamId} : {})},
    JSON.stringify(body),
  )
}

export function operator(base: string, body: unknown): Promise<RawReply> {
  return send(base, 'POST', '/api/v1', JSON_HEADERS, JSON.stringify(body))
}

/** SUBSCRIBE with a FrameworkInfo of `info` over defaults (its `id`, if any, also as the call's framework_id). */
export async function subscribe(base: string, info: Record<string, unknown>): Promise<RawSub> {
  const fi = {user: 'root', name: 'test', roles: ['*'], capabilities: [{type: 'MULTI_ROLE'}], ...info}
  const id = (fi as {id?: {value: string}}).id
  const r = await call(base, {type: 'SUBSCRIBE', ...(id ? {framework_id: id} : {}), subscribe: {framework_info: fi}})
  if (!r.sub) throw new Error(`SUBSCRIBE failed: ${r.status} ${r.body}`)
  return r.sub
}

export async function getJson<T>(base: string, path: string): Promise<T> {
  const r = await send(base, 'GET', path, {})
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`)
  return JSON.parse(r.body) as T
}

/** The offers of `sub` (from event `since` on) neither in `used` nor rescinded, in the order they came. */
export function unusedOffers(sub: RawSub, used: ReadonlySet<string>, since = 0): Offer[] {
  const rescinded = new Set(sub.events.filter((e) => e.type === 'RESCIND').map((e) => e.rescind!.offer_id.value))
  return sub.events
    .slice(since)
    .filter((e) => e.type === 'OFFERS')
    .flatMap((e) => e.offers!.offers)
    .filter((o) => !used.has(o.id.value) && !rescinded.has(o.id.value))
}

/** The first of unusedOffers(sub, used, since) matching `pred`, waiting up to `timeoutMs` for one (it is not marked used). */
export async function unusedOffer(
  sub: RawSub,
  used: ReadonlySet<string>,
  pred: (o: Offer) => boolean = () => true,
  timeoutMs = 15_000,
  since = 0,
): Promise<Offer> {
  return (await waitFor('an unused offer', () => unusedOffers(sub, used, since).find(pred), timeoutMs, 10))!
}

/**
 * Acknowledges every status update with a uuid that `sub` receives (polled every 20 ms); returns the stop function.
 * Best effort: an ACK that fails (racing an agent's restart or the teardown) is tried again at the next poll, and never
 * becomes an unhandled rejection.
 */
export function autoAck(base: string, sub: RawSub): () => void {
  const acked = new Set<string>()
  const timer = setInterval(() => {
    for (const e of sub.events) {
      const s = e.update?.status
      if (!s?.uuid || acked.has(s.uuid)) continue
      acked.add(s.uuid)
      const ack = {agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid}
      call(base, {type: 'ACKNOWLEDGE', framework_id: {value: sub.frameworkId}, acknowledge: ack}, sub.streamId).catch(() =>
        acked.delete(s.uuid!),
      )
    }
  }, 20)
  return () => clearInterval(timer)
}
