/**
 * Raw Mesos v1 HTTP for conformance-style tests of the local master (node:http, exact headers, no redirects
 * followed, no client-side normalisation): `send` answers {status, headers, body}, or for a 200 streaming SUBSCRIBE
 * an open RawSub collecting the RecordIO-decoded JSON events as the master sent them. `call` posts a scheduler call,
 * `operator` an operator API call, `getJson` reads a state endpoint.
 */
import http from 'node:http'
import {RecordIODecoder} from '../../src/lib/mesos/recordio.js'
import type {SchedulerEvent} from '../../src/lib/mesos/types.js'
import {waitFor} from './ports.js'

export interface RawReply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  sub?: RawSub
}

export class RawSub {
  readonly events: SchedulerEvent[] = []
  private decoder = new RecordIODecoder()
  constructor(
    private readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.on('data', (c: Buffer) => {
      for (const rec of this.decoder.push(c)) this.events.push(JSON.parse(rec.toString('utf8')) as SchedulerEvent)
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

  /** Waits for the first event at index >= `from` matching `pred`. */
  async next(what: string, pred: (e: SchedulerEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<SchedulerEvent> {
    return (await waitFor(what, () => this.events.slice(from).find(pred), timeoutMs, 10))!
  }

  close(): void {
    this.req.destroy()
  }
}

export function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawReply> {
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

const JSON_HEADERS = {'Content-Type': 'application/json', Accept: 'application/json'}

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

export async function subscribe(base: string, info: Record<string, unknown>): Promise<RawSub> {
  const fi = {user: 'root', name: 'test', roles: ['*'], capabilities: [{type: 'MULTI_ROLE'}], ...info}
  const r = await call(base, {type: 'SUBSCRIBE', subscribe: {framework_info: fi}})
  if (!r.sub) throw new Error(`SUBSCRIBE failed: ${r.status} ${r.body}`)
  return r.sub
}

export async function getJson<T>(base: string, path: string): Promise<T> {
  const r = await send(base, 'GET', path, {})
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`)
  return JSON.parse(r.body) as T
}
