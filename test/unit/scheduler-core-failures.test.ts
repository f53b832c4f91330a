/** Scenario tests of the scheduler core: replacement, lost/returning tasks, duplicates, ACKs, total loss, resizing. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parseMemberConfig} from '../../src/lib/member-config.js'
import type {TaskStatus} from '../../src/lib/mesos/types.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import {simOffer, World} from '../helpers/sim/sim.js'
import {liveTasks, modeOf, runningTasks} from '../../src/scheduler/core/state.js'

const CFG = {
  clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './etcd-mesos-executor'},
  healthIntervalMs: 5_000, bootstrapWaitMs: 2_000, memberGraceMs: 30_000, reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000, refuseSeconds: 15, memberOpRetryMs: 3_000,
}

/** A healthy running cluster of `size` on agents S1..S<size> (more agents idle). */
function runningCluster(size = 3, agents = 4, cfg: Record<string, unknown> = {}): World {
  const w = new World({...CFG, clusterSize: size, ...cfg}, agents)
  w.start()
  w.offerAll()
  w.advance(6_000, {offers: false})
  assert.equal(runningTasks(w.state).length, size)
  assert.equal(w.state.stats.healthy, 1)
  return w
}
const idx = (acts: SchedulerAction[], pred: (a: SchedulerAction) => boolean): number => acts.findIndex(pred)
function launchedAgents(acts: SchedulerAction[]): string[] {
  return acts.flatMap((a) => (a.type === 'ACCEPT' ? a.operations.flatMap((o) => o.launch?.task_infos ?? []).map((ti) => ti.agent_id.value) : []))
}

describe('status updates and ACKs', () => {
  const cases: [string, Partial<TaskStatus>, number][] = [
    ['executor update with uuid', {uuid: 'AAAAAAAAQAAAAAAAAAAAAQ==', source: 'SOURCE_EXECUTOR'}, 1],
    ['agent-made update with uuid', {uuid: 'AAAAAAAAQAAAAAAAAAAAAg==', source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED'}, 1],
    ['reconciliation answer (no uuid)', {source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION'}, 0],
    ['master-made TASK_LOST (no uuid)', {source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED'}, 0],
  ]
  for (const [name, extra, acks] of cases) {
    it(`ACKs only updates with a uuid: ${name}`, () => {
      const w = runningCluster()
      const t = liveTasks(w.state)[0]!
      w.respond = false
      const acts = w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING', ...extra}})
      const ackActs = acts.filter((a) => a.type === 'ACKNOWLEDGE')
      assert.equal(ackActs.length, acks)
      if (acks) assert.deepEqual(ackActs[0], {type: 'ACKNOWLEDGE', agentId: t.agentId, taskId: t.taskId, uuid: extra.uuid})
    })
  }

  it('puts PERSIST before the ACK of an update that changes persisted state', () => {
    const w = runningCluster()
    const t = liveTasks(w.state)[0]!
    w.respond = false
    const acts = w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_FAILED', uuid: 'AAAAAAAAQAAAAAAAAAAAAw=='}})
    const p = idx(acts, (a) => a.type === 'PERSIST')
    const a = idx(acts, (x) => x.type === 'ACKNOWLEDGE')
    assert.ok(p >= 0 && a > p)
    const doc = acts[p]
    assert.ok(doc?.type === 'PERSIST' && doc.doc.tasks.find((x) => x.taskId === t.taskId)?.state === 'TASK_FAILED')
  })

  it('duplicate and out-of-order updates are harmless', () => {
    const w = runningCluster()
    const t = liveTasks(w.state)[0]!
    w.respond = false
    const failed = {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_FAILED' as const, uuid: 'AAAAAAAAQAAAAAAAAAAABA=='}
    const a1 = w.feed({type: 'Update', status: failed})
    const a2 = w.feed({type: 'Update', status: failed})
    assert.equal(w.state.stats.failed_servers, 1)
    assert.equal(a1.filter((a) => a.type === 'MEMBER_REMOVE').length, 1)
    assert.equal(a2.filter((a) => a.type === 'MEMBER_REMOVE').length, 0, 'no second removal while the first is in flight')
    assert.equal(a2.filter((a) => a.type === 'ACKNOWLEDGE').length, 1, 'a redelivered update is ACKed again')
    // stale reconciliation answer after RUNNING must not regress another task
    const t2 = liveTasks(w.state)[0]!
    w.feed({type: 'Update', status: {task_id: {value: t2.taskId}, state: 'TASK_STARTING', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION'}})
    assert.equal(w.state.tasks[t2.taskId]!.state, 'TASK_RUNNING')
  })
})

describe('replacement', () => {
  it('FAILED → MEMBER_REMOVE through a live member → MEMBER_ADD + launch on an agent without a member', () => {
    const w = runningCluster(3, 4)
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
    const agents = launchedAgents(acts)
    assert.equal(agents.length, 1)
    assert.ok(!['S2', 'S3'].includes(agents[0]!), `replacement not on an agent hosting a member (got ${agents[0]})`)
    const cfg = parseMemberConfig(acts.find((a) => a.type === 'ACCEPT')!.type === 'ACCEPT' ? (acts[acc] as Extract<SchedulerAction, {type: 'ACCEPT'}>).operations[0]!.launch!.task_infos[0]!.data : '')
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
    const w = runningCluster(3, 4)
    const mark = w.actions.length
    w.respond = false
    w.feed({type: 'Failure', agentId: 'S2'})
    assert.equal(liveTasks(w.state).length, 2)
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 1)
    w.feed({type: 'Failure', agentId: 'S2', executorId: 'whatever', status: 0})
    assert.equal(w.state.stats.failed_servers, 1, 'executor FAILURE alone changes nothing')
  })

  it('a member in etcd that no task backs is removed after the grace period', () => {
    const w = runningCluster(3, 4)
    w.members.push({id: '999', name: 'stranger', peerUrl: 'http://elsewhere:1', clientUrl: 'http://elsewhere:2', isLearner: false, started: true, alive: true, raftIndex: 0})
    const mark = w.actions.length
    w.advance(25_000)
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0)
    w.advance(15_000)
    assert.deepEqual(w.actionsOf('MEMBER_REMOVE', mark).map((a) => a.memberId), ['999'])
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

describe('TASK_LOST is not final', () => {
  it('a lost task that comes back while its member is still in etcd is kept (nothing killed)', () => {
    const w = runningCluster(3, 4)
    const t = liveTasks(w.state).find((x) => x.agentId === 'S1')!
    w.respond = false // etcd removal never answered: the member is still in the list
    const mark = w.actions.length
    w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: 'S1'}, state: 'TASK_LOST', source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED'}})
    assert.equal(liveTasks(w.state).length, 2)
    w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: 'S1'}, state: 'TASK_RUNNING', source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED'}})
    assert.equal(liveTasks(w.state).length, 3)
    assert.equal(w.state.tasks[t.taskId]!.state, 'TASK_RUNNING')
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    assert.equal(w.actionsOf('ACKNOWLEDGE', mark).length, 0, 'master-made updates have no uuid')
  })

  it('a lost task that comes back after it was removed and replaced is killed (cluster never exceeds its size)', () => {
    const w = runningCluster(3, 4)
    const t = liveTasks(w.state).find((x) => x.agentId === 'S1')!
    w.loseAgent('S1')
    w.advance(10_000)
    assert.equal(runningTasks(w.state).length, 3, 'replaced')
    assert.ok(!runningTasks(w.state).some((x) => x.agentId === 'S1'))
    const mark = w.actions.length
    w.reregisterAgent('S1')
    const kills = w.actionsOf('KILL', mark)
    assert.deepEqual(kills.map((k) => k.taskId), [t.taskId])
    w.advance(5_000)
    assert.equal(liveTasks(w.state).length, 3)
  })
})

describe('total loss', () => {
  it('says so and launches nothing when no member task is alive', () => {
    const w = runningCluster(3, 5)
    w.respond = false
    for (const m of w.members) m.alive = false // etcd really gone (a master-made LOST alone is not believed)
    for (const t of w.tasks.values()) t.state = 'TASK_LOST'
    for (const t of liveTasks(w.state)) {
      w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_LOST', source: 'SOURCE_MASTER'}})
    }
    const probe = w.actionsOf('HEALTH_CHECK').at(-1)!
    w.feed({type: 'HealthObserved', probes: probe.clientUrls.map((u) => w.probe(u))})
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
    assert.ok(w.actionsOf('LOG').some((l) => l.level === 'error' && /TOTAL CLUSTER LOSS/.test(l.msg)))
    w.respond = true
    const mark = w.actions.length
    w.offerAll()
    w.advance(60_000)
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 0)
    assert.ok(w.actionsOf('DECLINE', mark).length > 0)
    const rs = w.feed({type: 'ReseedRequested', op: 'op-1', force: true})
    assert.equal(w.state.operations.find((o) => o.op === 'op-1')?.status, 'refused')
    assert.equal(rs.filter((a) => a.type === 'MESSAGE').length, 0)
  })
})

describe('resizing', () => {
  it('grows 3 → 5 one member at a time after a restart with a larger clusterSize', () => {
    const w = runningCluster(3, 6)
    w.restart(5, {clusterSize: 5})
    const mark = w.actions.length
    w.advance(40_000)
    assert.equal(runningTasks(w.state).length, 5)
    assert.equal(w.members.length, 5)
    const acts = w.actions.slice(mark).filter((a) => a.type === 'MEMBER_ADD' || a.type === 'ACCEPT')
    assert.deepEqual(acts.map((a) => a.type), ['MEMBER_ADD', 'ACCEPT', 'MEMBER_ADD', 'ACCEPT'])
    assert.equal(new Set(runningTasks(w.state).map((t) => t.agentId)).size, 5)
  })

  it('shrinks 5 → 3 one member at a time: MEMBER_REMOVE then KILL', () => {
    const w = runningCluster(5, 5)
    w.restart(5, {clusterSize: 3})
    const mark = w.actions.length
    w.advance(40_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.members.length, 3)
    const acts = w.actions.slice(mark).filter((a) => a.type === 'MEMBER_REMOVE' || a.type === 'KILL' || a.type === 'ACCEPT')
    assert.deepEqual(acts.map((a) => a.type), ['MEMBER_REMOVE', 'KILL', 'MEMBER_REMOVE', 'KILL'])
    assert.equal(w.state.stats.launched_servers, 5)
  })
})
