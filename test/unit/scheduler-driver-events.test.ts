/**
 * The driver with recording fake ports (ports.ts): the calls it makes for the core's actions, in order.
 * - Every stepped event is announced (the admin API's view of probes and re-seed steps follows these
 *   announcements), also events that produce no action — a steady health answer produces none, and /members
 *   used to keep showing the last probe that had changed something (found by the pause-leader scenario).
 * - A Mesos action is one call, `toCall(action)`, on the current session; dropped while not subscribed. Except
 *   DECLINE: consecutive DECLINEs of one batch with the same filters go as one call listing their offers (at most
 *   DECLINE_CHUNK ids a call), as Mesos' Call.Decline allows: an offer storm is a few calls, not one per offer.
 * - ACKNOWLEDGE waits for the save of its batch's document (at most ACK_WAIT_MS on the clock).
 * - SET_TIMER replaces an earlier timer of the same name; a fired timer is the core's TimerFired.
 * - A state conflict reported by the persister is the core's event StateConflict: the core steps down (FATAL).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {Call} from '../../src/lib/mesos/scheduler-calls.js'
import type {FrameworkInfo} from '../../src/lib/mesos/types.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {EXIT_FATAL} from '../../src/scheduler/core/actions.js'
import type {SchedulerEvent} from '../../src/scheduler/core/events.js'
import {step} from '../../src/scheduler/core/step.js'
import {DECLINE_CHUNK, isMesosAction, toCall} from '../../src/scheduler/calls.js'
import {ACK_WAIT_MS, SchedulerDriver} from '../../src/scheduler/driver.js'
import type {Clock, EtcdAction, EtcdCluster, MesosPort, MesosSession, SessionListener} from '../../src/scheduler/ports.js'
import {StateConflictError, type StateStore} from '../../src/scheduler/state-store.js'
import {simOffer} from '../helpers/sim/sim.js'

const quiet = {debug() {}, info() {}, warn() {}, error() {}}

class FakeSession implements MesosSession {
  connected = false
  stopped = false
  readonly calls: Call[] = []
  constructor(
    readonly frameworkInfo: FrameworkInfo,
    readonly listener: SessionListener,
  ) {}
  /** Records every call it is asked to send, also those it refuses for not being subscribed. */
  async call(c: Call): Promise<void> {
    this.calls.push(c)
    if (!this.connected) throw new Error('not subscribed')
  }
  async stop(): Promise<void> {
    this.stopped = true
  }
}

class FakeMesos implements MesosPort {
  readonly sessions: FakeSession[] = []
  subscribe(frameworkInfo: FrameworkInfo, listener: SessionListener): MesosSession {
    const s = new FakeSession(frameworkInfo, listener)
    this.sessions.push(s)
    return s
  }
  get last(): FakeSession {
    const s = this.sessions.at(-1)
    assert.ok(s, 'a session was opened')
    return s
  }
}

interface FakeTimer {
  ms: number
  fn: () => void
  cancelled: boolean
}
class FakeClock implements Clock {
  t = 1_000_000
  readonly timers: FakeTimer[] = []
  now(): number {
    return this.t
  }
  setTimer(ms: number, fn: () => void): () => void {
    const timer = {ms, fn, cancelled: false}
    this.timers.push(timer)
    return () => {
      timer.cancelled = true
    }
  }
  get live(): FakeTimer[] {
    return this.timers.filter((x) => !x.cancelled)
  }
}

class FakeEtcd implements EtcdCluster {
  readonly performed: EtcdAction[] = []
  perform(a: EtcdAction): Promise<SchedulerEvent> {
    this.performed.push(a)
    return new Promise(() => undefined) // no answer: these tests are about Mesos calls, timers and saves
  }
}

/** A store that records its saves; while `hold` is set they stay pending until the test settles them. */
class FakeStore implements StateStore {
  readonly description = 'memory'
  hold = false
  readonly saves: {doc: unknown; resolve: () => void; reject: (err: Error) => void}[] = []
  async load(): Promise<unknown | null> {
    return null
  }
  save(doc: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.saves.push({doc, resolve, reject})
      if (!this.hold) resolve()
    })
  }
}

function rig() {
  const mesos = new FakeMesos()
  const clock = new FakeClock()
  const etcd = new FakeEtcd()
  const store = new FakeStore()
  const driver = new SchedulerDriver({
    config: resolveConfig({clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './executor'}, bootstrapWaitMs: 0}),
    frameworkInfo: {user: 'root', name: 'etcd-test'},
    mesos,
    etcd,
    store,
    clock,
    log: quiet,
    seed: 1,
  })
  const stepped: SchedulerEvent[] = []
  driver.on('stepped', (ev: SchedulerEvent) => stepped.push(ev))
  return {mesos, clock, etcd, store, driver, stepped}
}

/** Until `pred` holds (promise callbacks run between checks); bounded by a count of turns, not by time. */
async function settle(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setImmediate(r))
  assert.ok(pred(), what)
}

/** Started and subscribed as fw-1: the session connected, the first saves answered. */
async function subscribed() {
  const r = rig()
  await r.driver.start()
  await r.driver.idle()
  const s = r.mesos.last
  s.connected = true
  s.listener.subscribed({frameworkId: 'fw-1', master: '127.0.0.1:5050'})
  await r.driver.idle()
  return {...r, session: s}
}

const offers = [1, 2, 3].map((i) => simOffer(`o${i}`, {agentId: `S${i}`, hostname: `h${i}`, ports: [[31000, 31010]]}))

describe('SchedulerDriver announcements', () => {
  it('announces an event that produces no action (a health answer before state is loaded changes nothing)', async () => {
    const {driver, stepped} = rig()
    const probes = [{clientUrl: 'http://127.0.0.2:2379', reachable: true, readOk: true, tookMs: 3}]
    driver.dispatch({type: 'HealthObserved', probes, seq: 7})
    assert.equal(stepped.length, 1)
    assert.equal(stepped[0]!.type, 'HealthObserved')
    assert.deepEqual((stepped[0] as {probes: unknown}).probes, probes)
    await driver.stop()
  })
})

describe('SchedulerDriver through its ports', () => {
  it('SUBSCRIBE opens one session as the framework; Subscribed carries the master it is on', async () => {
    const {driver, mesos, stepped} = await subscribed()
    assert.equal(mesos.sessions.length, 1)
    assert.equal(mesos.last.frameworkInfo.id, undefined, 'no framework id yet: a new framework')
    const sub = stepped.find((e) => e.type === 'Subscribed')
    assert.deepEqual(sub, {type: 'Subscribed', frameworkId: 'fw-1', master: '127.0.0.1:5050'})
    await driver.stop()
    assert.ok(mesos.last.stopped, 'stop() stops the session')
  })

  it('each Mesos action of the core is exactly one call, toCall(action), in order: 3 offers → 3 ACCEPTs as decided', async () => {
    const {driver, session, clock} = await subscribed()
    const ev: SchedulerEvent = {type: 'Offers', offers}
    // The core is pure: what it decides for this event, computed aside from the same state.
    const decided = step(driver.current, ev, clock.now()).actions.filter(isMesosAction)
    const accepts = decided.filter((a) => a.type === 'ACCEPT')
    assert.equal(accepts.length, 3, 'the core bootstraps on the three offers')
    const before = session.calls.length
    driver.dispatch(ev)
    await driver.idle()
    const made = session.calls.slice(before)
    assert.deepEqual(made, decided.map(toCall))
    const sent = made.filter((c) => c.type === 'ACCEPT')
    for (const [i, a] of accepts.entries()) {
      assert.deepEqual(sent[i]!.accept, {offer_ids: a.offerIds.map((value) => ({value})), operations: a.operations, filters: a.filters})
    }
    assert.ok(
      made.every((c) => !('framework_id' in c)),
      'the session adds the framework id',
    )
    await driver.stop()
  })

  it('consecutive DECLINEs of a batch are one call with their offer ids, in order, chunked by DECLINE_CHUNK', async () => {
    const {driver, session, clock} = await subscribed()
    driver.dispatch({type: 'Offers', offers})
    await driver.idle()
    // A storm: more offers than a chunk and a half, none usable any more (the cluster is being launched).
    const n = DECLINE_CHUNK * 2 + 7
    const storm = Array.from({length: n}, (_, i) => simOffer(`storm-${i}`, {agentId: `A${i}`, hostname: `x${i}`, ports: [[31000, 31010]]}))
    const ev: SchedulerEvent = {type: 'Offers', offers: storm}
    const decided = step(driver.current, ev, clock.now()).actions.filter(isMesosAction)
    const declines = decided.filter((a) => a.type === 'DECLINE')
    assert.equal(declines.length, n, 'the core declines each offer of the storm')
    const filters = declines[0]!.filters
    assert.ok(declines.every((a) => a.offerIds.length === 1 && JSON.stringify(a.filters) === JSON.stringify(filters)))
    const before = session.calls.length
    driver.dispatch(ev)
    await driver.idle()
    const made = session.calls.slice(before)
    const sent = made.filter((c) => c.type === 'DECLINE')
    assert.deepEqual(
      sent.map((c) => c.decline!.offer_ids!.length),
      [DECLINE_CHUNK, DECLINE_CHUNK, 7],
      'three calls for the storm',
    )
    assert.deepEqual(
      sent.flatMap((c) => c.decline!.offer_ids!.map((o) => o.value)),
      declines.flatMap((a) => a.offerIds),
      'every declined offer, once, in the order decided',
    )
    for (const c of sent) assert.deepEqual(c.decline!.filters, filters, 'with the filters decided')
    assert.deepEqual(
      made.filter((c) => c.type !== 'DECLINE'),
      decided.filter((a) => a.type !== 'DECLINE').map(toCall),
      'the other calls as decided',
    )
    await driver.stop()
  })

  it('a Mesos action while not subscribed is dropped, not sent', async () => {
    const {driver, session, stepped} = await subscribed()
    session.connected = false
    session.listener.disconnected('stream closed')
    await driver.idle()
    assert.ok(stepped.some((e) => e.type === 'Disconnected'))
    const before = session.calls.length
    driver.dispatch({type: 'Offers', offers})
    await driver.idle()
    assert.deepEqual(session.calls.slice(before), [], 'nothing sent while disconnected (the DECLINE is dropped)')
    await driver.stop()
  })

  it('ACKNOWLEDGE waits for the save of its batch; a timer of ACK_WAIT_MS on the clock bounds the wait', async () => {
    const {driver, session, store, clock} = await subscribed()
    driver.dispatch({type: 'Offers', offers})
    await driver.idle()
    const [t1, t2] = session.calls.filter((c) => c.type === 'ACCEPT').map((c) => c.accept!.operations![0]!.launch!.task_infos![0]!)
    const acked = (): Call[] => session.calls.filter((c) => c.type === 'ACKNOWLEDGE')
    const ackWaits = (): FakeTimer[] => clock.live.filter((x) => x.ms === ACK_WAIT_MS)
    store.hold = true
    const running = (t: typeof t1, uuid: string) => ({
      type: 'Update' as const,
      status: {task_id: t!.task_id, agent_id: t!.agent_id, state: 'TASK_RUNNING' as const, uuid},
    })

    // The save ends: then the acknowledgement goes.
    let saves = store.saves.length
    driver.dispatch(running(t1, 'dXVpZDE='))
    await driver.idle()
    await settle(() => store.saves.length > saves, 'the first update is saved')
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    assert.deepEqual(acked(), [], 'not acknowledged before the save ends')
    store.saves.at(-1)!.resolve()
    await settle(() => acked().length === 1, 'acknowledged once saved')
    assert.deepEqual(acked()[0], toCall({type: 'ACKNOWLEDGE', agentId: t1!.agent_id.value, taskId: t1!.task_id.value, uuid: 'dXVpZDE='}))
    assert.deepEqual(ackWaits(), [], 'the bounding timer is cancelled once the save ended')

    // A save that does not end: the acknowledgement goes when the clock's ACK_WAIT_MS timer fires.
    saves = store.saves.length
    driver.dispatch(running(t2, 'dXVpZDI='))
    await driver.idle()
    await settle(() => store.saves.length > saves, 'the second update is saved')
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    assert.equal(acked().length, 1, 'not acknowledged while the save is pending')
    assert.equal(ackWaits().length, 1, 'one bounded wait on the clock')
    fire(ackWaits()[0]!)
    await settle(() => acked().length === 2, 'acknowledged after ACK_WAIT_MS without the save')
    assert.equal(acked()[1]!.acknowledge!.uuid, 'dXVpZDI=')
    store.saves.at(-1)!.resolve()
    await driver.stop()
  })

  it('SET_TIMER replaces an earlier timer of the same name; the live one fires TimerFired', async () => {
    const {driver, clock, stepped} = await subscribed()
    const named = (): FakeTimer[] => clock.timers.filter((x) => x.ms !== ACK_WAIT_MS)
    // Each disconnection and re-subscription re-arms the core's timers (reconcile, health, wake).
    for (let i = 0; i < 3; i++) {
      driver.dispatch({type: 'Disconnected', reason: 'x'})
      driver.dispatch({type: 'Subscribed', frameworkId: 'fw-1'})
    }
    await driver.idle()
    const live = named().filter((x) => !x.cancelled)
    assert.ok(named().length > live.length, `earlier timers were replaced (${named().length} set, ${live.length} live)`)
    assert.ok(live.length <= 3, `at most one live timer per name (${live.length})`)
    assert.equal(stepped.filter((e) => e.type === 'TimerFired').length, 0, 'nothing fired yet')
    for (const x of live) fire(x)
    const fired = stepped.filter((e) => e.type === 'TimerFired').map((e) => (e as {name: string}).name)
    assert.equal(fired.length, live.length)
    assert.equal(new Set(fired).size, fired.length, `one TimerFired per name: ${fired.join(',')}`)
    await driver.stop()
    assert.deepEqual(
      named().filter((x) => !x.cancelled),
      [],
      'stop() cancels the timers',
    )
  })

  it('a state conflict reported by the persister is the core event StateConflict: the core steps down with FATAL', async () => {
    const {driver, store, stepped} = rig()
    store.hold = true
    const fatal: {message: string; exitCode: number}[] = []
    driver.on('fatal', (f: {message: string; exitCode: number}) => fatal.push(f))
    await driver.start()
    await driver.idle()
    await settle(() => store.saves.length > 0, 'the first document is saved')
    store.saves[0]!.reject(new StateConflictError('node version 7 was written by someone else'))
    await settle(() => fatal.length > 0, 'a fatal stop')
    const ev = stepped.find((e) => e.type === 'StateConflict')
    assert.deepEqual(ev, {
      type: 'StateConflict',
      message: 'node version 7 was written by someone else (persisting the scheduler state in memory)',
    })
    assert.equal(fatal[0]!.exitCode, EXIT_FATAL)
    assert.match(fatal[0]!.message, /node version 7 was written by someone else/)
    await driver.stop()
  })
})

function fire(t: FakeTimer): void {
  assert.equal(t.cancelled, false, 'a live timer')
  t.cancelled = true
  t.fn()
}
