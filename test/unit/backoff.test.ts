import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {Backoff, sleep, uniformDelay} from '../../src/lib/mesos/backoff.js'

describe('Backoff', () => {
  it('doubles from minMs and is capped at maxMs (random = 1: the ceiling)', () => {
    const b = new Backoff({minMs: 1000, maxMs: 15_000, random: () => 1})
    const got = Array.from({length: 7}, () => b.next())
    assert.deepEqual(got, [1000, 2000, 4000, 8000, 15_000, 15_000, 15_000])
    assert.equal(b.attempt, 7)
  })

  it('jitters down to half the ceiling (random = 0), never to 0', () => {
    const b = new Backoff({minMs: 1000, maxMs: 15_000, random: () => 0})
    assert.deepEqual(
      Array.from({length: 6}, () => b.next()),
      [500, 1000, 2000, 4000, 7500, 7500],
    )
  })

  it('uses the injected random source in between', () => {
    const seq = [0.5, 0.25, 0.75]
    let i = 0
    const b = new Backoff({minMs: 100, maxMs: 10_000, random: () => seq[i++]!})
    // ceilings 100, 200, 400 -> c/2 + r*c/2
    assert.deepEqual([b.next(), b.next(), b.next()], [75, 125, 350])
  })

  it('stays within [ceiling/2, maxMs] for any random value, including bad ones', () => {
    const values = [0, 0.1, 0.999999, 1, -3, 7, Number.NaN]
    for (const v of values) {
      const b = new Backoff({minMs: 10, maxMs: 1000, random: () => v})
      for (let n = 0; n < 40; n++) {
        const d = b.next()
        const c = b.ceiling(n)
        assert.ok(d >= c / 2 && d <= c && d <= 1000, `random ${v}, attempt ${n}: ${d} not in [${c / 2}, ${c}]`)
      }
    }
  })

  it('reset() starts again from minMs', () => {
    const b = new Backoff({minMs: 100, maxMs: 1000, random: () => 1})
    b.next()
    b.next()
    b.next()
    b.reset()
    assert.equal(b.attempt, 0)
    assert.equal(b.next(), 100)
  })

  it('does not overflow for huge attempt numbers', () => {
    const b = new Backoff({minMs: 1, maxMs: 5000, random: () => 1})
    assert.equal(b.ceiling(100_000), 5000)
  })

  it('rejects invalid options', () => {
    assert.throws(() => new Backoff({minMs: -1, maxMs: 10}), /minMs/)
    assert.throws(() => new Backoff({minMs: 10, maxMs: 5}), /maxMs/)
    assert.throws(() => new Backoff({minMs: 1, maxMs: 5, factor: 0.5}), /factor/)
  })
})

describe('uniformDelay', () => {
  it('maps random [0,1] onto [0, max]', () => {
    assert.equal(
      uniformDelay(2000, () => 0),
      0,
    )
    assert.equal(
      uniformDelay(2000, () => 0.5),
      1000,
    )
    assert.equal(
      uniformDelay(2000, () => 1),
      2000,
    )
    assert.equal(
      uniformDelay(2000, () => 9),
      2000,
    )
    assert.throws(() => uniformDelay(-1), RangeError)
  })
})

describe('sleep', () => {
  it('resolves true when the time is up', async () => {
    assert.equal(await sleep(5), true)
  })
  it('resolves false at once when aborted (before or during)', async () => {
    const pre = new AbortController()
    pre.abort()
    assert.equal(await sleep(60_000, pre.signal), false)
    const ac = new AbortController()
    const p = sleep(60_000, ac.signal)
    ac.abort()
    assert.equal(await p, false)
  })
})
