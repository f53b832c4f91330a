/**
 * EtcdGateway: the per-member calls of the executor's etcd probe through etcd's gRPC JSON gateway
 * (`POST <client URL>/v3/...`, served by etcd 3.4 on its client URL), over node:http / node:https. The same
 * calls as EtcdAdmin's (admin.ts) without the etcd3 client: etcd3 + grpc-js cost an executor ~14 MB of resident
 * memory to load, for two small calls every health interval.
 *
 * - `status()`: Maintenance.Status of exactly this endpoint (answers without quorum) → MemberStatus, the same
 *   fields as EtcdAdmin.status (uint64s arrive as decimal strings; zero values are omitted by the gateway).
 * - `linearizableRead()`: a Range of SENTINEL_KEY, limit 1, not serializable: a linearizable (quorum) read.
 * - `memberList()`: Cluster.MemberList as this endpoint sees it.
 * - `alarms()`: the alarm list (Maintenance.Alarm GET) as this endpoint answers it (etcd 3.4 puts it through raft:
 *   it needs a quorum). `request()`: any other gateway call (maintenance.ts: compaction, defragment, disarm).
 * - TLS when the URL is https: the CA / certificate / key files of EtcdTlsOptions (read once, on first use).
 * - Every call is bounded by `timeoutMs`; every failure is an EtcdError classified like EtcdAdmin's (errors.ts):
 *   the gateway's `{"error", "code"}` answer is read as grpc-js would word it (`14 UNAVAILABLE: <message>`).
 * - Connections are kept alive between calls; a call that fails or times out takes its connection with it;
 *   `close()` closes them all.
 */
import http from 'node:http'
import {inUse, type Member, type MemberStatus} from './admin.js'
import {EtcdError, toEtcdError} from './errors.js'
import {readTlsFiles, type EtcdTlsOptions} from './tls-files.js'

const SENTINEL_KEY_B64 = Buffer.from('__etcd-mesos/health').toString('base64')
const MAX_BODY = 1 << 20
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]

type Json = Record<string, unknown>

/** One raised etcd alarm: the member it was raised for (decimal uint64) and its type. */
export interface EtcdAlarm {
  memberId: string
  alarm: 'NOSPACE' | 'CORRUPT'
}

const num = (v: unknown): number => Number(v ?? 0)
const str = (v: unknown, dflt: string): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : dflt)

export class EtcdGateway {
  readonly endpoint: string
  readonly timeoutMs: number
  private readonly url: URL
  private readonly tls: EtcdTlsOptions | undefined
  private agent: Promise<{agent: http.Agent; request: typeof http.request}> | undefined
  private closed = false

  constructor(endpoint: string, opts: {timeoutMs?: number; tls?: EtcdTlsOptions} = {}) {
    if (!/^https?:\/\/[^\s/]+$/.test(endpoint))
      throw new Error(`EtcdGateway: endpoint ${JSON.stringify(endpoint)} is not an http(s)://host:port URL`)
    this.endpoint = endpoint
    this.url = new URL(endpoint)
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.tls = opts.tls
  }

  /** Maintenance.Status on this endpoint. */
  async status(): Promise<MemberStatus> {
    const s = await this.call('status', '/v3/maintenance/status', {})
    const header = (s.header ?? {}) as Json
    return {
      endpoint: this.endpoint,
      memberId: str(header.member_id, '0'),
      leader: str(s.leader, '0'),
      raftIndex: num(s.raftIndex),
      raftTerm: num(s.raftTerm),
      raftAppliedIndex: num(s.raftAppliedIndex),
      revision: num(header.revision),
      dbSize: num(s.dbSize),
      ...inUse(s.dbSizeInUse),
      isLearner: s.isLearner === true,
      errors: Array.isArray(s.errors) ? s.errors.map(String) : [],
      version: str(s.version, ''),
    }
  }

  /** A linearizable (quorum) range on SENTINEL_KEY through this endpoint. */
  async linearizableRead(): Promise<void> {
    await this.call('linearizable read', '/v3/kv/range', {key: SENTINEL_KEY_B64, limit: 1, serializable: false})
  }

  /** Cluster.MemberList as this endpoint answers it. */
  async memberList(): Promise<Member[]> {
    const r = await this.call('member list', '/v3/cluster/member/list', {})
    const members = Array.isArray(r.members) ? (r.members as Json[]) : []
    return members.map((m) => ({
      id: str(m.ID, '0'),
      name: str(m.name, ''),
      peerUrls: Array.isArray(m.peerURLs) ? m.peerURLs.map(String) : [],
      clientUrls: Array.isArray(m.clientURLs) ? m.clientURLs.map(String) : [],
      isLearner: m.isLearner === true,
    }))
  }

  /** The raised alarms as this endpoint answers them (NONE and unknown alarm types left out). */
  async alarms(): Promise<EtcdAlarm[]> {
    const r = await this.call('alarm list', '/v3/maintenance/alarm', {action: 'GET'})
    const alarms = Array.isArray(r.alarms) ? (r.alarms as Json[]) : []
    const out: EtcdAlarm[] = []
    for (const a of alarms) {
      const alarm = a.alarm === 1 ? 'NOSPACE' : a.alarm === 2 ? 'CORRUPT' : a.alarm
      if (alarm === 'NOSPACE' || alarm === 'CORRUPT') out.push({memberId: str(a.memberID, '0'), alarm})
    }
    return out
  }

  /** One gateway call (POST `path` with `body`): the JSON answer, or an EtcdError naming `what` and this endpoint. */
  request(what: string, path: string, body: Json): Promise<Json> {
    return this.call(what, path, body)
  }

  async close(): Promise<void> {
    this.closed = true
    const a = this.agent
    this.agent = undefined
    if (a) (await a.catch(() => undefined))?.agent.destroy()
  }

  // ---- internals ----

  private transport(): Promise<{agent: http.Agent; request: typeof http.request}> {
    if (!this.agent) {
      const p = this.newTransport()
      this.agent = p
      // A TLS file that cannot be read is not cached: the next call tries again.
      p.catch(() => {
        if (this.agent === p) this.agent = undefined
      })
    }
    return this.agent
  }

  private async newTransport(): Promise<{agent: http.Agent; request: typeof http.request}> {
    if (this.url.protocol === 'http:') return {agent: new http.Agent({keepAlive: true}), request: http.request}
    const https = await import('node:https')
    const agent = new https.Agent({keepAlive: true, ...readTlsFiles(this.tls ?? {})})
    return {agent, request: https.request}
  }

  /** One POST of a JSON body; the parsed answer, or an EtcdError. */
  private async call(what: string, path: string, body: Json): Promise<Json> {
    try {
      if (this.closed) throw new EtcdError('UNKNOWN', 'EtcdGateway is closed', this.endpoint)
      const {agent, request} = await this.transport()
      const {status, text} = await this.post(agent, request, what, path, JSON.stringify(body))
      let parsed: Json
      try {
        parsed = JSON.parse(text) as Json
      } catch {
        throw new Error(`HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`)
      }
      if (status === 200 && typeof parsed === 'object' && parsed !== null && parsed.error === undefined) return parsed
      const code = typeof parsed?.code === 'number' ? parsed.code : undefined
      const msg = str(parsed?.message ?? parsed?.error, text.slice(0, 200))
      throw new Error(code !== undefined ? `${code} ${GRPC_CODES[code] ?? 'UNKNOWN'}: ${msg}` : `HTTP ${status}: ${msg}`)
    } catch (err) {
      throw toEtcdError(err, this.endpoint, what)
    }
  }

  private post(
    agent: http.Agent,
    request: typeof http.request,
    what: string,
    path: string,
    body: string,
  ): Promise<{status: number; text: string}> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.url), {
        method: 'POST',
        agent,
        headers: {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body))},
      })
      const timer = setTimeout(
        () =>
          req.destroy(
            new EtcdError('TIMEOUT', `${what} on ${this.endpoint} failed (TIMEOUT): no answer within ${this.timeoutMs} ms`, this.endpoint),
          ),
        this.timeoutMs,
      )
      const fail = (err: Error): void => {
        clearTimeout(timer)
        reject(err)
      }
      req.on('error', fail)
      req.once('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.byteLength
          if (size > MAX_BODY) return req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`))
          chunks.push(c)
        })
        res.on('error', fail)
        res.once('end', () => {
          clearTimeout(timer)
          resolve({status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8')})
        })
      })
      req.end(body)
    })
  }
}
