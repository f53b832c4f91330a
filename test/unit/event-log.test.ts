/** The event log's ring (core/event-log.ts): numbering, bounds, `since`, and continuing a persisted log. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {EventRing, MAX_MESSAGE, parsePersisted} from '../../src/scheduler/core/event-log.js'
import {EVENT_KINDS} from '../../src/scheduler/core/event-types.js'

const AT = '2026-01-01T00:00:00.000Z'

describe('event ring', () => {
  it('numbers events from 1, keeps at most capacity, and answers since(n) oldest first', () => {
    const r = new EventRing(3)
    assert.deepEqual(r.page(0), {events: [], latest: 0})
    const added = r.append(
      [
        {kind: 'launch', member: 'etcd-1', message: 'a'},
        {kind: 'task', message: 'b'},
      ],
      AT,
    )
    assert.deepEqual(
      added.map((e) => e.seq),
      [1, 2],
    )
    assert.deepEqual(added[0], {seq: 1, at: AT, kind: 'launch', member: 'etcd-1', message: 'a'})
    assert.equal('member' in added[1]!, false, 'no member key when none')
    r.append(
      [
        {kind: 'health', message: 'c'},
        {kind: 'health', message: 'd'},
      ],
      AT,
    )
    assert.equal(r.size, 3)
    assert.equal(r.latest, 4)
    assert.deepEqual(
      r.since(0).map((e) => e.seq),
      [2, 3, 4],
      'since older than the oldest kept: all kept',
    )
    assert.deepEqual(
      r.since(3).map((e) => e.seq),
      [4],
    )
    assert.deepEqual(r.since(4), [])
    assert.deepEqual(r.since(99), [])
    assert.deepEqual(
      r.last(2).map((e) => e.seq),
      [3, 4],
    )
  })

  it('keeps messages to one bounded line', () => {
    const r = new EventRing()
    const [e] = r.append([{kind: 'master', message: `line1\nline2\u0007 ${'x'.repeat(2000)}`}], AT)
    assert.ok(!e!.message.includes('\n'))
    assert.ok(!e!.message.includes('\u0007'))
    assert.equal(e!.message.length, MAX_MESSAGE)
  })

  it('never keeps the password of a URL a message quotes (an error naming zk://user:pass@… or s3://…)', () => {
    const r = new EventRing()
    const [e] = r.append(
      [{kind: 'zookeeper', message: 'cannot reach zk://etcd:s3cr3t@zk1:2181/etcd-mesos and https://u:p%40ss@s3.local/b'}],
      AT,
    )
    assert.equal(e!.message, 'cannot reach zk://etcd:***@zk1:2181/etcd-mesos and https://u:***@s3.local/b')
    const p = parsePersisted({version: 1, latest: 1, events: [{seq: 1, at: AT, kind: 'task', message: 'http://a:b@h/'}]})
    assert.ok(typeof p !== 'string')
    assert.equal(p.events[0]!.message, 'http://a:***@h/')
  })

  it('persists the newest events and continues their seq in another ring (a new leader)', () => {
    const a = new EventRing()
    for (let i = 0; i < 10; i++) a.append([{kind: 'task', message: `m${i}`}], AT)
    const doc = JSON.parse(JSON.stringify(a.persisted(4)))
    assert.equal(doc.latest, 10)
    assert.deepEqual(
      doc.events.map((e: {seq: number}) => e.seq),
      [7, 8, 9, 10],
    )
    const b = new EventRing()
    b.append([{kind: 'leadership', message: 'recorded before the history was loaded'}], AT)
    assert.equal(b.continueFrom(doc), null)
    assert.equal(b.latest, 11)
    assert.deepEqual(
      b.since(0).map((e) => [e.seq, e.message]),
      [
        [7, 'm6'],
        [8, 'm7'],
        [9, 'm8'],
        [10, 'm9'],
        [11, 'recorded before the history was loaded'],
      ],
    )
    const [next] = b.append([{kind: 'task', message: 'n'}], AT)
    assert.equal(next!.seq, 12)
  })

  it('a reservation: the next leader continues after the seqs a crashed leader may have used unsaved', () => {
    const a = new EventRing()
    a.append([{kind: 'task', message: 'saved'}], AT)
    const doc = JSON.parse(JSON.stringify(a.persisted(200, 1000)))
    assert.deepEqual([doc.latest, doc.reserved], [1, 1001])
    a.append([{kind: 'task', message: 'emitted, never saved (the leader crashed)'}], AT)
    const b = new EventRing()
    assert.equal(b.continueFrom(doc), null)
    const [next] = b.append([{kind: 'leadership', message: 'new leader'}], AT)
    assert.equal(next!.seq, 1002, 'no seq a client may have seen is reused')
    assert.deepEqual(
      b.since(0).map((e) => e.seq),
      [1, 1002],
    )
    assert.equal(new EventRing().persisted(200).reserved, 0, 'a clean stop reserves nothing beyond latest')
    assert.equal(typeof parsePersisted({version: 1, latest: 5, reserved: 4, events: []}), 'string', 'reserved below latest')
  })

  it('refuses what is not a persisted log, and drops malformed or out-of-order events', () => {
    for (const bad of [null, [], 'x', {version: 2, latest: 1, events: []}, {version: 1, latest: -1, events: []}, {version: 1, latest: 3}])
      assert.equal(typeof parsePersisted(bad), 'string', JSON.stringify(bad))
    const r = new EventRing()
    assert.match(r.continueFrom({version: 1, latest: 'x', events: []}) ?? '', /latest/)
    assert.equal(r.latest, 0, 'nothing changes on a bad document')
    const p = parsePersisted({
      version: 1,
      latest: 9,
      events: [
        {seq: 2, at: AT, kind: 'task', message: 'ok'},
        {seq: 2, at: AT, kind: 'task', message: 'duplicate'},
        {seq: 3, at: AT, kind: 'nonsense', message: 'unknown kind'},
        {seq: 4, at: AT, kind: 'task'},
        {seq: 5, at: AT, kind: 'member', member: 'etcd-2', message: 'ok too'},
        {seq: 12, at: AT, kind: 'task', message: 'beyond latest'},
      ],
    })
    assert.ok(typeof p !== 'string')
    assert.deepEqual(
      p.events.map((e) => e.seq),
      [2, 5],
    )
    assert.equal(r.continueFrom(p), null)
    assert.deepEqual(
      r.since(2).map((e) => e.seq),
      [5],
      'since() copes with gaps',
    )
  })

  it('names every kind of the contract', () => {
    assert.deepEqual([...EVENT_KINDS].sort(), [
      'backup',
      'defrag',
      'health',
      'launch',
      'leadership',
      'livelock',
      'master',
      'member',
      'nospace',
      'reseed',
      'restore',
      'rollout',
      'task',
      'zookeeper',
    ])
  })
})
