/** Scenario tests of the scheduler core: bootstrap, growth one at a time, add refusals, offers. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parseMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import {simOffer, World} from '../helpers/sim/sim.js'
import {liveTasks, modeOf} from '../../src/scheduler/core/state.js'

export const CFG = {
  clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './etcd-mesos-executor', arguments: ['executor']},
  healthIntervalMs: 5_000, bootstrapWaitMs: 2_000, memberGraceMs: 30_000, reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000, refuseSeconds: 15, memberOpRetryMs: 3_000,
}

function launched(actions: SchedulerAction[]): {cfg: MemberConfig; agentId: string; offerId: string}[] {
  return actions.flatMap((a) => a.type === 'ACCEPT'
    ? a.operations.flatMap((op) => (op.launch?.task_infos ?? []).map((ti) => ({cfg: parseMemberConfig(ti.data), agentId: ti.agent_id.value, offerId: a.offerIds[0]!})))
    : [])
}
const idx = (acts: SchedulerAction[], pred: (a: SchedulerAction) => boolean): number => acts.findIndex(pred)

/** Offers one agent at a time. */
function offerAgent(w: World, agentId: string, id = `X-${agentId}-${w.now}`): SchedulerAction[] {
  return w.feed({type: 'Offers', offers: [simOffer(id, w.agents.get(agentId)!)]})
}

describe('bootstrap', () => {
  it('launches the whole cluster at once from 3 distinct agents, state new, static initial cluster', () => {
    const w = new World(CFG, 4)
    const first = w.start()
    assert.equal(first[0]!.type, 'PERSIST', 'the initial document is persisted first')
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.ok(w.actionsOf('REVIVE').length === 1)
    const acts = w.offerAll()
    const l = launched(acts)
    assert.equal(l.length, 3)
    assert.equal(new Set(l.map((x) => x.agentId)).size, 3, 'one member per agent')
    for (const {cfg} of l) {
      assert.equal(cfg.initialClusterState, 'new')
      assert.deepEqual(cfg.initialCluster.map((p) => p.name).sort(), ['etcd-1', 'etcd-2', 'etcd-3'])
      assert.equal(cfg.cluster.name, 'etcd')
    }
    assert.equal(new Set(l.map((x) => x.cfg.cluster.token)).size, 1, 'one cluster token')
    const persistAt = idx(acts, (a) => a.type === 'PERSIST')
    const acceptAt = idx(acts, (a) => a.type === 'ACCEPT')
    assert.ok(persistAt >= 0 && persistAt < acceptAt, 'task records are persisted before the ACCEPT')
    assert.ok(acts.some((a) => a.type === 'DECLINE' && a.offerIds[0] === 'O4'), 'the 4th offer is declined')
    assert.ok(idx(acts, (a) => a.type === 'SUPPRESS') > acceptAt, 'SUPPRESS once nothing is needed')
    const accept = acts.find((a) => a.type === 'ACCEPT')
    assert.ok(accept && accept.type === 'ACCEPT')
    const ti = accept.operations[0]!.launch!.task_infos[0]!
    assert.equal(ti.executor?.executor_id.value, ti.task_id.value)
    assert.deepEqual(ti.executor?.command, CFG.executorCommand)
    assert.match(ti.task_id.value, /^etcd-\d+\.[0-9a-f]{8}$/)
    w.advance(10_000)
    assert.equal(w.state.stats.running_servers, 3)
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.state.stats.launched_servers, 3)
  })

  it('with offers from fewer agents than clusterSize, waits bootstrapWaitMs then grows one member at a time', () => {
    const w = new World(CFG, 3)
    w.start()
    let acts = offerAgent(w, 'S1')
    assert.equal(launched(acts).length, 0, 'the offer is held while waiting for more agents')
    assert.equal(w.actionsOf('DECLINE').length, 0)
    w.advance(2_000, {offers: false})
    const first = launched(w.actions)
    assert.equal(first.length, 1)
    assert.equal(first[0]!.cfg.initialClusterState, 'new')
    assert.deepEqual(first[0]!.cfg.initialCluster.map((p) => p.name), ['etcd-1'])
    w.advance(5_000, {offers: false})
    assert.equal(w.state.stats.healthy, 1)

    const mark = w.actions.length
    acts = offerAgent(w, 'S2')
    const addAt = idx(acts, (a) => a.type === 'MEMBER_ADD')
    const acceptAt = idx(acts, (a) => a.type === 'ACCEPT')
    assert.ok(addAt >= 0 && acceptAt > addAt, 'MEMBER_ADD comes before the launch')
    const add = acts[addAt]
    assert.ok(add?.type === 'MEMBER_ADD' && add.learner === true && add.peerUrls[0] === 'http://agent2.test:31100')
    const second = launched(w.actions.slice(mark))
    assert.equal(second.length, 1)
    assert.equal(second[0]!.cfg.initialClusterState, 'existing')
    assert.deepEqual(second[0]!.cfg.initialCluster.map((p) => p.name).sort(), ['etcd-1', 'etcd-2'])
    w.advance(5_000, {offers: false})
    const promotes = w.actionsOf('MEMBER_PROMOTE', mark)
    assert.ok(promotes.length >= 1, 'the learner is promoted once running')
    // A learner refuses member operations ("rpc not supported for learner"): never send its promote through it.
    for (const p of promotes) assert.ok(!p.via.includes('http://agent2.test:31101'), `promote not sent through the learner: ${p.via.join(',')}`)
    assert.ok(w.members.every((m) => !m.isLearner))

    offerAgent(w, 'S3')
    w.advance(5_000, {offers: false})
    const all = launched(w.actions)
    assert.equal(all.length, 3)
    assert.deepEqual(all[2]!.cfg.initialCluster.map((p) => p.name).sort(), ['etcd-1', 'etcd-2', 'etcd-3'])
    assert.equal(w.state.stats.running_servers, 3)
    assert.equal(w.members.length, 3)
    assert.ok(w.actionsOf('SUPPRESS').length >= 1)
  })

  it('never adds a second member while one add/launch is in progress (one at a time)', () => {
    const w = new World(CFG, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.respond = false
    const mark = w.actions.length
    w.feed({type: 'Offers', offers: [simOffer('A', w.agents.get('S2')!), simOffer('B', w.agents.get('S3')!)]})
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 1)
    assert.ok(w.actionsOf('DECLINE', mark).some((a) => a.offerIds[0] === 'B'), 'the other offer is declined')
    assert.ok(!w.actionsOf('DECLINE', mark).some((a) => a.offerIds[0] === 'A'), 'the offer for the add is held')
  })
})

describe('member add refusals', () => {
  it('retries a refused add later (holding the offer), then launches', () => {
    const w = new World(CFG, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.addRefusals = 2
    const mark = w.actions.length
    offerAgent(w, 'S2', 'HELD')
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 1)
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    assert.equal(w.actionsOf('DECLINE', mark).filter((a) => a.offerIds[0] === 'HELD').length, 0)
    w.advance(3_000, {offers: false})
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 2)
    w.advance(3_000, {offers: false})
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 3)
    const acc = w.actionsOf('ACCEPT', mark)
    assert.equal(acc.length, 1)
    assert.deepEqual(acc[0]!.offerIds, ['HELD'])
    assert.equal(launched(acc)[0]!.cfg.initialClusterState, 'existing')
  })

  it('gives up after offerHoldMs, declines the held offer, and tries again later', () => {
    const w = new World({...CFG, offerHoldMs: 10_000}, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.addRefusals = 1000
    const mark = w.actions.length
    offerAgent(w, 'S2', 'HELD')
    w.advance(11_000, {offers: false})
    assert.ok(w.actionsOf('DECLINE', mark).some((a) => a.offerIds[0] === 'HELD'))
    assert.equal(w.state.pendingAdd, null)
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    w.addRefusals = 0
    w.advance(3_000, {offers: false})
    offerAgent(w, 'S2', 'AGAIN')
    w.advance(1_000, {offers: false})
    assert.equal(launched(w.actionsOf('ACCEPT', mark)).length, 1)
  })

  it('removes a member that was added but never started (offer rescinded, no new offer) after the grace period', () => {
    const w = new World(CFG, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.respond = false
    const mark = w.actions.length
    offerAgent(w, 'S2', 'HELD')
    const add = w.actionsOf('MEMBER_ADD', mark)[0]!
    w.respond = true
    // etcd applied the add; meanwhile the offer is rescinded
    w.feed({type: 'Rescind', offerId: 'HELD'})
    w.members.push({id: '555', name: '', peerUrl: add.peerUrls[0]!, clientUrl: '', isLearner: true, started: false, alive: true, raftIndex: 0})
    w.feed({type: 'MemberAdded', peerUrl: add.peerUrls[0]!, member: {id: '555', name: '', peerUrls: add.peerUrls, clientUrls: [], isLearner: true}})
    assert.equal(w.state.pendingAdd?.phase, 'added')
    w.advance(29_000, {offers: false})
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0, 'not before the grace period')
    w.advance(20_000, {offers: false})
    const rm = w.actionsOf('MEMBER_REMOVE', mark)
    assert.equal(rm.length, 1)
    assert.equal(rm[0]!.memberId, '555')
    assert.ok(!w.members.some((m) => m.id === '555'))
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
  })
})

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
