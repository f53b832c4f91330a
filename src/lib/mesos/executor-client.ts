/**
 * Mesos v1 executor HTTP API client (`POST /api/v1/executor` on the local agent), built on node:http
 * (node-http.ts, as the scheduler's client; undici would add ~10 MB to every executor).
 *
 * States: IDLE --start()--> SUBSCRIBING --SUBSCRIBED--> CONNECTED --stream ends / ERROR event--> DISCONNECTED
 *   DISCONNECTED --checkpoint: wait uniform [0, MESOS_SUBSCRIPTION_BACKOFF_MAX]--> SUBSCRIBING (carries
 *                  unacknowledged_tasks + unacknowledged_updates)
 *   DISCONNECTED --checkpoint off (after having been subscribed)--> GAVE_UP ('recovery-timeout' at once)
 *   no SUBSCRIBED within MESOS_RECOVERY_TIMEOUT of the first disconnection --> GAVE_UP ('recovery-timeout')
 *   stop() --> STOPPED (no further events)
 * Invariants: an UPDATE stays unacknowledged from update() until an ACKNOWLEDGED with its uuid; a launched task
 * stays unacknowledged until an ACKNOWLEDGED for it (book-keeping: executor-acks.ts). Both are sent in every
 * SUBSCRIBE (the agent replays them; duplicates are fine). update() never throws for connectivity: an update that
 * could not be delivered is sent again (timer while connected, or in the next SUBSCRIBE). A resend the agent
 * refuses for good (4xx other than 403, e.g. 400 "Executor cannot be found") is logged and dropped, never thrown:
 * no promise of this client rejects without a caller to handle it.
 * Environment parsing lives in executor-env.ts (re-exported here), the HTTP plumbing shared with the scheduler in
 * client-core.ts and http-post.ts.
 */
import {EventEmitter} from 'node:events'
import {sleep, uniformDelay} from './backoff.js'
import {decodeEvents, emitSafe, errText, postCallVia, subscribeVia, type LogFn} from './client-core.js'
import {encode} from './codec.js'
import {AckLedger} from './executor-acks.js'
import type {ExecutorEnv} from './executor-env.js'
import {MesosCallError, MesosNotSubscribedError, MesosTransportError} from './http-post.js'
import {NodeTransport} from './node-http.js'
import {CONTENT_JSON, type ContentType, type ExecutorCall, type ExecutorEvent, type ExecutorUpdate, type TaskStatus} from './types.js'
import {uuidBase64} from './uuid.js'

export {ExecutorEnvError, readExecutorEnv, type ExecutorEnv} from './executor-env.js'

function describeUpdate(upd: ExecutorUpdate): string {
  return `UPDATE ${upd.status.state} for ${upd.status.task_id.value}`
}

export interface ExecutorClientOptions {
  contentType?: ContentType
  random?: () => number
  log?: LogFn
  /** Timeout of UPDATE/MESSAGE calls and of SUBSCRIBE response headers; default 30000. */
  requestTimeoutMs?: number
  /** Delay before re-sending an UPDATE that failed while connected; default 1000. */
  resendDelayMs?: number
}

interface Session {
  gen: number
  ac: AbortController
  reason?: string
}

type UpdateInput = Omit<TaskStatus, 'uuid' | 'source' | 'timestamp'> & {timestamp?: number}

export class ExecutorClient extends EventEmitter {
  private readonly env: ExecutorEnv
  private readonly url: URL
  private readonly contentType: ContentType
  private readonly random: () => number
  private readonly log: LogFn
  private readonly requestTimeoutMs: number
  private readonly resendDelayMs: number
  private readonly headers: Record<string, string>
  private readonly calls = new NodeTransport({keepAlive: true})
  private readonly stopAc = new AbortController()
  private readonly acks = new AckLedger()
  private running = false
  private gen = 0
  private session: Session | undefined
  private live: Session | undefined
  private everSubscribed = false
  private disconnectedAt: number | undefined
  private recoveryTimer: NodeJS.Timeout | undefined
  private resendTimer: NodeJS.Timeout | undefined
  private loopDone: Promise<void> | undefined
  private wake: AbortController | undefined

  constructor(env: ExecutorEnv, opts: ExecutorClientOptions = {}) {
    super()
    this.env = env
    this.url = new URL(`http://${env.agentEndpoint}/api/v1/executor`)
    this.contentType = opts.contentType ?? CONTENT_JSON
    this.random = opts.random ?? Math.random
    this.log = opts.log ?? (() => {})
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.resendDelayMs = opts.resendDelayMs ?? 1000
    this.headers = env.authToken ? {authorization: `Bearer ${env.authToken}`} : {}
  }

  get connected(): boolean {
    return this.live !== undefined
  }
  get unacknowledgedUpdates(): number {
    return this.acks.updateCount
  }
  get unacknowledgedTasks(): number {
    return this.acks.taskCount
  }

  start(): void {
    if (this.running || this.loopDone) return
    this.running = true
    this.loopDone = this.loop().catch((err: unknown) => this.log('error', 'executor subscription loop crashed', {error: errText(err)}))
  }

  async stop(): Promise<void> {
    this.running = false
    this.stopAc.abort(new Error('executor client stopped'))
    clearTimeout(this.recoveryTimer)
    clearTimeout(this.resendTimer)
    this.session?.ac.abort()
    this.live = undefined
    await this.loopDone
    await this.calls.destroy().catch(() => {})
  }

  private emitSafe(event: string, payload?: unknown): void {
    emitSafe(this, this.log, 'an executor', event, payload)
  }

  private giveUp(reason: string): void {
    if (!this.running) return
    this.running = false
    clearTimeout(this.recoveryTimer)
    clearTimeout(this.resendTimer)
    this.session?.ac.abort()
    this.wake?.abort()
    this.log('error', `giving up on the agent: ${reason}`)
    this.emitSafe('recovery-timeout', {reason})
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const reason = await this.attempt()
      this.session = undefined
      if (!this.running) break
      if (!this.env.checkpoint && this.everSubscribed) {
        this.giveUp(`disconnected from the agent (${reason}) and checkpointing is off`)
        break
      }
      if (this.disconnectedAt === undefined) {
        this.disconnectedAt = Date.now()
        const ms = this.env.recoveryTimeoutMs
        this.recoveryTimer = setTimeout(() => this.giveUp(`no agent for ${ms} ms (MESOS_RECOVERY_TIMEOUT); last error: ${reason}`), ms)
      }
      const delay = uniformDelay(this.env.subscriptionBackoffMaxMs, this.random)
      this.log('warn', `executor subscription ended: ${reason}; re-subscribing in ${delay} ms`)
      this.wake = new AbortController()
      await sleep(delay, AbortSignal.any([this.stopAc.signal, this.wake.signal]))
      this.wake = undefined
    }
  }

  private baseCall(type: ExecutorCall['type']): ExecutorCall {
    return {type, framework_id: {value: this.env.frameworkId}, executor_id: {value: this.env.executorId}}
  }

  private async attempt(): Promise<string> {
    const s: Session = {gen: ++this.gen, ac: new AbortController()}
    this.session = s
    const {subscribe, uuids: sentUuids} = this.acks.subscribePayload()
    const call: ExecutorCall = {...this.baseCall('SUBSCRIBE'), subscribe}
    const stream = new NodeTransport({keepAlive: false})
    try {
      const opened = await subscribeVia(stream.send, {
        url: this.url,
        body: encode('executor.Call', call, this.contentType),
        contentType: this.contentType,
        headers: this.headers,
        signal: s.ac.signal,
        requestTimeoutMs: this.requestTimeoutMs,
        maxRedirects: 0,
      })
      if (!opened.ok) return opened.reason
      for await (const d of decodeEvents<ExecutorEvent>(opened.body, 'executor.Event', opened.type)) {
        if (s.gen !== this.gen || s.ac.signal.aborted || !this.running) break
        if ('error' in d) return `undecodable event on the executor stream: ${d.error}`
        if (this.handle(s, d.event, sentUuids)) return `ERROR event: ${d.event.error?.message ?? ''}`
      }
      return s.reason ?? 'executor stream closed by the agent'
    } catch (err) {
      return s.reason ?? errText(err)
    } finally {
      s.ac.abort()
      if (this.live === s) {
        this.live = undefined
        if (this.running) this.emitSafe('disconnected', {reason: s.reason ?? 'executor stream ended'})
      }
      await stream.destroy().catch(() => {})
    }
  }

  /** Book-keeping for one event, then emit it; returns true when the stream must be dropped. */
  private handle(s: Session, ev: ExecutorEvent, sentUuids: string[]): boolean {
    if (ev.type === 'SUBSCRIBED') {
      const reconnect = this.everSubscribed
      this.everSubscribed = true
      this.live = s
      this.acks.markDelivered(sentUuids) // the agent replays what SUBSCRIBE carried
      clearTimeout(this.recoveryTimer)
      this.disconnectedAt = undefined
      this.log('info', `executor ${this.env.executorId} subscribed${reconnect ? ' again' : ''}`)
      this.emitSafe('subscribed', ev.subscribed)
      this.emitSafe('event', ev)
      if (reconnect) this.emitSafe('reconnected')
      this.scheduleResend()
      return false
    }
    this.acks.observe(ev)
    this.emitSafe('event', ev)
    if (ev.type === 'ERROR') {
      s.reason = `ERROR event: ${ev.error?.message ?? ''}`
      return true
    }
    return false
  }

  private post(call: ExecutorCall): Promise<void> {
    return postCallVia(this.calls.send, {
      call: call.type,
      url: this.url,
      body: encode('executor.Call', call, this.contentType),
      contentType: this.contentType,
      headers: this.headers,
      timeoutMs: this.requestTimeoutMs,
      maxRedirects: 0,
      signal: AbortSignal.any([this.stopAc.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
    })
  }

  /** Send every update not yet delivered on the current subscription; failures re-arm the timer. */
  private scheduleResend(delay = 0): void {
    if (this.resendTimer || !this.live) return
    const pending = this.acks.undelivered()
    if (pending.length === 0) return
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined
      for (const u of pending) {
        const upd = this.acks.undeliveredUpdate(u)
        // Nobody awaits a resend: a refusal is logged here (an unhandled rejection would kill the executor).
        if (upd)
          this.deliver(u, upd).catch((err: unknown) =>
            this.log('error', `${describeUpdate(upd)} refused by the agent (${errText(err)}); dropped: it will not be sent again`),
          )
      }
    }, delay)
  }

  /**
   * One try at sending an UPDATE on the current subscription. Transient failures (transport, 403, 5xx) keep it
   * for a resend (timer, or the next SUBSCRIBE) and resolve; any other failure (the agent refuses the update
   * itself, e.g. 400 "Executor cannot be found") forgets it and rejects: every caller must handle that.
   */
  private async deliver(uuid: string, upd: ExecutorUpdate): Promise<void> {
    if (!this.live) return // goes out with the next SUBSCRIBE
    try {
      await this.post({...this.baseCall('UPDATE'), update: upd})
      this.acks.markDelivered([uuid])
    } catch (err) {
      const transient = err instanceof MesosTransportError || (err instanceof MesosCallError && (err.status === 403 || err.status >= 500))
      if (!transient) {
        this.acks.forget(uuid)
        throw err
      }
      this.log('warn', `${describeUpdate(upd)} not delivered (${errText(err)}); will resend`)
      if (this.running) this.scheduleResend(this.resendDelayMs)
    }
  }

  /**
   * Send a status update (source, 16-byte uuid, timestamp and executor_id filled in). Resolves with the uuid
   * once sent or queued; rejects only when the agent refuses the update itself (HTTP 400-class, e.g. TASK_STAGING).
   */
  async update(status: UpdateInput): Promise<string> {
    const uuid = uuidBase64()
    const full: TaskStatus = {
      ...status,
      executor_id: {value: this.env.executorId},
      source: 'SOURCE_EXECUTOR',
      uuid,
      timestamp: status.timestamp ?? Date.now() / 1000,
    }
    const upd: ExecutorUpdate = {status: full}
    this.acks.track(uuid, upd)
    await this.deliver(uuid, upd)
    return uuid
  }

  /** Best-effort MESSAGE to the scheduler; throws when not subscribed or the agent refuses it. */
  async message(data: string): Promise<void> {
    if (!this.live) throw new MesosNotSubscribedError('MESSAGE', 'the executor is not subscribed to the agent')
    await this.post({...this.baseCall('MESSAGE'), message: {data}})
  }
}
