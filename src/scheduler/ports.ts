/**
 * The driver's ports (STYLE.md 2): the small interfaces through which it does all its I/O, so that its tests
 * replace them with recording fakes. serve.ts builds the real ones:
 *   - Mesos: `mesosPort` (mesos-port.ts, around SchedulerClient) opens a subscription session; a session
 *     re-subscribes by itself until stopped and reports to its listener; `call` sends one call value
 *     (calls.ts `toCall`), like mesos-go's one-method `Caller`;
 *   - etcd: `etcdCluster` (etcd-actions.ts) performs one MEMBER_* or HEALTH_CHECK action and answers with the core
 *     event reporting its outcome (never rejects on an etcd failure);
 *   - the state store (state-store.ts `StateStore`);
 *   - the clock: `systemClock` below.
 */
import type {Call} from '../lib/mesos/scheduler-calls.js'
import type {FrameworkInfo, MasterInfo, SchedulerEvent as MesosEvent} from '../lib/mesos/types.js'
import type {SchedulerAction} from './core/actions.js'
import type {SchedulerEvent} from './core/events.js'

/** What a Mesos session reports. Only the session's own stream reports: a stopped session says nothing more. */
export interface SessionListener {
  /** SUBSCRIBED (also after each re-subscription); `master`: "host:port" the stream is on. */
  subscribed(info: {frameworkId: string; master?: string; masterInfo?: MasterInfo}): void
  /** Every event of the stream (SUBSCRIBED too: `subscribed` above carries its facts first). */
  event(ev: MesosEvent): void
  /** The stream ended; the session re-subscribes by itself. */
  disconnected(reason: string): void
  /** The framework is gone for good (removed by the master): no more re-subscriptions. */
  fatal(reason: string): void
}

export interface MesosSession {
  /** True while subscribed: calls can be sent. */
  readonly connected: boolean
  /** Sends one call (its framework_id added). Rejects when it failed or the session is not subscribed. */
  call(c: Call): Promise<void>
  stop(): Promise<void>
}

export interface MesosPort {
  /** Starts subscribing as `frameworkInfo` (with its id, if any: failover/re-subscription). The listener is
   *  called only after this returns (never from inside it). */
  subscribe(frameworkInfo: FrameworkInfo, listener: SessionListener): MesosSession
}

export type EtcdAction = Extract<
  SchedulerAction,
  {type: 'MEMBER_ADD' | 'MEMBER_REMOVE' | 'MEMBER_PROMOTE' | 'MEMBER_LIST' | 'HEALTH_CHECK'}
>

export interface EtcdCluster {
  /** Performs one etcd action; answers with the core event that reports its outcome (failures included). */
  perform(a: EtcdAction): Promise<SchedulerEvent>
}

export interface Clock {
  now(): number
  /** Calls `fn` once after `ms`; the returned function cancels it. Never keeps the process alive. */
  setTimer(ms: number, fn: () => void): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)))
    t.unref()
    return () => clearTimeout(t)
  },
}
