/**
 * Scenario tests of the scheduler core: how soon growth asks etcd again (a promote refused because the learner is
 * not caught up yet) and what it logs when a member list shows a pending add before the MEMBER_ADD answer arrives.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {liveTasks, runningTasks} from '../../src/scheduler/core/state.js'
import {FAST_RECONCILE_CFG, healthyCluster} from '../helpers/core-world.js'
import type {World} from '../helpers/sim/sim.js'

/** Advances in 10 ms steps (no offers) until another `type` action; the ms it took (Infinity after 3 s). */
function msToNext(w: World, type: 'MEMBER_PROMOTE' | 'MEMBER_ADD'): number {
  const before = w.actionsOf(type).length
  for (let ms = 10; ms <= 3_000; ms += 10) {
    w.advance(10, {offers: false})
    if (w.actionsOf(type).length > before) return ms
  }
  return Number.POSITIVE_INFINITY
}

describe('promotion retries', () => {
  it('a promote etcd refuses for now (LEARNER_NOT_READY) is asked again after memberAddRetryMs (250 ms); other failures after memberOpRetryMs', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4) // memberOpRetryMs 1 s (default), memberAddRetryMs 250 ms (default)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.learnersLag = true // etcd: "can only promote a learner member which is in sync with leader"
    const mark = w.actions.length
    w.failTask(victim.taskId)
    w.offerAll()
    for (let i = 0; i < 3_000 && w.actionsOf('MEMBER_PROMOTE', mark).length === 0; i++) w.advance(10)
    assert.ok(w.actionsOf('MEMBER_PROMOTE', mark).length > 0, 'the replacement learner runs and its promotion is asked')
    assert.equal(msToNext(w, 'MEMBER_PROMOTE'), 250, 'refused as not in sync: asked again after 250 ms')
    assert.equal(msToNext(w, 'MEMBER_PROMOTE'), 250)
    const refusals = w.actionsOf('LOG', mark).filter((l) => l.msg.includes('learner promotion failed'))
    assert.ok(refusals.length >= 2)
    assert.ok(
      refusals.every((l) => l.level !== 'warn'),
      'a learner not caught up yet is no warning',
    )
    // any other failure: memberOpRetryMs
    w.respond = false
    assert.equal(msToNext(w, 'MEMBER_PROMOTE'), 250)
    const promote = w.actionsOf('MEMBER_PROMOTE').at(-1)!
    assert.equal(msToNext(w, 'MEMBER_PROMOTE'), Number.POSITIVE_INFINITY, 'one promote in flight at a time')
    w.feed({type: 'MemberPromoteFailed', memberId: promote.memberId, code: 'UNREACHABLE', retryable: true, message: 'etcd: unreachable'})
    assert.equal(msToNext(w, 'MEMBER_PROMOTE'), 1_000, 'unreachable: again after memberOpRetryMs')
    // caught up: promoted once the unanswered promote times out (memberOpTimeoutMs), the cluster is whole again
    w.respond = true
    w.learnersLag = false
    w.advance(35_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.ok(w.members.every((m) => !m.isLearner))
  })
})

describe('a member list that shows the pending add before the MEMBER_ADD answer', () => {
  it('launches the member and, when the answer arrives, logs it as added (no "abandoned launch" warning)', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    const mark = w.actions.length
    w.failTask(victim.taskId)
    w.offerAll()
    for (let i = 0; i < 3_000 && w.actionsOf('ACCEPT', mark).length === 0; i++) w.advance(10)
    // The simulated etcd answered the add at once. A real one can be slower than a member list that already shows
    // the new member (the core then launches it from the list): that state is this one (the add adopted, the task
    // launched, no pending add left), and the answer to the add, arriving now, is fed again.
    const added = w.events.filter((e) => e.type === 'MemberAdded').at(-1)
    assert.ok(added?.type === 'MemberAdded', 'the member was added')
    assert.equal(w.state.pendingAdd, null)
    assert.ok(
      liveTasks(w.state).some((t) => `http://${t.hostname}:${t.peerPort}` === added.peerUrl),
      'the new member is launched',
    )
    const late = w.feed(added)
    const logs = late.filter((a) => a.type === 'LOG')
    assert.ok(!logs.some((l) => l.msg.includes('abandoned')), `no abandoned-launch warning: ${JSON.stringify(logs)}`)
    assert.ok(
      logs.some((l) => l.level === 'info' && l.msg.includes('etcd member added') && l.fields?.member !== undefined),
      `the late answer is logged as the launched member's add: ${JSON.stringify(logs)}`,
    )
    // nothing is removed for it
    w.advance(40_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.members.length, 3)
  })

  it('an add answered for a launch that was really abandoned (no task for it) still warns', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const logs = w
      .feed({
        type: 'MemberAdded',
        peerUrl: 'http://agent9.test:39000',
        member: {id: '4242', name: '', peerUrls: ['http://agent9.test:39000'], clientUrls: [], isLearner: true},
      })
      .filter((a) => a.type === 'LOG')
    assert.ok(
      logs.some((l) => l.level === 'warn' && l.msg.includes('abandoned')),
      JSON.stringify(logs),
    )
  })
})
