/**
 * The baseline the scheduler's rolling upgrade follows (issue 16), done by hand on real binaries: a 3-member
 * cluster on Debian 12's etcd 3.4.23, a writer putting keys throughout, then each member in turn (followers
 * first; the leader last, after etcd's MoveLeader through the JSON gateway's /v3/maintenance/transfer-leadership)
 * stopped with SIGTERM and started again on the SAME data dir with Debian 13's etcd 3.5.16.
 *
 * Shown: the cluster version stays 3.4.0 while any member runs 3.4 and becomes 3.5.0 after the last one;
 * every acknowledged write is present; a linearizable read succeeded at every check between steps (a quorum
 * throughout); once the cluster version is 3.5, a 3.4 binary refuses the member's data (no downgrade below the
 * cluster version), which is what src/lib/etcd/versions.ts's rules refuse up front. No timed assertions: every
 * wait is a condition with a generous bound.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {checkRollout, parseVersionAnswer} from '../../src/lib/etcd/versions.js'
import {putKey, quorumReadOk} from '../helpers/etcd.js'
import {
  ETCD34_BIN,
  etcd35Bin,
  getVersion,
  startVersionedCluster,
  type VersionedCluster,
  type VersionedMember,
} from '../helpers/etcd-versions.js'
import {waitFor} from '../helpers/ports.js'

const PREFIX = 'upgrade/'

async function post<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as T
}

interface Status {
  header: {member_id: string}
  leader: string
  raftIndex: string
}
const status = (m: VersionedMember) => post<Status>(`${m.clientUrl}/v3/maintenance/status`, {})

/** Every key under PREFIX (a linearizable range, keys only). */
async function keysUnder(m: VersionedMember): Promise<Set<string>> {
  const end = Buffer.from(PREFIX)
  end[end.length - 1]++
  const body = await post<{kvs?: {key: string}[]}>(`${m.clientUrl}/v3/kv/range`, {
    key: Buffer.from(PREFIX).toString('base64'),
    range_end: end.toString('base64'),
    keys_only: true,
  })
  return new Set((body.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString()))
}

describe('etcd 3.4.23 → 3.5.16, member by member, by hand', () => {
  let bin35: string
  let cluster: VersionedCluster | undefined

  before(async () => {
    bin35 = await etcd35Bin()
    cluster = await startVersionedCluster(3, ETCD34_BIN)
  })
  after(async () => {
    await cluster?.stop()
  })

  it('keeps a quorum and every acknowledged write, and ends on cluster version 3.5.0', async () => {
    const members = cluster!.members
    const live = () => members.filter((m) => m.running())
    const checks: string[] = []
    const quorumCheck = async (label: string) => {
      await waitFor(
        `a linearizable read through a running member (${label})`,
        async () => (await Promise.all(live().map((m) => quorumReadOk(m.clientUrl)))).some(Boolean),
        60_000,
        200,
      )
      checks.push(label)
    }
    const clusterVersions = async () => new Set(await Promise.all(live().map(async (m) => (await getVersion(m.clientUrl)).etcdcluster)))

    // Member ids (for the leader and MoveLeader) and the starting versions.
    const ids = new Map<string, string>()
    for (const m of members) ids.set(m.name, (await status(m)).header.member_id)
    const nameOf = (id: string) => [...ids].find(([, v]) => v === id)?.[0] ?? `unknown member ${id}`
    await waitFor(
      'the cluster version to be decided (3.4.0)',
      async () => (await getVersion(members[0]!.clientUrl)).etcdcluster === '3.4.0',
      60_000,
    )
    const before34 = await Promise.all(members.map(async (m) => parseVersionAnswer(await getVersion(m.clientUrl))))
    const memberVersions = Object.fromEntries(members.map((m, i) => [m.name, before34[i]!.server]))
    assert.deepEqual(checkRollout({clusterVersion: before34[0]!.cluster, memberVersions, target: '3.5.16'}), {ok: true})
    assert.equal(checkRollout({clusterVersion: before34[0]!.cluster, memberVersions, target: '3.6.0'}).ok, false)

    // The writer: one key at a time through a running member, round robin; a key counts once acknowledged.
    const acked = new Set<string>()
    let failedPuts = 0
    let writing = true
    const writer = (async () => {
      for (let seq = 0; writing; seq++) {
        const targets = live()
        const m = targets[seq % Math.max(1, targets.length)]
        const key = `${PREFIX}${String(seq).padStart(6, '0')}`
        try {
          if (!m) throw new Error('no running member')
          await putKey(m.clientUrl, key, `v${seq}`)
          acked.add(key)
        } catch {
          failedPuts++
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    const upgradeOne = async (m: VersionedMember) => {
      await m.stop('SIGTERM')
      await quorumCheck(`${m.name} stopped`)
      await m.startWith(bin35)
      await waitFor(`${m.name} on 3.5 to serve a linearizable read`, () => quorumReadOk(m.clientUrl), 120_000, 200)
      await waitFor(
        `${m.name} to catch up (raft index within 200 of the leader's)`,
        async () => {
          const mine = await status(m)
          const leader = members.find((x) => ids.get(x.name) === mine.leader)
          if (!leader) return false
          return Number((await status(leader)).raftIndex) - Number(mine.raftIndex) <= 200
        },
        120_000,
        200,
      )
      assert.equal((await getVersion(m.clientUrl)).etcdserver, '3.5.16', `${m.name} runs 3.5.16 after its restart`)
      await quorumCheck(`${m.name} back on 3.5.16`)
    }

    const order: string[] = []
    let moved: {from: string; to: string} | undefined
    const pending = new Set(members)
    try {
      await waitFor('a few acknowledged writes on 3.4', () => acked.size >= 20, 60_000)
      await quorumCheck('all on 3.4.23')
      while (pending.size > 0) {
        const leaderId = (await status(live()[0]!)).leader
        let next = [...pending].find((m) => ids.get(m.name) !== leaderId)
        if (next === undefined) {
          // Only the leader is left: move leadership to an upgraded member first (etcd's MoveLeader, sent to the leader).
          const leader = [...pending][0]!
          const to = members.find((m) => !pending.has(m))!
          await post(`${leader.clientUrl}/v3/maintenance/transfer-leadership`, {targetID: ids.get(to.name)})
          await waitFor(`leadership to leave ${leader.name}`, async () => (await status(to)).leader !== ids.get(leader.name), 60_000, 200)
          moved = {from: leader.name, to: nameOf((await status(to)).leader)}
          await quorumCheck(`leadership moved from ${leader.name}`)
          next = leader
        }
        await upgradeOne(next)
        pending.delete(next)
        order.push(next.name)
        if (pending.size > 0) {
          assert.deepEqual([...(await clusterVersions())], ['3.4.0'], 'the cluster version stays 3.4.0 while a member runs 3.4')
        }
      }
      await waitFor(
        'the cluster version 3.5.0 on every member',
        async () => {
          const cv = await clusterVersions()
          return cv.size === 1 && cv.has('3.5.0')
        },
        120_000,
        500,
      )
      await quorumCheck('all on 3.5.16')
      await waitFor('a few acknowledged writes on 3.5', async () => acked.size >= 40 + failedPuts, 60_000)
    } finally {
      writing = false
      await writer
    }

    const present = await keysUnder(members[0]!)
    const lost = [...acked].filter((k) => !present.has(k))
    console.log(
      `upgrade order ${order.join(' → ')}; leadership moved ${moved ? `${moved.from} → ${moved.to}` : 'never (no leader was left last)'}; ` +
        `${acked.size} writes acknowledged, ${failedPuts} failed, ${lost.length} lost; quorum checks: ${checks.length}`,
    )
    assert.deepEqual(lost, [], 'every acknowledged write is present after the upgrade')
    assert.equal(order.length, 3)
    for (const m of members) {
      const v = await getVersion(m.clientUrl)
      assert.deepEqual([v.etcdserver, v.etcdcluster], ['3.5.16', '3.5.0'], `${m.name}'s /version`)
    }

    // The rules now refuse a rollback to 3.4 (cluster version 3.5) ...
    const after35 = await Promise.all(members.map(async (m) => parseVersionAnswer(await getVersion(m.clientUrl))))
    const refused = checkRollout({
      clusterVersion: after35[0]!.cluster,
      memberVersions: Object.fromEntries(members.map((m, i) => [m.name, after35[i]!.server])),
      target: '3.4.23',
    })
    assert.ok(!refused.ok && /no downgrade below the cluster version 3\.5/.test(refused.refused), JSON.stringify(refused))
    // ... and so does etcd 3.4 itself: started on a member's data dir, it exits (the quorum stays with the other two).
    const leaderNow = (await status(members[0]!)).leader
    const follower = members.find((m) => ids.get(m.name) !== leaderNow)!
    await follower.stop('SIGTERM')
    await follower.startWith(ETCD34_BIN)
    await waitFor(`etcd 3.4 on ${follower.name}'s 3.5 data to exit`, () => !follower.running(), 120_000, 200)
    const log = await readFile(follower.logFile, 'utf8')
    const tail = log.slice(log.lastIndexOf(`start ${ETCD34_BIN}`))
    assert.match(tail, /cannot be downgraded|downgrade/i, `etcd 3.4's refusal in ${follower.logFile}`)
    await quorumCheck(`${follower.name}'s 3.4 start refused`)
    await follower.startWith(bin35)
    await waitFor(`${follower.name} back on 3.5`, () => quorumReadOk(follower.clientUrl), 120_000, 200)
  })
})
