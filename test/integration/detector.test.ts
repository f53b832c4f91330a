/**
 * Mesos master detection against a real ZooKeeper: registered masters, leader changes, the real znode data
 * recorded from Mesos 1.12 (fixture 10), waitForLeader timeouts.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import zookeeper from 'node-zookeeper-client'
import {ZkClient} from '../../src/lib/zk/client.js'
import {ZkUrlError} from '../../src/lib/zk/url.js'
import {
  createMasterDetector,
  parseMasterInfoJson,
  registerMaster,
  type DetectedMaster,
  type MasterDetector,
} from '../../src/lib/mesos/detector.js'
import {MasterAddressError} from '../../src/lib/mesos/master-address.js'
import type {MasterInfo} from '../../src/lib/mesos/types.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {waitFor} from '../helpers/ports.js'

const FIXTURE = new URL('../fixtures/real-mesos/10-zk-and-redirect.json', import.meta.url)

interface FixtureStep {
  seq: number
  request: {op?: string; path?: string} | null
  response: {children?: string[]; data?: unknown; data_text_exact?: string} | null
}

let server: ZkServer | undefined
const closers: {close(): Promise<void>}[] = []

async function zkClient(): Promise<ZkClient> {
  const c = await ZkClient.connect(server!.url)
  closers.push(c)
  return c
}

async function detector(master: string): Promise<MasterDetector> {
  const d = await createMasterDetector(master)
  closers.push(d)
  return d
}

function masterInfo(port: number, id: string): MasterInfo {
  // Deliberately in Mesos' field order (not sorted), like master.cpp builds it.
  return {
    id,
    ip: 16777343,
    port,
    pid: `master@127.0.0.1:${port}`,
    hostname: '127.0.0.1',
    version: '1.12.0',
    address: {hostname: '127.0.0.1', ip: '127.0.0.1', port},
    capabilities: [{type: 'AGENT_UPDATE'}, {type: 'AGENT_DRAINING'}, {type: 'QUOTA_V2'}],
  }
}

before(async () => {
  server = await startZooKeeper()
})

after(async () => {
  for (const c of closers) await c.close()
  await destroyZooKeeper(server)
})

/** Sets a znode's ACL through a raw session authenticated as digest alice (the owner after the first change). */
async function setAcl(path: string, acls: unknown[]): Promise<void> {
  const raw = zookeeper.createClient(`127.0.0.1:${server!.port}`)
  raw.addAuthInfo('digest', Buffer.from('alice:secret'))
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connected', () => raw.setACL(path, acls, -1, (e: unknown) => (e ? reject(e) : resolve())))
      raw.connect()
    })
  } finally {
    raw.close()
  }
}

describe('master detection', {timeout: 60_000}, () => {
  it('static host:port detector', async () => {
    const d = await detector('127.0.0.1:5050')
    assert.deepEqual(d.current(), {host: '127.0.0.1', port: 5050, scheme: 'http'})
    assert.deepEqual(await d.waitForLeader(10), {host: '127.0.0.1', port: 5050, scheme: 'http'})
    await assert.rejects(createMasterDetector('127.0.0.1'), MasterAddressError)
    await assert.rejects(createMasterDetector('zk://h1:abc/mesos'), ZkUrlError)
  })

  it('two registered masters: the lowest sequence leads; closing its session hands over', async () => {
    const m1 = await zkClient()
    const m2 = await zkClient()
    const p1 = await registerMaster(m1, '/mesos-a', masterInfo(5060, 'id-5060'))
    const p2 = await registerMaster(m2, '/mesos-a', masterInfo(5061, 'id-5061'))
    assert.match(p1, /^\/mesos-a\/json\.info_\d{10}$/)
    assert.ok(p1 < p2)
    // the replicated log's folder must be ignored
    await m1.mkdirp('/mesos-a/log_replicas')
    await m1.create('/mesos-a/log_replicas/0000000000', Buffer.from('log-replica(1)@127.0.0.1:5060'))

    const d = await detector(`${server!.url}/mesos-a`)
    assert.equal(d.current()?.port, 5060, 'current() is ready when createMasterDetector resolves')
    assert.equal(d.current()?.host, '127.0.0.1')
    assert.equal(d.current()?.info?.id, 'id-5060')
    const seen: (DetectedMaster | null)[] = []
    d.on('leader', (m: DetectedMaster | null) => seen.push(m))

    await m1.close() // the leading master dies
    await waitFor('the detector to report the second master', () => seen.length >= 1, 10_000, 20)
    assert.deepEqual(
      seen.map((m) => m?.port),
      [5061],
    )
    assert.equal(d.current()?.info?.id, 'id-5061')

    await m2.close()
    await waitFor('no leader', () => seen.length >= 2, 10_000, 20)
    assert.equal(seen[1], null)
    assert.equal(d.current(), null)
  })

  it("a failed read of the new leader's znode at failover is retried until it succeeds (no stale master)", async () => {
    const m1 = await zkClient()
    const m2 = await zkClient()
    await registerMaster(m1, '/mesos-acl', masterInfo(5090, 'id-5090'))
    const p2 = await registerMaster(m2, '/mesos-acl', masterInfo(5091, 'id-5091'))
    const d = await detector(`${server!.url}/mesos-acl`)
    assert.equal(d.current()?.port, 5090)
    const seen: (number | null)[] = []
    d.on('leader', (m: DetectedMaster | null) => seen.push(m?.port ?? null))

    // The second master's znode becomes unreadable for the detector (anonymous): ZooKeeper answers NO_AUTH.
    const {ACL, Id, Permission} = zookeeper
    await setAcl(p2, [new ACL(Permission.ALL, new Id('auth', ''))])
    await assert.rejects(m1.get(p2), /NoAuth|NO_AUTH|not authenticated/i, 'the anonymous read really fails')

    await m1.close() // the leading master dies: the detector must read p2, and cannot
    await waitFor('the detector to drop the dead master', () => seen.includes(null), 10_000, 20)
    assert.equal(d.current(), null, 'not left on the dead master')
    // Nothing about the children changes from now on: only a retry can find the new leader.
    await setAcl(p2, [new ACL(Permission.ALL, new Id('world', 'anyone'))])
    await waitFor('the detector to report the new leader', () => d.current()?.port === 5091, 20_000, 20)
    assert.equal(d.current()?.info?.id, 'id-5091')
    assert.deepEqual(seen, [null, 5091])
  })

  it('reads the real znodes recorded from Mesos 1.12 (fixture 10)', async () => {
    const fx = JSON.parse(await fs.readFile(FIXTURE, 'utf8')) as {steps: FixtureStep[]}
    const listing = fx.steps.find((s) => s.request?.op === 'getChildren2' && s.request.path === '/mesos')
    const datas = fx.steps.filter((s) => s.request?.op === 'getData' && s.seq < 10)
    assert.deepEqual(listing?.response?.children, ['json.info_0000000001', 'json.info_0000000002', 'log_replicas'])
    assert.equal(datas.length, 2)

    // Pure parse of the exact bytes.
    const first = parseMasterInfoJson(Buffer.from(datas[0]!.response!.data_text_exact!, 'utf8'))
    assert.deepEqual([first.host, first.port, first.scheme], ['127.0.0.1', 5060, 'http'])
    assert.equal(first.info?.id, '4279f0d5-dd8d-4bdf-93bc-52bd30fba658')
    assert.equal(first.info?.ip, 16777343)

    // registerMaster writes byte-identical data (keys sorted recursively, like Mesos).
    const zk = await zkClient()
    const info = JSON.parse(datas[1]!.response!.data_text_exact!) as MasterInfo
    const shuffled: MasterInfo = {
      version: info.version,
      port: info.port,
      id: info.id,
      ip: info.ip,
      pid: info.pid,
      hostname: info.hostname,
      capabilities: info.capabilities,
      address: {port: info.address!.port, ip: info.address!.ip, hostname: info.address!.hostname},
    }
    const reg = await registerMaster(zk, '/fixture-reg', shuffled)
    assert.equal((await zk.get(reg))?.data.toString('utf8'), datas[1]!.response!.data_text_exact)

    // Recreate the real tree (same names, same bytes) and detect from it.
    await zk.mkdirp('/fixture/mesos/log_replicas')
    for (const s of datas) await zk.create(`/fixture${s.request!.path!}`, Buffer.from(s.response!.data_text_exact!, 'utf8'))
    await zk.create('/fixture/mesos/log_replicas/0000000000', Buffer.from('log-replica(1)@127.0.0.1:5060'))
    const d = await detector(`${server!.url}/fixture/mesos`)
    assert.deepEqual([d.current()?.host, d.current()?.port], ['127.0.0.1', 5060])
    await zk.remove('/fixture/mesos/json.info_0000000001') // like the SIGKILL in the recording
    await waitFor('the second master to lead', () => d.current()?.port === 5061, 10_000, 20)
    assert.equal(d.current()?.info?.id, '0cce95a9-34f5-45bd-a372-f7fd99070386')
  })

  it('ignores unparsable json nodes, and legacy info_ nodes unless there is no json one', async () => {
    const zk = await zkClient()
    await zk.mkdirp('/mixed')
    await zk.create('/mixed/info_0000000000', Buffer.from('\n\x03abc"\x14master@10.9.9.9:5050', 'latin1'))
    const d = await detector(`${server!.url}/mixed`)
    assert.deepEqual([d.current()?.host, d.current()?.port], ['10.9.9.9', 5050], 'legacy node used while alone')
    await zk.create('/mixed/json.info_0000000001', Buffer.from('{"garbage'))
    await zk.create('/mixed/json.info_0000000002', Buffer.from(JSON.stringify(masterInfo(5070, 'ok'))))
    await waitFor('the parsable json node to win', () => d.current()?.port === 5070, 10_000, 20)
    assert.equal(d.current()?.info?.id, 'ok')
  })

  it('waitForLeader: clear timeout error, and resolves when a master registers later under a missing path', async () => {
    const d = await detector(`zk://user:secret@127.0.0.1:${server!.port}/not/yet/mesos`)
    assert.equal(d.current(), null)
    await assert.rejects(d.waitForLeader(300), (err: unknown) => {
      assert.ok(err instanceof Error)
      assert.equal(err.message, `no Mesos master is registered under zk://user:***@127.0.0.1:${server!.port}/not/yet/mesos after 0.3s`)
      return true
    })
    const ac = new AbortController()
    const aborted = d.waitForLeader(60_000, ac.signal)
    ac.abort(new Error('shutting down'))
    await assert.rejects(aborted, /shutting down/)

    const waiting = d.waitForLeader(10_000)
    const zk = await zkClient()
    await registerMaster(zk, '/not/yet/mesos', masterInfo(5080, 'late'))
    const m = await waiting
    assert.deepEqual([m.host, m.port, m.info?.id], ['127.0.0.1', 5080, 'late'])
  })
})
