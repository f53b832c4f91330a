import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {StatsHistory, startStatsSampler} from '../../src/scheduler/stats-history.js'

const stats = (n: number) => ({
  healthy: n % 2,
  running_servers: 3,
  launched_servers: n,
  failed_servers: n - 1,
  cluster_livelocks: 0,
  cluster_reseeds: 0,
  defrags: 0,
  defrag_failures: 0,
  nospace_episodes: 0,
  cluster_name: 'x',
  mode: 'MUTABLE',
})

describe('stats history (the /stats/history ring)', () => {
  it('keeps the counters of each sample, oldest first', () => {
    const h = new StatsHistory({capacity: 4, intervalMs: 5000})
    h.record(1000, stats(1))
    h.record(6000, stats(2))
    const v = h.view()
    assert.equal(v.interval_ms, 5000)
    assert.equal(v.capacity, 4)
    assert.deepEqual(
      v.samples.map((s) => [s.at, s.healthy, s.launched_servers, s.failed_servers]),
      [
        [1000, 1, 1, 0],
        [6000, 0, 2, 1],
      ],
    )
    assert.ok(!('cluster_name' in v.samples[0]!), 'only the numeric counters are sampled')
    assert.ok(v.fields.includes('running_servers'))
  })

  it('is bounded: the oldest samples go first', () => {
    const h = new StatsHistory({capacity: 3, intervalMs: 1})
    for (let i = 1; i <= 10; i++) h.record(i, stats(i))
    assert.deepEqual(
      h.view().samples.map((s) => s.at),
      [8, 9, 10],
    )
  })

  it('records a missing or non-numeric counter as null, never NaN', () => {
    const h = new StatsHistory({capacity: 2, intervalMs: 1})
    h.record(1, {healthy: 1, running_servers: 'three', failed_servers: Number.NaN})
    const [s] = h.view().samples
    assert.equal(s!.healthy, 1)
    assert.equal(s!.running_servers, null)
    assert.equal(s!.failed_servers, null)
    assert.equal(s!.launched_servers, null)
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(h.view())))
  })

  it('rejects a capacity or interval that is not a positive integer', () => {
    assert.throws(() => new StatsHistory({capacity: 0, intervalMs: 5000}), /capacity/)
    assert.throws(() => new StatsHistory({capacity: 10, intervalMs: 0}), /interval/)
  })

  it('the sampler records at once, then every interval, skips a null read, and stops', async () => {
    let calls = 0
    const timers: (() => void)[] = []
    let cleared = 0
    const sampler = startStatsSampler(
      () => {
        calls++
        return calls === 2 ? null : stats(calls)
      },
      {capacity: 10, intervalMs: 5000},
      {
        now: () => calls * 100,
        every: (fn) => {
          timers.push(fn)
          return () => cleared++
        },
      },
    )
    assert.equal(sampler.history.view().samples.length, 1)
    timers[0]!() // read → null: nothing recorded
    timers[0]!()
    assert.equal(sampler.history.view().samples.length, 2)
    sampler.stop()
    assert.equal(cleared, 1)
  })
})
