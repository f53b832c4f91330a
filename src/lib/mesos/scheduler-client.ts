/**
 * Mesos v1 scheduler HTTP API client (`POST /api/v1/scheduler`), built on undici 7.
 *
 * Subscription state machine (one loop, one attempt at a time):
 *   IDLE --start()--> RESOLVING (wait for a leader from the detector)
 *   RESOLVING --> SUBSCRIBING (POST SUBSCRIBE, no Mesos-Stream-Id; 307s followed, same body, the redirect
 *                 target becomes the current master)
 *   SUBSCRIBING --200 + SUBSCRIBED--> CONNECTED ('subscribed'; stream id + framework id learned;
 *                 frameworkInfo.id is set for later re-subscriptions)
 *   CONNECTED --stream end/error, heartbeat watchdog, ERROR event, leader change--> 'disconnected'
 *   any failure --> BACKOFF (capped, jittered; skipped after a leader change) --> RESOLVING
 *   ERROR "Framework has been removed" --> FATAL ('fatal'; no more retries)
 *   stop() / teardown() --> STOPPED (no further events)
 * Invariants: each attempt has a generation; only records of the current generation reach listeners (the
 * old stream's ERROR "Framework failed over" never does). Calls use their own undici Agent (never the
 * stream's connection) and carry the current Mesos-Stream-Id; SUBSCRIBE never does.
 */
import { EventEmitter } from 'node:events'
import { Agent } from 'undici'
import { Backoff, sleep } from './backoff.js'
import { decode, encode } from './codec.js'
import type { DetectedMaster, MasterDetector } from './detector.js'
import {
  discard, headerValue, MesosCallError, MesosNotSubscribedError, MesosTransportError, postFollowingRedirects, readText,
} from './http.js'
import { masterBaseUrl } from './master-address.js'
import { decodeRecordStream } from './recordio.js'
import {
  CONTENT_JSON, CONTENT_PROTOBUF, type AgentID, type ContentType, type ExecutorID, type Filters, type FrameworkInfo,
  type KillPolicy, type MasterInfo, type OfferID, type OfferOperation, type SchedulerCall, type SchedulerEvent, type TaskID,
} from './types.js'

export { MesosCallError, MesosNotSubscribedError } from './http.js'

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: object) => void

export interface SchedulerClientOptions {
  detector: MasterDetector
  frameworkInfo: FrameworkInfo
  contentType?: ContentType
  heartbeatMissLimit?: number
  backoffMinMs?: number
  backoffMaxMs?: number
  requestTimeoutMs?: number
  maxRedirects?: number
  random?: () => number
  authorization?: string
  log?: LogFn
}

export interface SubscribedInfo {
  frameworkId: string
  masterInfo?: MasterInfo
  streamId: string
  master: DetectedMaster
  heartbeatIntervalSec: number
}

interface Session {
  gen: number
  ac: AbortController
  detected?: DetectedMaster
  url?: URL
  streamId?: string
  subscribed: boolean
  abortReason?: string
  watchdog?: NodeJS.Timeout
}

const DEFAULT_HEARTBEAT_SEC = 15
const LEADER_WAIT_MS = 30_000
const REMOVED_RE = /framework has been removed/i
const RETRYABLE_STATUS = new Set([502, 503, 504])

export function schedulerUrl(m: DetectedMaster): URL {
  return new URL(`${masterBaseUrl(m)}/api/v1/scheduler`)
}
function masterFromUrl(url: URL, info?: MasterInfo): DetectedMaster {
  const scheme = url.protocol === 'https:' ? 'https' : 'http'
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, scheme, ...(info ? { info } : {}) }
}
function sameMaster(a: DetectedMaster, b: DetectedMaster): boolean {
  return a.host === b.host && a.port === b.port && a.scheme === b.scheme
}
function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
/** Drop undefined-valued keys (clean JSON, no empty protobuf sub-messages). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

export class SchedulerClient extends EventEmitter {
  private readonly detector: MasterDetector
  private readonly frameworkInfo: FrameworkInfo
  private readonly contentType: ContentType
  private readonly missLimit: number
  private readonly backoff: Backoff
  private readonly backoffMinMs: number
  private readonly backoffMaxMs: number
  private readonly requestTimeoutMs: number
  private readonly maxRedirects: number
  private readonly random: () => number
  private readonly authHeaders: Record<string, string>
  private readonly log: LogFn
  private readonly callAgent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 4_000 })
  private readonly stopAc = new AbortController()
  private running = false
  private fatal = false
  private tearingDown = false
  private gen = 0
  private session: Session | undefined
  private live: Session | undefined
  private fid: string | undefined
  private wake: AbortController | undefined
  private skipBackoff = false
  private loopDone: Promise<void> | undefined
  private looping = false
  private readonly onLeader = (m: DetectedMaster | null): void => this.leaderChanged(m)

  constructor(opts: SchedulerClientOptions) {
    super()
    this.detector = opts.detector
    this.frameworkInfo = { ...opts.frameworkInfo }
    this.fid = opts.frameworkInfo.id?.value
    this.contentType = opts.contentType ?? CONTENT_JSON
    this.missLimit = opts.heartbeatMissLimit ?? 5
    this.backoffMinMs = opts.backoffMinMs ?? 1000
    this.backoffMaxMs = Math.max(opts.backoffMaxMs ?? 15_000, this.backoffMinMs)
    this.random = opts.random ?? Math.random
    this.backoff = new Backoff({ minMs: this.backoffMinMs, maxMs: this.backoffMaxMs, random: this.random })
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.maxRedirects = opts.maxRedirects ?? 9
    this.authHeaders = opts.authorization ? { authorization: opts.authorization } : {}
    this.log = opts.log ?? (() => {})
    if (!(this.missLimit > 0)) throw new RangeError(`heartbeatMissLimit must be > 0, got ${this.missLimit}`)
    // Fail fast on a FrameworkInfo that cannot be encoded (missing user/name, bad types): CodecError.
    encode('scheduler.Call', { type: 'SUBSCRIBE', subscribe: { framework_info: this.frameworkInfo } }, this.contentType)
  }

  get frameworkId(): string | undefined {
    return this.fid
  }
  get connected(): boolean {
    return this.live !== undefined
  }
  /** The master the current stream is connected to (after redirects), if any. */
  get master(): DetectedMaster | undefined {
    return this.live?.url ? masterFromUrl(this.live.url) : undefined
  }

  start(): void {
    if (this.running || this.loopDone) return
    this.running = true
    this.detector.on('leader', this.onLeader)
    this.loopDone = this.runLoop()
  }

  private async runLoop(): Promise<void> {
    this.looping = true
    try {
      await this.loop()
    } catch (err) {
      this.log('error', 'scheduler subscription loop crashed', { error: errText(err) })
    } finally {
      this.looping = false
    }
  }

  async stop(): Promise<void> {
    this.running = false
    this.detector.off('leader', this.onLeader)
    this.stopAc.abort(new Error('scheduler client stopped'))
    this.wake?.abort()
    if (this.session) this.abortSession(this.session, 'scheduler client stopped')
    this.live = undefined
    await this.loopDone
    await this.callAgent.destroy().catch(() => {})
  }

  private emitSafe(event: string, payload: unknown): void {
    try {
      this.emit(event, payload)
    } catch (err) {
      this.log('error', `a '${event}' listener threw`, { error: errText(err) })
    }
  }

  private abortSession(s: Session, reason: string): void {
    s.abortReason ??= reason
    s.ac.abort(new Error(reason))
  }

  /** A new leader: drop the stream (if it is on another master) and re-subscribe at once. `null` (no leader
   * right now) keeps the current stream: it breaks on its own or the heartbeat watchdog ends it. */
  private leaderChanged(m: DetectedMaster | null): void {
    if (!m) return
    const s = this.session
    const onIt = s?.detected !== undefined && (sameMaster(s.detected, m) || (s.url !== undefined && sameMaster(masterFromUrl(s.url), m)))
    if (!this.running || !s?.detected || onIt) {
      if (!s) this.wake?.abort() // sleeping in backoff: go now
      return
    }
    this.log('info', `leading master changed to ${m.host}:${m.port}; re-subscribing`)
    this.skipBackoff = true
    this.abortSession(s, `leading master changed to ${m.host}:${m.port}`)
  }

  private async loop(): Promise<void> {
    while (this.running && !this.fatal && !this.tearingDown) {
      const reason = await this.attempt()
      this.session = undefined
      if (!this.running || this.fatal || this.tearingDown) break
      const delay = this.skipBackoff ? 0 : this.backoff.next()
      this.skipBackoff = false
      this.log('warn', `scheduler subscription ended: ${reason}; re-subscribing in ${delay} ms`)
      this.wake = new AbortController()
      await sleep(delay, this.wake.signal)
      this.wake = undefined
    }
  }

  /** One subscription attempt; resolves with the reason it ended. */
  private async attempt(): Promise<string> {
    const s: Session = { gen: ++this.gen, ac: new AbortController(), subscribed: false }
    this.session = s
    try {
      s.detected = this.detector.current() ?? (await this.detector.waitForLeader(LEADER_WAIT_MS, s.ac.signal))
    } catch (err) {
      return s.abortReason ?? `no leading master: ${errText(err)}`
    }
    if (s.ac.signal.aborted) return s.abortReason ?? 'aborted'
    try {
      s.url = schedulerUrl(s.detected)
    } catch (err) {
      return `the leading master's address ${s.detected.host}:${s.detected.port} is not usable: ${errText(err)}`
    }
    const framework_info: FrameworkInfo = { ...this.frameworkInfo, ...(this.fid ? { id: { value: this.fid } } : {}) }
    const call: SchedulerCall = compact({ type: 'SUBSCRIBE' as const, framework_id: framework_info.id, subscribe: { framework_info } })
    const dispatcher = new Agent({ connect: { timeout: 10_000 }, bodyTimeout: 0, headersTimeout: this.requestTimeoutMs })
    try {
      const res = await postFollowingRedirects({
        url: s.url, body: encode('scheduler.Call', call, this.contentType), contentType: this.contentType,
        accept: this.contentType, headers: this.authHeaders, dispatcher, signal: s.ac.signal,
        headersTimeoutMs: this.requestTimeoutMs, bodyTimeoutMs: 0, maxRedirects: this.maxRedirects,
        onRedirect: (from, to) => {
          this.log('info', `SUBSCRIBE redirected from ${from.host} to ${to.host}`)
          s.url = to
        },
      })
      if (res.status !== 200) {
        const body = await readText(res.body)
        return `SUBSCRIBE to ${s.url.host} answered HTTP ${res.status}${body ? `: ${body}` : ''}`
      }
      s.streamId = headerValue(res.headers, 'mesos-stream-id')
      const rct = headerValue(res.headers, 'content-type') ?? ''
      const streamType: ContentType = rct.startsWith(CONTENT_PROTOBUF) ? CONTENT_PROTOBUF : rct.startsWith(CONTENT_JSON) ? CONTENT_JSON : this.contentType
      this.armWatchdog(s, DEFAULT_HEARTBEAT_SEC)
      s.abortReason ??= await this.readStream(s, res.body, streamType)
      return s.abortReason
    } catch (err) {
      s.abortReason ??= s.subscribed ? `subscription stream failed: ${errText(err)}` : errText(err)
      return s.abortReason
    } finally {
      clearTimeout(s.watchdog)
      s.ac.abort()
      if (this.live === s) {
        this.live = undefined
        if (this.running && !this.tearingDown) this.emitSafe('disconnected', { reason: s.abortReason ?? 'subscription stream ended' })
      }
      await dispatcher.destroy().catch(() => {})
    }
  }

  private async readStream(s: Session, body: AsyncIterable<Uint8Array>, type: ContentType): Promise<string> {
    let interval = DEFAULT_HEARTBEAT_SEC
    for await (const rec of decodeRecordStream(body)) {
      if (s.gen !== this.gen || s.ac.signal.aborted || !this.running) return s.abortReason ?? 'superseded'
      let ev: SchedulerEvent
      try {
        ev = decode<SchedulerEvent>('scheduler.Event', rec, type)
      } catch (err) {
        s.abortReason = `undecodable event on the subscription stream: ${errText(err)}`
        return s.abortReason
      }
      if (ev.type === 'SUBSCRIBED' && ev.subscribed) {
        const sub = ev.subscribed
        interval = sub.heartbeat_interval_seconds && sub.heartbeat_interval_seconds > 0 ? sub.heartbeat_interval_seconds : DEFAULT_HEARTBEAT_SEC
        this.fid = sub.framework_id.value
        this.frameworkInfo.id = { value: this.fid }
        s.subscribed = true
        this.live = s
        this.backoff.reset()
        this.armWatchdog(s, interval)
        const info: SubscribedInfo = {
          frameworkId: this.fid, streamId: s.streamId ?? '', heartbeatIntervalSec: interval,
          master: masterFromUrl(s.url!, sub.master_info), ...(sub.master_info ? { masterInfo: sub.master_info } : {}),
        }
        this.log('info', `subscribed as framework ${this.fid} on ${s.url!.host}`, { streamId: s.streamId })
        this.emitSafe('subscribed', info)
        this.emitSafe('event', ev)
        continue
      }
      this.armWatchdog(s, interval)
      this.emitSafe('event', ev)
      if (ev.type === 'ERROR') {
        const message = ev.error?.message ?? ''
        this.emitSafe('error-event', { message })
        if (REMOVED_RE.test(message)) {
          this.fatal = true
          this.live = undefined
          this.log('error', `framework ${this.fid ?? '(new)'} was removed by the master: ${message}`)
          this.emitSafe('fatal', { reason: message })
        }
        s.abortReason = `ERROR event: ${message}`
        return s.abortReason
      }
    }
    return s.abortReason ?? 'subscription stream closed by the master'
  }

  private armWatchdog(s: Session, intervalSec: number): void {
    clearTimeout(s.watchdog)
    // Clamped: setTimeout fires at once for delays over 2^31-1 ms (a huge heartbeat interval must not loop).
    const ms = Math.min(2 ** 31 - 1, Math.max(1, Math.round(this.missLimit * intervalSec * 1000)))
    s.watchdog = setTimeout(() => this.abortSession(s, `no event for ${ms} ms (${this.missLimit} heartbeats missed)`), ms)
  }

  /** Send a non-SUBSCRIBE call (framework_id and Mesos-Stream-Id added). 4xx: MesosCallError, no retry. */
  async call(c: Omit<SchedulerCall, 'framework_id'>): Promise<void> {
    const type = c.type
    if (!this.running || !this.live || !this.fid) throw new MesosNotSubscribedError(type, 'the scheduler is not subscribed')
    const { type: _t, ...rest } = compact(c)
    const full: SchedulerCall = { type, framework_id: { value: this.fid }, ...rest }
    const body = encode('scheduler.Call', full, this.contentType)
    const deadline = Date.now() + this.requestTimeoutMs
    const backoff = new Backoff({ minMs: Math.min(this.backoffMinMs, 250), maxMs: this.backoffMaxMs, random: this.random })
    let last: Error = new MesosNotSubscribedError(type, 'the scheduler is not subscribed')
    for (;;) {
      const s = this.live
      const remaining = deadline - Date.now()
      if (remaining <= 0 || this.stopAc.signal.aborted) throw last
      if (s?.url) {
        let res: Awaited<ReturnType<typeof postFollowingRedirects>> | undefined
        try {
          res = await postFollowingRedirects({
            url: s.url, body, contentType: this.contentType, accept: this.contentType, dispatcher: this.callAgent,
            headers: { ...this.authHeaders, ...(s.streamId ? { 'mesos-stream-id': s.streamId } : {}) },
            signal: AbortSignal.any([this.stopAc.signal, AbortSignal.timeout(remaining)]),
            headersTimeoutMs: remaining, bodyTimeoutMs: remaining, maxRedirects: this.maxRedirects,
          })
        } catch (err) {
          if (!(err instanceof MesosTransportError)) throw err // e.g. a redirect loop: not transient
          last = err
        }
        if (res) {
          if (res.status === 200 || res.status === 202) return void (await discard(res.body))
          last = new MesosCallError(type, res.status, await readText(res.body))
          if (!RETRYABLE_STATUS.has(res.status)) throw last
        }
      } else {
        last = new MesosNotSubscribedError(type, 'the subscription is being re-established')
      }
      const wait = Math.min(backoff.next(), deadline - Date.now())
      this.log('debug', `${type} failed (${last.message}); retrying in ${wait} ms`)
      if (wait > 0 && !(await sleep(wait, this.stopAc.signal))) throw last
    }
  }

  accept(offerIds: OfferID[], operations: OfferOperation[], filters?: Filters): Promise<void> {
    return this.call({ type: 'ACCEPT', accept: compact({ offer_ids: offerIds, operations, filters }) })
  }
  decline(offerIds: OfferID[], filters?: Filters): Promise<void> {
    return this.call({ type: 'DECLINE', decline: compact({ offer_ids: offerIds, filters }) })
  }
  revive(roles?: string[]): Promise<void> {
    return this.call({ type: 'REVIVE', ...(roles ? { revive: { roles } } : {}) })
  }
  suppress(roles?: string[]): Promise<void> {
    return this.call({ type: 'SUPPRESS', ...(roles ? { suppress: { roles } } : {}) })
  }
  kill(taskId: TaskID, agentId?: AgentID, killPolicy?: KillPolicy): Promise<void> {
    return this.call({ type: 'KILL', kill: compact({ task_id: taskId, agent_id: agentId, kill_policy: killPolicy }) })
  }
  shutdown(executorId: ExecutorID, agentId: AgentID): Promise<void> {
    return this.call({ type: 'SHUTDOWN', shutdown: { executor_id: executorId, agent_id: agentId } })
  }
  acknowledge(agentId: AgentID, taskId: TaskID, uuid: string): Promise<void> {
    return this.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: agentId, task_id: taskId, uuid } })
  }
  reconcile(tasks: { task_id: TaskID; agent_id?: AgentID }[]): Promise<void> {
    return this.call({ type: 'RECONCILE', reconcile: { tasks: tasks.map((t) => compact(t)) } })
  }
  message(agentId: AgentID, executorId: ExecutorID, data: string): Promise<void> {
    return this.call({ type: 'MESSAGE', message: { agent_id: agentId, executor_id: executorId, data } })
  }
  /** TEARDOWN: the master removes the framework and closes the stream; the client stops afterwards. */
  async teardown(): Promise<void> {
    this.tearingDown = true // the stream closes before the 202 arrives; do not re-subscribe
    try {
      await this.call({ type: 'TEARDOWN' })
    } catch (err) {
      this.tearingDown = false
      if (this.running && !this.looping && !this.fatal) this.loopDone = this.runLoop()
      throw err
    }
    await this.stop()
  }
}
