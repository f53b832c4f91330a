/** Scenario tests of the scheduler core: a failed or removed member is removed through a live member and replaced on another agent; strangers and stuck launches. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parseMemberConfig} from '../../src/lib/member-config.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import {simOffer, World} from '../helpers/sim/sim.js'
import {liveTasks, runningTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG as CFG, healthyCluster, idx, launches} from '../helpers/core-world.js'

describe('replacement', () => {
  it('FAILED → MEMBER_REMOVE through a live member → MEMBER_ADD + launch on an agent without a member', () => {
    const w = healthyCluster(CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    const victimMember = w.memberOfTask(victim.taskId)!
    const mark = w.actions.length
    w.failTask(victim.taskId)
    w.advance(5_000)
    const acts = w.actions.slice(mark)
    const rm = idx(acts, (a) => a.type === 'MEMBER_REMOVE')
    const add = idx(acts, (a) => a.type === 'MEMBER_ADD')
    const acc = idx(acts, (a) => a.type === 'ACCEPT')
    assert.ok(rm >= 0 && add > rm && acc > add, `order remove(${rm}) < add(${add}) < accept(${acc})`)
    const rmA = acts[rm]
    assert.ok(rmA?.type === 'MEMBER_REMOVE' && rmA.memberId === victimMember.id)
    assert.ok(!rmA.via.includes(`http://agent1.test:31001`), 'removal goes through a live member')
    const agents = launches(acts).map((l) => l.agentId)
    assert.equal(agents.length, 1)
    assert.ok(!['S2', 'S3'].includes(agents[0]!), `replacement not on an agent hosting a member (got ${agents[0]})`)
    const cfg = parseMemberConfig(
      acts.find((a) => a.type === 'ACCEPT')!.type === 'ACCEPT'
        ? (acts[acc] as Extract<SchedulerAction, {type: 'ACCEPT'}>).operations[0]!.launch!.task_infos[0]!.data
        : '',
    )
    assert.equal(cfg.initialClusterState, 'existing')
    assert.equal(cfg.initialCluster.length, 3)
    assert.ok(!cfg.initialCluster.some((p) => p.name === victim.memberName))
    w.advance(10_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.members.length, 3)
    assert.equal(w.state.stats.failed_servers, 1)
    assert.equal(w.state.stats.launched_servers, 4)
    assert.equal(w.state.tasks[victim.taskId], undefined, 'the dead record is dropped once its member is gone')
  })

  it('agent removed (FAILURE without executor_id) counts as lost and is replaced', () => {
    const w = healthyCluster(CFG, 4)
    const mark = w.actions.length
    w.respond = false
    w.feed({type: 'Failure', agentId: 'S2'})
    assert.equal(liveTasks(w.state).length, 2)
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 1)
    w.feed({type: 'Failure', agentId: 'S2', executorId: 'whatever', status: 0})
    assert.equal(w.state.stats.failed_servers, 1, 'executor FAILURE alone changes nothing')
  })

  it('a member in etcd that no task backs is removed after the grace period', () => {
    const w = healthyCluster(CFG, 4)
    w.members.push({
      id: '999',
      name: 'stranger',
      peerUrl: 'http://elsewhere:1',
      clientUrl: 'http://elsewhere:2',
      isLearner: false,
      started: true,
      alive: true,
      raftIndex: 0,
    })
    const mark = w.actions.length
    w.advance(25_000)
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0)
    w.advance(15_000)
    assert.deepEqual(
      w.actionsOf('MEMBER_REMOVE', mark).map((a) => a.memberId),
      ['999'],
    )
  })

  it('kills a task stuck in STAGING after launchTimeoutMs', () => {
    const w = new World({...CFG, launchTimeoutMs: 60_000}, 3)
    w.respond = false
    w.start()
    w.feed({type: 'Subscribed', frameworkId: 'fw'})
    w.feed({type: 'Offers', offers: ['S1', 'S2', 'S3'].map((a, i) => simOffer(`o${i}`, w.agents.get(a)!))})
    assert.equal(liveTasks(w.state).length, 3)
    w.advance(59_000)
    assert.equal(w.actionsOf('KILL').length, 0)
    w.advance(2_000)
    assert.equal(w.actionsOf('KILL').length, 3)
  })
})
