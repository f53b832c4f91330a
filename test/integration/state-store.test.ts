/**
 * The scheduler's state store on a real ZooKeeper 3.8 (ZkStateStore, the one `serve` uses), including writes
 * whose answer is lost: the client talks to ZooKeeper through a TCP proxy (test/resilience/netproxy.ts) that
 * forwards the request, lets ZooKeeper apply it and drops the answer; the connection is then reset, so the
 * client sees CONNECTION_LOSS for a write that happened.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {ZkClient} from '../../src/lib/zk/client.js'
import {StateConflictError, ZkStateStore} from '../../src/scheduler/state-store.js'
import {NetProxy} from '../resilience/netproxy.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {waitFor} from '../helpers/ports.js'

let server: ZkServer | undefined
const closers: {close(): Promise<void>}[] = []

async function client(url = server!.url): Promise<ZkClient> {
  // A long session (the reset connection resumes it) and generous operation timeouts (a loaded machine).
  const c = await ZkClient.connect(url, {sessionTimeoutMs: 30_000, operationTimeoutMs: 30_000})
  closers.push(c)
  return c
}

async function proxied(): Promise<{proxy: NetProxy; zk: ZkClient}> {
  const proxy = new NetProxy({listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: server!.port})
  await proxy.start()
  closers.push(proxy)
  return {proxy, zk: await client(`zk://127.0.0.1:${proxy.port}`)}
}

async function nodeText(zk: ZkClient, path: string): Promise<string | undefined> {
  return (await zk.get(path))?.data.toString('utf8')
}

/** Saves `doc` through the proxy so that ZooKeeper applies it but its answer is lost (the connection is reset). */
async function saveWithLostAnswer(
  proxy: NetProxy,
  store: ZkStateStore,
  direct: ZkClient,
  path: string,
  doc: {marker: string},
): Promise<{saving: Promise<void>}> {
  proxy.setMode({mode: 'drop-responses-after', match: doc.marker})
  const saving = store.save(doc)
  saving.catch(() => undefined) // observed by the caller
  await waitFor('ZooKeeper to apply the write', async () => (await nodeText(direct, path))?.includes(doc.marker), 20_000, 20)
  return {saving} // (wrapped: an async function returning the promise itself would wait for it)
}

before(async () => {
  server = await startZooKeeper()
})

after(async () => {
  for (const c of closers.reverse()) await c.close()
  await destroyZooKeeper(server)
})

describe('ZkStateStore on ZooKeeper', {timeout: 120_000}, () => {
  it("saves and loads with compare-and-set; a second scheduler's write is a conflict that says what was found", async () => {
    const a = new ZkStateStore(await client(), '/sched/one/state')
    const b = new ZkStateStore(await client(), '/sched/one/state')
    assert.equal(await a.load(), null)
    assert.equal(await b.load(), null)
    await a.save({n: 1})
    await a.save({n: 2})
    assert.deepEqual(await new ZkStateStore(await client(), '/sched/one/state').load(), {n: 2})
    await assert.rejects(b.save({n: 99}), (err: unknown) => {
      assert.ok(err instanceof StateConflictError, String(err))
      assert.equal(err.name, 'StateConflictError')
      assert.match(err.message, /\/sched\/one\/state/)
      assert.match(err.message, /version 1\b/)
      assert.match(err.message, /differs/)
      return true
    })
    assert.deepEqual(await b.load(), {n: 2}, 'nothing overwritten')
    await b.save({n: 3}) // after a reload, b may write
    assert.deepEqual(await new ZkStateStore(await client(), '/sched/one/state').load(), {n: 3})
  })

  it('an update applied by ZooKeeper whose answer is lost is recognised as our own write (no false split brain)', async () => {
    const {proxy, zk} = await proxied()
    const direct = await client()
    const path = '/sched/lost-set/state'
    const store = new ZkStateStore(zk, path)
    assert.equal(await store.load(), null)
    await store.save({n: 1, marker: 'first'})
    const {saving} = await saveWithLostAnswer(proxy, store, direct, path, {marker: 'lost-answer-set-0001'})
    proxy.setMode({mode: 'normal'}) // resets the connection: the client sees CONNECTION_LOSS
    const outcome = await saving.then(
      () => 'saved',
      (err: unknown) => err,
    )
    await store.save({n: 3, marker: 'after'}) // before the fix: BAD_VERSION, "another scheduler", exit
    assert.deepEqual(JSON.parse((await nodeText(direct, path))!), {n: 3, marker: 'after'})
    assert.ok(proxy.stats().resets >= 1, 'the connection really was reset')
    assert.equal(outcome, 'saved', 'the read-back found our own bytes: the lost write itself counts as saved')
  })

  it('a create applied by ZooKeeper whose answer is lost is recognised as our own write', async () => {
    const {proxy, zk} = await proxied()
    const direct = await client()
    const path = '/sched/lost-create/state'
    const store = new ZkStateStore(zk, path)
    assert.equal(await store.load(), null)
    const {saving} = await saveWithLostAnswer(proxy, store, direct, path, {marker: 'lost-answer-create-0001'})
    proxy.setMode({mode: 'normal'})
    const outcome = await saving.then(
      () => 'saved',
      (err: unknown) => err,
    )
    await store.save({marker: 'second'}) // before the fix: NODE_EXISTS, "another scheduler", exit
    assert.deepEqual(JSON.parse((await nodeText(direct, path))!), {marker: 'second'})
    assert.equal(outcome, 'saved')
  })

  it('a write whose answer is lost and that another scheduler overwrote meanwhile is a real conflict', async () => {
    const {proxy, zk} = await proxied()
    const direct = await client()
    const path = '/sched/lost-then-other/state'
    const store = new ZkStateStore(zk, path)
    assert.equal(await store.load(), null)
    await store.save({marker: 'first'})
    const {saving} = await saveWithLostAnswer(proxy, store, direct, path, {marker: 'lost-answer-other-0001'})
    await direct.set(path, Buffer.from('{"other":"scheduler"}'), -1) // version 2
    proxy.setMode({mode: 'normal'})
    const isConflict = (err: unknown): boolean => {
      assert.ok(err instanceof StateConflictError, String(err))
      assert.match(err.message, /version 2\b/)
      assert.match(err.message, /differs/)
      return true
    }
    // The lost write's own save reports the conflict, or (if ZooKeeper could not be asked yet) the next one does.
    const first = await saving.then(
      () => null,
      (err: unknown) => err,
    )
    if (first instanceof StateConflictError) isConflict(first)
    else await assert.rejects(store.save({marker: 'next'}), isConflict)
    assert.equal(await nodeText(direct, path), '{"other":"scheduler"}', "the other scheduler's state is not overwritten")
  })

  it('a write that never reached ZooKeeper is simply done again; failures while ZooKeeper is away are not conflicts', async () => {
    const {proxy, zk} = await proxied()
    const direct = await client()
    const path = '/sched/not-applied/state'
    const store = new ZkStateStore(zk, path)
    assert.equal(await store.load(), null)
    await store.save({marker: 'first'})
    proxy.setMode({mode: 'blackhole'})
    const saving = store.save({marker: 'second'})
    saving.catch(() => undefined)
    await waitFor('the request to be swallowed', () => proxy.stats().bytesDiscarded > 0, 20_000, 20)
    assert.equal(await nodeText(direct, path), '{"marker":"first"}')
    proxy.setMode({mode: 'normal'})
    await saving
    assert.equal(await nodeText(direct, path), '{"marker":"second"}')
    assert.equal((await direct.get(path))?.version, 1)
    await store.save({marker: 'third'})
    assert.equal(await nodeText(direct, path), '{"marker":"third"}')
  })
})
