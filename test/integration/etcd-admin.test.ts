/**
 * EtcdAdmin, probeMembers and the verdicts against REAL etcd 3.4 clusters on loopback
 * (test/helpers/etcd.ts): membership (list, learner add → start → promote, remove), per-member
 * status, quorum loss on a lone survivor (one peer hung, one dead) and reseed-candidate selection.
 * The full ranking order is covered by test/unit/etcd-verdict.test.ts (two reachable members with
 * different committed indexes cannot be produced on loopback without a network partition).
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {startEtcdCluster, putKey, type EtcdCluster} from '../helpers/etcd.js'
import {waitFor} from '../helpers/ports.js'
import {EtcdAdmin, EtcdError} from '../../src/lib/etcd/admin.js'
import {probeMembers} from '../../src/lib/etcd/probe.js'
import {healthVerdict, rankReseedCandidates} from '../../src/lib/etcd/verdict.js'
import {retryUntil} from '../helpers/retry.js'
import {rejectsWithCode} from '../helpers/etcd-errors.js'

describe('EtcdAdmin on a healthy 3-member cluster', {timeout: 90_000}, () => {
  let cluster: EtcdCluster
  let admin: EtcdAdmin
  before(async () => {
    cluster = await startEtcdCluster(3)
    admin = new EtcdAdmin(cluster.endpoints, {timeoutMs: 3000})
  })
  after(async () => {
    await admin?.close()
    await cluster?.stop()
  })

  it('lists the members and each endpoint reports its own id and the same leader', async () => {
    const members = await admin.memberList()
    assert.deepEqual(members.map((m) => m.name).sort(), ['m0', 'm1', 'm2'])
    for (const m of members) {
      assert.match(m.id, /^[0-9]+$/)
      assert.equal(m.isLearner, false)
      const proc = cluster.members.find((p) => p.name === m.name)!
      assert.deepEqual(m.peerUrls, [proc.peerUrl])
      assert.deepEqual(m.clientUrls, [proc.clientUrl])
    }
    const statuses = await Promise.all(cluster.endpoints.map((e) => admin.status(e)))
    for (const s of statuses) {
      const own = members.find((m) => m.clientUrls.includes(s.endpoint))!
      assert.equal(s.memberId, own.id, `status on ${s.endpoint} answers with its own id`)
      assert.ok(s.raftIndex > 0 && s.raftTerm > 0)
      assert.match(s.version, /^3\.4\./)
    }
    const leaders = new Set(statuses.map((s) => s.leader))
    assert.equal(leaders.size, 1)
    assert.ok(
      members.some((m) => m.id === statuses[0]!.leader),
      'the leader is a member',
    )
    await admin.linearizableRead(cluster.endpoints[1])

    const verdict = healthVerdict(3, await probeMembers(cluster.endpoints, {timeoutMs: 3000}))
    assert.equal(verdict.healthy, true, verdict.reason)
    assert.equal(verdict.leader, statuses[0]!.leader)
    assert.equal(verdict.agreeing, 3)
  })

  it('one alarm list per probe round, not one per member (etcd 3.4 writes a raft entry for each)', async () => {
    const committed = async () => Math.max(...(await Promise.all(cluster.endpoints.map((e) => admin.status(e)))).map((s) => s.raftIndex))
    const before = await committed()
    for (let i = 0; i < 10; i++) {
      const probes = await probeMembers(cluster.endpoints, {timeoutMs: 3000})
      assert.deepEqual(
        probes.map((p) => Array.isArray(p.alarms)),
        [true, false, false],
        'the first member answers the alarm list for the round',
      )
      assert.deepEqual(probes[0]!.alarms, [])
      assert.equal(healthVerdict(3, probes).healthy, true)
    }
    const grew = (await committed()) - before
    assert.ok(grew >= 10 && grew < 20, `10 probe rounds of 3 members committed ${grew} raft entries (one alarm list each: 10)`)
  })

  it('memberList fails over past an unreachable first endpoint', async () => {
    const a = new EtcdAdmin(['http://127.0.0.1:9', ...cluster.endpoints], {timeoutMs: 2000})
    try {
      assert.equal((await a.memberList()).length, 3)
      await rejectsWithCode(a.status('http://127.0.0.1:9'), ['UNREACHABLE'])
    } finally {
      await a.close()
    }
  })

  it('adds a learner, starts it with state existing, promotes it when in sync, then removes it once killed', async () => {
    const extra = await cluster.newMember('m3')
    // etcd refuses reconfigs for ~5 s after its peers connected: retry UNHEALTHY_CLUSTER with backoff.
    const added = await retryUntil(() => admin.memberAdd([extra.peerUrl], {learner: true}), {timeoutMs: 20_000})
    assert.equal(added.member.isLearner, true)
    assert.deepEqual(added.member.peerUrls, [extra.peerUrl])
    assert.equal(added.members.length, 4)
    // a second learner is refused (etcd 3.4: at most one)
    await rejectsWithCode(admin.memberAdd(['http://127.0.0.1:1'], {learner: true}), ['TOO_MANY_LEARNERS'])

    await extra.start({initialClusterState: 'existing'})
    // Through the learner itself first (found by the soak: the scheduler sent promotes to the learner forever):
    // it refuses ("rpc not supported for learner", LEARNER_REFUSED, not applied), so the call moves on to a voter.
    const learnerOnly = new EtcdAdmin([extra.clientUrl], {timeoutMs: 3000})
    const learnerFirst = new EtcdAdmin([extra.clientUrl, ...cluster.endpoints], {timeoutMs: 3000})
    try {
      await waitFor(
        'the learner to refuse a promote sent through itself',
        async () => {
          try {
            await learnerOnly.memberPromote(added.member.id)
          } catch (err) {
            if (err instanceof EtcdError && err.code === 'LEARNER_REFUSED') return true
            if (err instanceof EtcdError && (err.code === 'UNREACHABLE' || err.code === 'TIMEOUT')) return false // not serving yet
            throw err
          }
          throw new Error('a learner accepted a member promote')
        },
        15_000,
        200,
      )
      await retryUntil(() => learnerFirst.memberPromote(added.member.id), {timeoutMs: 30_000})
    } finally {
      await learnerOnly.close()
      await learnerFirst.close()
    }
    const afterPromote = await admin.memberList()
    const promoted = afterPromote.find((m) => m.id === added.member.id)!
    assert.equal(promoted.isLearner, false)
    assert.equal(promoted.name, 'm3')
    await admin.memberPromote(added.member.id) // already a voter: resolves

    await extra.kill('SIGKILL')
    await retryUntil(() => admin.memberRemove(added.member.id), {timeoutMs: 20_000})
    const left = await admin.memberList()
    assert.deepEqual(left.map((m) => m.name).sort(), ['m0', 'm1', 'm2'])
    await rejectsWithCode(admin.memberRemove(added.member.id), ['MEMBER_NOT_FOUND'])
    await admin.linearizableRead()
  })

  it('probeMembers leaves no connection open (concurrent first calls share one client per endpoint)', async () => {
    const port = Number(new URL(cluster.endpoints[0]!).port)
    // Established server-side sockets of that member's client port, from /proc/net/tcp (hex local port, state 01).
    const established = (): number => {
      const hex = port.toString(16).toUpperCase().padStart(4, '0')
      return readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .filter((l) => {
          const f = l.trim().split(/\s+/)
          return f[1]?.endsWith(`:${hex}`) && f[3] === '01'
        }).length
    }
    const before = established()
    for (let i = 0; i < 10; i++) {
      const probes = await probeMembers([cluster.endpoints[0]!], {timeoutMs: 3000})
      assert.equal(probes[0]!.readOk, true)
    }
    // Ten probes each ran status and a read at once: a leaked client would leave ten connections behind.
    await waitFor("the probes' connections to be closed", async () => established() <= before, 10_000, 100)
  })

  it('rejects malformed input before any I/O', async () => {
    await assert.rejects(admin.memberRemove('abc'), /invalid etcd member id/)
    assert.throws(() => new EtcdAdmin([]), /at least one endpoint/)
    assert.throws(() => new EtcdAdmin(['127.0.0.1:2379']), /not an http/)
  })
})

describe('a lone survivor of a 3-member cluster (no quorum: one peer hung, one dead)', {timeout: 60_000}, () => {
  let cluster: EtcdCluster
  let admin: EtcdAdmin
  before(async () => {
    cluster = await startEtcdCluster(3)
    admin = new EtcdAdmin(cluster.endpoints, {timeoutMs: 1500})
    for (let i = 0; i < 10; i++) await putKey(cluster.endpoints[0]!, `k${i}`, 'v')
    // m1 hangs (SIGSTOP: connections accepted, never answered), m2 is dead (connection refused)
    process.kill(cluster.members[1]!.pid()!, 'SIGSTOP')
    await cluster.members[2]!.kill('SIGKILL')
  })
  after(async () => {
    const m1 = cluster?.members[1]?.pid()
    if (m1 !== undefined) process.kill(m1, 'SIGCONT')
    await admin?.close()
    await cluster?.stop()
  })

  it('answers status but fails a quorum read with a typed error within the timeout; verdict unhealthy', async () => {
    const survivor = cluster.endpoints[0]!
    // The typed error is the proof the call was bounded (a timed bound would depend on the machine's load).
    await rejectsWithCode(admin.linearizableRead(survivor), ['TIMEOUT', 'NO_LEADER'])

    // once the election timeout passed, the survivor reports no leader, but still answers
    const status = await waitFor(
      'survivor to lose its leader',
      async () => {
        const s = await admin.status(survivor)
        return s.leader === '0' ? s : undefined
      },
      15_000,
      200,
    )
    assert.ok(status)
    assert.ok(status.raftIndex >= 10)
    assert.ok(status.revision >= 11)
    assert.ok(
      status.errors.some((e) => /no leader/.test(e)),
      JSON.stringify(status.errors),
    )
    assert.equal((await admin.memberList()).length, 3, 'member list is served without quorum')

    const probes = await probeMembers(cluster.endpoints, {timeoutMs: 1500})
    assert.deepEqual(
      probes.map((p) => p.reachable),
      [true, false, false],
    )
    assert.equal(probes[0]!.readOk, false)
    assert.ok(probes[1]!.error && /TIMEOUT/.test(probes[1]!.error), probes[1]!.error)
    assert.ok(probes[2]!.error && /UNREACHABLE/.test(probes[2]!.error), probes[2]!.error)
    // Bounded: the stopped member's probe ended with TIMEOUT above (no wall-clock bound: it would depend on load).
    const verdict = healthVerdict(3, probes)
    assert.equal(verdict.healthy, false)
    assert.equal(verdict.leader, null)
    assert.match(verdict.reason, /no leader/)

    const ranked = rankReseedCandidates(probes)
    assert.equal(ranked.length, 1)
    assert.equal(ranked[0]!.clientUrl, survivor)
    assert.equal(ranked[0]!.memberId, status.memberId)
  })
})
