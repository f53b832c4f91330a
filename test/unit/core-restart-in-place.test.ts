/**
 * Scenario tests of the scheduler core's restart in place (inplace.ts): members whose etcd died on agents
 * that stay up are relaunched on their kept data when quorum is lost; with quorum intact the dead member
 * is removed and replaced as before; never on a removed agent.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {World} from '../helpers/sim/sim.js'
import {decodeStatusDataDir} from '../../src/scheduler/core/updates.js'
import {IN_PLACE_MIN_INTERVAL_MS} from '../../src/scheduler/core/inplace.js'
import {runningTasks, type TaskRecord} from '../../src/scheduler/core/state.js'
import {CORE_CFG as CFG, healthyCluster, launches} from '../helpers/core-world.js'

/** The etcd processes of `victims` die at once (data kept); then their executors report TASK_FAILED. */
function killEtcds(w: World, victims: TaskRecord[]): void {
  for (const v of victims) w.memberOfTask(v.taskId)!.alive = false
  for (const v of victims) w.failTask(v.taskId)
}

describe('restart in place', () => {
  it('records the data dir the executor reports, ignoring malformed data', () => {
    const w = healthyCluster(CFG, 4)
    for (const t of runningTasks(w.state)) assert.equal(t.dataDir, `/sandbox/${t.taskId}/etcd_data`)
    const t = runningTasks(w.state)[0]!
    for (const bad of [
      '!!!',
      Buffer.from('{"dataDir": 3}').toString('base64'),
      Buffer.from('{"dataDir":"rel/dir"}').toString('base64'),
      Buffer.from('[1]').toString('base64'),
    ]) {
      assert.equal(decodeStatusDataDir(bad), null)
      w.update(t.taskId, 'TASK_RUNNING', {data: bad})
      assert.equal(w.state.tasks[t.taskId]!.dataDir, `/sandbox/${t.taskId}/etcd_data`)
    }
  })

  it('2 of 3 fail with quorum lost: both relaunched in place (same member, agent, ports; state existing; recorded data dir); no removal, no re-seed', () => {
    const w = healthyCluster(CFG, 4)
    const before = runningTasks(w.state)
    const victims = before.slice(0, 2)
    const start = w.actions.length
    killEtcds(w, victims)
    w.advance(5_000) // health check: no quorum; offers from every free agent
    const acts = w.actions.slice(start)
    const ls = launches(acts)
    assert.equal(ls.length, 2, `two in-place launches, got ${JSON.stringify(ls.map((l) => l.cfg.member.name))}`)
    for (const v of victims) {
      const l = ls.find((x) => x.cfg.member.name === v.memberName)
      assert.ok(l, `member ${v.memberName} relaunched`)
      assert.notEqual(l.taskId, v.taskId, 'a new task id')
      assert.equal(l.agentId, v.agentId)
      assert.equal(l.cfg.member.host, v.hostname)
      assert.equal(l.cfg.member.peerPort, v.peerPort)
      assert.equal(l.cfg.member.clientPort, v.clientPort)
      assert.equal(l.cfg.initialClusterState, 'existing')
      assert.equal(l.cfg.dataDir, `/sandbox/${v.taskId}/etcd_data`, 'the old sandbox data dir')
      assert.equal(l.cfg.requireData, true)
      assert.deepEqual(l.cfg.initialCluster.map((p) => p.name).sort(), before.map((t) => t.memberName).sort())
      assert.equal(w.state.tasks[v.taskId], undefined, 'the dead record is replaced by the new one')
    }
    // PERSIST (with the new records) precedes each ACCEPT
    const firstAccept = acts.findIndex((a) => a.type === 'ACCEPT')
    const persist = acts
      .slice(0, firstAccept)
      .filter((a) => a.type === 'PERSIST')
      .pop()
    assert.ok(persist?.type === 'PERSIST' && ls.some((l) => persist.doc.tasks.some((t) => t.taskId === l.taskId)))
    w.advance(70_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.state.stats.cluster_reseeds, 0)
    assert.equal(w.state.stats.cluster_livelocks, 0)
    assert.equal(w.state.inPlace, null, 'episode over once quorum is back')
    assert.equal(w.members.length, 3)
    assert.deepEqual(w.members.map((m) => m.name).sort(), before.map((t) => t.memberName).sort())
    assert.equal(w.events.slice(0).filter((e) => e.type === 'MemberRemoved').length, 0, 'no member removed')
    assert.equal(w.actionsOf('MESSAGE', start).length, 0, 'no re-seed message')
  })

  it('1 of 3 fails with quorum intact: MEMBER_REMOVE + replacement, no in-place restart', () => {
    const w = healthyCluster(CFG, 4)
    const victim = runningTasks(w.state)[0]!
    const start = w.actions.length
    killEtcds(w, [victim])
    w.advance(40_000)
    const ls = launches(w.actions.slice(start))
    assert.ok(w.actionsOf('MEMBER_REMOVE', start).length >= 1)
    assert.equal(ls.length, 1)
    assert.notEqual(ls[0]!.cfg.member.name, victim.memberName, 'a new member replaces it')
    assert.equal(ls[0]!.cfg.dataDir, undefined)
    assert.equal(w.state.inPlace, null)
    assert.equal(runningTasks(w.state).length, 3)
  })

  it('never restarts in place on a removed agent', () => {
    const w = healthyCluster(CFG, 5)
    const victims = runningTasks(w.state).slice(0, 2)
    const start = w.actions.length
    killEtcds(w, victims)
    // the agents are removed before any offer comes (their sandboxes are gone)
    w.feed({type: 'Failure', agentId: victims[0]!.agentId})
    w.feed({type: 'Failure', agentId: victims[1]!.agentId})
    for (const v of victims) w.agents.get(v.agentId)!.up = false
    w.advance(20_000)
    const ls = launches(w.actions.slice(start))
    assert.ok(!ls.some((l) => victims.some((v) => v.memberName === l.cfg.member.name)), 'no in-place launch')
    w.advance(70_000)
    assert.ok(w.state.stats.cluster_reseeds >= 1, 'falls back to the re-seed')
  })

  it('falls back (no in-place episode) when no offer from the agent comes within reseedTimeoutMs/2, then re-seeds', () => {
    const w = healthyCluster(CFG, 4)
    const victims = runningTasks(w.state).slice(0, 2)
    for (const v of victims) w.agents.get(v.agentId)!.up = false // agents up for Mesos, but offering nothing
    const start = w.actions.length
    killEtcds(w, victims)
    w.advance(10_000)
    assert.ok(w.state.inPlace && !w.state.inPlace.gaveUp, 'waiting for offers from the agents')
    w.advance(25_000)
    assert.equal(w.state.inPlace?.gaveUp, true)
    w.advance(40_000)
    assert.ok(w.state.stats.cluster_reseeds >= 1)
    assert.equal(launches(w.actions.slice(start)).filter((l) => victims.some((v) => v.memberName === l.cfg.member.name)).length, 0)
  })

  it('a member restarted in place that fails again at once is not restarted in place again', () => {
    const w = healthyCluster(CFG, 4)
    const victims = runningTasks(w.state).slice(0, 2)
    killEtcds(w, victims)
    w.offerAll()
    const restarted = runningTasks(w.state).filter((t) => t.inPlaceLaunchedAt !== undefined)
    assert.equal(restarted.length, 2)
    const start = w.actions.length
    w.advance(1_000, {offers: false})
    killEtcds(w, restarted)
    assert.ok(IN_PLACE_MIN_INTERVAL_MS > 2_000)
    w.advance(5_000)
    const again = launches(w.actions.slice(start)).filter((l) => victims.some((v) => v.memberName === l.cfg.member.name))
    assert.equal(again.length, 0)
    assert.ok(restarted.every((t) => w.state.tasks[t.taskId]?.inPlaceGaveUp === true))
  })
})
