/**
 * Mesos v1 scheduler HTTP API client (`POST /api/v1/scheduler`), on node:http (node-http.ts; https masters through node:https).
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
 * old stream's ERROR "Framework failed over" never does). Calls use their own keep-alive transport (never the
 * stream's connection) and carry the current Mesos-Stream-Id; SUBSCRIBE never does.
 * Pieces: call builders (scheduler-calls.ts, the base class), session record + heartbeat watchdog
 * (scheduler-session.ts), retrying calls (call-retry.ts), HTTP plumbing shared with the executor (client-io.ts).
 */
import {Backoff, sleep} from './backoff.js'
import {postCallWithRetry} from './call-retry.js'
import {decodeEvents, emitSafe, errText, newCallTransport, newStreamTransport, openSubscription, type LogFn} from './client-io.js'
import {encode} from './codec.js'
import type {DetectedMaster, MasterDetector} from './detector.js'
import {MesosNotSubscribedError} from './http-post.js'
import {SchedulerCalls, subscribeCall, withFrameworkId} from './scheduler-calls.js'
import {
  abortSession,
  armHeartbeatWatchdog,
  masterFromUrl,
  sameMaster,
  schedulerUrl,
  type Session,
  type SubscribedInfo,
} from './scheduler-session.js'
import {CONTENT_JSON, type ContentType, type FrameworkInfo, type SchedulerCall, type SchedulerEvent} from './types.js'

export {MesosCallError, MesosNotSubscribedError} from './http-post.js'
export type {LogFn} from './client-io.js'
export {schedulerUrl, type SubscribedInfo} from './scheduler-session.js'

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

const DEFAULT_HEARTBEAT_SEC = 15
const LEADER_WAIT_MS = 30_000
const REMOVED_RE = /framework has been removed/i

export class SchedulerClient extends SchedulerCalls {
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
  private readonly callTransport = newCallTransport()
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
    this.frameworkInfo = {...opts.frameworkInfo}
    this.fid = opts.frameworkInfo.id?.value
    this.contentType = opts.contentType ?? CONTENT_JSON
    this.missLimit = opts.heartbeatMissLimit ?? 5
    this.backoffMinMs = opts.backoffMinMs ?? 1000
    this.backoffMaxMs = Math.max(opts.backoffMaxMs ?? 15_000, this.backoffMinMs)
    this.random = opts.random ?? Math.random
    this.backoff = new Backoff({minMs: this.backoffMinMs, maxMs: this.backoffMaxMs, random: this.random})
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.maxRedirects = opts.maxRedirects ?? 9
    this.authHeaders = opts.authorization ? {authorization: opts.authorization} : {}
    this.log = opts.log ?? (() => {})
    if (!(this.missLimit > 0)) throw new RangeError(`heartbeatMissLimit must be > 0, got ${this.missLimit}`)
    // Fail fast on a FrameworkInfo that cannot be encoded (missing user/name, bad types): CodecError.
    encode('scheduler.Call', {type: 'SUBSCRIBE', subscribe: {framework_info: this.frameworkInfo}}, this.contentType)
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
      this.log('error', 'scheduler subscription loop crashed', {error: errText(err)})
    } finally {
      this.looping = false
    }
  }

  async stop(): Promise<void> {
    this.running = false
    this.detector.off('leader', this.onLeader)
    this.stopAc.abort(new Error('scheduler client stopped'))
    this.wake?.abort()
    if (this.session) abortSession(this.session, 'scheduler client stopped')
    this.live = undefined
    await this.loopDone
    await this.callTransport.destroy().catch(() => {})
  }

  private emitSafe(event: string, payload: unknown): void {
    emitSafe(this, this.log, 'a', event, payload)
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
    abortSession(s, `leading master changed to ${m.host}:${m.port}`)
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
    const s: Session = {gen: ++this.gen, ac: new AbortController(), subscribed: false}
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
    const transport = newStreamTransport()
    try {
      const opened = await openSubscription({
        url: s.url,
        body: encode('scheduler.Call', subscribeCall(this.frameworkInfo, this.fid), this.contentType),
        contentType: this.contentType,
        headers: this.authHeaders,
        transport,
        signal: s.ac.signal,
        requestTimeoutMs: this.requestTimeoutMs,
        maxRedirects: this.maxRedirects,
        hostInReason: true,
        onRedirect: (from, to) => {
          this.log('info', `SUBSCRIBE redirected from ${from.host} to ${to.host}`)
          s.url = to
        },
      })
      if (!opened.ok) return opened.reason
      s.streamId = opened.streamId
      armHeartbeatWatchdog(s, DEFAULT_HEARTBEAT_SEC, this.missLimit)
      s.abortReason ??= await this.readStream(s, opened.body, opened.type)
      return s.abortReason
    } catch (err) {
      s.abortReason ??= s.subscribed ? `subscription stream failed: ${errText(err)}` : errText(err)
      return s.abortReason
    } finally {
      clearTimeout(s.watchdog)
      s.ac.abort()
      if (this.live === s) {
        this.live = undefined
        if (this.running && !this.tearingDown) this.emitSafe('disconnected', {reason: s.abortReason ?? 'subscription stream ended'})
      }
      await transport.destroy().catch(() => {})
    }
  }

  private async readStream(s: Session, body: AsyncIterable<Uint8Array>, type: ContentType): Promise<string> {
    let interval = DEFAULT_HEARTBEAT_SEC
    for await (const d of decodeEvents<SchedulerEvent>(body, 'scheduler.Event', type)) {
      if (s.gen !== this.gen || s.ac.signal.aborted || !this.running) return s.abortReason ?? 'superseded'
      if ('error' in d) {
        s.abortReason = `undecodable event on the subscription stream: ${d.error}`
        return s.abortReason
      }
      const ev = d.event
      if (ev.type === 'SUBSCRIBED' && ev.subscribed) {
        const sub = ev.subscribed
        interval =
          sub.heartbeat_interval_seconds && sub.heartbeat_interval_seconds > 0 ? sub.heartbeat_interval_seconds : DEFAULT_HEARTBEAT_SEC
        this.fid = sub.framework_id.value
        this.frameworkInfo.id = {value: this.fid}
        s.subscribed = true
        this.live = s
        this.backoff.reset()
        armHeartbeatWatchdog(s, interval, this.missLimit)
        const info: SubscribedInfo = {
          frameworkId: this.fid,
          streamId: s.streamId ?? '',
          heartbeatIntervalSec: interval,
          master: masterFromUrl(s.url!, sub.master_info),
          ...(sub.master_info ? {masterInfo: sub.master_info} : {}),
        }
        this.log('info', `subscribed as framework ${this.fid} on ${s.url!.host}`, {streamId: s.streamId})
        this.emitSafe('subscribed', info)
        this.emitSafe('event', ev)
        continue
      }
      armHeartbeatWatchdog(s, interval, this.missLimit)
      this.emitSafe('event', ev)
      if (ev.type === 'ERROR') {
        const message = ev.error?.message ?? ''
        this.emitSafe('error-event', {message})
        if (REMOVED_RE.test(message)) {
          this.fatal = true
          this.live = undefined
          this.log('error', `framework ${this.fid ?? '(new)'} was removed by the master: ${message}`)
          this.emitSafe('fatal', {reason: message})
        }
        s.abortReason = `ERROR event: ${message}`
        return s.abortReason
      }
    }
    return s.abortReason ?? 'subscription stream closed by the master'
  }

  /** Send a non-SUBSCRIBE call (framework_id and Mesos-Stream-Id added). 4xx: MesosCallError, no retry. */
  async call(c: Omit<SchedulerCall, 'framework_id'>): Promise<void> {
    const type = c.type
    if (!this.running || !this.live || !this.fid) throw new MesosNotSubscribedError(type, 'the scheduler is not subscribed')
    await postCallWithRetry({
      type,
      body: encode('scheduler.Call', withFrameworkId(c, this.fid), this.contentType),
      contentType: this.contentType,
      headers: this.authHeaders,
      transport: this.callTransport,
      maxRedirects: this.maxRedirects,
      timeoutMs: this.requestTimeoutMs,
      backoff: new Backoff({minMs: Math.min(this.backoffMinMs, 250), maxMs: this.backoffMaxMs, random: this.random}),
      stop: this.stopAc.signal,
      initial: new MesosNotSubscribedError(type, 'the scheduler is not subscribed'),
      log: this.log,
      target: () => (this.live?.url ? {url: this.live.url, streamId: this.live.streamId} : undefined),
    })
  }

  /** TEARDOWN: the master removes the framework and closes the stream; the client stops afterwards. */
  async teardown(): Promise<void> {
    this.tearingDown = true // the stream closes before the 202 arrives; do not re-subscribe
    try {
      await this.call({type: 'TEARDOWN'})
    } catch (err) {
      this.tearingDown = false
      if (this.running && !this.looping && !this.fatal) this.loopDone = this.runLoop()
      throw err
    }
    await this.stop()
  }
}
