/**
 * Scenario tests of the scheduler core: lost tasks. TASK_LOST is not final (a task that comes back is kept,
 * or killed once replaced); after a master failover, reconciliation-only TASK_LOST while etcd answers is
 * probed, not believed; total loss is declared only when a probe finds no member.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {TaskStatus} from '../../src/lib/mesos/types.js'
import {simOffer, type World} from '../helpers/sim/sim.js'
import {liveTasks, modeOf, runningTasks, type TaskRecord} from '../../src/scheduler/core/state.js'
import {CORE_CFG as CFG, FAST_RECONCILE_CFG, healthyCluster} from '../helpers/core-world.js'

/** What a master that has not heard from the agents yet answers to explicit reconciliation. */
function reconciliationLost(t: TaskRecord): TaskStatus {
  return {
    task_id: {value: t.taskId},
    agent_id: {value: t.agentId},
    state: 'TASK_LOST',
    source: 'SOURCE_MASTER',
    reason: 'REASON_RECONCILIATION',
    message: 'Reconciliation: Task is unknown',
  }
}

/** Answers the last unanswered HEALTH_CHECK from the simulated etcd (respond=false mode). */
function answerHealth(w: World, from: number): string[] {
  const hc = w.actionsOf('HEALTH_CHECK', from).at(-1)
  assert.ok(hc, 'a HEALTH_CHECK was sent')
  w.feed({type: 'HealthObserved', probes: hc.clientUrls.map((u) => w.probe(u))})
  return hc.clientUrls
}

const url = (t: TaskRecord): string => `http://${t.hostname}:${t.clientPort}`

describe('TASK_LOST is not final', () => {
  it('a lost task that comes back while its member is still in etcd is kept (nothing killed)', () => {
    const w = healthyCluster(CFG, 4)
    const t = liveTasks(w.state).find((x) => x.agentId === 'S1')!
    w.respond = false // etcd removal never answered: the member is still in the list
    const mark = w.actions.length
    w.feed({
      type: 'Update',
      status: {
        task_id: {value: t.taskId},
        agent_id: {value: 'S1'},
        state: 'TASK_LOST',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED',
      },
    })
    assert.equal(liveTasks(w.state).length, 2)
    w.feed({
      type: 'Update',
      status: {
        task_id: {value: t.taskId},
        agent_id: {value: 'S1'},
        state: 'TASK_RUNNING',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REREGISTERED',
      },
    })
    assert.equal(liveTasks(w.state).length, 3)
    assert.equal(w.state.tasks[t.taskId]!.state, 'TASK_RUNNING')
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    assert.equal(w.actionsOf('ACKNOWLEDGE', mark).length, 0, 'master-made updates have no uuid')
  })

  it('a lost task that comes back after it was removed and replaced is killed (cluster never exceeds its size)', () => {
    const w = healthyCluster(CFG, 4)
    const t = liveTasks(w.state).find((x) => x.agentId === 'S1')!
    w.loseAgent('S1')
    w.advance(10_000)
    assert.equal(runningTasks(w.state).length, 3, 'replaced')
    assert.ok(!runningTasks(w.state).some((x) => x.agentId === 'S1'))
    const mark = w.actions.length
    w.reregisterAgent('S1')
    const kills = w.actionsOf('KILL', mark)
    assert.deepEqual(
      kills.map((k) => k.taskId),
      [t.taskId],
    )
    w.advance(5_000)
    assert.equal(liveTasks(w.state).length, 3)
  })
})

describe('total loss', () => {
  it('says so and launches nothing when no member task is alive', () => {
    const w = healthyCluster(CFG, 5)
    w.respond = false
    for (const m of w.members) m.alive = false // etcd really gone (a master-made LOST alone is not believed)
    for (const t of w.tasks.values()) t.state = 'TASK_LOST'
    for (const t of liveTasks(w.state)) {
      w.feed({
        type: 'Update',
        status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_LOST', source: 'SOURCE_MASTER'},
      })
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

describe('master failover: reconciliation-only TASK_LOST while etcd answers', () => {
  it('probes the lost members, does not declare total loss, launches nothing, re-reconciles and recovers on TASK_RUNNING', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 5)
    const tasks = liveTasks(w.state)
    w.respond = false
    w.feed({type: 'Disconnected', reason: 'master failover'})
    w.feed({type: 'Subscribed', frameworkId: w.state.frameworkId!})
    const mark = w.actions.length
    for (const t of tasks) w.feed({type: 'Update', status: reconciliationLost(t)})
    assert.equal(w.state.phase, 'READY')
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS', 'no total loss from master-made LOST alone')
    assert.ok(!w.actionsOf('LOG', mark).some((l) => /TOTAL CLUSTER LOSS/.test(l.msg)))
    const probed = answerHealth(w, mark)
    for (const t of tasks) assert.ok(probed.includes(url(t)), `the lost task's client URL ${url(t)} is probed`)
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS', 'etcd answers: the tasks are alive')
    assert.ok(w.actionsOf('LOG', mark).some((l) => l.level === 'warn' && /answers/.test(l.msg)))
    // offers come in: nothing is launched, added or removed for tasks whose etcd answers
    w.feed({type: 'Offers', offers: ['S4', 'S5'].map((a, i) => simOffer(`fo${i}`, w.agents.get(a)!))})
    // explicit reconciliation keeps being retried with backoff (1 s, 2 s, 4 s, 8 s, 8 s…)
    const recMark = w.actions.length
    w.advance(20_000, {offers: false})
    const recs = w.actionsOf('RECONCILE', recMark).filter((r) => r.tasks.length > 0)
    assert.ok(recs.length >= 3 && recs.length <= 6, `explicit reconciliation retried with backoff (${recs.length} in 20 s)`)
    assert.deepEqual(new Set(recs[0]!.tasks.map((x) => x.taskId)), new Set(tasks.map((t) => t.taskId)))
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 0)
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0)
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS')
    // the agents re-register: the master reports them running again
    for (const t of tasks) {
      w.feed({
        type: 'Update',
        status: {
          task_id: {value: t.taskId},
          agent_id: {value: t.agentId},
          state: 'TASK_RUNNING',
          source: 'SOURCE_MASTER',
          reason: 'REASON_RECONCILIATION',
        },
      })
    }
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    const after = w.actions.length
    w.advance(60_000, {offers: false})
    assert.equal(w.actionsOf('RECONCILE', after).filter((r) => r.tasks.length > 0).length, 0, 'no more explicit retries once none is lost')
  })

  it('declares total loss only after a probe after the loss finds no member; keeps reconciling; TASK_RUNNING brings it back', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 5)
    const tasks = liveTasks(w.state)
    w.respond = false
    w.feed({type: 'Disconnected', reason: 'master failover'})
    w.feed({type: 'Subscribed', frameworkId: w.state.frameworkId!})
    for (const m of w.members) m.alive = false // etcd really gone
    const mark = w.actions.length
    for (const t of tasks) w.feed({type: 'Update', status: reconciliationLost(t)})
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS', 'not before the probe')
    answerHealth(w, mark)
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
    const loud = w.actionsOf('LOG', mark).filter((l) => /TOTAL CLUSTER LOSS/.test(l.msg))
    assert.equal(loud.length, 1)
    assert.equal(loud[0]!.level, 'error')
    const recMark = w.actions.length
    w.advance(30_000, {offers: false})
    assert.ok(w.actionsOf('RECONCILE', recMark).filter((r) => r.tasks.length > 0).length >= 3, 'keeps reconciling explicitly in TOTAL_LOSS')
    assert.ok(
      w.actionsOf('HEALTH_CHECK', recMark).some((h) => h.clientUrls.includes(url(tasks[0]!))),
      'keeps probing the lost members',
    )
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
    // one agent comes back with its member
    const t = tasks[0]!
    for (const m of w.members) m.alive = true
    w.feed({
      type: 'Update',
      status: {
        task_id: {value: t.taskId},
        agent_id: {value: t.agentId},
        state: 'TASK_RUNNING',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REREGISTERED',
      },
    })
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS')
    assert.equal(w.state.tasks[t.taskId]!.state, 'TASK_RUNNING')
  })

  it('a genuine agent loss (etcd gone) is still replaced', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.loseAgent('S1')
    w.advance(10_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.ok(!runningTasks(w.state).some((t) => t.taskId === victim.taskId))
    assert.equal(w.state.tasks[victim.taskId], undefined)
  })
})
