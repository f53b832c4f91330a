/**
 * maintenance.ts (compact, defragment, alarm list / disarm through etcd's JSON gateway) and the probe's disk-space
 * facts (MemberStatus.dbSizeInUse, MemberProbe.alarms) against REAL etcd 3.4 on loopback:
 * - compaction removes the old revisions (a read at one of them is refused "compacted"); compacting again to the
 *   same revision is COMPACTED, to a future one FUTURE_REVISION; both errors name the member;
 * - defragment shrinks the db after deletes (dbSize from status, before/after), and dbSizeInUse < dbSize before;
 * - a NOSPACE alarm really raised by filling a member started with --quota-backend-bytes=16MiB: listed (by
 *   listAlarms and by the probe), writes refused ("database space exceeded", NOSPACE), then compact + defragment +
 *   disarm → writes accepted again, no alarm left;
 * - an unreachable member is UNREACHABLE, a hung one TIMEOUT (bounded), and a probe whose alarm list fails (a
 *   forwarder breaks only that call) stays healthy with its alarms unknown.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {startEtcdCluster, putKey, type EtcdCluster} from '../helpers/etcd.js'
import {freePort, waitFor} from '../helpers/ports.js'
import {rejectsWithCode} from '../helpers/etcd-errors.js'
import {EtcdGateway} from '../../src/lib/etcd/gateway.js'
import {probeMembers} from '../../src/lib/etcd/probe.js'
import {compact, defragment, disarmAlarm, listAlarms} from '../../src/lib/etcd/maintenance.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

/** A range of `key` at `revision` through the JSON gateway: the HTTP status and the body text. */
async function rangeAt(url: string, key: string, revision: number): Promise<{status: number; text: string}> {
  const res = await fetch(`${url}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key), revision}),
    signal: AbortSignal.timeout(5000),
  })
  return {status: res.status, text: await res.text()}
}

/** Puts `value` under `key`; the etcd error text when refused, undefined when accepted. */
async function tryPut(url: string, key: string, value: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key), value: b64(value)}),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  return res.status === 200 && !/"error"/.test(text) ? undefined : text
}

async function deleteKey(url: string, key: string): Promise<void> {
  const res = await fetch(`${url}/v3/kv/deleterange`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key)}),
    signal: AbortSignal.timeout(5000),
  })
  assert.equal(res.status, 200, await res.text())
}

describe('compact and defragment on a real 1-member cluster', {timeout: 120_000}, () => {
  let cluster: EtcdCluster
  let gw: EtcdGateway
  before(async () => {
    cluster = await startEtcdCluster(1)
    gw = new EtcdGateway(cluster.endpoints[0]!, {timeoutMs: 5000})
  })
  after(async () => {
    await gw?.close()
    await cluster?.stop()
  })

  it('compaction removes the old revisions; compacting again or ahead is refused, typed and naming the member', async () => {
    const url = cluster.endpoints[0]!
    await putKey(url, 'c', 'v1')
    const old = (await gw.status()).revision
    await putKey(url, 'c', 'v2')
    await putKey(url, 'c', 'v3')
    const current = (await gw.status()).revision
    assert.equal((await rangeAt(url, 'c', old)).status, 200, 'the old revision is readable before compaction')
    await compact(url, current, {physical: true})
    const after = await rangeAt(url, 'c', old)
    assert.match(after.text, /required revision has been compacted/)
    assert.equal((await rangeAt(url, 'c', current)).status, 200, 'the compaction revision itself stays readable')
    const again = await rejectsWithCode(compact(url, current), ['COMPACTED'])
    assert.ok(again.message.includes(url), again.message)
    const ahead = await rejectsWithCode(compact(url, current + 1000), ['FUTURE_REVISION'])
    assert.ok(ahead.message.includes(url), ahead.message)
    await assert.rejects(compact(url, 0), /revision/)
  })

  it('defragment shrinks the db after deletes; dbSizeInUse < dbSize before it', async () => {
    const url = cluster.endpoints[0]!
    const value = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 128; i++) await putKey(url, `big/${i}`, value) // ~8 MiB
    for (let i = 0; i < 128; i++) await deleteKey(url, `big/${i}`)
    await compact(url, (await gw.status()).revision, {physical: true})
    // bbolt frees the compacted pages at a later commit (once no reader holds them): nudge with small writes.
    let last = await gw.status()
    const before = await waitFor(
      'dbSizeInUse to fall below half of dbSize after the compaction',
      async () => {
        await putKey(url, 'nudge', String(Date.now()))
        last = await gw.status()
        return last.dbSizeInUse !== undefined && last.dbSizeInUse < last.dbSize / 2 ? last : undefined
      },
      30_000,
      300,
    ).catch(() => assert.fail(`in use ${last.dbSizeInUse} of ${last.dbSize} after the deletes and the compaction`))
    assert.ok(before)
    assert.ok(before.dbSize > 8 * 1024 * 1024, `dbSize ${before.dbSize}`)
    assert.ok(typeof before.dbSizeInUse === 'number' && before.dbSizeInUse > 0, `dbSizeInUse ${before.dbSizeInUse}`)
    await defragment(url)
    const after = await gw.status()
    assert.ok(after.dbSize < before.dbSize / 2, `dbSize ${before.dbSize} → ${after.dbSize}`)
    assert.equal(await tryPut(url, 'after-defrag', 'ok'), undefined)
  })

  it('no alarms on a healthy member; disarming an alarm that is not raised is a no-op', async () => {
    const url = cluster.endpoints[0]!
    assert.deepEqual(await listAlarms(url), [])
    const memberId = (await gw.status()).memberId
    await disarmAlarm(url, {memberId, alarm: 'NOSPACE'})
    assert.deepEqual(await listAlarms(url), [])
    const [probe] = await probeMembers([url], {timeoutMs: 5000})
    assert.deepEqual(probe?.alarms, [])
    await assert.rejects(disarmAlarm(url, {memberId: 'abc', alarm: 'NOSPACE'}), /memberId/)
    await assert.rejects(disarmAlarm(url, {memberId, alarm: 'FULL' as 'NOSPACE'}), /alarm/)
  })
})

describe('NOSPACE on a real member started with --quota-backend-bytes=16MiB', {timeout: 300_000}, () => {
  let cluster: EtcdCluster
  let gw: EtcdGateway
  before(async () => {
    cluster = await startEtcdCluster(1, {extraArgs: [`--quota-backend-bytes=${16 * 1024 * 1024}`]})
    gw = new EtcdGateway(cluster.endpoints[0]!, {timeoutMs: 10_000})
  })
  after(async () => {
    await gw?.close()
    await cluster?.stop()
  })

  it('filling it raises NOSPACE (listed, writes refused); compact + defragment + disarm → writes accepted again', async () => {
    const url = cluster.endpoints[0]!
    const memberId = (await gw.status()).memberId
    // Overwrite a few keys: the history fills the backend (what compaction + defragmentation can reclaim).
    const value = 'n'.repeat(256 * 1024)
    let refused: string | undefined
    for (let i = 0; i < 2000 && refused === undefined; i++) refused = await tryPut(url, `fill/${i % 4}`, value)
    assert.ok(refused, 'the member never refused a write')
    assert.match(refused, /database space exceeded/)

    assert.deepEqual(await listAlarms(url), [{memberId, alarm: 'NOSPACE'}])
    const [probe] = await probeMembers([url], {timeoutMs: 10_000})
    assert.deepEqual(probe?.alarms, [{memberId, alarm: 'NOSPACE'}])
    assert.ok(probe?.status?.dbSizeInUse !== undefined && probe.status.dbSizeInUse > 0)
    assert.match(String(await tryPut(url, 'small', 'x')), /database space exceeded/, 'even a small write is refused')

    await compact(url, (await gw.status()).revision, {physical: true})
    await defragment(url)
    assert.match(String(await tryPut(url, 'small', 'x')), /database space exceeded/, 'still refused until disarmed')
    const sized = await gw.status()
    assert.ok(sized.dbSize < 8 * 1024 * 1024, `dbSize after defragment ${sized.dbSize}`)
    await disarmAlarm(url, {memberId, alarm: 'NOSPACE'})
    assert.deepEqual(await listAlarms(url), [])
    assert.equal(await tryPut(url, 'small', 'x'), undefined, 'writes accepted again')
  })
})

describe('maintenance calls on an unreachable or hung member', {timeout: 90_000}, () => {
  let cluster: EtcdCluster
  before(async () => {
    cluster = await startEtcdCluster(1)
  })
  after(async () => {
    const pid = cluster?.members[0]?.pid()
    if (pid !== undefined) process.kill(pid, 'SIGCONT')
    await cluster?.stop()
  })

  it('UNREACHABLE and TIMEOUT (bounded), naming the member; bad endpoints refused', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    for (const p of [listAlarms(dead), defragment(dead), compact(dead, 5), disarmAlarm(dead, {memberId: '1', alarm: 'NOSPACE'})]) {
      const e = await rejectsWithCode(p, ['UNREACHABLE'])
      assert.ok(e.message.includes(dead), e.message)
    }
    await assert.rejects(listAlarms('127.0.0.1:2379'), /not an http\(s\):\/\/host:port URL/)
    const url = cluster.endpoints[0]!
    process.kill(cluster.members[0]!.pid()!, 'SIGSTOP')
    const e = await rejectsWithCode(defragment(url, {timeoutMs: 1500}), ['TIMEOUT'])
    assert.ok(e.message.includes(url) && /defragment/.test(e.message), e.message)
    await rejectsWithCode(listAlarms(url, {timeoutMs: 1500}), ['TIMEOUT'])
    process.kill(cluster.members[0]!.pid()!, 'SIGCONT')
    await waitFor('the resumed member to answer', () => listAlarms(url).catch(() => undefined), 15_000, 200)
  })
})

describe('the probe when the alarm list fails but the member is healthy', {timeout: 90_000}, () => {
  let cluster: EtcdCluster
  let proxy: http.Server
  let proxyUrl: string
  before(async () => {
    cluster = await startEtcdCluster(1)
    // A forwarder to the member that answers every alarm call with a gateway error.
    const target = cluster.endpoints[0]!
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (req.url === '/v3/maintenance/alarm') {
          res.writeHead(503, {'content-type': 'application/json'})
          res.end(JSON.stringify({error: 'alarm list broken by the test', code: 14}))
          return
        }
        fetch(`${target}${req.url}`, {method: 'POST', body: Buffer.concat(chunks), signal: AbortSignal.timeout(5000)}).then(
          async (r) => {
            res.writeHead(r.status, {'content-type': 'application/json'})
            res.end(await r.text())
          },
          () => res.destroy(),
        )
      })
    })
    const port = await freePort()
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve))
    proxyUrl = `http://127.0.0.1:${port}`
  })
  after(async () => {
    proxy?.closeAllConnections()
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)))
    await cluster?.stop()
  })

  it('stays healthy (reachable, read ok, no error) with its alarms unknown and the reason recorded', async () => {
    const [probe] = await probeMembers([proxyUrl], {timeoutMs: 5000})
    assert.ok(probe)
    assert.equal(probe.reachable, true)
    assert.equal(probe.readOk, true)
    assert.equal(probe.error, undefined)
    assert.equal(probe.alarms, undefined)
    assert.match(String(probe.alarmsError), /alarm list.*alarm list broken by the test/)
    assert.ok(probe.status && probe.status.dbSize > 0 && probe.status.dbSizeInUse !== undefined && probe.status.dbSizeInUse > 0)
  })
})
