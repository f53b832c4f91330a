/**
 * The thin driver around the pure scheduler core: it turns I/O into core events (Mesos events,
 * etcd answers, timers, admin requests) and performs the actions `step` returns, in order.
 *
 * Contract with the core (core/actions.ts): events are stepped one at a time, synchronously; the
 * action batches run in order on one queue. Mesos calls of a batch run in sequence (consecutive DECLINEs with the
 * same filters as one call listing their offers, calls.ts `coalesceDeclines`); etcd operations
 * and probes run in the background and report back as events. Timers replace earlier ones of the same name.
 *
 * PERSIST is handed to the Persister (persister.ts) and NOT awaited by the queue: ZooKeeper away (for
 * longer than its session timeout, too) must not stop the scheduler or its repairs while the Mesos master
 * is up. The newest document is saved in the background, retried with backoff, coalesced. The batch's
 * ACKNOWLEDGEs wait for that save attempt (at most ACK_WAIT_MS) while ZooKeeper answers, and go at once
 * while persistence is behind (holding them would stall each task's update stream: the agent sends a task's
 * next update only after the previous one is acknowledged, so a replacement would never be seen RUNNING).
 * Why acting ahead of the stored state is safe, and how we are fenced: persister.ts.
 *
 * All I/O goes through ports (ports.ts; serve.ts builds the real ones, tests pass recording fakes): a Mesos
 * session per subscription (its calls are `toCall(action)` values, calls.ts), the etcd cluster, the state store
 * and the clock. Facts become core events; the core decides, also on a state conflict (another scheduler wrote
 * the stored state: the persister reports it, the core steps down with FATAL).
 */
import {EventEmitter} from 'node:events'
import type {FrameworkInfo, SchedulerEvent as MesosEvent} from '../lib/mesos/types.js'
import type {SchedulerAction} from './core/actions.js'
import type {SchedulerEvent} from './core/events.js'
import type {SchedulerState} from './core/state.js'
import {step} from './core/step.js'
import {initialState, parsePersistedDoc, serializePersistedDoc, type PersistedDoc} from './core/persist.js'
import type {SchedulerConfig} from './core/config.js'
import type {StateStore} from './state-store.js'
import type {Logger} from './logger.js'
import {Persister} from './persister.js'
import {coreEventOf} from './mesos-events.js'
import {coalesceDeclines, isMesosAction, toCall, type MesosAction} from './calls.js'
import {systemClock, type Clock, type EtcdCluster, type MesosPort, type MesosSession} from './ports.js'
import type {RestoreResolver} from './restore-runner.js'
import type {MaintenanceRunner} from './maintenance-runner.js'
import type {RolloutAction, RolloutRunner} from './rollout-runner.js'

/** Longest an acknowledgement waits for the save of its batch's document (a save whose outcome is unknown
 *  is read back: up to two ZooKeeper timeouts); after that it goes, as while persistence is behind. */
export const ACK_WAIT_MS = 2000

export interface DriverDeps {
  config: SchedulerConfig
  frameworkInfo: Omit<FrameworkInfo, 'id'>
  /** Opens Mesos subscription sessions (mesos-port.ts). */
  mesos: MesosPort
  /** Performs MEMBER_* and HEALTH_CHECK (etcd-actions.ts `etcdCluster`). */
  etcd: EtcdCluster
  store: StateStore
  log: Logger
  /** Default: the system clock. */
  clock?: Clock
  seed?: number
  /** Answers RESOLVE_RESTORE (restore-runner.ts); absent: every restore plan fails ("no backup target"). */
  restore?: RestoreResolver
  /** Performs COMPACT / DEFRAG / ALARM_DISARM (maintenance-runner.ts); absent: each answered as failed. */
  maintenance?: MaintenanceRunner
  /** Performs ROLLOUT_VERSIONS / MOVE_LEADER / ROLLOUT_BACKUP (rollout-runner.ts); absent: answered as failed. */
  rollout?: RolloutRunner
}

export class SchedulerDriver extends EventEmitter {
  private state: SchedulerState
  private readonly clock: Clock
  private session: MesosSession | null = null
  private sessionFrameworkId: string | null = null
  private queue: Promise<void> = Promise.resolve()
  private readonly timers = new Map<string, () => void>()
  private stopped = false
  private readonly persister: Persister

  constructor(private readonly deps: DriverDeps) {
    super()
    this.clock = deps.clock ?? systemClock
    this.state = initialState(deps.config, deps.seed ?? Math.floor(Math.random() * 2 ** 31))
    // Another scheduler wrote the stored state: a fact for the core, which steps down (FATAL).
    this.persister = new Persister(deps.store, deps.log, (err) =>
      this.dispatch({type: 'StateConflict', message: `${err.message} (persisting the scheduler state in ${deps.store.description})`}),
    )
  }

  /** Our ZooKeeper session expired (serve.ts): write nothing until resumePersistence(). */
  pausePersistence(reason: string): void {
    this.persister.pause(reason)
  }

  /** We lead again with a new ZooKeeper session: the newest state is written. */
  resumePersistence(): void {
    this.persister.resume()
  }

  /** Performs the core's FATAL: logs `message` and announces the stop (serve exits with `exitCode`). Only the core decides to stop. */
  private fatal(message: string, exitCode: number): void {
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
      const out = step(this.state, event, this.clock.now())
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
    this.queue = this.queue
      .then(() => this.perform(actions))
      .catch((err: Error) => {
        this.deps.log.error(
          'performing an action batch failed (a bug); its remaining actions are skipped, the core retries what matters on its timers',
          {error: err.stack},
        )
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
    for (const cancel of this.timers.values()) cancel()
    this.timers.clear()
    await this.session?.stop().catch((err: Error) => this.deps.log.warn('stopping the Mesos client failed', {error: err.message}))
    await this.queue.catch(() => undefined)
    await this.persister.stop()
  }

  private async perform(actions: SchedulerAction[]): Promise<void> {
    // The save of this batch's document (see the header): acknowledgements wait for its attempt, not the queue.
    let persisted: Promise<void> | null = null
    // One call for a run of DECLINEs (an offer storm is a few calls, not one per offer): calls.ts.
    for (const a of coalesceDeclines(actions)) {
      if (this.stopped) return
      if (a.type !== 'LOG') this.deps.log.debug(`action ${a.type}`)
      if (a.type === 'ACKNOWLEDGE') {
        if (persisted === null || this.persister.behind) await this.mesos(a)
        else {
          persisted
            .then(() => (this.stopped ? undefined : this.mesos(a)))
            .catch((err: Error) => {
              this.deps.log.warn('acknowledging a status update failed; Mesos re-sends it', {taskId: a.taskId, error: err.message})
            })
        }
      } else if (isMesosAction(a)) await this.mesos(a)
      else {
        switch (a.type) {
          case 'PERSIST':
            persisted = this.saved(this.persister.offer(JSON.parse(serializePersistedDoc(a.doc))))
            break
          case 'SUBSCRIBE':
            this.subscribe(a.frameworkId)
            break
          case 'MEMBER_ADD':
          case 'MEMBER_REMOVE':
          case 'MEMBER_PROMOTE':
          case 'MEMBER_LIST':
          case 'HEALTH_CHECK':
            this.deps.etcd.perform(a).then(
              (ev) => this.dispatch(ev),
              (err: Error) => {
                // The etcd port answers every failure with an event; should it ever throw, the core's own timeout
                // for the operation (memberOpTimeoutMs) retries it.
                this.deps.log.error(`etcd ${a.type} failed unexpectedly; the scheduler retries it after its timeout`, {
                  error: err.stack ?? err.message,
                })
              },
            )
            break
          case 'RESOLVE_RESTORE': {
            const r = this.deps.restore
            if (!r) this.dispatch({type: 'RestoreResolveFailed', op: a.op, message: 'this scheduler has no backup target'})
            else void r.resolve(a).then((ev) => this.dispatch(ev))
            break
          }
          case 'ROLLOUT_VERSIONS':
          case 'MOVE_LEADER':
          case 'ROLLOUT_BACKUP':
            this.rollout(a)
            break
          case 'COMPACT':
          case 'DEFRAG':
          case 'ALARM_DISARM':
            this.maintain(a)
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
  }

  /** Runs a rollout action in the background and feeds its answer back (absent runner: a failure answer). */
  private rollout(a: RolloutAction): void {
    const r = this.deps.rollout
    if (r) {
      void r.perform(a).then((ev) => this.dispatch(ev))
      return
    }
    const message = 'this scheduler has no rollout runner'
    if (a.type === 'ROLLOUT_VERSIONS')
      this.dispatch({type: 'RolloutVersionsObserved', op: a.op, versions: a.clientUrls.map((clientUrl) => ({clientUrl, error: message}))})
    else if (a.type === 'MOVE_LEADER') this.dispatch({type: 'LeaderMoved', op: a.op, ok: false, message})
    else this.dispatch({type: 'RolloutBackupDone', op: a.op, ok: true, message: 'no backup service: none taken'})
  }

  /** Runs a maintenance action in the background and feeds its answer back (absent runner: a failure event). */
  private maintain(a: Extract<SchedulerAction, {type: 'COMPACT' | 'DEFRAG' | 'ALARM_DISARM'}>): void {
    const r = this.deps.maintenance
    if (r) {
      void r.perform(a).then((ev) => this.dispatch(ev))
      return
    }
    const message = 'this scheduler has no maintenance runner'
    if (a.type === 'COMPACT') this.dispatch({type: 'CompactFailed', clientUrl: a.clientUrl, revision: a.revision, message})
    else if (a.type === 'DEFRAG') this.dispatch({type: 'DefragFailed', clientUrl: a.clientUrl, memberId: a.memberId, message})
    else this.dispatch({type: 'AlarmDisarmFailed', memberId: a.memberId, alarm: a.alarm, message})
  }

  /** `offered` (the persister's answer), or ACK_WAIT_MS on the clock, whichever comes first. */
  private saved(offered: Promise<void>): Promise<void> {
    let cancel = (): void => undefined
    const limit = new Promise<void>((resolve) => {
      cancel = this.clock.setTimer(ACK_WAIT_MS, resolve)
    })
    return Promise.race([offered, limit]).finally(() => cancel())
  }

  /** Sends the action's call on the current session; dropped while not subscribed, failures logged. */
  private async mesos(a: MesosAction): Promise<void> {
    const s = this.session
    if (!s?.connected) {
      this.deps.log.debug(`not connected to a Mesos master: ${a.type} dropped (the core retries what matters after re-subscribing)`)
      return
    }
    try {
      await s.call(toCall(a))
    } catch (err) {
      this.deps.log.warn(`Mesos ${a.type} call failed`, {error: (err as Error).message})
    }
  }

  private setTimer(name: string, atMs: number): void {
    this.timers.get(name)?.()
    const cancel = this.clock.setTimer(Math.max(0, atMs - this.clock.now()), () => {
      if (this.timers.get(name) !== cancel) return
      this.timers.delete(name)
      this.dispatch({type: 'TimerFired', name: name as 'reconcile'})
    })
    this.timers.set(name, cancel)
  }

  private subscribe(frameworkId: string | null): void {
    if (this.session && this.sessionFrameworkId === frameworkId) return // the session re-subscribes by itself
    const old = this.session
    if (old) old.stop().catch((err: Error) => this.deps.log.warn('stopping the previous Mesos client failed', {error: err.message}))
    const frameworkInfo: FrameworkInfo = {...this.deps.frameworkInfo}
    if (frameworkId) frameworkInfo.id = {value: frameworkId}
    this.sessionFrameworkId = frameworkId
    // Only the current session's reports count (a replaced one may still report while it stops).
    let session: MesosSession | null = null
    const current = (): boolean => session !== null && this.session === session
    session = this.deps.mesos.subscribe(frameworkInfo, {
      subscribed: (info) => {
        if (!current()) return
        this.sessionFrameworkId = info.frameworkId
        this.dispatch({
          type: 'Subscribed',
          frameworkId: info.frameworkId,
          ...(info.master ? {master: info.master} : {}),
          ...(info.masterInfo ? {masterInfo: info.masterInfo} : {}),
        })
      },
      event: (ev) => {
        if (current()) this.onMesosEvent(ev)
      },
      disconnected: (reason) => {
        if (current()) this.dispatch({type: 'Disconnected', reason})
      },
      fatal: (reason) => {
        if (current()) this.dispatch({type: 'FrameworkError', message: reason})
      },
    })
    this.session = session
  }

  private onMesosEvent(ev: MesosEvent): void {
    if (ev.type === 'ERROR') this.deps.log.warn('Mesos sent ERROR', {message: ev.error?.message ?? ''})
    const core = coreEventOf(ev)
    // Failed over by another scheduler (Mesos fences us): never re-subscribe, that would fail it over in turn.
    if (core?.type === 'FrameworkError')
      this.session?.stop().catch((err: Error) => this.deps.log.warn('stopping the Mesos client failed', {error: err.message}))
    if (core) this.dispatch(core)
  }
}
