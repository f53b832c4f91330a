/**
 * HTTP routing of the local master (node:http handler; local-master.ts listens). Transport rules of Mesos 1.12:
 *   - non-leader: scheduler/operator API and state endpoints answer 307 to the leader (`//host:port/master/api/v1/
 *     scheduler`, `//host:port/master/api/v1`, `//host:port<path>`) before any validation, 503 "No leader elected"
 *     when none is known; /version and /health are answered locally (Surprise 13).
 *   - then: method (405 + Allow: POST), exact Content-Type (400 missing / 415 other), Accept (JSON wins whenever
 *     acceptable, q-values and order ignored except q=0; 406), then the body (scheduler-api.ts / operator-api.ts).
 *   - errors are text/plain; charset=utf-8; 202 has Content-Length 0 and no Content-Type; unknown paths 404
 *     `404 Not Found.`; /redirect and /master/redirect give 307 `Location: //leader` (no path).
 */
import type {IncomingMessage, RequestListener, ServerResponse} from 'node:http'
import {CodecError, decode, encode} from '../../lib/mesos/codec.js'
import {CONTENT_JSON, CONTENT_PROTOBUF, type ContentType} from '../../lib/mesos/types.js'
import {VERSION_JSON} from '../mesos-version.js'
import {ALWAYS_LISTED, OPERATOR_CALLS, operatorResponse, type OperatorCall} from './operator-api.js'
import {OPERATOR_OPERATIONS, operatorOperation} from './operator-operations.js'
import {handleSchedulerCall, sendEmpty, sendText} from './scheduler-api.js'
import {rolesJson} from './roles-json.js'
import {frameworksJson, slavesJson, stateJson, stateSummaryJson, tasksJson} from './state-json.js'
import type {MasterState} from './state.js'

export interface MasterHttpContext {
  state: () => MasterState
  isLeader: () => boolean
  /** `host:port` of the leading master, or null when none is known. */
  leader: () => string | null
  flags: () => Record<string, string>
  log: (line: string) => void
}

const MAX_BODY = 64 * 1024 * 1024

function sendJson(res: ServerResponse, obj: unknown): void {
  const buf = Buffer.from(JSON.stringify(obj), 'utf8')
  res.writeHead(200, {'Content-Length': String(buf.byteLength), 'Content-Type': 'application/json'})
  res.end(buf)
}

/** Does `accept` allow `type`? No header = everything; `q=0` excludes; other q-values and order are ignored. */
export function acceptsMediaType(accept: string | undefined, type: string): boolean {
  if (accept === undefined) return true
  const [major] = type.split('/')
  return accept.split(',').some((part) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim())
    const q = params.find((p) => /^q=/i.test(p))
    if (q !== undefined && Number(q.slice(2)) === 0) return false
    const r = range.toLowerCase()
    return r === '*/*' || r === type || r === `${major}/*`
  })
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.byteLength
      if (size > MAX_BODY) {
        resolve(null)
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const STATE_PATHS = new Set([
  '/master/state',
  '/state',
  '/master/state-summary',
  '/master/tasks',
  '/master/frameworks',
  '/master/slaves',
  '/master/roles',
  '/master/flags',
  '/master/maintenance/status',
])

/** 307 to the leader (or 503). Returns true when the request was answered. */
function redirectIfFollower(ctx: MasterHttpContext, res: ServerResponse, path: string): boolean {
  if (ctx.isLeader()) return false
  const leader = ctx.leader()
  if (leader === null) sendText(res, 503, 'No leader elected')
  else sendEmpty(res, 307, {Location: `//${leader}${path}`})
  return true
}

/** Common transport checks of the v1 APIs; returns [requestType, responseType] or null when answered. */
function negotiate(req: IncomingMessage, res: ServerResponse): [ContentType, ContentType] | null {
  if (req.method !== 'POST') {
    sendText(res, 405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${req.method ?? ''}'.`, {Allow: 'POST'})
    return null
  }
  const ct = req.headers['content-type']
  if (ct === undefined) {
    sendText(res, 400, "Expecting 'Content-Type' to be present")
    return null
  }
  if (ct !== CONTENT_JSON && ct !== CONTENT_PROTOBUF) {
    sendText(res, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf")
    return null
  }
  const accept = req.headers.accept
  const resp = acceptsMediaType(accept, CONTENT_JSON) ? CONTENT_JSON : acceptsMediaType(accept, CONTENT_PROTOBUF) ? CONTENT_PROTOBUF : null
  if (resp === null) {
    sendText(res, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
    return null
  }
  return [ct, resp]
}

type JsonObj = Record<string, unknown>

/**
 * Operator API JSON as Mesos 1.12 writes it (fixture 09): the empty lists of ALWAYS_LISTED, and three fields our
 * protobuf subset lacks (so protobuf answers go without them): GetAgents.Agent.deactivated,
 * AgentInfo.checkpoint (agents always checkpoint) and GetFrameworks.Framework.offer_constraints ({}).
 */
function realOperatorJson(json: Buffer): Buffer {
  const obj = JSON.parse(json.toString('utf8')) as Record<string, JsonObj | undefined>
  for (const [key, lists] of Object.entries(ALWAYS_LISTED)) {
    const part = obj[key]
    if (part) for (const l of lists) part[l] ??= []
  }
  const agents = (obj.get_agents?.agents ?? []) as JsonObj[]
  for (const a of agents) {
    a.deactivated ??= a.active !== true
    if (a.agent_info) (a.agent_info as JsonObj).checkpoint ??= true
  }
  const fws = [...((obj.get_frameworks?.frameworks ?? []) as JsonObj[]), ...((obj.get_frameworks?.completed_frameworks ?? []) as JsonObj[])]
  for (const f of fws) f.offer_constraints ??= {}
  return Buffer.from(JSON.stringify(obj), 'utf8')
}

async function operatorApi(ctx: MasterHttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const types = negotiate(req, res)
  if (!types) return
  const body = await readBody(req)
  if (body === null) return sendText(res, 413, 'Request body too large')
  let call: {type?: string}
  try {
    call = decode<{type?: string}>('master.Call', body, types[0])
  } catch (err) {
    if (err instanceof CodecError) return sendText(res, 400, err.message)
    throw err
  }
  if (call.type === undefined) return sendText(res, 400, "Failed to validate master::Call: Expecting 'type' to be present")
  if ((OPERATOR_OPERATIONS as readonly string[]).includes(call.type)) {
    const answer = operatorOperation(ctx.state(), call as Parameters<typeof operatorOperation>[1])
    return answer.status === 202 ? sendEmpty(res, 202) : sendText(res, answer.status, answer.body)
  }
  if (!(OPERATOR_CALLS as readonly string[]).includes(call.type)) {
    return sendText(res, 501, `Operator call ${call.type} is not implemented by the local Mesos master`)
  }
  let buf = encode('master.Response', operatorResponse(ctx.state(), call.type as OperatorCall), types[1])
  if (types[1] === CONTENT_JSON) buf = realOperatorJson(buf)
  res.writeHead(200, {'Content-Type': types[1], 'Content-Length': String(buf.byteLength)})
  res.end(buf)
}

async function route(ctx: MasterHttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local')
  const path = url.pathname
  switch (path) {
    case '/api/v1/scheduler':
    case '/master/api/v1/scheduler': {
      if (redirectIfFollower(ctx, res, '/master/api/v1/scheduler')) return
      const types = negotiate(req, res)
      if (!types) return
      const body = await readBody(req)
      if (body === null) return sendText(res, 413, 'Request body too large')
      return handleSchedulerCall(ctx.state(), req, res, body, types[0], types[1])
    }
    case '/api/v1':
    case '/master/api/v1':
      if (redirectIfFollower(ctx, res, '/master/api/v1')) return
      return operatorApi(ctx, req, res)
    case '/version':
      return sendJson(res, VERSION_JSON)
    case '/health':
    case '/master/health':
      return sendEmpty(res, 200)
    case '/redirect':
    case '/master/redirect': {
      const leader = ctx.leader()
      if (leader === null) return sendText(res, 503, 'No leader elected')
      return sendEmpty(res, 307, {Location: `//${leader}`})
    }
    default:
      break
  }
  if (!STATE_PATHS.has(path)) return sendText(res, 404, '404 Not Found.')
  if (redirectIfFollower(ctx, res, `${path}${url.search}`)) return
  const m = ctx.state()
  switch (path) {
    case '/master/state':
    case '/state':
      return sendJson(res, stateJson(m, ctx.flags()))
    case '/master/state-summary':
      return sendJson(res, stateSummaryJson(m))
    case '/master/tasks':
      return sendJson(res, tasksJson(m, url.searchParams))
    case '/master/frameworks':
      return sendJson(res, frameworksJson(m))
    case '/master/slaves':
      return sendJson(res, slavesJson(m))
    case '/master/roles':
      return sendJson(res, rolesJson(m))
    case '/master/flags':
      return sendJson(res, {flags: ctx.flags()})
    default:
      return sendJson(res, {})
  }
}

export function buildMasterHandler(ctx: MasterHttpContext): RequestListener {
  return (req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      ctx.log(`internal error on ${req.method ?? ''} ${req.url ?? ''}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      if (!res.headersSent) sendText(res, 500, `Internal error: ${err instanceof Error ? err.message : String(err)}`)
      else res.destroy()
    })
  }
}
