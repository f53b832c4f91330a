/**
 * The thin driver around the pure scheduler core: it turns I/O into core events (Mesos events,
 * etcd answers, timers, admin requests) and performs the actions `step` returns, in order.
 *
 * Contract with the core (core/actions.ts): events are stepped one at a time, synchronously; the
 * action batches run in order on one queue. Mesos calls of a batch run in sequence; etcd operations
 * and probes run in the background and report back as events. Timers replace earlier ones of the same name.
 *
 * PERSIST is handed to the Persister (persister.ts) and NOT awaited by the queue: ZooKeeper away (for
 * longer than its session timeout, too) must not stop the scheduler or its repairs while the Mesos master
 * is up. The newest document is saved in the background, retried with backoff, coalesced. The batch's
 * ACKNOWLEDGEs wait for that save attempt (at most ACK_WAIT_MS) while ZooKeeper answers, and go at once
 * while persistence is behind (holding them would stall each task's update stream: the agent sends a task's
 * next update only after the previous one is acknowledged, so a replacement would never be seen RUNNING).
 * Why acting ahead of the stored state is safe, and how we are fenced: persister.ts.
 */
import {EventEmitter} from 'node:events'
import type {FrameworkInfo, SchedulerEvent as MesosEvent} from '../lib/mesos/types.js'
import {SchedulerClient} from '../lib/mesos/scheduler-client.js'
import type {MasterDetector} from '../lib/mesos/detector.js'
import type {EtcdTlsOptions} from '../lib/etcd/admin.js'
import type {SchedulerAction} from './core/actions.js'
import type {SchedulerEvent} from './core/events.js'
import type {SchedulerState} from './core/state.js'
import {step} from './core/step.js'
import {initialState, parsePersistedDoc, serializePersistedDoc, type PersistedDoc} from './core/persist.js'
import type {SchedulerConfig} from './core/config.js'
import type {StateStore} from './state-store.js'
import type {Logger} from './logger.js'
import {performEtcd} from './etcd-actions.js'
import {Persister} from './persister.js'
import {coreEventOf} from './mesos-events.js'

/** Longest an acknowledgement waits for the save of its batch's document (a save whose outcome is unknown
 *  is read back: up to two ZooKeeper timeouts); after that it goes, as while persistence is behind. */
const ACK_WAIT_MS = 2000

export interface DriverDeps {
  config: SchedulerConfig
  frameworkInfo: Omit<FrameworkInfo, 'id'>
  detector: MasterDetector
  store: StateStore
  log: Logger
  etcdTls?: EtcdTlsOptions
  /** `Authorization` header for the Mesos master (HTTP basic), if any. */
  mesosAuthorization?: string
  now?: () => number
  seed?: number
}

export interface ConnectionInfo {
  master: string | null
  subscribedSince: number | null
  disconnectedSince: number | null
}

export class SchedulerDriver extends EventEmitter {
  private state: SchedulerState
  private readonly now: () => number
  private client: SchedulerClient | null = null
  private clientFrameworkId: string | null = null
  private queue: Promise<void> = Promise.resolve()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private stopped = false
  private readonly persister: Persister
  readonly connection: ConnectionInfo = {master: null, subscribedSince: null, disconnectedSince: null}

  constructor(private readonly deps: DriverDeps) {
    super()
    this.now = deps.now ?? Date.now
    this.state = initialState(deps.config, deps.seed ?? Math.floor(Math.random() * 2 ** 31))
    this.persister = new Persister(deps.store, deps.log, (err) => this.fatal(`${err.message} (persisting the scheduler state in ${deps.store.description})`, 1))
  }

  /** Our ZooKeeper session expired (serve.ts): write nothing until resumePersistence(). */
  pausePersistence(reason: string): void {
    this.persister.pause(reason)
  }

  /** We lead again with a new ZooKeeper session: the newest state is written. */
  resumePersistence(): void {
    this.persister.resume()
  }

  /** Logs `message` and announces a fatal stop (serve exits with `exitCode`). */
  fatal(message: string, exitCode: number): void {
    this.deps.log.error(message)
    this.emit('fatal', {message, exitCode})
  }

  /** The current state (read-only view for the admin API). */
  get current(): SchedulerState {
    return this.state
  }

  /** Loads the persisted document and hands it to the core (which then asks to SUBSCRIBE). */
  async start(): Promise<void> {
    const raw = await this.deps.store.load()
    let doc: PersistedDoc | null = null
    if (raw !== null) doc = parsePersistedDoc(JSON.stringify(raw))
    this.dispatch({type: 'PersistedStateLoaded', doc})
  }

  /** Steps one event through the core and queues its actions. Never throws. */
  dispatch(event: SchedulerEvent): void {
    if (this.stopped) return
    let actions: SchedulerAction[]
    try {
      const out = step(this.state, event, this.now())
      this.state = out.state
      actions = out.actions
    } catch (err) {
      this.deps.log.error('scheduler core failed on an event; event dropped', {event: event.type, error: (err as Error).stack})
      return
    }
    // Every stepped event is announced, also those that change nothing (e.g. a steady health answer the
    // admin API shows): announcing only events with actions left /members showing a stale probe.
    this.emit('stepped', event)
    if (actions.length === 0) return
    this.queue = this.queue.then(() => this.perform(actions)).catch((err: Error) => {
      this.deps.log.error('performing an action batch failed (a bug); its remaining actions are skipped, the core retries what matters on its timers', {error: err.stack})
    })
  }

  /** Resolves when every queued action batch has run (tests, shutdown). */
  async idle(): Promise<void> {
    await this.queue
  }

  /** Stops Mesos calls and timers; leaves the etcd tasks running (Mesos keeps them for the failover timeout). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    await this.client?.stop().catch((err: Error) => this.deps.log.warn('stopping the Mesos client failed', {error: err.message}))
    await this.queue.catch(() => undefined)
    await this.persister.stop()
  }

  private async perform(actions: SchedulerAction[]): Promise<void> {
    // The save of this batch's document (see the header): acknowledgements wait for its attempt, not the queue.
    let persisted: Promise<void> | null = null
    for (const a of actions) {
      if (this.stopped) return
      if (a.type !== 'LOG') this.deps.log.debug(`action ${a.type}`)
      switch (a.type) {
        case 'PERSIST':
          persisted = this.persister.offer(JSON.parse(serializePersistedDoc(a.doc)), ACK_WAIT_MS)
          break
        case 'ACKNOWLEDGE': {
          const ack = (): Promise<void> => this.mesos('ACKNOWLEDGE', (c) => c.acknowledge({value: a.agentId}, {value: a.taskId}, a.uuid))
          if (persisted === null || this.persister.behind) await ack()
          else {
            persisted.then(() => (this.stopped ? undefined : ack())).catch((err: Error) => {
              this.deps.log.warn('acknowledging a status update failed; Mesos re-sends it', {taskId: a.taskId, error: err.message})
            })
          }
          break
        }
        case 'SUBSCRIBE':
          this.subscribe(a.frameworkId)
          break
        case 'ACCEPT':
          await this.mesos('ACCEPT', (c) => c.accept(a.offerIds.map((value) => ({value})), a.operations, a.filters))
          break
        case 'DECLINE':
          await this.mesos('DECLINE', (c) => c.decline(a.offerIds.map((value) => ({value})), a.filters))
          break
        case 'REVIVE':
          await this.mesos('REVIVE', (c) => c.revive())
          break
        case 'SUPPRESS':
          await this.mesos('SUPPRESS', (c) => c.suppress())
          break
        case 'KILL':
          await this.mesos('KILL', (c) => c.kill({value: a.taskId}, a.agentId ? {value: a.agentId} : undefined))
          break
        case 'RECONCILE':
          await this.mesos('RECONCILE', (c) => c.reconcile(a.tasks.map((t) => (t.agentId ? {task_id: {value: t.taskId}, agent_id: {value: t.agentId}} : {task_id: {value: t.taskId}}))))
          break
        case 'MESSAGE':
          await this.mesos('MESSAGE', (c) => c.message({value: a.agentId}, {value: a.executorId}, a.data))
          break
        case 'MEMBER_ADD':
        case 'MEMBER_REMOVE':
        case 'MEMBER_PROMOTE':
        case 'MEMBER_LIST':
        case 'HEALTH_CHECK':
          performEtcd(a, this.deps.etcdTls).then((ev) => this.dispatch(ev), (err: Error) => {
            // performEtcd answers every failure with an event; should it ever throw, the core's own timeout
            // for the operation (memberOpTimeoutMs) retries it.
            this.deps.log.error(`etcd ${a.type} failed unexpectedly; the scheduler retries it after its timeout`, {error: err.stack ?? err.message})
          })
          break
        case 'SET_TIMER':
          this.setTimer(a.name, a.atMs)
          break
        case 'LOG':
          this.deps.log[a.level](a.msg, a.fields)
          break
        case 'FATAL':
          this.fatal(a.message, a.exitCode)
          break
      }
    }
  }

  private async mesos(what: string, fn: (c: SchedulerClient) => Promise<void>): Promise<void> {
    const c = this.client
    if (!c || !c.connected) {
      this.deps.log.debug(`not connected to a Mesos master: ${what} dropped (the core retries what matters after re-subscribing)`)
      return
    }
    try {
      await fn(c)
    } catch (err) {
      this.deps.log.warn(`Mesos ${what} call failed`, {error: (err as Error).message})
    }
  }

  private setTimer(name: string, atMs: number): void {
    const old = this.timers.get(name)
    if (old) clearTimeout(old)
    const delay = Math.max(0, Math.min(atMs - this.now(), 2 ** 31 - 1))
    const t = setTimeout(() => {
      this.timers.delete(name)
      this.dispatch({type: 'TimerFired', name: name as 'reconcile'})
    }, delay)
    t.unref()
    this.timers.set(name, t)
  }

  private subscribe(frameworkId: string | null): void {
    if (this.client && this.clientFrameworkId === frameworkId) return // the client re-subscribes by itself
    const old = this.client
    if (old) old.stop().catch((err: Error) => this.deps.log.warn('stopping the previous Mesos client failed', {error: err.message}))
    const frameworkInfo: FrameworkInfo = {...this.deps.frameworkInfo}
    if (frameworkId) frameworkInfo.id = {value: frameworkId}
    const client = new SchedulerClient({
      detector: this.deps.detector,
      frameworkInfo,
      ...(this.deps.mesosAuthorization ? {authorization: this.deps.mesosAuthorization} : {}),
      log: (level, msg, fields) => this.deps.log[level](msg, fields as Record<string, unknown> | undefined),
    })
    this.client = client
    this.clientFrameworkId = frameworkId
    client.on('subscribed', (info: {frameworkId: string; masterInfo?: FrameworkInfo; master?: {host: string; port: number}; heartbeatIntervalSec?: number}) => {
      if (this.client !== client) return
      this.clientFrameworkId = info.frameworkId
      this.connection.master = info.master ? `${info.master.host}:${info.master.port}` : null
      this.connection.subscribedSince = this.now()
      this.connection.disconnectedSince = null
      this.dispatch({type: 'Subscribed', frameworkId: info.frameworkId, ...(info.masterInfo ? {masterInfo: info.masterInfo as never} : {})})
    })
    client.on('event', (ev: MesosEvent) => {
      if (this.client === client) this.onMesosEvent(ev)
    })
    client.on('disconnected', ({reason}: {reason: string}) => {
      if (this.client !== client) return
      this.connection.subscribedSince = null
      this.connection.disconnectedSince ??= this.now()
      this.dispatch({type: 'Disconnected', reason})
    })
    client.on('fatal', ({reason}: {reason: string}) => {
      if (this.client === client) this.dispatch({type: 'FrameworkError', message: reason})
    })
    client.start()
  }

  private onMesosEvent(ev: MesosEvent): void {
    if (ev.type === 'ERROR') this.deps.log.warn('Mesos sent ERROR', {message: ev.error?.message ?? ''})
    const core = coreEventOf(ev)
    // Failed over by another scheduler (Mesos fences us): never re-subscribe, that would fail it over in turn.
    if (core?.type === 'FrameworkError') this.client?.stop().catch((err: Error) => this.deps.log.warn('stopping the Mesos client failed', {error: err.message}))
    if (core) this.dispatch(core)
  }
}
