/**
 * ZkClient and LeaderElection against a real ZooKeeper 3.8 (test/helpers/zookeeper.ts). The compare-and-set
 * store (src/lib/zk/store.ts) is tested through the product's state store: test/integration/state-store.test.ts.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import zookeeper from 'node-zookeeper-client'
import {ZkClient, ZkError, type ZkState} from '../../src/lib/zk/client.js'
import {LeaderElection, readLeader, type Candidate} from '../../src/lib/zk/election.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {freePort, waitFor} from '../helpers/ports.js'

let server: ZkServer | undefined
const clients: ZkClient[] = []

async function client(url = server!.url, opts: Parameters<typeof ZkClient.connect>[1] = {}): Promise<ZkClient> {
  const c = await ZkClient.connect(url, opts)
  clients.push(c)
  return c
}

function isZkError(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ZkError, `expected ZkError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  }
}

before(async () => {
  server = await startZooKeeper()
  console.log(`# ZooKeeper started in ${server.startMs} ms on port ${server.port}`)
})

after(async () => {
  for (const c of clients) await c.close()
  await destroyZooKeeper(server)
})

describe('ZkClient', {timeout: 60_000}, () => {
  it('creates, reads, sets with versions, lists and removes nodes', async () => {
    const zk = await client()
    assert.equal(zk.state, 'connected')
    await zk.mkdirp('/basic/a/b')
    await zk.mkdirp('/basic/a/b') // idempotent
    assert.equal(await zk.create('/basic/a/b/n', Buffer.from('v0')), '/basic/a/b/n')
    assert.deepEqual(await zk.get('/basic/a/b/n'), {data: Buffer.from('v0'), version: 0})
    assert.equal(await zk.get('/basic/missing'), null)
    assert.equal(await zk.set('/basic/a/b/n', Buffer.from('v1'), 0), 1)
    await assert.rejects(zk.set('/basic/a/b/n', Buffer.from('v2'), 0), isZkError('BAD_VERSION'))
    assert.equal(await zk.set('/basic/a/b/n', Buffer.from('v2'), -1), 2)
    await assert.rejects(zk.create('/basic/a/b/n'), isZkError('NODE_EXISTS'))
    await assert.rejects(zk.remove('/basic/a'), isZkError('NOT_EMPTY'))
    assert.deepEqual(await zk.children('/basic/a/b'), ['n'])
    assert.deepEqual(await zk.children('/basic/none'), [])
    await zk.remove('/basic/a/b/n')
    await assert.rejects(zk.remove('/basic/a/b/n'), isZkError('NO_NODE'))
    await assert.rejects(zk.get('relative/path'), (err: unknown) => err instanceof ZkError && /must start with \//.test(err.message))
  })

  it('ephemeral nodes vanish when their session closes; watchers see it', async () => {
    const a = await client()
    const b = await client()
    await a.mkdirp('/eph')
    const p = await a.create('/eph/n-', Buffer.from('x'), {ephemeral: true, sequential: true})
    assert.match(p, /^\/eph\/n-\d{10}$/)
    const seen: string[][] = []
    const unwatch = b.watchChildren('/eph', (ch) => seen.push(ch))
    await waitFor('the watcher to see the ephemeral node', () => seen.at(-1)?.length === 1, 5000, 20)
    await a.close()
    assert.equal(a.state, 'closed')
    assert.equal(await b.get(p), null)
    await waitFor('the watcher to see the node vanish', () => seen.at(-1)?.length === 0, 5000, 20)
    unwatch()
    await assert.rejects(a.get('/eph'), isZkError('CONNECTION_LOSS'))
  })

  it('watchChildren and watchData survive a node that does not exist yet', async () => {
    const zk = await client()
    const kids: string[][] = []
    const datas: (string | null)[] = []
    const u1 = zk.watchChildren('/later/dir', (ch) => kids.push(ch))
    const u2 = zk.watchData('/later/doc', (v) => datas.push(v ? v.data.toString() : null))
    await waitFor('initial deliveries', () => kids.length === 1 && datas.length === 1, 5000, 20)
    assert.deepEqual([...kids], [[]])
    assert.deepEqual([...datas], [null])
    await zk.mkdirp('/later/dir')
    await zk.create('/later/dir/x')
    await zk.create('/later/doc', Buffer.from('one'))
    await waitFor('child x', () => kids.at(-1)?.join() === 'x', 5000, 20)
    await waitFor('doc one', () => datas.at(-1) === 'one', 5000, 20)
    await zk.set('/later/doc', Buffer.from('two'), -1)
    await waitFor('doc two', () => datas.at(-1) === 'two', 5000, 20)
    await zk.remove('/later/doc')
    await waitFor('doc gone', () => datas.at(-1) === null, 5000, 20)
    u1()
    u2()
    await zk.create('/later/dir/y')
    await zk.children('/later/dir') // a round trip, so a (wrong) watch event would have arrived
    assert.ok(!kids.some((k) => k.includes('y')), 'no delivery after unsubscribe')
  })

  it('digest credentials: world can read, only the creator can write', async () => {
    const owner = await client(`${server!.url.replace('zk://', 'zk://alice:p@ss@')}`)
    const anon = await client()
    const other = await client(server!.url.replace('zk://', 'zk://bob:x@'))
    await owner.mkdirp('/secure/docs')
    await owner.create('/secure/docs/d', Buffer.from('hello'))
    assert.equal((await anon.get('/secure/docs/d'))?.data.toString(), 'hello')
    assert.deepEqual(await anon.children('/secure/docs'), ['d'])
    await assert.rejects(anon.set('/secure/docs/d', Buffer.from('hacked'), -1), isZkError('NO_AUTH'))
    await assert.rejects(anon.create('/secure/docs/e'), isZkError('NO_AUTH'))
    await assert.rejects(other.remove('/secure/docs/d'), isZkError('NO_AUTH'))
    assert.equal(await owner.set('/secure/docs/d', Buffer.from('mine'), 0), 1)
    // the raw ACL is world:anyone READ + digest:alice ALL
    const raw = zookeeper.createClient(`127.0.0.1:${server!.port}`)
    const acls = await new Promise<{permission: number; id: {scheme: string; id: string}}[]>((resolve, reject) => {
      raw.once('connected', () => raw.getACL('/secure/docs/d', (e: unknown, a: never) => (e ? reject(e) : resolve(a))))
      raw.connect()
    })
    raw.close()
    const summary = acls.map((a) => `${a.id.scheme}:${a.id.id.split(':')[0]}:${a.permission}`).sort()
    assert.deepEqual(summary, ['digest:alice:31', 'world:anyone:1'])
  })

  it('drops a connection whose handshake is never answered and reconnects', async () => {
    const proxy = await startProxy(server!.port, 1)
    try {
      const zk = await client(`zk://127.0.0.1:${proxy.port}`, {sessionTimeoutMs: 3000, connectTimeoutMs: 15_000})
      assert.equal(proxy.accepted(), 2, 'the silent first connection was abandoned')
      assert.ok((await zk.children('/')).includes('zookeeper'))
    } finally {
      proxy.close()
    }
  })

  it('connect() to a dead port fails with a clear TIMEOUT error in bounded time', async () => {
    const port = await freePort()
    // Bounded: it ends with our TIMEOUT (the test's own timeout catches a hang; no wall-clock bound, it would depend on load).
    await assert.rejects(ZkClient.connect(`zk://127.0.0.1:${port}/x`, {connectTimeoutMs: 800}), (err: unknown) => {
      assert.ok(err instanceof ZkError && err.code === 'TIMEOUT', String(err))
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
      return true
    })
  })
})

describe('LeaderElection', {timeout: 60_000}, () => {
  it('three candidates: the lowest leads; when its session dies the next one leads', async () => {
    const zks = [await client(), await client(), await client()]
    const elections = zks.map((zk, i) => new LeaderElection(zk, '/election/c1', {adminUrl: `http://127.0.0.1:${9000 + i}`, n: i}))
    const events: string[][] = [[], [], []]
    elections.forEach((e, i) => {
      e.on('leader', () => events[i]!.push('leader'))
      e.on('standby', (l: Candidate | null) => events[i]!.push(`standby:${l?.data.n ?? 'none'}`))
    })
    for (const e of elections) await e.start() // sequential: 0 gets the lowest sequence
    await waitFor('all three to see 3 candidates', () => elections.every((e) => e.candidates().length === 3), 5000, 20)
    await waitFor('candidate 0 to lead', () => elections[0]!.isLeader, 5000, 20)
    assert.deepEqual(
      elections.map((e) => e.isLeader),
      [true, false, false],
    )
    for (const e of elections) assert.equal(e.leader()?.data.n, 0)
    const seqs = elections[0]!.candidates().map((c) => c.seq)
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    )
    assert.equal((await readLeader(zks[2]!, '/election/c1'))?.id, elections[0]!.id)
    assert.equal(elections[0]!.leader()?.data.adminUrl, 'http://127.0.0.1:9000')
    await waitFor('standby events', () => events[1]!.includes('standby:0') && events[2]!.includes('standby:0'), 5000, 20)

    await zks[0]!.close() // the leader's session ends
    await waitFor('candidate 1 to become leader', () => elections[1]!.isLeader, 10_000, 20)
    assert.deepEqual(events[1], ['standby:0', 'leader'])
    await waitFor('candidate 2 to follow the new leader', () => events[2]!.at(-1) === 'standby:1', 5000, 20)
    assert.equal(elections[2]!.isLeader, false)
    assert.equal(elections[2]!.candidates().length, 2)

    await elections[1]!.stop() // stop() removes the own node
    await waitFor('candidate 2 to lead', () => elections[2]!.isLeader, 10_000, 20)
    assert.deepEqual((await zks[2]!.children('/election/c1')).length, 1)
    await elections[2]!.stop()
    assert.equal(await readLeader(zks[2]!, '/election/c1'), null)
  })

  it('a candidate node that cannot be read is retried until it can (the shared drain of zk/drain.ts)', async () => {
    const zk = await client()
    const a = new LeaderElection(zk, '/election/c3', {who: 'a'})
    await a.start()
    await waitFor('a leads', () => a.isLeader, 5000, 20)
    // A lower-ranked candidate whose node only its owner may read: a's read of it fails with NO_AUTH.
    const {ACL, Id, Permission, CreateMode} = zookeeper
    const raw = zookeeper.createClient(`127.0.0.1:${server!.port}`)
    raw.addAuthInfo('digest', Buffer.from('carol:pw'))
    try {
      const node = await new Promise<string>((resolve, reject) => {
        raw.once('connected', () =>
          raw.create(
            '/election/c3/candidate_',
            Buffer.from('{"id":"x","who":"hidden"}'),
            [new ACL(Permission.ALL, new Id('auth', ''))],
            CreateMode.EPHEMERAL_SEQUENTIAL,
            (e: unknown, p: string) => (e ? reject(e) : resolve(p)),
          ),
        )
        raw.connect()
      })
      await assert.rejects(zk.get(node), isZkError('NO_AUTH'))
      await zk.children('/election/c3') // a round trip: a's watch has fired and its read failed (or is retrying)
      assert.equal(a.candidates().length, 1, 'the unreadable candidate is not listed yet')
      await new Promise<void>((resolve, reject) =>
        raw.setACL(node, [new ACL(Permission.ALL, new Id('world', 'anyone'))], -1, (e: unknown) => (e ? reject(e) : resolve())),
      )
      await waitFor('a to list the candidate once it can be read', () => a.candidates().length === 2, 20_000, 20)
      assert.equal(a.candidates()[1]?.data.who, 'hidden')
      assert.ok(a.isLeader)
    } finally {
      raw.close()
      await a.stop()
    }
  })

  it('ZooKeeper unreachable while a candidate starts: start() does not fail; it joins once ZooKeeper answers', async () => {
    const proxy = await startProxy(server!.port)
    const zk = await client(`zk://127.0.0.1:${proxy.port}`, {sessionTimeoutMs: 4000})
    await zk.mkdirp('/election/c3')
    const a = new LeaderElection(zk, '/election/c3', {who: 'a'})
    try {
      proxy.block() // the create of a's candidate node gets no answer (a serve whose standby starts as ZooKeeper goes away)
      await a.start() // before: rejected with ZkError CONNECTION_LOSS, and serve exited
      assert.equal(a.isLeader, false)
      proxy.unblock()
      await waitFor('a to join the election and lead once ZooKeeper answers', () => a.isLeader, 30_000, 50)
      const nodes = (await zk.children('/election/c3')).filter((n) => n.startsWith('candidate_'))
      assert.equal(nodes.length, 1, `exactly one candidate node: ${nodes.join(', ')}`)
    } finally {
      await a.stop().catch(() => undefined)
      proxy.close()
    }
  })

  it('session expiry (network partition): the leader steps down, a new session re-joins the election', async () => {
    const proxy = await startProxy(server!.port)
    const zkA = await client(`zk://127.0.0.1:${proxy.port}`, {sessionTimeoutMs: 3000})
    const zkB = await client()
    const a = new LeaderElection(zkA, '/election/c2', {who: 'a'})
    const b = new LeaderElection(zkB, '/election/c2', {who: 'b'})
    const aEvents: string[] = []
    a.on('leader', () => aEvents.push('leader'))
    a.on('standby', (l: Candidate | null) => aEvents.push(`standby:${String(l?.data.who ?? 'none')}`))
    const states: ZkState[] = []
    zkA.on('state', (s: ZkState) => states.push(s))
    try {
      await a.start()
      await b.start()
      await waitFor('a leads', () => a.isLeader && b.candidates().length === 2, 5000, 20)

      proxy.block() // A cannot reach ZooKeeper; the server expires its session after ~3 s
      await waitFor("b to lead once a's session expired on the server", () => b.isLeader, 20_000, 50)
      assert.equal(b.candidates().length, 1)
      proxy.unblock()
      await waitFor('a to re-join on a new session', () => zkA.state === 'connected' && b.candidates().length === 2, 20_000, 50)
      assert.ok(states.includes('expired'), `states: ${states.join(',')}`)
      // a learns who leads from its own children watch, which may fire a moment after b saw a's node.
      await waitFor("a's standby event naming b", () => aEvents.at(-1) === 'standby:b', 10_000, 20)
      assert.deepEqual(aEvents, ['leader', 'standby:none', 'standby:b'])
      assert.equal(a.isLeader, false)
      assert.equal(a.leader()?.data.who, 'b')
      assert.equal((await zkB.children('/election/c2')).length, 2, 'exactly one node per candidate')
    } finally {
      await a.stop().catch(() => undefined)
      await b.stop().catch(() => undefined)
      proxy.close()
    }
  })
})

/** A loopback TCP proxy to ZooKeeper that can simulate a network partition. */
async function startProxy(
  target: number,
  silentFirst = 0,
): Promise<{port: number; accepted(): number; block(): void; unblock(): void; close(): void}> {
  let blocked = false
  let accepted = 0
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((down) => {
    if (blocked) return void down.destroy()
    if (++accepted <= silentFirst) {
      // Accept and never answer (like ZooKeeper 3.8 while it loads its database).
      sockets.add(down)
      down.on('close', () => sockets.delete(down))
      down.on('error', () => {})
      return
    }
    const up = net.connect({host: '127.0.0.1', port: target})
    for (const s of [down, up]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    down.pipe(up)
    up.pipe(down)
    down.on('close', () => up.destroy())
    up.on('close', () => down.destroy())
  })
  const port = await freePort()
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve))
  return {
    port,
    accepted: () => accepted,
    block() {
      blocked = true
      for (const s of sockets) s.destroy()
    },
    unblock() {
      blocked = false
    },
    close() {
      for (const s of sockets) s.destroy()
      srv.close()
    },
  }
}

describe('ZooKeeper outage', {timeout: 90_000}, () => {
  let zkSrv: ZkServer | undefined
  after(async () => destroyZooKeeper(zkSrv))

  it('operations fail with a typed error in bounded time and recover after a restart', async () => {
    zkSrv = await startZooKeeper()
    const zk = await client(zkSrv.url, {operationTimeoutMs: 1500, sessionTimeoutMs: 20_000})
    const other = await client(zkSrv.url)
    await zk.mkdirp('/outage')
    const eph = await zk.create('/outage/e', Buffer.from('alive'), {ephemeral: true})
    const kids: string[][] = []
    zk.watchChildren('/outage', (ch) => kids.push(ch))
    await waitFor('initial children', () => kids.length === 1, 5000, 20)

    await zkSrv.stop()
    await waitFor('client to notice', () => zk.state === 'disconnected', 10_000, 20)
    // Bounded: both calls fail with a typed error while ZooKeeper is down (a hang would hit the test's timeout).
    await assert.rejects(zk.get('/outage/e'), (err: unknown) => {
      assert.ok(err instanceof ZkError, String(err))
      assert.ok(err.code === 'TIMEOUT' || err.code === 'CONNECTION_LOSS', err.code)
      assert.match(err.message, /\/outage\/e/)
      return true
    })
    await assert.rejects(zk.create('/outage/x'), (err: unknown) => err instanceof ZkError)

    await zkSrv.start()
    await waitFor('client to reconnect', () => zk.state === 'connected', 20_000, 50)
    assert.equal((await zk.get(eph))?.data.toString(), 'alive', 'same session: ephemeral node kept')
    await waitFor('other client to reconnect', () => other.state === 'connected', 20_000, 50)
    await other.create('/outage/after')
    await waitFor('the watch to work after the restart', () => kids.at(-1)?.includes('after') === true, 10_000, 20)
  })
})
