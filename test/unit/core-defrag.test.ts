/** Scenario tests of routine defragmentation (core/defrag.ts, maintenance.ts): one member at a time, followers first
 *  and the leader last, only while the cluster is healthy (a test shows it WAITING), never during a re-seed, restore
 *  or rollout, at most once per defragIntervalMs per member. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {World} from '../helpers/sim/sim.js'
import {step} from '../../src/scheduler/core/step.js'
import {defragBlocker} from '../../src/scheduler/core/defrag.js'
import {CORE_CFG, healthyCluster, RESEED_RUNNING, RESTORE_RUNNING} from '../helpers/core-world.js'

const MIB = 1024 * 1024
const CFG = {...CORE_CFG, defragIntervalMs: 600_000}

/** Every member's db: 100 MiB of which 20 MiB in use (80 % free: above the default threshold 0.5). */
function fragment(w: World, size = 100 * MIB, inUse = 20 * MIB): void {
  for (const m of w.members) {
    m.dbSize = size
    m.dbSizeInUse = inUse
  }
}
const leaderId = (w: World): string => w.state.health.verdict!.leader!
const logs = (w: World, from: number, re: RegExp) => w.actionsOf('LOG', from).filter((l) => re.test(l.msg))

describe('routine defragmentation', () => {
  it('defragments one member at a time, the followers first and the leader last, each once per interval', () => {
    const w = healthyCluster(CFG, 3)
    w.holdMaintenance = true
    fragment(w)
    const mark = w.actions.length
    w.advance(20_000, {offers: false})
    const first = w.actionsOf('DEFRAG', mark)
    assert.equal(first.length, 1, 'one DEFRAG while it is not answered, however many checks pass')
    assert.notEqual(first[0]!.memberId, leaderId(w), 'a follower first')
    const order = [first[0]!.memberId]
    for (let i = 0; i < 2; i++) {
      for (const ev of w.answerHeld()) w.feed(ev)
      const at = w.actions.length
      w.advance(20_000, {offers: false})
      const next = w.actionsOf('DEFRAG', at)
      assert.equal(next.length, 1)
      order.push(next[0]!.memberId)
    }
    for (const ev of w.answerHeld()) w.feed(ev)
    assert.equal(order[2], leaderId(w), 'the leader last')
    assert.equal(new Set(order).size, 3, 'every member once')
    assert.equal(w.state.stats.defrags, 3)
    // fragmented again: not before defragIntervalMs
    fragment(w)
    const again = w.actions.length
    w.advance(500_000, {offers: false})
    assert.equal(w.actionsOf('DEFRAG', again).length, 0, 'not again within defragIntervalMs')
    w.advance(150_000, {offers: false})
    assert.equal(w.actionsOf('DEFRAG', again).length, 1, 'again once the interval passed')
  })

  it('leaves members below the threshold or the minimum size alone; threshold 0 turns it off', () => {
    const w = healthyCluster(CFG, 3)
    fragment(w, 100 * MIB, 60 * MIB) // 40 % free
    const mark = w.actions.length
    w.advance(30_000, {offers: false})
    fragment(w, 32 * MIB, 1 * MIB) // small db
    w.advance(30_000, {offers: false})
    assert.equal(w.actionsOf('DEFRAG', mark).length, 0)
    const off = healthyCluster({...CFG, defragThreshold: 0}, 3)
    fragment(off)
    const m2 = off.actions.length
    off.advance(30_000, {offers: false})
    assert.equal(off.actionsOf('DEFRAG', m2).length, 0)
  })

  it('WAITS while the cluster is unhealthy or a member does not answer, says why once, and goes on when it is healthy again', () => {
    const w = healthyCluster(CFG, 3)
    fragment(w)
    const followers = w.members.filter((m) => m.id !== leaderId(w))
    followers[0]!.alive = false
    followers[1]!.alive = false // quorum lost: unhealthy
    const mark = w.actions.length
    w.advance(60_000, {offers: false})
    assert.equal(w.state.stats.healthy, 0)
    assert.equal(w.actionsOf('DEFRAG', mark).length, 0, 'no defragmentation while unhealthy')
    const waits = logs(w, mark, /^defragmentation waiting/)
    assert.equal(waits.length, 1, 'it says it is waiting, once per reason (not once per check)')
    assert.match(waits[0]!.msg, /the cluster is (unhealthy|QUORUM_LOST)/)
    followers[1]!.alive = true // healthy again, but one member still silent
    w.advance(30_000, {offers: false})
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.actionsOf('DEFRAG', mark).length, 0, 'not while a member does not answer')
    assert.ok(logs(w, mark, /did not answer the latest probe/).length >= 1)
    followers[0]!.alive = true
    w.advance(30_000, {offers: false})
    assert.ok(w.actionsOf('DEFRAG', mark).length >= 1, 'defragments once every member answers and the cluster is healthy')
  })

  it('never during a re-seed, a restore or a rollout', () => {
    const w = healthyCluster(CFG, 3)
    fragment(w)
    w.advance(1, {offers: false})
    const s = w.state
    assert.equal(defragBlocker(s), null)
    const probes = w.members.map((m) => w.probe(m.clientUrl))
    for (const [field, value, re] of [
      ['reseed', RESEED_RUNNING, /re-seed/],
      ['restore', RESTORE_RUNNING, /restore/],
      ['rollout', {op: 'u', state: 'running'}, /rollout/],
      ['rollout', {op: 'u', state: 'paused'}, /rollout/],
    ] as const) {
      const busy = {...structuredClone(s), [field]: value}
      assert.match(defragBlocker(busy) ?? '', re)
      const out = step(busy, {type: 'HealthObserved', probes, seq: s.health.seq + 1}, w.now + 1)
      assert.equal(out.actions.filter((a) => a.type === 'DEFRAG').length, 0, `no DEFRAG with ${field}`)
    }
  })

  it('a failed or unanswered defragmentation is counted and not retried before the interval', () => {
    const w = healthyCluster({...CFG, defragTimeoutMs: 60_000}, 3)
    w.holdMaintenance = true
    fragment(w)
    const mark = w.actions.length
    w.advance(10_000, {offers: false})
    const first = w.actionsOf('DEFRAG', mark)[0]!
    w.heldMaintenance.length = 0 // never answered
    w.advance(70_000, {offers: false})
    assert.equal(w.state.stats.defrag_failures, 1)
    const all = w.actionsOf('DEFRAG', mark)
    assert.ok(all.length >= 2, 'the next member is done')
    assert.ok(
      all.slice(1).every((a) => a.memberId !== first.memberId),
      'the one that failed waits for the interval',
    )
    w.feed({type: 'Defragmented', clientUrl: first.clientUrl, memberId: first.memberId}) // late answer: ignored
    assert.equal(w.state.stats.defrags, 0)
  })
})
