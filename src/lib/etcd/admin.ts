/**
 * EtcdAdmin: the etcd v3 admin calls this project needs (member list/add/remove/promote, per-member
 * status, a quorum read), as an adapter over the `etcd3` client that maps every failure to a typed
 * EtcdError (see errors.ts).
 *
 * - `etcd3` is imported lazily on first use (it costs ~0.4 s to load; CLI commands must not pay it).
 * - One etcd3 client per endpoint (built once, even for concurrent first calls), with etcd3's own retry and circuit-breaker policies disabled:
 *   failover is done here, explicitly, so a call never silently lands on another member.
 * - Every attempt on an endpoint is bounded by `timeoutMs` (gRPC deadline + dial timeout + a timer).
 * - Failover: `memberList` tries each endpoint in turn on any failure (3.4 serves it without quorum).
 *   Mutations (`memberAdd/Remove/Promote`) move to the next endpoint only when the request was certainly not
 *   applied: UNREACHABLE (never delivered) or LEARNER_REFUSED (the endpoint is a learner, which refuses them);
 *   a TIMEOUT may have been applied, so it is thrown, not retried.
 *   `status` and `linearizableRead(endpoint)` never fail over.
 * - Idempotency: `memberRemove` of an unknown / already-removed id throws MEMBER_NOT_FOUND (the caller
 *   decides whether that means "done"); `memberPromote` of a member that is already a voter resolves.
 */
import type {Etcd3, IOptions} from 'etcd3'
import {EtcdError, toEtcdError} from './errors.js'
import {readTlsFiles, type EtcdTlsOptions} from './tls-files.js'

export {EtcdError, type EtcdErrorCode} from './errors.js'

export type {EtcdTlsOptions} from './tls-files.js'

export interface Member {
  /** Decimal string of the uint64 member id. */
  id: string
  /** Empty until the member has started and published itself. */
  name: string
  peerUrls: string[]
  clientUrls: string[]
  isLearner: boolean
}

export interface MemberStatus {
  endpoint: string
  memberId: string
  /** '0' when the member knows no leader. */
  leader: string
  /** The member's raft committed index. */
  raftIndex: number
  raftTerm: number
  raftAppliedIndex: number
  revision: number
  /** Physical size of the backend file in bytes. */
  dbSize: number
  /** Bytes of the backend in use (etcd ≥ 3.4's dbSizeInUse); dbSize − dbSizeInUse is what defragmentation frees. */
  dbSizeInUse?: number
  isLearner: boolean
  errors: string[]
  version: string
}

/** `{dbSizeInUse}` when etcd answered it (3.4+), nothing otherwise. */
export function inUse(v: unknown): {dbSizeInUse?: number} {
  const n = Number(v)
  return v !== undefined && v !== null && Number.isFinite(n) && n >= 0 ? {dbSizeInUse: n} : {}
}

/** The key read by `linearizableRead` (it need not exist). */
export const SENTINEL_KEY = '__etcd-mesos/health'

type RawMember = {ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner?: boolean}

function toMember(m: RawMember): Member {
  return {
    id: String(m.ID),
    name: m.name ?? '',
    peerUrls: [...(m.peerURLs ?? [])],
    clientUrls: [...(m.clientURLs ?? [])],
    isLearner: m.isLearner === true,
  }
}

/** A cockatiel-compatible policy that just runs the call (etcd3's retries/breakers are disabled). */
const noopPolicy = {
  _altReturn: undefined,
  onSuccess: () => ({dispose() {}}),
  onFailure: () => ({dispose() {}}),
  execute<T>(fn: (ctx: {signal: AbortSignal}) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    return Promise.resolve().then(() => fn({signal: signal ?? new AbortController().signal}))
  },
}

export class EtcdAdmin {
  readonly endpoints: string[]
  readonly timeoutMs: number
  private readonly tls?: EtcdTlsOptions
  /** One client per endpoint; the promise is cached so that concurrent first calls share one client. */
  private readonly clients = new Map<string, Promise<Etcd3>>()
  private closed = false

  constructor(endpoints: string[], opts: {timeoutMs?: number; tls?: EtcdTlsOptions} = {}) {
    if (!Array.isArray(endpoints) || endpoints.length === 0) throw new Error('EtcdAdmin needs at least one endpoint')
    for (const e of endpoints) {
      if (!/^https?:\/\/[^\s/]+$/.test(e)) throw new Error(`EtcdAdmin: endpoint ${JSON.stringify(e)} is not an http(s)://host:port URL`)
    }
    this.endpoints = [...endpoints]
    this.timeoutMs = opts.timeoutMs ?? 5000
    if (opts.tls !== undefined) this.tls = opts.tls
  }

  async memberList(): Promise<Member[]> {
    return this.failover('member list', 'any', async (c) => {
      const res = await c.cluster.memberList({})
      return (res.members ?? []).map(toMember)
    })
  }

  async memberAdd(peerUrls: string[], opts: {learner?: boolean} = {}): Promise<{member: Member; members: Member[]}> {
    if (peerUrls.length === 0) throw new Error('memberAdd needs at least one peer URL')
    return this.failover('member add', 'unreachable', async (c) => {
      const res = await c.cluster.memberAdd({peerURLs: peerUrls, isLearner: opts.learner === true})
      return {member: toMember(res.member as RawMember), members: (res.members ?? []).map(toMember)}
    })
  }

  async memberRemove(id: string): Promise<void> {
    checkId(id)
    await this.failover('member remove', 'unreachable', (c) => c.cluster.memberRemove({ID: id}))
  }

  async memberPromote(id: string): Promise<void> {
    checkId(id)
    try {
      await this.failover('member promote', 'unreachable', (c) => c.cluster.memberPromote({ID: id}))
    } catch (err) {
      // "can only promote a learner member" (not "... which is in sync"): it already is a voter.
      if (err instanceof EtcdError && err.code === 'UNKNOWN' && /can only promote a learner member(?! which)/.test(err.message)) return
      throw err
    }
  }

  /** Maintenance.Status on exactly `endpoint` (answers without quorum). */
  async status(endpoint: string): Promise<MemberStatus> {
    return this.attempt(endpoint, 'status', async (c) => {
      const s = await c.maintenance.status()
      return {
        endpoint,
        memberId: String(s.header.member_id),
        leader: String(s.leader ?? '0'),
        raftIndex: Number(s.raftIndex ?? 0),
        raftTerm: Number(s.raftTerm ?? 0),
        raftAppliedIndex: Number((s as {raftAppliedIndex?: string}).raftAppliedIndex ?? 0),
        revision: Number(s.header.revision ?? 0),
        dbSize: Number(s.dbSize ?? 0),
        ...inUse((s as {dbSizeInUse?: string}).dbSizeInUse),
        isLearner: (s as {isLearner?: boolean}).isLearner === true,
        errors: [...((s as {errors?: string[]}).errors ?? [])],
        version: s.version ?? '',
      }
    })
  }

  /** A linearizable (quorum) range on SENTINEL_KEY through `endpoint` (default: the first endpoint). */
  async linearizableRead(endpoint: string = this.endpoints[0]!): Promise<void> {
    await this.attempt(endpoint, 'linearizable read', (c) => c.kv.range({key: Buffer.from(SENTINEL_KEY), serializable: false, limit: 1}))
  }

  async close(): Promise<void> {
    this.closed = true
    const all = [...this.clients.values()]
    this.clients.clear()
    for (const c of await Promise.allSettled(all)) if (c.status === 'fulfilled') c.value.close()
  }

  // ---- internals ----

  private client(endpoint: string): Promise<Etcd3> {
    if (this.closed) return Promise.reject(new EtcdError('UNKNOWN', 'EtcdAdmin is closed', endpoint))
    let c = this.clients.get(endpoint)
    if (!c) {
      c = this.newClient(endpoint)
      this.clients.set(endpoint, c)
      // A client that cannot be built (bad TLS file) is not cached: the next call tries again.
      c.catch(() => {
        if (this.clients.get(endpoint) === c) this.clients.delete(endpoint)
      })
    }
    return c
  }

  private async newClient(endpoint: string): Promise<Etcd3> {
    const {Etcd3} = await import('etcd3')
    const timeoutMs = this.timeoutMs
    const options: IOptions = {
      hosts: [endpoint],
      dialTimeout: timeoutMs,
      faultHandling: {host: () => noopPolicy as never, global: noopPolicy as never},
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : {deadline: Date.now() + timeoutMs}),
      // grpc-js shares subchannels between clients of the same address by default: a connection that went
      // bad while a member was paused (SIGSTOP, partition) would then be reused by every later probe and
      // hang it. Each client gets its own subchannels, and dead connections are detected by keepalive.
      grpcOptions: {'grpc.use_local_subchannel_pool': 1, 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000},
    }
    if (this.tls && (this.tls.caFile || this.tls.certFile || this.tls.keyFile)) {
      const files = readTlsFiles(this.tls)
      options.credentials = {rootCertificate: files.ca as Buffer, privateKey: files.key, certChain: files.cert}
    }
    const c = new Etcd3(options)
    // Closed while it was being built: do not leak its connection.
    if (this.closed) c.close()
    return c
  }

  /** One bounded call on one endpoint; every failure becomes an EtcdError. */
  private async attempt<T>(endpoint: string, what: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    try {
      const c = await this.client(endpoint)
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new EtcdError('TIMEOUT', `${what} on ${endpoint} timed out after ${this.timeoutMs} ms`, endpoint)),
          this.timeoutMs + 250,
        )
      })
      return await Promise.race([fn(c), timeout])
    } catch (err) {
      const e = toEtcdError(err, endpoint, what)
      if (e.code === 'UNREACHABLE' || e.code === 'TIMEOUT') this.dropClient(endpoint)
      throw e
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  /** Tries the endpoints in order; moves on after any failure ('any') or only after UNREACHABLE. */
  private async failover<T>(what: string, on: 'any' | 'unreachable', fn: (c: Etcd3) => Promise<T>): Promise<T> {
    const errors: EtcdError[] = []
    for (const endpoint of this.endpoints) {
      try {
        return await this.attempt(endpoint, what, fn)
      } catch (err) {
        const e = err as EtcdError
        errors.push(e)
        if (on === 'unreachable' && e.code !== 'UNREACHABLE' && e.code !== 'LEARNER_REFUSED') throw e
      }
    }
    if (errors.length === 1) throw errors[0]!
    const code = errors.every((e) => e.code === errors[0]!.code)
      ? errors[0]!.code
      : errors.some((e) => e.code === 'TIMEOUT')
        ? 'TIMEOUT'
        : 'UNREACHABLE'
    throw new EtcdError(code, `${what} failed on every endpoint: ${errors.map((e) => e.message).join('; ')}`)
  }

  /** A client whose connection failed is rebuilt on next use (grpc channels can stay wedged). */
  private dropClient(endpoint: string): void {
    const c = this.clients.get(endpoint)
    if (!c) return
    this.clients.delete(endpoint)
    c.then((x) => x.close()).catch(() => undefined)
  }
}

function checkId(id: string): void {
  if (!/^[0-9]{1,20}$/.test(id)) throw new Error(`invalid etcd member id ${JSON.stringify(id)} (expected the decimal uint64)`)
}
