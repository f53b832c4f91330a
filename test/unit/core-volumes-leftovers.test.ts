/**
 * Leftover reservations and volumes after a crash (release.ts, with a role), when the crashed scheduler's member
 * name is given again: the member counter is stored with the records, so a scheduler killed between its
 * RESERVE/CREATE/LAUNCH and storing them leaves a reservation and volume labelled `<cluster>-1`, and the restarted
 * one launches its own `<cluster>-1` elsewhere. The leftover is on an agent where no record of that member is: it is
 * released after leftoverGraceMs although a live member has that name. A reservation of a member on the agent
 * where its records are stays untouched.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {Offer, Resource} from '../../src/lib/mesos/types.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import type {SchedulerConfigInput} from '../../src/scheduler/core/config.js'
import {runningTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG} from '../helpers/core-world.js'
import {World} from '../helpers/sim/sim.js'

const ROLE_CFG: SchedulerConfigInput = {...CORE_CFG, role: 'etcd-pv', principal: 'pv', volumeWaitMs: 20_000, leftoverGraceMs: 30_000}

type Accept = Extract<SchedulerAction, {type: 'ACCEPT'}>
const accepts = (acts: SchedulerAction[]) => acts.filter((a): a is Accept => a.type === 'ACCEPT')
const opTypes = (a: Accept): string[] => a.operations.map((o) => o.type)

function cluster(cfg: SchedulerConfigInput = ROLE_CFG): World {
  const w = new World(cfg, 4)
  w.start()
  w.offerAll()
  w.advance(10_000, {offers: false})
  assert.equal(runningTasks(w.state).length, 3)
  return w
}

/** The resources `member` was launched with (reserved, with its volume), offered by `agentId` with persistence id `pid`. */
function reservationOffer(w: World, member: string, id: string, agentId: string, pid: string): Offer {
  for (const a of accepts(w.actions).reverse()) {
    const ti = a.operations.flatMap((o) => o.launch?.task_infos ?? []).find((t) => t.name === member)
    if (!ti) continue
    const resources = structuredClone([...(ti.executor?.resources ?? []), ...(ti.resources ?? [])]) as Resource[]
    for (const r of resources) if (r.disk?.persistence) r.disk.persistence.id = pid
    return {
      id: {value: id},
      framework_id: {value: 'fw-1'},
      agent_id: {value: agentId},
      hostname: w.agents.get(agentId)!.hostname,
      resources,
    }
  }
  throw new Error(`no launch of ${member}`)
}

describe('leftovers of a crash whose member name is given again', () => {
  it('a leftover named like a live member, on an agent where that member has no record, is released after the grace period', () => {
    const w = cluster()
    const live = runningTasks(w.state)[0]!
    const free = [...w.agents.keys()].find((a) => !runningTasks(w.state).some((t) => t.agentId === a))!
    const pid = `etcd-mesos.etcd.${live.memberName}.0badf00d`
    w.restart()
    w.advance(5_000, {offers: false})
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [reservationOffer(w, live.memberName, 'L1', free, pid)]})
    assert.equal(accepts(w.actions.slice(mid)).length, 0, 'not before the grace period')
    w.advance(31_000, {offers: false})
    w.feed({type: 'Offers', offers: [reservationOffer(w, live.memberName, 'L2', free, pid)]})
    const acc = accepts(w.actions.slice(mid))
    assert.deepEqual(acc.map(opTypes), [['DESTROY', 'UNRESERVE']])
    assert.deepEqual(acc[0]!.offerIds, ['L2'])
    assert.deepEqual(
      acc[0]!.operations[0]!.destroy!.volumes.map((v) => v.disk?.persistence?.id),
      [pid],
    )
    assert.equal(w.state.stats.leftovers_cleaned, 1)
    assert.ok(w.state.volumes[live.volumeId!], "the live member's volume record is kept")
    assert.equal(w.state.volumes[live.volumeId!]!.retiredAt, undefined)
  })

  it("a running member's former incarnation on the same agent (a second volume, more reserved resources) is released after the grace period; its own volume never", () => {
    const w = cluster()
    const live = runningTasks(w.state)[0]!
    const pid = `etcd-mesos.etcd.${live.memberName}.0badf00d`
    w.restart()
    w.advance(5_000, {offers: false})
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [reservationOffer(w, live.memberName, 'L1', live.agentId, pid)]})
    assert.equal(accepts(w.actions.slice(mid)).length, 0, 'not before the grace period')
    w.advance(31_000, {offers: false})
    w.feed({type: 'Offers', offers: [reservationOffer(w, live.memberName, 'L2', live.agentId, pid)]})
    const acc = accepts(w.actions.slice(mid))
    assert.deepEqual(acc.map(opTypes), [['DESTROY', 'UNRESERVE']])
    assert.deepEqual(
      acc[0]!.operations[0]!.destroy!.volumes.map((v) => v.disk?.persistence?.id),
      [pid],
    )
    assert.ok(
      acc.every((a) => a.operations.every((o) => !JSON.stringify(o).includes(live.volumeId!))),
      "the member's own volume is never named",
    )
    assert.equal(w.state.stats.leftovers_cleaned, 1)
  })

  it('nothing of a member on the agent where its task died (waiting for its relaunch) is released, a second volume included', () => {
    // a grace period shorter than the wait for the relaunch (volumeWaitMs 20 s)
    const w = cluster({...ROLE_CFG, leftoverGraceMs: 10_000})
    const live = runningTasks(w.state)[0]!
    const pid = `etcd-mesos.etcd.${live.memberName}.0badf00d`
    w.failTask(live.taskId)
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [reservationOffer(w, live.memberName, 'L1', live.agentId, pid)]})
    w.advance(11_000, {offers: false})
    w.feed({type: 'Offers', offers: [reservationOffer(w, live.memberName, 'L2', live.agentId, pid)]})
    assert.ok(w.state.tasks[live.taskId] && !w.state.tasks[live.taskId]!.relaunchGaveUp, 'still waiting for its relaunch')
    assert.ok(!accepts(w.actions.slice(mid)).some((a) => opTypes(a).includes('DESTROY') || opTypes(a).includes('UNRESERVE')))
    assert.equal(w.state.stats.leftovers_cleaned, 0)
  })
})
