/**
 * The simulated etcd (test/helpers/sim/sim-etcd.ts) refuses what etcd 3.4 refuses, with etcd's texts as the
 * product's classifier (src/lib/etcd/errors.ts) and the driver's mapping (src/scheduler/etcd-actions.ts) see them.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import type {SchedulerEvent} from '../../src/scheduler/core/events.js'
import {HEALTH_INTERVAL_MS, REMOVED_STOP_MS, SimEtcd, type SimMember} from '../helpers/sim/sim-etcd.js'

class Etcd extends SimEtcd {
  answer(a: SchedulerAction): SchedulerEvent {
    return this.answerEtcd(a)!
  }
  start(name: string, learner = false): SimMember {
    const m = this.addMember(`http://${name}:2380`, name, learner)
    Object.assign(m, {started: true, clientUrl: `http://${name}:2379`})
    this.observeUp()
    return m
  }
}
const url = (n: string): string => `http://${n}:2379`

/** Three voters up since t=0, now = 10 s. */
function three(): Etcd {
  const e = new Etcd()
  for (const n of ['a', 'b', 'c']) e.start(n)
  e.now = 10_000
  return e
}
const codeOf = (ev: SchedulerEvent): string => ('code' in ev ? ev.code : ev.type)

describe('simulated etcd: routing and refusals', () => {
  it('a promote through the learner itself is refused (LEARNER_REFUSED) and moves on to the next endpoint', () => {
    const e = three()
    const l = e.start('d', true)
    e.now += HEALTH_INTERVAL_MS
    assert.equal(codeOf(e.answer({type: 'MEMBER_PROMOTE', memberId: l.id, via: [url('d')]})), 'LEARNER_REFUSED')
    assert.ok(l.isLearner)
    assert.equal(e.answer({type: 'MEMBER_PROMOTE', memberId: l.id, via: [url('d'), url('a')]}).type, 'MemberPromoted')
    assert.ok(!l.isLearner)
  })

  it('a learner refuses member lists too (3.4 serves only Status and serializable reads); a list moves on', () => {
    const e = three()
    e.start('d', true)
    assert.equal(e.answer({type: 'MEMBER_LIST', via: [url('d')]}).type, 'MemberListFailed')
    assert.equal(e.answer({type: 'MEMBER_LIST', via: [url('d'), url('b')]}).type, 'MemberListObserved')
  })

  it('any member operation through a removed member is refused (REMOVED, not moved on) until its process stops', () => {
    const e = three()
    const c = e.members.find((m) => m.name === 'c')!
    assert.equal(e.answer({type: 'MEMBER_REMOVE', memberId: c.id, via: [url('a')]}).type, 'MemberRemoved')
    for (const a of [
      {type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('c'), url('a')]},
      {type: 'MEMBER_REMOVE', memberId: '1', via: [url('c'), url('a')]},
      {type: 'MEMBER_PROMOTE', memberId: '1', via: [url('c'), url('a')]},
    ] as SchedulerAction[]) {
      const ev = e.answer(a)
      assert.equal(codeOf(ev), 'REMOVED', JSON.stringify(ev))
    }
    e.now += REMOVED_STOP_MS
    const ev = e.answer({type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('c'), url('a')]})
    assert.equal(ev.type, 'MemberAdded', 'stopped: connection refused, the next endpoint serves it')
  })

  it('an add while a voter is dead or not started is refused (UNHEALTHY_CLUSTER, retryable)', () => {
    const e = three()
    e.members.find((m) => m.name === 'c')!.alive = false
    const ev = e.answer({type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('a')]})
    assert.ok(
      ev.type === 'MemberAddFailed' && ev.code === 'UNHEALTHY_CLUSTER' && ev.retryable && /unhealthy cluster/.test(ev.message),
      JSON.stringify(ev),
    )
    const f = three()
    f.answer({type: 'MEMBER_ADD', peerUrls: ['http://d:2380'], learner: false, via: [url('a')]}) // d: a voter never started
    assert.equal(f.members.length, 4)
    assert.equal(codeOf(f.answer({type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('a')]})), 'UNHEALTHY_CLUSTER')
  })

  it('an add within 5 s of a peer (re)connecting is refused, then accepted', () => {
    const e = three()
    const c = e.members.find((m) => m.name === 'c')!
    c.alive = false
    e.observeUp()
    c.alive = true
    e.observeUp() // c is back at t=10 s
    e.now += HEALTH_INTERVAL_MS - 1
    assert.equal(codeOf(e.answer({type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('a')]})), 'UNHEALTHY_CLUSTER')
    e.now += 1
    assert.equal(e.answer({type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('a')]}).type, 'MemberAdded')
  })

  it('known peer URL, a second learner, a blackholed endpoint, an empty via', () => {
    const e = three()
    assert.equal(codeOf(e.answer({type: 'MEMBER_ADD', peerUrls: ['http://a:2380'], learner: true, via: [url('a')]})), 'PEER_URL_EXISTS')
    assert.equal(e.answer({type: 'MEMBER_ADD', peerUrls: ['http://x:2380'], learner: true, via: [url('a')]}).type, 'MemberAdded')
    assert.equal(codeOf(e.answer({type: 'MEMBER_ADD', peerUrls: ['http://y:2380'], learner: true, via: [url('a')]})), 'TOO_MANY_LEARNERS')
    e.hidden.add(url('a'))
    assert.equal(
      codeOf(e.answer({type: 'MEMBER_REMOVE', memberId: e.members[1]!.id, via: [url('a'), url('b')]})),
      'TIMEOUT',
      'a timeout may have applied: not moved on',
    )
    assert.throws(() => e.answer({type: 'MEMBER_PROMOTE', memberId: '1', via: []}), /empty via/)
  })

  it('removing a live voter while another is down is refused; removing the down one is not', () => {
    const e = three()
    const [a, b, c] = e.members
    c!.alive = false
    e.observeUp()
    assert.equal(codeOf(e.answer({type: 'MEMBER_REMOVE', memberId: b!.id, via: [url('a')]})), 'UNHEALTHY_CLUSTER')
    assert.equal(e.answer({type: 'MEMBER_REMOVE', memberId: c!.id, via: [url('a')]}).type, 'MemberRemoved')
    assert.deepEqual(
      e.members.map((m) => m.id),
      [a!.id, b!.id],
    )
  })
})
