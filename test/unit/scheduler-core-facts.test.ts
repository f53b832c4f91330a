/**
 * Facts the core records for the admin views (not persisted): the connection (Subscribed.master, since
 * when subscribed / disconnected), the probes of the last applied health answer (out-of-order answers not
 * applied), and the re-seed steps executors report per operation (bounded). views.ts reads them from the
 * state (no driver-side copies).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {World} from '../helpers/sim/sim.js'
import {encodeFrameworkMessage} from '../../src/lib/member-config.js'
import {initialState} from '../../src/scheduler/core/persist.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {step} from '../../src/scheduler/core/step.js'
import type {SchedulerEvent} from '../../src/scheduler/core/events.js'
import {clientUrl, runningTasks, type SchedulerState} from '../../src/scheduler/core/state.js'
import {candidatesView, failoverView, membersView, reseedView} from '../../src/scheduler/views.js'

const CFG = {
  clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './etcd-mesos-executor'},
  healthIntervalMs: 5_000, bootstrapWaitMs: 2_000, memberGraceMs: 30_000, reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000, refuseSeconds: 15, memberOpRetryMs: 3_000,
}
const ELECTION = {id: 'me', leader: {id: 'me', admin_url: null, host: null, since: null}, standbys: []}

function runningCluster(): World {
  const w = new World(CFG, 4)
  w.start()
  w.offerAll()
  w.advance(6_000, {offers: false})
  assert.equal(runningTasks(w.state).length, 3)
  return w
}

describe('connection facts', () => {
  it('Subscribed sets master and subscribedSince and clears disconnectedSince; Disconnected keeps the first disconnection time', () => {
    let s: SchedulerState = initialState(resolveConfig(CFG), 1)
    const feed = (ev: SchedulerEvent, now: number): void => {
      s = step(s, ev, now).state
    }
    feed({type: 'PersistedStateLoaded', doc: null}, 1_000)
    assert.deepEqual(s.connection, {master: null, subscribedSince: null, disconnectedSince: null})
    feed({type: 'Subscribed', frameworkId: 'fw-1', master: '10.0.0.1:5050'}, 2_000)
    assert.deepEqual(s.connection, {master: '10.0.0.1:5050', subscribedSince: 2_000, disconnectedSince: null})
    let fo = failoverView(s, 600, ELECTION, 2_500)
    assert.equal(fo.subscribed, true)
    assert.equal(fo.master, '10.0.0.1:5050')
    assert.equal(fo.subscribed_since, 2_000)
    assert.equal(fo.failover_remaining_seconds, null)
    feed({type: 'Disconnected', reason: 'stream closed'}, 3_000)
    feed({type: 'Disconnected', reason: 'again'}, 4_000)
    assert.deepEqual(s.connection, {master: '10.0.0.1:5050', subscribedSince: null, disconnectedSince: 3_000})
    fo = failoverView(s, 600, ELECTION, 63_000)
    assert.equal(fo.subscribed, false)
    assert.equal(fo.mode, 'DISCONNECTED')
    assert.equal(fo.disconnected_since, 3_000)
    assert.equal(fo.failover_remaining_seconds, 540)
    feed({type: 'Subscribed', frameworkId: 'fw-1', master: '10.0.0.2:5050'}, 5_000)
    assert.deepEqual(s.connection, {master: '10.0.0.2:5050', subscribedSince: 5_000, disconnectedSince: null})
    feed({type: 'Subscribed', frameworkId: 'fw-1'}, 6_000)
    assert.deepEqual(s.connection, {master: null, subscribedSince: 6_000, disconnectedSince: null})
  })
})

describe('probes in the state', () => {
  it('keeps the probes of the newest applied answer (an older answer arriving later is not applied); the views read them', () => {
    const w = runningCluster()
    w.respond = false
    const checks = [...w.feed({type: 'TimerFired', name: 'health'}), ...w.feed({type: 'TimerFired', name: 'health'})]
      .filter((a) => a.type === 'HEALTH_CHECK')
    assert.equal(checks.length, 2)
    const [older, newer] = checks as Extract<(typeof checks)[number], {type: 'HEALTH_CHECK'}>[]
    const probesOf = (urls: string[], raftIndex: number) => urls.map((u) => {
      const p = w.probe(u)
      return p.status ? {...p, status: {...p.status, raftIndex}} : p
    })
    w.feed({type: 'HealthObserved', probes: probesOf(newer!.clientUrls, 777), seq: newer!.seq})
    w.feed({type: 'HealthObserved', probes: probesOf(older!.clientUrls, 111), seq: older!.seq})
    assert.deepEqual(w.state.health.probes.map((p) => p.status?.raftIndex), [777, 777, 777])
    assert.deepEqual(membersView(w.state).map((m) => m.raft_index), [777, 777, 777])
    assert.deepEqual(candidatesView(w.state).candidates.map((c) => c.raft_index), [777, 777, 777])
    const url = clientUrl(w.state, runningTasks(w.state)[0]!)
    assert.ok(w.state.health.probes.some((p) => p.clientUrl === url))
  })
})

describe('re-seed steps in the state', () => {
  it('records each reported step of a known operation with the time, at most 100 per op; reseedView shows them', () => {
    const w = runningCluster()
    w.respond = false
    w.feed({type: 'ReseedRequested', op: 'op-1', force: true})
    const seed = runningTasks(w.state)[0]!
    const msg = (step: 'accepted' | 'stopping', op = 'op-1', message?: string): SchedulerEvent => ({
      type: 'FrameworkMessage', agentId: seed.agentId, executorId: seed.taskId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op, step, ...(message ? {message} : {})}),
    })
    w.now += 10
    w.feed(msg('accepted', 'op-1', 'ok'))
    w.now += 10
    w.feed(msg('stopping'))
    w.feed(msg('stopping', 'op-unknown'))
    assert.deepEqual(w.state.reseedSteps['op-1'], [{step: 'accepted', at: w.now - 10, message: 'ok'}, {step: 'stopping', at: w.now}])
    assert.equal(w.state.reseedSteps['op-unknown'], undefined)
    assert.deepEqual(reseedView(w.state, 'op-1')?.steps, w.state.reseedSteps['op-1'])
    for (let i = 0; i < 150; i++) w.feed(msg('stopping'))
    assert.equal(w.state.reseedSteps['op-1']!.length, 100)
    assert.equal(reseedView(w.state, 'op-1')?.steps.length, 100)
  })
})
