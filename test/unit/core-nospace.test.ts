/** Scenario tests of the NOSPACE recovery (core/nospace.ts): compact → defragment every member one at a time
 *  (followers first, the leader last) → disarm → verify; the episode recorded; no loop when the data fills the
 *  quota (bounded backoff); waits without a leader agreed by a quorum; never during a re-seed or restore. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {World} from '../helpers/sim/sim.js'
import {step} from '../../src/scheduler/core/step.js'
import {nospaceStatsView} from '../../src/scheduler/maintenance-views.js'
import {stateMetricsText} from '../helpers/exposition.js'
import {CORE_CFG, healthyCluster, RESEED_RUNNING, RESTORE_RUNNING} from '../helpers/core-world.js'

const MIB = 1024 * 1024
const CFG = {...CORE_CFG, nospaceBackoffMinMs: 60_000, nospaceBackoffMaxMs: 480_000}

/** The backend is full: every member's db 32 MiB, 30 MiB of it history a compaction frees; NOSPACE raised by one. */
function fill(w: World): string {
  for (const m of w.members) {
    m.dbSize = 32 * MIB
    m.dbSizeInUse = 32 * MIB
  }
  w.compactTo = 2 * MIB
  const raiser = w.members[1]!.id
  w.alarms = [{memberId: raiser, alarm: 'NOSPACE'}]
  return raiser
}
const leaderId = (w: World): string => w.state.health.verdict!.leader!
const maintenance = (w: World, from: number) =>
  w.actions.slice(from).filter((a) => a.type === 'COMPACT' || a.type === 'DEFRAG' || a.type === 'ALARM_DISARM')

describe('NOSPACE recovery', () => {
  it('compacts, defragments every member one at a time (followers first, the leader last), disarms, and records the episode', async () => {
    const w = healthyCluster(CFG, 3)
    const raiser = fill(w)
    w.holdMaintenance = true
    const mark = w.actions.length
    const seen: string[] = []
    for (let i = 0; (i < 10 && w.state.maintenance.nospace !== null) || i === 0; i++) {
      w.advance(5_000, {offers: false})
      const out = maintenance(w, mark)
      assert.ok(w.heldMaintenance.length <= 1, 'one maintenance call at a time')
      for (const ev of w.answerHeld()) w.feed(ev)
      seen.splice(
        0,
        seen.length,
        ...out.map((a) => (a.type === 'COMPACT' ? `COMPACT ${a.revision} ${a.physical}` : `${a.type} ${a.memberId}`)),
      )
    }
    w.advance(10_000, {offers: false})
    const leader = leaderId(w)
    const followers = w.members.map((m) => m.id).filter((id) => id !== leader)
    assert.equal(seen.length, 5, seen.join(', '))
    assert.match(seen[0]!, /^COMPACT \d+ true$/)
    assert.deepEqual(seen.slice(1, 3).sort(), followers.map((id) => `DEFRAG ${id}`).sort(), 'the followers first')
    assert.equal(seen[3], `DEFRAG ${leader}`, 'the leader last')
    assert.equal(seen[4], `ALARM_DISARM ${raiser}`)
    assert.deepEqual(w.alarms, [])
    assert.equal(w.state.stats.nospace_episodes, 1)
    assert.equal(w.state.stats.defrags, 3)
    const view = nospaceStatsView(w.state)
    assert.equal(view.active, false)
    assert.equal(view.episodes, 1)
    assert.equal(view.last?.outcome, 'recovered')
    assert.match(view.last?.message ?? '', /writes accepted again/)
    assert.ok(view.last!.ended_at >= view.last!.started_at)
    const metrics = await stateMetricsText(w.state)
    assert.match(metrics, /etcd_mesos_nospace_episodes_total\{cluster="etcd"\} 1/)
    assert.match(metrics, /etcd_mesos_defrags_total\{cluster="etcd"\} 3/)
    const before = w.actions.length
    w.advance(300_000, {offers: false})
    assert.equal(maintenance(w, before).length, 0, 'nothing more once recovered')
  })

  it('does not loop when the data fills the quota: says so, and retries after a doubling, bounded backoff', () => {
    const w = healthyCluster(CFG, 3)
    fill(w)
    w.compactTo = null
    w.quotaFull = true
    const mark = w.actions.length
    w.advance(20_000, {offers: false})
    assert.equal(w.state.stats.nospace_episodes, 1)
    const last = nospaceStatsView(w.state).last
    assert.equal(last?.outcome, 'still-full')
    assert.match(last?.message ?? '', /data itself fills the backend quota/)
    assert.ok(w.actionsOf('LOG', mark).some((l) => l.level === 'error' && /fills the backend quota/.test(l.msg)))
    w.advance(30_000, {offers: false})
    assert.equal(w.state.stats.nospace_episodes, 1, 'no new episode within the backoff')
    w.advance(1_200_000, {offers: false}) // 20 min: backoffs 60 s, 120 s, 240 s, 480 s, 480 s …
    const n = w.state.stats.nospace_episodes
    assert.ok(n >= 3 && n <= 6, `a bounded number of attempts (${n}) in 20 minutes`)
    assert.ok(maintenance(w, mark).filter((a) => a.type === 'COMPACT').length === n, 'one compaction per episode')
  })

  it('waits without a leader agreed by a quorum, and recovers once there is one', () => {
    const w = healthyCluster(CFG, 3)
    fill(w)
    const followers = w.members.filter((m) => m.id !== leaderId(w))
    for (const f of followers) f.alive = false
    const mark = w.actions.length
    w.advance(30_000, {offers: false})
    assert.equal(maintenance(w, mark).length, 0, 'no maintenance without quorum')
    assert.equal(w.state.stats.nospace_episodes, 0)
    assert.ok(w.actionsOf('LOG', mark).some((l) => /recovery waits: no leader agreed by a quorum/.test(l.msg)))
    for (const f of followers) f.alive = true
    w.advance(30_000, {offers: false})
    assert.equal(w.state.stats.nospace_episodes, 1)
    assert.equal(nospaceStatsView(w.state).last?.outcome, 'recovered')
  })

  it('never starts during a re-seed or a restore', () => {
    const w = healthyCluster(CFG, 3)
    fill(w)
    const s = w.state
    const probes = w.members.map((m) => w.probe(m.clientUrl))
    for (const [field, value] of [
      ['reseed', RESEED_RUNNING],
      ['restore', RESTORE_RUNNING],
    ] as const) {
      const busy = {...structuredClone(s), [field]: value}
      const out = step(busy, {type: 'HealthObserved', probes, seq: s.health.seq + 1}, w.now + 1)
      assert.equal(out.actions.filter((a) => a.type === 'COMPACT').length, 0, `no COMPACT with ${field}`)
      assert.equal(out.state.maintenance.nospace, null)
    }
  })
})
