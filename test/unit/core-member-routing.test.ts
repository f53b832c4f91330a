/**
 * Where the core sends member operations (`via`), against a simulated etcd that refuses what etcd 3.4 refuses
 * (test/helpers/sim/sim-etcd.ts): a learner refuses every member operation ("rpc not supported for learner"),
 * adds need every voter up and connected for 5 s, a removed member stops answering, and an empty `via`
 * cannot be sent anywhere.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {World} from '../helpers/sim/sim.js'
import {liveTasks, runningTasks, type TaskRecord} from '../../src/scheduler/core/state.js'
import {CORE_CFG as CFG, runningCluster} from '../helpers/core-world.js'

/** Fails the oldest member's task and waits until its replacement is a running voter. */
const oldest = (w: World): TaskRecord =>
  liveTasks(w.state).sort((a, b) => Number(a.memberName.split('-')[1]) - Number(b.memberName.split('-')[1]))[0]!

function replaceOne(w: World): void {
  const victim = oldest(w)
  w.failTask(victim.taskId)
  for (let i = 0; i < 30; i++) {
    w.advance(1_000)
    if (runningTasks(w.state).length === 3 && w.members.length === 3 && w.members.every((m) => !m.isLearner && m.started)) return
  }
  assert.fail(`no replacement for ${victim.memberName}: ${JSON.stringify(w.members)}`)
}

describe('member operations are routed where etcd serves them', () => {
  it('replacements up to etcd-10 (whose task id sorts first): no operation is ever sent to a learner first, every learner is promoted', () => {
    const w = runningCluster(CFG, 4)
    for (let n = 4; n <= 10; n++) replaceOne(w)
    assert.ok(
      liveTasks(w.state).some((t) => t.memberName === 'etcd-10'),
      'etcd-10 runs',
    )
    assert.deepEqual(
      w.refusals.filter((r) => r.code === 'LEARNER_REFUSED'),
      [],
      'no member operation met a learner while a voter could serve it',
    )
    assert.equal(w.actionsOf('MEMBER_PROMOTE').length, 7)
  })

  it('a learner the scheduler cannot reach (etcd-10, sorting first) is promoted through the voters', () => {
    const w = runningCluster(CFG, 4)
    for (let n = 4; n <= 9; n++) replaceOne(w)
    // the scheduler is partitioned from the client port of every agent but the two survivors': etcd-10 will run there
    const survivors = new Set(
      liveTasks(w.state)
        .filter((t) => t !== oldest(w))
        .map((t) => t.agentId),
    )
    for (const a of w.agents.values()) if (!survivors.has(a.agentId)) w.hidden.add(`http://${a.hostname}:${a.ports[0]![0] + 1}`)
    const mark = w.actions.length
    replaceOne(w)
    const t10 = liveTasks(w.state).find((t) => t.memberName === 'etcd-10')
    assert.ok(t10 && w.hidden.has(`http://${t10.hostname}:${t10.clientPort}`), 'etcd-10 runs where the scheduler cannot reach it')
    const promotes = w.actionsOf('MEMBER_PROMOTE', mark)
    assert.ok(promotes.length >= 1)
    for (const p of promotes)
      assert.ok(
        !p.via.includes(`http://${t10.hostname}:${t10.clientPort}`),
        `a promote goes through voters, never the learner: ${p.via.join(',')}`,
      )
  })
})

describe('a member operation with nowhere to go is not sent', () => {
  it('a learner whose voters Mesos reports lost (their etcd still answers): no MEMBER_PROMOTE with an empty via', () => {
    const w = runningCluster(CFG, 4)
    const [first, ...voters] = liveTasks(w.state).sort((a, b) => a.memberName.localeCompare(b.memberName))
    w.learnersLag = true // etcd refuses to promote the replacement for now (not in sync with the leader)
    w.failTask(first!.taskId)
    let learner: TaskRecord | undefined
    for (let i = 0; i < 300 && !learner; i++) {
      w.advance(100)
      learner = runningTasks(w.state).find((t) => t.memberName === 'etcd-4')
    }
    assert.ok(learner, 'etcd-4 launched')
    assert.ok(
      w.members.some((m) => m.isLearner),
      'etcd-4 is still a learner',
    )
    // the master loses the voters' agents (reconciliation gets no answer); their etcd members keep answering
    for (const t of voters) w.reconcileSilent.add(t!.taskId)
    for (const t of voters)
      w.feed({
        type: 'Update',
        status: {
          task_id: {value: t!.taskId},
          agent_id: {value: t!.agentId},
          state: 'TASK_LOST',
          source: 'SOURCE_MASTER',
          reason: 'REASON_AGENT_REMOVED',
        },
      })
    const mark = w.actions.length
    w.learnersLag = false
    w.advance(30_000, {offers: false}) // the simulated etcd throws on a member operation with an empty via
    for (const type of ['MEMBER_PROMOTE', 'MEMBER_REMOVE', 'MEMBER_ADD', 'MEMBER_LIST'] as const) {
      for (const a of w.actionsOf(type, mark)) assert.ok(a.via.length > 0, `${type} with an empty via`)
    }
    // the learner alone refuses member lists ("rpc not supported for learner"): retried at memberOpRetryMs, not in a tight loop
    assert.ok(
      w.actionsOf('MEMBER_LIST', mark).length <= 30_000 / CFG.memberOpRetryMs + 1,
      `${w.actionsOf('MEMBER_LIST', mark).length} member lists in 30 s`,
    )
  })
})
