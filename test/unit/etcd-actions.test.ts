/**
 * performEtcd (the driver's etcd side) is documented never to throw: every failure, including a call the
 * adapter refuses before any I/O (no endpoint, a malformed endpoint), becomes the *Failed event of its action.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {performEtcd} from '../../src/scheduler/etcd-actions.js'

describe('performEtcd never throws', () => {
  for (const via of [[], ['not a url']]) {
    const label = JSON.stringify(via)
    it(`MEMBER_PROMOTE via ${label} → MemberPromoteFailed`, async () => {
      const ev = await performEtcd({type: 'MEMBER_PROMOTE', memberId: '42', via})
      assert.equal(ev.type, 'MemberPromoteFailed')
      assert.ok(ev.type === 'MemberPromoteFailed' && ev.memberId === '42' && ev.code === 'UNKNOWN' && !ev.retryable, JSON.stringify(ev))
    })
    it(`MEMBER_REMOVE via ${label} → MemberRemoveFailed`, async () => {
      const ev = await performEtcd({type: 'MEMBER_REMOVE', memberId: '42', via})
      assert.ok(ev.type === 'MemberRemoveFailed' && ev.memberId === '42' && !ev.retryable, JSON.stringify(ev))
    })
    it(`MEMBER_ADD via ${label} → MemberAddFailed`, async () => {
      const ev = await performEtcd({type: 'MEMBER_ADD', peerUrls: ['http://10.0.0.1:2380'], learner: true, via})
      assert.ok(ev.type === 'MemberAddFailed' && ev.peerUrl === 'http://10.0.0.1:2380' && !ev.retryable, JSON.stringify(ev))
    })
    it(`MEMBER_LIST via ${label} → MemberListFailed`, async () => {
      const ev = await performEtcd({type: 'MEMBER_LIST', via})
      assert.equal(ev.type, 'MemberListFailed')
    })
  }
  it('a malformed member id becomes MemberPromoteFailed, with no etcd call', async () => {
    const ev = await performEtcd({type: 'MEMBER_PROMOTE', memberId: 'x', via: ['http://127.0.0.1:1']})
    assert.ok(ev.type === 'MemberPromoteFailed' && ev.code === 'UNKNOWN', JSON.stringify(ev))
  })
})
