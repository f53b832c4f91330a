/**
 * Scenario tests of the scheduler core's offers: SUPPRESS when full, REVIVE when a member is needed, declines
 * (an agent that already hosts a member, a usable offer while a removal is in flight) and the REVIVE once
 * ready after declining a usable offer. The planner's rules one by one: core-offer-planner.test.ts.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {simOffer, World} from '../helpers/sim/sim.js'
import {liveTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG, FAST_RECONCILE_CFG, healthyCluster, offerAgent} from '../helpers/core-world.js'

const CFG = {...CORE_CFG, executorCommand: {value: './etcd-mesos-executor', arguments: ['executor']}}

describe('offers and suppression', () => {
  it('SUPPRESSes when full and REVIVEs when a member is needed', () => {
    const w = new World(CFG, 4)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    assert.equal(w.suppressed, true)
    const mark = w.actions.length
    const victim = liveTasks(w.state)[0]!
    w.failTask(victim.taskId)
    assert.equal(w.actionsOf('REVIVE', mark).length, 1)
    assert.equal(w.suppressed, false)
  })

  it('declines offers from an agent that already hosts a member', () => {
    const w = new World(CFG, 3)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    const t = liveTasks(w.state)[0]!
    w.failTask(liveTasks(w.state)[1]!.taskId)
    w.advance(1_000, {offers: false})
    const mark = w.actions.length
    const acts = offerAgent(w, t.agentId, 'SAME')
    assert.ok(acts.some((a) => a.type === 'DECLINE' && a.offerIds[0] === 'SAME'))
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 0)
  })
})

describe('replacement speed: REVIVE once ready after declining a usable offer', () => {
  it("declines the freed agent's offer while the MEMBER_REMOVE is in flight, then REVIVEs when it can launch", () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.respond = false
    const mark = w.actions.length
    w.failTask(victim.taskId)
    const rm = w.actionsOf('MEMBER_REMOVE', mark)
    assert.equal(rm.length, 1, 'removal in flight')
    assert.equal(w.actionsOf('REVIVE', mark).length, 1, 'REVIVE when a member is missing')
    const offerMark = w.actions.length
    const acts = w.feed({type: 'Offers', offers: [simOffer('freed', w.agents.get('S1')!)]})
    const dec = acts.find((a) => a.type === 'DECLINE')
    assert.ok(dec?.type === 'DECLINE' && dec.offerIds[0] === 'freed', 'not usable while the removal is in flight')
    w.feed({type: 'MemberListObserved', members: w.members.map((m) => w.toEtcd(m))}) // the list asked before the removal
    const revMark = w.actions.length
    w.members = w.members.filter((m) => m.id !== rm[0]!.memberId)
    w.respond = true // etcd answers the health check and member list that growth needs
    w.feed({type: 'MemberRemoved', memberId: rm[0]!.memberId})
    assert.ok(w.actionsOf('HEALTH_CHECK', offerMark).length > 0)
    const revives = w.actionsOf('REVIVE', revMark)
    assert.equal(revives.length, 1, 'REVIVE once ready to launch (a usable offer was declined with the long filter)')
    // the re-offered agent is used at once
    w.feed({type: 'Offers', offers: [simOffer('again', w.agents.get('S1')!)]})
    assert.equal(w.actionsOf('MEMBER_ADD', revMark).length, 1)
  })

  it('does not REVIVE for offers it declines because the cluster is full', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const mark = w.actions.length
    w.feed({type: 'Offers', offers: [simOffer('spare', w.agents.get('S4')!)]})
    w.advance(30_000, {offers: false})
    assert.equal(w.actionsOf('REVIVE', mark).length, 0)
  })
})
