import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {checkRestoredWrites} from '../resilience/restore-check.js'
import type {Ack} from '../resilience/writer.js'

const ack = (n: number, revision: number, at: number): Ack => ({key: `k${n}`, value: `v${n}`, revision, at, via: 'u'})

describe('resilience checker: restore after a total loss', () => {
  // old writes k0..k4 at revisions 10..14 acknowledged at 1000..1400; the loss at 1500; new writes after it
  const old = [0, 1, 2, 3, 4].map((i) => ack(i, 10 + i, 1000 + i * 100))
  const fresh = [ack(10, 13, 5000), ack(11, 14, 5100)]

  it('writes up to the restored revision present, newer ones reported as the recovery point', () => {
    const kv = new Map([...old.slice(0, 3), ...fresh].map((a) => [a.key, a.value]))
    const r = checkRestoredWrites([...old, ...fresh], kv, 1500, 12)
    assert.deepEqual(r.lost, [])
    assert.deepEqual(
      r.notInBackup.map((a) => a.key),
      ['k3', 'k4'],
    )
    assert.equal(r.recoveryPointMs, 100) // from k3's ack (1300) to the last ack before the loss (1400)
    assert.deepEqual(r.beyond, [])
    assert.deepEqual(r.lostAfter, [])
    assert.deepEqual(r.regressions, [])
  })

  it('a backed-up write missing or changed is lost; a new write missing is lost after; revisions going back are regressions', () => {
    const kv = new Map([old[0]!, old[2]!].map((a) => [a.key, a.value]))
    kv.set('k2', 'other')
    kv.set('k10', 'v10')
    const r = checkRestoredWrites([...old, ...fresh, ack(12, 14, 5200)], kv, 1500, 12)
    assert.deepEqual(
      r.lost.map((a) => a.key),
      ['k1', 'k2'],
    )
    assert.deepEqual(
      r.lostAfter.map((a) => a.key),
      ['k11', 'k12'],
    )
    assert.deepEqual(
      r.regressions.map((a) => a.key),
      ['k12'],
    )
  })

  it('a write above the restored revision that is present goes beyond the revision claimed', () => {
    const kv = new Map([...old, ...fresh].map((a) => [a.key, a.value]))
    const r = checkRestoredWrites([...old, ...fresh], kv, 1500, 12)
    assert.deepEqual(
      r.beyond.map((a) => a.key),
      ['k3', 'k4'],
    )
    assert.deepEqual(r.notInBackup, [])
  })

  it('nothing missing: recovery point 0; nothing acknowledged before the loss: null', () => {
    const kv = new Map(old.map((a) => [a.key, a.value]))
    assert.equal(checkRestoredWrites(old, kv, 1500, 14).recoveryPointMs, 0)
    assert.equal(checkRestoredWrites(fresh, new Map(fresh.map((a) => [a.key, a.value])), 1500, 12).recoveryPointMs, null)
  })
})
