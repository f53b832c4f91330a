/**
 * Mesos v1 executor HTTP API client (`POST /api/v1/executor` on the local agent), built on undici 7.
 *
 * States: IDLE --start()--> SUBSCRIBING --SUBSCRIBED--> CONNECTED --stream ends / ERROR event--> DISCONNECTED
 *   DISCONNECTED --checkpoint: wait uniform [0, MESOS_SUBSCRIPTION_BACKOFF_MAX]--> SUBSCRIBING (carries
 *                  unacknowledged_tasks + unacknowledged_updates)
 *   DISCONNECTED --checkpoint off (after having been subscribed)--> GAVE_UP ('recovery-timeout' at once)
 *   no SUBSCRIBED within MESOS_RECOVERY_TIMEOUT of the first disconnection --> GAVE_UP ('recovery-timeout')
 *   stop() --> STOPPED (no further events)
 * Invariants: an UPDATE stays in `unacked` from update() until an ACKNOWLEDGED with its uuid; a launched task
 * stays in `unackedTasks` until an ACKNOWLEDGED for it. Both are sent in every SUBSCRIBE (the agent replays them;
 * duplicates are fine). update() never throws for connectivity: an update that could not be delivered is sent
 * again (timer while connected, or in the next SUBSCRIBE).
 */
import { EventEmitter } from 'node:events'
import { Agent } from 'undici'
import { sleep, uniformDelay } from './backoff.js'
import { decode, encode } from './codec.js'
import { parseDuration } from './duration.js'
import {
  discard, headerValue, MesosCallError, MesosNotSubscribedError, MesosTransportError, postFollowingRedirects, readText,
} from './http.js'
import { decodeRecordStream } from './recordio.js'
import type { LogFn } from './scheduler-client.js'
import {
  CONTENT_JSON, CONTENT_PROTOBUF, type ContentType, type ExecutorCall, type ExecutorEvent, type ExecutorUpdate,
  type TaskInfo, type TaskStatus,
} from './types.js'
import { uuidBase64 } from './uuid.js'

export class ExecutorEnvError extends Error {
  readonly variable: string
  constructor(variable: string, problem: string) {
    super(`executor environment: ${variable} ${problem}`)
    this.name = 'ExecutorEnvError'
    this.variable = variable
  }
}

export interface ExecutorEnv {
  agentEndpoint: string
  frameworkId: string
  executorId: string
  sandbox: string
  checkpoint: boolean
  recoveryTimeoutMs: number
  subscriptionBackoffMaxMs: number
  shutdownGracePeriodMs: number
  agentId?: string
  authToken?: string
}

const ENDPOINT_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/

function checkEndpoint(variable: string, value: string): string {
  const m = ENDPOINT_RE.exec(value)
  const port = m ? Number(m[2]) : 0
  if (!m || port < 1 || port > 65535) throw new ExecutorEnvError(variable, `is not ip:port: ${JSON.stringify(value)}`)
  return value
}

/** Read the variables the Mesos agent sets for an executor (see mesos-v1-api.md §4.4). */
export function readExecutorEnv(env: NodeJS.ProcessEnv = process.env): ExecutorEnv {
  const get = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v === '' ? undefined : v
  }
  const required = (name: string): string => {
    const v = get(name)
    if (v === undefined) throw new ExecutorEnvError(name, 'is not set (is this process running as a Mesos executor?)')
    return v
  }
  const duration = (name: string, dflt: string): number => {
    const v = get(name) ?? dflt
    try {
      return parseDuration(v)
    } catch (err) {
      throw new ExecutorEnvError(name, `is not a duration: ${(err as Error).message}`)
    }
  }
  let agentEndpoint: string
  const endpoint = get('MESOS_AGENT_ENDPOINT')
  if (endpoint !== undefined) agentEndpoint = checkEndpoint('MESOS_AGENT_ENDPOINT', endpoint)
  else {
    const pid = get('MESOS_SLAVE_PID')
    if (pid === undefined) throw new ExecutorEnvError('MESOS_AGENT_ENDPOINT', 'is not set (nor MESOS_SLAVE_PID)')
    const at = pid.lastIndexOf('@')
    if (at < 0) throw new ExecutorEnvError('MESOS_SLAVE_PID', `is not a libprocess pid (id@ip:port): ${JSON.stringify(pid)}`)
    agentEndpoint = checkEndpoint('MESOS_SLAVE_PID', pid.slice(at + 1))
  }
  const frameworkId = required('MESOS_FRAMEWORK_ID')
  const executorId = required('MESOS_EXECUTOR_ID')
  const sandbox = get('MESOS_SANDBOX') ?? get('MESOS_DIRECTORY')
  if (sandbox === undefined) throw new ExecutorEnvError('MESOS_SANDBOX', 'is not set (nor MESOS_DIRECTORY)')
  const cp = get('MESOS_CHECKPOINT')
  if (cp !== undefined && cp !== '1' && cp !== '0') throw new ExecutorEnvError('MESOS_CHECKPOINT', `must be "1" or "0", got ${JSON.stringify(cp)}`)
  const agentId = get('MESOS_SLAVE_ID') ?? get('MESOS_AGENT_ID')
  const authToken = get('MESOS_EXECUTOR_AUTHENTICATION_TOKEN')
  return {
    agentEndpoint, frameworkId, executorId, sandbox,
    checkpoint: cp === '1',
    recoveryTimeoutMs: duration('MESOS_RECOVERY_TIMEOUT', '15mins'),
    subscriptionBackoffMaxMs: duration('MESOS_SUBSCRIPTION_BACKOFF_MAX', '2secs'),
    shutdownGracePeriodMs: duration('MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', '5secs'),
    ...(agentId !== undefined ? { agentId } : {}),
    ...(authToken !== undefined ? { authToken } : {}),
  }
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

interface Session { gen: number; ac: AbortController; reason?: string }

type UpdateInput = Omit<TaskStatus, 'uuid' | 'source' | 'timestamp'> & { timestamp?: number }

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export class ExecutorClient extends EventEmitter {
  private readonly env: ExecutorEnv
  private readonly url: URL
  private readonly contentType: ContentType
  private readonly random: () => number
  private readonly log: LogFn
  private readonly requestTimeoutMs: number
  private readonly resendDelayMs: number
  private readonly headers: Record<string, string>
  private readonly callAgent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 4_000 })
  private readonly stopAc = new AbortController()
  private readonly unacked = new Map<string, ExecutorUpdate>()
  private readonly delivered = new Set<string>()
  private readonly unackedTasks = new Map<string, TaskInfo>()
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
    this.headers = env.authToken ? { authorization: `Bearer ${env.authToken}` } : {}
  }

  get connected(): boolean {
    return this.live !== undefined
  }
  get unacknowledgedUpdates(): number {
    return this.unacked.size
  }
  get unacknowledgedTasks(): number {
    return this.unackedTasks.size
  }

  start(): void {
    if (this.running || this.loopDone) return
    this.running = true
    this.loopDone = this.loop().catch((err: unknown) => this.log('error', 'executor subscription loop crashed', { error: errText(err) }))
  }

  async stop(): Promise<void> {
    this.running = false
    this.stopAc.abort(new Error('executor client stopped'))
    clearTimeout(this.recoveryTimer)
    clearTimeout(this.resendTimer)
    this.session?.ac.abort()
    this.live = undefined
    await this.loopDone
    await this.callAgent.destroy().catch(() => {})
  }

  private emitSafe(event: string, payload?: unknown): void {
    try {
      this.emit(event, payload)
    } catch (err) {
      this.log('error', `an executor '${event}' listener threw`, { error: errText(err) })
    }
  }

  private giveUp(reason: string): void {
    if (!this.running) return
    this.running = false
    clearTimeout(this.recoveryTimer)
    clearTimeout(this.resendTimer)
    this.session?.ac.abort()
    this.wake?.abort()
    this.log('error', `giving up on the agent: ${reason}`)
    this.emitSafe('recovery-timeout', { reason })
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
    return { type, framework_id: { value: this.env.frameworkId }, executor_id: { value: this.env.executorId } }
  }

  private async attempt(): Promise<string> {
    const s: Session = { gen: ++this.gen, ac: new AbortController() }
    this.session = s
    const call: ExecutorCall = {
      ...this.baseCall('SUBSCRIBE'),
      subscribe: { unacknowledged_tasks: [...this.unackedTasks.values()], unacknowledged_updates: [...this.unacked.values()] },
    }
    const sentUuids = [...this.unacked.keys()]
    const dispatcher = new Agent({ connect: { timeout: 10_000 }, bodyTimeout: 0, headersTimeout: this.requestTimeoutMs })
    try {
      const res = await postFollowingRedirects({
        url: this.url, body: encode('executor.Call', call, this.contentType), contentType: this.contentType,
        accept: this.contentType, headers: this.headers, dispatcher, signal: s.ac.signal,
        headersTimeoutMs: this.requestTimeoutMs, bodyTimeoutMs: 0, maxRedirects: 0,
      })
      if (res.status !== 200) {
        const body = await readText(res.body)
        return `SUBSCRIBE answered HTTP ${res.status}${body ? `: ${body}` : ''}`
      }
      const rct = headerValue(res.headers, 'content-type') ?? ''
      const type: ContentType = rct.startsWith(CONTENT_PROTOBUF) ? CONTENT_PROTOBUF : rct.startsWith(CONTENT_JSON) ? CONTENT_JSON : this.contentType
      for await (const rec of decodeRecordStream(res.body)) {
        if (s.gen !== this.gen || s.ac.signal.aborted || !this.running) break
        let ev: ExecutorEvent
        try {
          ev = decode<ExecutorEvent>('executor.Event', rec, type)
        } catch (err) {
          return `undecodable event on the executor stream: ${errText(err)}`
        }
        if (this.handle(s, ev, sentUuids)) return `ERROR event: ${ev.error?.message ?? ''}`
      }
      return s.reason ?? 'executor stream closed by the agent'
    } catch (err) {
      return s.reason ?? errText(err)
    } finally {
      s.ac.abort()
      if (this.live === s) {
        this.live = undefined
        if (this.running) this.emitSafe('disconnected', { reason: s.reason ?? 'executor stream ended' })
      }
      await dispatcher.destroy().catch(() => {})
    }
  }

  /** Book-keeping for one event, then emit it; returns true when the stream must be dropped. */
  private handle(s: Session, ev: ExecutorEvent, sentUuids: string[]): boolean {
    switch (ev.type) {
      case 'SUBSCRIBED': {
        const reconnect = this.everSubscribed
        this.everSubscribed = true
        this.live = s
        for (const u of sentUuids) this.delivered.add(u) // the agent replays what SUBSCRIBE carried
        clearTimeout(this.recoveryTimer)
        this.disconnectedAt = undefined
        this.log('info', `executor ${this.env.executorId} subscribed${reconnect ? ' again' : ''}`)
        this.emitSafe('subscribed', ev.subscribed)
        this.emitSafe('event', ev)
        if (reconnect) this.emitSafe('reconnected')
        this.scheduleResend()
        return false
      }
      case 'LAUNCH':
        if (ev.launch?.task) this.unackedTasks.set(ev.launch.task.task_id.value, ev.launch.task)
        break
      case 'LAUNCH_GROUP': {
        const group = (ev as { launch_group?: { task_group?: { tasks?: TaskInfo[] } } }).launch_group
        for (const t of group?.task_group?.tasks ?? []) this.unackedTasks.set(t.task_id.value, t)
        break
      }
      case 'ACKNOWLEDGED':
        if (ev.acknowledged) {
          this.unacked.delete(ev.acknowledged.uuid)
          this.delivered.delete(ev.acknowledged.uuid)
          this.unackedTasks.delete(ev.acknowledged.task_id.value)
        }
        break
      default:
        break
    }
    this.emitSafe('event', ev)
    if (ev.type === 'ERROR') {
      s.reason = `ERROR event: ${ev.error?.message ?? ''}`
      return true
    }
    return false
  }

  private async post(call: ExecutorCall): Promise<void> {
    const res = await postFollowingRedirects({
      url: this.url, body: encode('executor.Call', call, this.contentType), contentType: this.contentType,
      accept: this.contentType, headers: this.headers, dispatcher: this.callAgent,
      signal: AbortSignal.any([this.stopAc.signal, AbortSignal.timeout(this.requestTimeoutMs)]),
      headersTimeoutMs: this.requestTimeoutMs, bodyTimeoutMs: this.requestTimeoutMs, maxRedirects: 0,
    })
    if (res.status === 202 || res.status === 200) return discard(res.body)
    throw new MesosCallError(call.type, res.status, await readText(res.body))
  }

  /** Send every update not yet delivered on the current subscription; failures re-arm the timer. */
  private scheduleResend(delay = 0): void {
    if (this.resendTimer || !this.live) return
    const pending = [...this.unacked.keys()].filter((u) => !this.delivered.has(u))
    if (pending.length === 0) return
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined
      for (const u of pending) {
        const upd = this.unacked.get(u)
        if (upd && !this.delivered.has(u)) void this.deliver(u, upd)
      }
    }, delay)
  }

  private async deliver(uuid: string, upd: ExecutorUpdate): Promise<void> {
    if (!this.live) return // goes out with the next SUBSCRIBE
    try {
      await this.post({ ...this.baseCall('UPDATE'), update: upd })
      this.delivered.add(uuid)
    } catch (err) {
      const transient = err instanceof MesosTransportError ||
        (err instanceof MesosCallError && (err.status === 403 || err.status >= 500))
      if (!transient) {
        this.unacked.delete(uuid)
        throw err
      }
      this.log('warn', `UPDATE ${upd.status.state} for ${upd.status.task_id.value} not delivered (${errText(err)}); will resend`)
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
      executor_id: { value: this.env.executorId },
      source: 'SOURCE_EXECUTOR',
      uuid,
      timestamp: status.timestamp ?? Date.now() / 1000,
    }
    const upd: ExecutorUpdate = { status: full }
    this.unacked.set(uuid, upd)
    await this.deliver(uuid, upd)
    return uuid
  }

  /** Best-effort MESSAGE to the scheduler; throws when not subscribed or the agent refuses it. */
  async message(data: string): Promise<void> {
    if (!this.live) throw new MesosNotSubscribedError('MESSAGE', 'the executor is not subscribed to the agent')
    await this.post({ ...this.baseCall('MESSAGE'), message: { data } })
  }
}
