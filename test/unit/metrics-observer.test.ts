/**
 * What feeds the /metrics histograms (src/scheduler/metrics-observer.ts): the etcd port's health checks (one
 * observation per member probe, its own tookMs) and member operations (by operation, failures included), the
 * maintenance runner's compact/defrag/alarm_disarm, and the re-seed / restore operation records turning from
 * running to succeeded/failed (createdAt → updatedAt of the record; a record first seen already ended, e.g.
 * loaded after a failover, is not observed).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {SchedulerMetrics} from '../../src/scheduler/metrics.js'
import {observeOperations, timedEtcd, timedMaintenance} from '../../src/scheduler/metrics-observer.js'
import type {SchedulerState} from '../../src/scheduler/core/state.js'
import type {MemberProbe} from '../../src/lib/etcd/probe.js'
import {parseExposition} from '../helpers/exposition.js'

const count = async (m: SchedulerMetrics, key: string): Promise<number | undefined> => parseExposition(await m.render()).samples.get(key)

describe('metrics observer', () => {
  it('health checks: one probe-duration observation per member probe, with its tookMs', async () => {
    const m = new SchedulerMetrics({cluster: 'c', defaultMetrics: false})
    const probes = [40, 3000].map((tookMs, i): MemberProbe => ({clientUrl: `http://m${i}`, reachable: true, readOk: true, tookMs}))
    const etcd = timedEtcd({perform: async () => ({type: 'HealthObserved', probes})}, m)
    const ev = await etcd.perform({type: 'HEALTH_CHECK', clientUrls: ['http://m0', 'http://m1']} as never)
    assert.equal(ev.type, 'HealthObserved', 'the event passes through')
    assert.equal(await count(m, 'etcd_mesos_probe_duration_seconds_count{cluster="c"}'), 2)
    assert.equal(await count(m, 'etcd_mesos_probe_duration_seconds_sum{cluster="c"}'), 3.04)
    assert.equal(await count(m, 'etcd_mesos_probe_duration_seconds_bucket{le="0.05",cluster="c"}'), 1)
  })

  it('member operations by operation, failed ones too; maintenance actions as compact/defrag/alarm_disarm', async () => {
    const m = new SchedulerMetrics({cluster: 'c', defaultMetrics: false})
    const etcd = timedEtcd(
      {
        perform: async (a) =>
          a.type === 'MEMBER_REMOVE'
            ? {type: 'MemberRemoveFailed', memberId: 'x', code: 'TIMEOUT', retryable: true, message: 'slow'}
            : {type: 'MemberListObserved', members: []},
      },
      m,
    )
    await etcd.perform({type: 'MEMBER_REMOVE', memberId: 'x', via: ['http://a']} as never)
    await etcd.perform({type: 'MEMBER_LIST', via: ['http://a']} as never)
    await etcd.perform({type: 'MEMBER_LIST', via: ['http://a']} as never)
    const maint = timedMaintenance({perform: async () => ({type: 'Defragmented', clientUrl: 'http://a', memberId: 'x'})}, m)
    await maint.perform({type: 'DEFRAG', clientUrl: 'http://a', memberId: 'x'} as never)
    const k = (op: string) => `etcd_mesos_member_operation_duration_seconds_count{cluster="c",operation="${op}"}`
    assert.equal(await count(m, k('remove')), 1)
    assert.equal(await count(m, k('list')), 2)
    assert.equal(await count(m, k('defrag')), 1)
    assert.equal(await count(m, k('add')), 0)
    assert.equal(await count(m, 'etcd_mesos_probe_duration_seconds_count{cluster="c"}'), 0)
  })

  it('re-seed and restore records: observed once when they end, by outcome; records first seen ended are not', async () => {
    const m = new SchedulerMetrics({cluster: 'c', defaultMetrics: false})
    const driver = new EventEmitter() as EventEmitter & {current: SchedulerState}
    const ops: SchedulerState['operations'] = [
      {op: 'old', kind: 'reseed', status: 'succeeded', message: '', createdAt: 0, updatedAt: 500_000},
    ]
    driver.current = {operations: ops} as SchedulerState
    const stop = observeOperations(driver, m)
    driver.emit('stepped', {type: 'x'})
    ops.push({op: 'r1', kind: 'reseed', status: 'running', message: '', createdAt: 1_000_000, updatedAt: 1_000_000})
    ops.push({op: 't1', kind: 'restore', status: 'running', message: '', createdAt: 1_000_000, updatedAt: 1_000_000})
    ops.push({op: 'refused', kind: 'reseed', status: 'refused', message: '', createdAt: 1_000_000, updatedAt: 1_000_000})
    driver.emit('stepped', {type: 'x'})
    Object.assign(ops[1]!, {status: 'succeeded', updatedAt: 1_045_000})
    driver.emit('stepped', {type: 'x'})
    driver.emit('stepped', {type: 'x'})
    Object.assign(ops[2]!, {status: 'failed', updatedAt: 1_700_000})
    driver.emit('stepped', {type: 'x'})
    const k = (what: string, outcome: string, s = 'count') => `etcd_mesos_${what}_duration_seconds_${s}{cluster="c",outcome="${outcome}"}`
    assert.equal(await count(m, k('reseed', 'succeeded')), 1, 'r1 once; old (first seen ended) not at all')
    assert.equal(await count(m, k('reseed', 'succeeded', 'sum')), 45)
    assert.equal(await count(m, k('reseed', 'failed')), 0, 'a refused request is no re-seed')
    assert.equal(await count(m, k('restore', 'failed')), 1)
    assert.equal(await count(m, k('restore', 'failed', 'sum')), 700)
    stop()
    assert.equal(driver.listenerCount('stepped'), 0)
  })
})
