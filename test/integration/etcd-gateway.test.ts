/**
 * EtcdGateway (the executor's probe through etcd's JSON gateway, node:http) against REAL etcd 3.4 clusters on
 * loopback, side by side with EtcdAdmin (etcd3/gRPC): the same status fields and member list, a linearizable
 * read that succeeds with a quorum and fails with a typed error without one, a hung member's call bounded by
 * the timeout (and answered again once it resumes), an unreachable endpoint classified UNREACHABLE.
 * TLS (CA, client certificate and key) is covered end to end by tls.test.ts: its members become RUNNING only
 * once the executor's probe answered over https.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {startEtcdCluster, putKey, type EtcdCluster} from '../helpers/etcd.js'
import {freePort, waitFor} from '../helpers/ports.js'
import {EtcdAdmin} from '../../src/lib/etcd/admin.js'
import {rejectsWithCode} from '../helpers/etcd-errors.js'
import {EtcdGateway} from '../../src/lib/etcd/gateway.js'

/** The status fields that do not move on an idle cluster between two calls. */
const stable = (s: Awaited<ReturnType<EtcdGateway['status']>>) => ({...s, raftIndex: 0, raftAppliedIndex: 0, dbSize: 0, dbSizeInUse: 0})

describe('EtcdGateway on a healthy 3-member cluster', {timeout: 90_000}, () => {
  let cluster: EtcdCluster
  let admin: EtcdAdmin
  let gateways: EtcdGateway[]
  before(async () => {
    cluster = await startEtcdCluster(3)
    admin = new EtcdAdmin(cluster.endpoints, {timeoutMs: 3000})
    gateways = cluster.endpoints.map((e) => new EtcdGateway(e, {timeoutMs: 3000}))
    for (let i = 0; i < 5; i++) await putKey(cluster.endpoints[0]!, `k${i}`, `v${i}`)
  })
  after(async () => {
    for (const g of gateways ?? []) await g.close()
    await admin?.close()
    await cluster?.stop()
  })

  it('status answers the same fields as EtcdAdmin.status, member list the same members, the read succeeds', async () => {
    for (const [i, g] of gateways.entries()) {
      const endpoint = cluster.endpoints[i]!
      const [mine, theirs] = [await g.status(), await admin.status(endpoint)]
      assert.deepEqual(stable(mine), stable(theirs))
      assert.ok(mine.raftIndex > 0 && mine.raftAppliedIndex > 0 && mine.dbSize > 0, JSON.stringify(mine))
      assert.ok(mine.dbSizeInUse !== undefined && mine.dbSizeInUse > 0 && mine.dbSizeInUse <= mine.dbSize, JSON.stringify(mine))
      assert.ok(theirs.dbSizeInUse !== undefined && theirs.dbSizeInUse > 0, JSON.stringify(theirs))
      assert.ok(mine.revision >= 6, `revision ${mine.revision} after 5 puts`)
      assert.notEqual(mine.leader, '0')
      const byId = (a: {id: string}, b: {id: string}) => a.id.localeCompare(b.id)
      assert.deepEqual((await g.memberList()).sort(byId), (await admin.memberList()).sort(byId))
      await g.linearizableRead()
    }
  })

  it('an unreachable endpoint is UNREACHABLE; a closed gateway refuses', async () => {
    const g = new EtcdGateway(`http://127.0.0.1:${await freePort()}`, {timeoutMs: 2000})
    await rejectsWithCode(g.status(), ['UNREACHABLE'])
    await g.close()
    await rejectsWithCode(g.status(), ['UNKNOWN'])
    assert.throws(() => new EtcdGateway('127.0.0.1:2379'), /not an http\(s\):\/\/host:port URL/)
  })
})

describe('EtcdGateway on a cluster that lost its quorum (one member hung, one dead)', {timeout: 90_000}, () => {
  let cluster: EtcdCluster
  let admin: EtcdAdmin
  let gw: EtcdGateway
  let hung: EtcdGateway
  before(async () => {
    cluster = await startEtcdCluster(3)
    admin = new EtcdAdmin(cluster.endpoints, {timeoutMs: 1500})
    gw = new EtcdGateway(cluster.endpoints[0]!, {timeoutMs: 1500})
    hung = new EtcdGateway(cluster.endpoints[1]!, {timeoutMs: 1500})
    await hung.status() // a kept-alive connection to the member about to hang
    process.kill(cluster.members[1]!.pid()!, 'SIGSTOP')
    await cluster.members[2]!.kill('SIGKILL')
  })
  after(async () => {
    const m1 = cluster?.members[1]?.pid()
    if (m1 !== undefined) process.kill(m1, 'SIGCONT')
    await gw?.close()
    await hung?.close()
    await admin?.close()
    await cluster?.stop()
  })

  it('status answers with no leader like EtcdAdmin; the read fails typed; a hung member times out, then answers', async () => {
    const survivor = cluster.endpoints[0]!
    await rejectsWithCode(gw.linearizableRead(), ['TIMEOUT', 'NO_LEADER'])
    const status = await waitFor(
      'survivor to lose its leader',
      async () => {
        const s = await gw.status()
        return s.leader === '0' ? s : undefined
      },
      15_000,
      200,
    )
    assert.ok(status)
    assert.ok(
      status.errors.some((e) => /no leader/.test(e)),
      JSON.stringify(status.errors),
    )
    const theirs = await admin.status(survivor)
    assert.equal(theirs.leader, '0')
    assert.deepEqual(stable(status), stable(theirs))

    await rejectsWithCode(hung.status(), ['TIMEOUT'])
    process.kill(cluster.members[1]!.pid()!, 'SIGCONT')
    const back = await waitFor('the resumed member to answer status', () => hung.status().catch(() => undefined), 15_000, 200)
    assert.equal(back?.memberId, (await admin.status(cluster.endpoints[1]!)).memberId)
  })
})
