/**
 * What the core observes and records (not persisted): health checks answered out of order (the newest
 * answer applies, an older one arriving later does not), the probes of the last applied answer, the
 * connection (Subscribed.master, since when subscribed / disconnected) and the re-seed steps executors
 * report per operation (bounded). views.ts reads them from the state (no driver-side copies).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {encodeFrameworkMessage} from '../../src/lib/member-config.js'
import {initialState} from '../../src/scheduler/core/persist.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {step} from '../../src/scheduler/core/step.js'
import type {SchedulerEvent} from '../../src/scheduler/core/events.js'
import {clientUrl, runningTasks, type SchedulerState} from '../../src/scheduler/core/state.js'
import {candidatesView, failoverView, membersView, reseedView} from '../../src/scheduler/views.js'
import {CORE_CFG as CFG, FAST_RECONCILE_CFG, healthyCluster, runningCluster} from '../helpers/core-world.js'

const ELECTION = {id: 'me', leader: {id: 'me', admin_url: null, host: null, since: null}, standbys: []}

describe('overlapping health checks answered out of order (found by the pause-leader scenario)', () => {
  it('applies the newest answer and ignores an older one arriving later', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    w.respond = false
    const mark = w.actions.length
    w.advance(FAST_RECONCILE_CFG.healthIntervalMs, {offers: false})
    w.advance(FAST_RECONCILE_CFG.healthIntervalMs, {offers: false})
    const checks = w.actionsOf('HEALTH_CHECK', mark)
    assert.ok(checks.length >= 2, 'two checks in flight')
    const older = checks.at(-2)!
    const newer = checks.at(-1)!
    assert.ok(older.seq < newer.seq, 'each check carries a growing sequence number')
    // The newer check is answered first: all members healthy.
    w.feed({type: 'HealthObserved', probes: newer.clientUrls.map((u) => w.probe(u)), seq: newer.seq})
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.state.health.checkReq, null, 'the newest check is answered: none in flight')
    // The older check (sent while a member was paused) answers late: every read failed.
    const stale = older.clientUrls.map((u) => ({clientUrl: u, reachable: false, readOk: false, error: 'status: timed out', tookMs: 5000}))
    const logsBefore = w.actionsOf('LOG', mark).length
    w.feed({type: 'HealthObserved', probes: stale, seq: older.seq})
    assert.equal(w.state.stats.healthy, 1, 'a stale answer does not overwrite the newer verdict')
    assert.ok(w.state.health.verdict?.healthy)
    assert.ok(
      !w
        .actionsOf('LOG', mark)
        .slice(logsBefore)
        .some((l) => /cluster unhealthy/.test(l.msg)),
      'no spurious "cluster unhealthy"',
    )
  })

  it('an older answer still applies when no newer one has arrived (checks may be slow)', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    w.respond = false
    const mark = w.actions.length
    w.advance(FAST_RECONCILE_CFG.healthIntervalMs, {offers: false})
    w.advance(FAST_RECONCILE_CFG.healthIntervalMs, {offers: false})
    const checks = w.actionsOf('HEALTH_CHECK', mark)
    assert.ok(checks.length >= 2, 'two checks in flight')
    const older = checks.at(-2)!
    const newer = checks.at(-1)!
    const down = older.clientUrls.map((u) => ({clientUrl: u, reachable: false, readOk: false, error: 'status: timed out', tookMs: 5000}))
    w.feed({type: 'HealthObserved', probes: down, seq: older.seq})
    assert.equal(w.state.stats.healthy, 0, 'the older answer is the newest applied so far')
    assert.equal(w.state.health.checkReq?.seq, newer.seq, 'the newer check is still in flight')
  })
})

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
    const w = runningCluster(CFG, 4)
    w.respond = false
    const checks = [...w.feed({type: 'TimerFired', name: 'health'}), ...w.feed({type: 'TimerFired', name: 'health'})].filter(
      (a) => a.type === 'HEALTH_CHECK',
    )
    assert.equal(checks.length, 2)
    const [older, newer] = checks as Extract<(typeof checks)[number], {type: 'HEALTH_CHECK'}>[]
    const probesOf = (urls: string[], raftIndex: number) =>
      urls.map((u) => {
        const p = w.probe(u)
        return p.status ? {...p, status: {...p.status, raftIndex}} : p
      })
    w.feed({type: 'HealthObserved', probes: probesOf(newer!.clientUrls, 777), seq: newer!.seq})
    w.feed({type: 'HealthObserved', probes: probesOf(older!.clientUrls, 111), seq: older!.seq})
    assert.deepEqual(
      w.state.health.probes.map((p) => p.status?.raftIndex),
      [777, 777, 777],
    )
    assert.deepEqual(
      membersView(w.state).map((m) => m.raft_index),
      [777, 777, 777],
    )
    assert.deepEqual(
      candidatesView(w.state).candidates.map((c) => c.raft_index),
      [777, 777, 777],
    )
    const url = clientUrl(w.state, runningTasks(w.state)[0]!)
    assert.ok(w.state.health.probes.some((p) => p.clientUrl === url))
  })
})

describe('re-seed steps in the state', () => {
  it('records each reported step of a known operation with the time, at most 100 per op; reseedView shows them', () => {
    const w = runningCluster(CFG, 4)
    w.respond = false
    w.feed({type: 'ReseedRequested', op: 'op-1', force: true})
    const seed = runningTasks(w.state)[0]!
    const msg = (step: 'accepted' | 'stopping', op = 'op-1', message?: string): SchedulerEvent => ({
      type: 'FrameworkMessage',
      agentId: seed.agentId,
      executorId: seed.taskId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op, step, ...(message ? {message} : {})}),
    })
    w.now += 10
    w.feed(msg('accepted', 'op-1', 'ok'))
    w.now += 10
    w.feed(msg('stopping'))
    w.feed(msg('stopping', 'op-unknown'))
    assert.deepEqual(w.state.reseedSteps['op-1'], [
      {step: 'accepted', at: w.now - 10, message: 'ok'},
      {step: 'stopping', at: w.now},
    ])
    assert.equal(w.state.reseedSteps['op-unknown'], undefined)
    assert.deepEqual(reseedView(w.state, 'op-1')?.steps, w.state.reseedSteps['op-1'])
    for (let i = 0; i < 150; i++) w.feed(msg('stopping'))
    assert.equal(w.state.reseedSteps['op-1']!.length, 100)
    assert.equal(reseedView(w.state, 'op-1')?.steps.length, 100)
  })
})
