/** Table-driven tests of the pure etcd verdicts (healthVerdict, rankReseedCandidates) and error codes. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {healthVerdict, rankReseedCandidates, quorumOf} from '../../src/lib/etcd/verdict.js'
import {classifyEtcdMessage, toEtcdError, EtcdError} from '../../src/lib/etcd/errors.js'
import type {MemberProbe} from '../../src/lib/etcd/probe.js'

function probe(
  url: string,
  o: {id?: string; leader?: string; index?: number; term?: number; rev?: number; read?: boolean; down?: boolean} = {},
): MemberProbe {
  if (o.down) return {clientUrl: url, reachable: false, readOk: false, error: 'status: UNREACHABLE', tookMs: 1}
  return {
    clientUrl: url,
    reachable: true,
    readOk: o.read ?? true,
    tookMs: 1,
    status: {
      endpoint: url,
      memberId: o.id ?? url.slice(-1),
      leader: o.leader ?? '1',
      raftIndex: o.index ?? 10,
      raftTerm: o.term ?? 2,
      raftAppliedIndex: o.index ?? 10,
      revision: o.rev ?? 5,
      dbSize: 20480,
      isLearner: false,
      errors: [],
      version: '3.4.23',
    },
  }
}

describe('quorumOf', () => {
  it('is floor(n/2)+1', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 7].map(quorumOf), [1, 2, 2, 3, 3, 4])
  })
})

describe('healthVerdict', () => {
  const cases: Array<{
    name: string
    evident: boolean
    size: number
    probes: MemberProbe[]
    healthy: boolean
    leader: string | null
    agreeing: number
    reason: RegExp
  }> = [
    {
      name: 'all agree, reads ok',
      evident: true,
      size: 3,
      probes: [probe('u1'), probe('u2'), probe('u3')],
      healthy: true,
      leader: '1',
      agreeing: 3,
      reason: /agreed by 3 of 3/,
    },
    {
      name: 'one down, quorum agrees',
      evident: true,
      size: 3,
      probes: [probe('u1'), probe('u2'), probe('u3', {down: true})],
      healthy: true,
      leader: '1',
      agreeing: 2,
      reason: /agreed by 2 of 3/,
    },
    {
      name: 'two down of three',
      evident: true,
      size: 3,
      probes: [probe('u1'), probe('u2', {down: true}), probe('u3', {down: true})],
      healthy: false,
      leader: '1',
      agreeing: 1,
      reason: /only 1 of 3 .*quorum 2\); but 1 linearizable read\(s\) succeeded: the cluster has a quorum this scheduler cannot fully see/,
    },
    {
      name: 'a lone visible member whose read fails: no evidence of a quorum',
      evident: false,
      size: 3,
      probes: [probe('u1', {read: false}), probe('u2', {down: true}), probe('u3', {down: true})],
      healthy: false,
      leader: '1',
      agreeing: 1,
      reason: /only 1 of 3 .*quorum 2\)$/,
    },
    {
      name: 'no leader anywhere',
      evident: false,
      size: 3,
      probes: [probe('u1', {leader: '0', read: false}), probe('u2', {leader: '0', read: false}), probe('u3', {down: true})],
      healthy: false,
      leader: null,
      agreeing: 0,
      reason: /no leader: 2 of 3/,
    },
    {
      name: 'split leaders (stale view)',
      evident: true,
      size: 3,
      probes: [probe('u1', {leader: '1'}), probe('u2', {leader: '2'}), probe('u3', {leader: '3'})],
      healthy: false,
      leader: '1',
      agreeing: 1,
      reason: /only 1 of 3/,
    },
    {
      name: 'leader agreed but every read failed',
      evident: true,
      size: 3,
      probes: [probe('u1', {read: false}), probe('u2', {read: false}), probe('u3', {read: false})],
      healthy: false,
      leader: '1',
      agreeing: 3,
      reason: /no linearizable read/,
    },
    {
      name: 'probed fewer than the cluster size',
      evident: true,
      size: 5,
      probes: [probe('u1'), probe('u2')],
      healthy: false,
      leader: '1',
      agreeing: 2,
      reason: /only 2 of 5 .*quorum 3/,
    },
    {
      name: 'the same member probed twice counts once',
      evident: true,
      size: 3,
      probes: [probe('u1', {id: '7'}), probe('u1b', {id: '7'})],
      healthy: false,
      leader: '1',
      agreeing: 1,
      reason: /only 1 of 3/,
    },
    {
      name: 'single-member cluster',
      evident: true,
      size: 1,
      probes: [probe('u1', {leader: '9'})],
      healthy: true,
      leader: '9',
      agreeing: 1,
      reason: /agreed by 1 of 1/,
    },
    {name: 'nothing probed', evident: false, size: 3, probes: [], healthy: false, leader: null, agreeing: 0, reason: /no leader: 0 of 3/},
    {name: 'empty cluster', evident: false, size: 0, probes: [], healthy: false, leader: null, agreeing: 0, reason: /no members/},
    {
      name: 'one read enough',
      evident: true,
      size: 3,
      probes: [probe('u1', {read: false}), probe('u2', {read: true}), probe('u3', {read: false})],
      healthy: true,
      leader: '1',
      agreeing: 3,
      reason: /1 quorum read/,
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const v = healthVerdict(c.size, c.probes)
      assert.equal(v.healthy, c.healthy, v.reason)
      assert.equal(v.leader, c.leader)
      assert.equal(v.agreeing, c.agreeing)
      assert.equal(v.quorum, quorumOf(c.size || c.probes.length))
      assert.match(v.reason, c.reason)
      assert.equal(v.quorumEvident, c.evident, 'quorumEvident')
    })
  }
})

describe('rankReseedCandidates', () => {
  it('orders by raftIndex, then term, then revision, then clientUrl; drops members that did not answer', () => {
    const ranked = rankReseedCandidates([
      probe('http://e', {index: 50, term: 3, rev: 9}),
      probe('http://a', {down: true}),
      probe('http://d', {index: 50, term: 3, rev: 9}),
      probe('http://b', {index: 50, term: 4, rev: 1}),
      probe('http://c', {index: 70, term: 2, rev: 1}),
      probe('http://f', {index: 50, term: 3, rev: 10}),
      probe('http://g', {index: 10, term: 9, rev: 99}),
    ])
    assert.deepEqual(
      ranked.map((r) => r.clientUrl),
      ['http://c', 'http://b', 'http://f', 'http://d', 'http://e', 'http://g'],
    )
    assert.deepEqual(ranked[0], {clientUrl: 'http://c', memberId: 'c', raftIndex: 70, raftTerm: 2, revision: 1})
  })
  it('is empty when nobody answered, and does not mutate its input', () => {
    const input = [probe('x', {down: true}), probe('y', {index: 1}), probe('z', {index: 2})]
    const copy = structuredClone(input)
    assert.deepEqual(rankReseedCandidates([input[0]!]), [])
    rankReseedCandidates(input)
    assert.deepEqual(input, copy)
  })
})

describe('etcd error classification', () => {
  const table: Array<[string, string]> = [
    ['14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9', 'UNREACHABLE'],
    ['4 DEADLINE_EXCEEDED: Deadline exceeded after 2.000s', 'TIMEOUT'],
    ['etcdserver: request timed out', 'TIMEOUT'],
    ['etcdserver: no leader', 'NO_LEADER'],
    ['14 UNAVAILABLE: etcdserver: unhealthy cluster', 'UNHEALTHY_CLUSTER'],
    ['5 NOT_FOUND: etcdserver: member not found', 'MEMBER_NOT_FOUND'],
    ['9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader', 'LEARNER_NOT_READY'],
    ['9 FAILED_PRECONDITION: etcdserver: too many learner members in cluster', 'TOO_MANY_LEARNERS'],
    ['14 UNAVAILABLE: etcdserver: rpc not supported for learner', 'LEARNER_REFUSED'],
    ['9 FAILED_PRECONDITION: etcdserver: member ID already exist', 'PEER_URL_EXISTS'],
    ['etcdserver: Peer URLs already exists', 'PEER_URL_EXISTS'],
    ['etcdserver: the member has been permanently removed from the cluster', 'REMOVED'],
    ['9 FAILED_PRECONDITION: etcdserver: can only promote a learner member', 'UNKNOWN'],
    ['8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded', 'NOSPACE'],
    ['11 OUT_OF_RANGE: mvcc: required revision has been compacted', 'COMPACTED'],
    ['11 OUT_OF_RANGE: mvcc: required revision is a future revision', 'FUTURE_REVISION'],
    ['C0E9:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:rec_layer_s3.c:1601:SSL alert number 42', 'TLS'],
    ['self-signed certificate in certificate chain', 'TLS'],
    ['unable to verify the first certificate', 'TLS'],
    ['something else', 'UNKNOWN'],
  ]
  for (const [msg, code] of table) {
    it(`${code} ← ${msg.slice(0, 60)}`, () => assert.equal(classifyEtcdMessage(msg), code))
  }
  it('toEtcdError keeps EtcdErrors and names the endpoint', () => {
    const e = toEtcdError(new Error('etcdserver: no leader'), 'http://h:1', 'status')
    assert.ok(e instanceof EtcdError)
    assert.equal(e.code, 'NO_LEADER')
    assert.equal(e.endpoint, 'http://h:1')
    assert.match(e.message, /status on http:\/\/h:1 failed \(NO_LEADER\)/)
    assert.equal(toEtcdError(e), e)
    assert.equal(toEtcdError('weird').code, 'UNKNOWN')
  })
})
