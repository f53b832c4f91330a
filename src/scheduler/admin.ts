/**
 * The scheduler's admin HTTP API, built apart from listening (STYLE.md 11): `buildAdminHandler(deps)`
 * returns a request handler; `serve` listens. Read endpoints are GET; the mutating endpoints,
 * POST /reseed, POST /backups and POST /restore, return 202 with an operation id whose progress is GET /reseed/<id>,
 * GET /backups/op/<id> and GET /restore/<id>.
 *
 * Auth: with a token configured, POST needs `Authorization: Bearer <token>`; without one, only
 * loopback callers may POST. Unknown paths 404, wrong methods 405 (with Allow), malformed bodies
 * 400, oversized bodies 413. A handler never throws: an unexpected error is a 500 with a JSON body.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {timingSafeEqual} from 'node:crypto'
import {type EventRouteOptions, type EventSource, eventRoutes} from './event-routes.js'
import {DASHBOARD_HEADERS, DASHBOARD_HTML} from './dashboard/page.js'

export interface ReseedAccepted {
  accepted: true
  op: string
}
export interface ReseedRefused {
  accepted: false
  status: 409 | 503
  error: string
}

export interface AdminDeps {
  stats(): Record<string, unknown>
  members(): unknown[]
  healthy(): boolean
  failoverStatus(): Record<string, unknown>
  /** GET /metrics: the Prometheus text exposition (metrics.ts renders it through prom-client, asynchronously). */
  metrics(): string | Promise<string>
  requestReseed(force: boolean): ReseedAccepted | ReseedRefused
  reseedStatus(op: string): Record<string, unknown> | null
  /** Which member would seed a re-seed now, and why. */
  reseedCandidates(): Record<string, unknown>
  /** Bearer token for mutating calls; undefined = loopback callers only. */
  token?: string
  /** POST /backups (backup-service.ts); absent: 503. */
  requestBackup?(): BackupAccepted | BackupRefused
  /** GET /backups/op/<op>: null when unknown. */
  backupStatus?(op: string): object | null
  /** GET /backups: the target's backups; rejects with HttpError-like {status} or an Error. */
  listBackups?(): Promise<object>
  /** POST /restore (core/restore.ts); absent: 503. */
  requestRestore?(r: {from: string; toRevision?: number; force: boolean}): ReseedAccepted | ReseedRefused
  /** GET /restore/<op>: null when unknown. */
  restoreStatus?(op: string): object | null
  /** GET /stats/history (stats-history.ts): the recent samples of the /stats counters; absent: 503. */
  statsHistory?(): object
  /** GET /events, /events/stream (event-routes.ts): the leader's event log (throws StandbyError on a standby); absent: 503. */
  eventLog?(): EventSource
  /** /events/stream limits (tests: a short heartbeat). */
  eventStream?: EventRouteOptions
  /** GET /rollout (core/rollout-view.ts rolloutStatus); absent: 503. */
  rolloutStatus?(): object
  /** POST /rollout (start), /rollout/pause|resume|abort: the HTTP status (202, 409) and the body. */
  rolloutControl?(
    action: 'start' | 'pause' | 'resume' | 'abort',
  ): {status: 202 | 409 | 503; body: object} | Promise<{status: 202 | 409 | 503; body: object}>
}

export interface BackupAccepted {
  accepted: true
  op: string
}
export interface BackupRefused {
  accepted: false
  status: 409 | 503
  error: string
  /** With 409: the backup operation already running. */
  op?: string
}

const MAX_BODY = 64 * 1024

type Route = {methods: string[]; handle: (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json'
  res.writeHead(status, {'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers})
  res.end(text)
}

/** Accept names text/html (a browser navigating), with a non-zero quality. */
function wantsHtml(req: IncomingMessage): boolean {
  return String(req.headers.accept ?? '')
    .split(',')
    .some((part) => {
      const [type, ...params] = part.trim().toLowerCase().split(';')
      const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='))
      return type?.trim() === 'text/html' && (q === undefined || Number(q.slice(2)) > 0)
    })
}

function sendPage(res: ServerResponse): void {
  res.writeHead(200, {...DASHBOARD_HEADERS, vary: 'Accept'})
  res.end(DASHBOARD_HTML)
}

function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false
  return addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.')
}

function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false
  const a = Buffer.from(header.slice(7).trim())
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new HttpError(413, `request body larger than ${MAX_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const BACKUP_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** A JSON object request body, else 400: malformed JSON, or `body must be a JSON object <shape>`. */
function parseJsonObject(text: string, shape: string): Record<string, unknown> {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'malformed JSON body')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `body must be a JSON object ${shape}`)
  return body as Record<string, unknown>
}

/** A route answering GET <re> with the operation lookup(op) names, or 404 `no <what> operation <op>`. */
function operationRoute(lookup: (op: string) => unknown, what: string): Route {
  return {
    methods: ['GET'],
    handle: (_q, res, [op]) => {
      const s = lookup(op)
      if (s === null) send(res, 404, {error: `no ${what} operation ${op}`})
      else send(res, 200, s)
    },
  }
}

/** POST /restore's body: {"from": "latest" | "<backup id>", "toRevision"?: positive integer, "force"?: boolean}. */
function parseRestoreBody(text: string, contentType: string): {from: string; toRevision?: number; force: boolean} {
  if (text.trim().length === 0) throw new HttpError(400, 'POST /restore needs a JSON body like {"from": "latest"}')
  if (!contentType.startsWith('application/json')) throw new HttpError(415, 'POST /restore takes application/json')
  const b = parseJsonObject(text, 'like {"from": "latest"}')
  if (typeof b.from !== 'string' || !(b.from === 'latest' || BACKUP_ID_RE.test(b.from)))
    throw new HttpError(400, '"from" must be "latest" or a backup id')
  if (b.toRevision !== undefined && !(Number.isSafeInteger(b.toRevision) && (b.toRevision as number) > 0))
    throw new HttpError(400, '"toRevision" must be a positive integer')
  if (b.force !== undefined && typeof b.force !== 'boolean') throw new HttpError(400, '"force" must be a boolean')
  return {from: b.from, ...(b.toRevision !== undefined ? {toRevision: b.toRevision as number} : {}), force: b.force === true}
}

export function buildAdminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const authorise = (req: IncomingMessage): void => {
    if (deps.token !== undefined) {
      if (!tokenMatches(deps.token, req.headers.authorization))
        throw new HttpError(401, 'this call needs Authorization: Bearer <admin token>')
    } else if (!isLoopback(req.socket.remoteAddress)) {
      throw new HttpError(403, 'mutating calls are only accepted from loopback when no --admin-token-file is set')
    }
  }

  const events = eventRoutes(() => {
    if (!deps.eventLog) throw new HttpError(503, 'no event log on this scheduler')
    return deps.eventLog()
  }, deps.eventStream)

  const routes: [RegExp, Route][] = [
    [
      /^\/$/,
      {
        methods: ['GET'],
        // Browsers (Accept: text/html) get the dashboard (dashboard/page.ts); API clients the JSON index as before.
        handle: (req, res) =>
          wantsHtml(req)
            ? sendPage(res)
            : send(res, 200, {
                endpoints: [
                  '/stats',
                  '/stats/history',
                  '/members',
                  '/membership',
                  '/healthz',
                  '/metrics',
                  '/failover-status',
                  '/events',
                  '/events/stream',
                  'POST /reseed',
                  '/reseed/candidates',
                  '/reseed/<id>',
                  'POST /backups',
                  '/backups',
                  '/backups/op/<id>',
                  'POST /restore',
                  '/restore/<id>',
                  '/rollout',
                  'POST /rollout',
                  'POST /rollout/pause',
                  'POST /rollout/resume',
                  'POST /rollout/abort',
                ],
              }),
      },
    ],
    [/^\/stats$/, {methods: ['GET'], handle: (_q, res) => send(res, 200, deps.stats())}],
    [/^\/events$/, {methods: ['GET'], handle: (req, res) => events.list(req, res)}],
    [/^\/events\/stream$/, {methods: ['GET'], handle: (req, res) => events.stream(req, res)}],
    [
      /^\/stats\/history$/,
      {
        methods: ['GET'],
        handle: (_q, res) => {
          if (!deps.statsHistory) throw new HttpError(503, 'no stats history on this scheduler')
          send(res, 200, deps.statsHistory())
        },
      },
    ],
    [/^\/(members|membership)$/, {methods: ['GET'], handle: (_q, res) => send(res, 200, deps.members())}],
    [
      /^\/healthz$/,
      {
        methods: ['GET'],
        handle: (_q, res) => (deps.healthy() ? send(res, 200, 'cluster is healthy\n') : send(res, 503, 'cluster is not healthy\n')),
      },
    ],
    [
      /^\/metrics$/,
      {
        methods: ['GET'],
        handle: async (_q, res) => {
          const text = await deps.metrics()
          res.writeHead(200, {'content-type': 'text/plain; version=0.0.4; charset=utf-8'})
          res.end(text)
        },
      },
    ],
    [/^\/failover-status$/, {methods: ['GET'], handle: (_q, res) => send(res, 200, deps.failoverStatus())}],
    [
      /^\/reseed$/,
      {
        methods: ['POST'],
        handle: async (req, res) => {
          authorise(req)
          const text = await readBody(req)
          let force = false
          if (text.trim().length > 0) {
            const ct = String(req.headers['content-type'] ?? '')
            if (!ct.startsWith('application/json')) throw new HttpError(415, 'POST /reseed takes an empty body or application/json')
            const f = parseJsonObject(text, 'like {"force": true}').force
            if (f !== undefined && typeof f !== 'boolean') throw new HttpError(400, '"force" must be a boolean')
            force = f === true
          }
          const r = deps.requestReseed(force)
          if (r.accepted) send(res, 202, {op: r.op, status: `/reseed/${r.op}`}, {location: `/reseed/${r.op}`})
          else send(res, r.status, {error: r.error})
        },
      },
    ],
    [
      /^\/backups$/,
      {
        methods: ['GET', 'POST'],
        handle: async (req, res) => {
          if (req.method === 'POST') {
            authorise(req)
            const text = await readBody(req) // no options yet: an empty body or a JSON object
            if (text.trim().length > 0) parseJsonObject(text, '(or empty)')
            const r = deps.requestBackup?.() ?? {accepted: false, status: 503, error: 'backups are not configured (no --backup-target)'}
            if (r.accepted) send(res, 202, {op: r.op, status: `/backups/op/${r.op}`}, {location: `/backups/op/${r.op}`})
            else send(res, r.status, {error: r.error, ...(r.op ? {op: r.op} : {})})
            return
          }
          if (!deps.listBackups) throw new HttpError(503, 'backups are not configured (no --backup-target)')
          send(res, 200, await deps.listBackups())
        },
      },
    ],
    [/^\/backups\/op\/([A-Za-z0-9_-]{1,128})$/, operationRoute((op) => deps.backupStatus?.(op) ?? null, 'backup')],
    [
      /^\/restore$/,
      {
        methods: ['POST'],
        handle: async (req, res) => {
          authorise(req)
          const r = deps.requestRestore?.(parseRestoreBody(await readBody(req), String(req.headers['content-type'] ?? ''))) ?? {
            accepted: false,
            status: 503,
            error: 'restores are not available (no --backup-target)',
          }
          if (r.accepted) send(res, 202, {op: r.op, status: `/restore/${r.op}`}, {location: `/restore/${r.op}`})
          else send(res, r.status, {error: r.error})
        },
      },
    ],
    [/^\/restore\/([A-Za-z0-9_-]{1,128})$/, operationRoute((op) => deps.restoreStatus?.(op) ?? null, 'restore')],
    [
      /^\/rollout(?:\/(pause|resume|abort))?$/,
      {
        methods: ['GET', 'POST'],
        handle: async (req, res, [action]) => {
          if (req.method !== 'POST') {
            if (action) throw new HttpError(405, `GET is not allowed on /rollout/${action}; use POST`)
            if (!deps.rolloutStatus) throw new HttpError(503, 'rollouts are not available on this scheduler')
            send(res, 200, deps.rolloutStatus())
            return
          }
          authorise(req)
          const text = await readBody(req) // no options: an empty body or a JSON object
          if (text.trim().length > 0) parseJsonObject(text, '(or empty)')
          if (!deps.rolloutControl) throw new HttpError(503, 'rollouts are not available on this scheduler')
          const r = await deps.rolloutControl((action as 'pause' | 'resume' | 'abort' | undefined) ?? 'start')
          if (r.status === 202 && !action) send(res, 202, r.body, {location: '/rollout'})
          else send(res, r.status, r.body)
        },
      },
    ],
    [/^\/reseed\/candidates$/, {methods: ['GET'], handle: (_q, res) => send(res, 200, deps.reseedCandidates())}],
    [/^\/reseed\/([A-Za-z0-9_-]{1,128})$/, operationRoute((op) => deps.reseedStatus(op), 're-seed')],
  ]

  return (req, res) => {
    const run = async (): Promise<void> => {
      let path: string
      try {
        path = new URL(req.url ?? '/', 'http://admin.invalid').pathname
      } catch {
        throw new HttpError(400, 'malformed request URL')
      }
      for (const [re, route] of routes) {
        const m = re.exec(path)
        if (!m) continue
        const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '')
        if (!route.methods.includes(method)) {
          send(
            res,
            405,
            {error: `${req.method} is not allowed on ${path}; use ${route.methods.join(', ')}`},
            {allow: route.methods.join(', ')},
          )
          return
        }
        await route.handle(req, res, m.slice(1))
        return
      }
      send(res, 404, {error: `no such endpoint: ${path}`})
    }
    run().catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (err instanceof HttpError) send(res, err.status, {error: err.message})
      else if ((err as Error).name === 'BackupError') send(res, 502, {error: (err as Error).message, code: (err as {code?: string}).code})
      else if ((err as Error).name === 'StandbyError') send(res, 503, {error: (err as Error).message})
      else send(res, 500, {error: `internal error: ${(err as Error).message}`})
    })
  }
}
