/**
 * The scheduler's background persister (src/scheduler/persister.ts) over the store `serve` uses (ZkStateStore)
 * on a real ZooKeeper 3.8: saving never waits for ZooKeeper, the newest document wins after an outage (the
 * server frozen with SIGSTOP), nothing is written while paused (our session expired) and the newest document
 * goes first on resume, and a write by another scheduler is a conflict that stops it.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {ZkClient} from '../../src/lib/zk/client.js'
import {Persister} from '../../src/scheduler/persister.js'
import {createLogger} from '../../src/scheduler/logger.js'
import {StateConflictError, ZkStateStore} from '../../src/scheduler/state-store.js'
import {waitFor} from '../helpers/ports.js'
import {freeze} from '../helpers/zk-freeze.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'

let server: ZkServer | undefined
const closers: {close(): Promise<void>}[] = []
const log = createLogger({verbose: false})

async function client(opts: {operationTimeoutMs?: number} = {}): Promise<ZkClient> {
  // A session that outlives the short outage below; short operation timeouts so that saves fail while it lasts.
  const c = await ZkClient.connect(server!.url, {sessionTimeoutMs: 30_000, operationTimeoutMs: opts.operationTimeoutMs ?? 30_000})
  closers.push(c)
  return c
}

async function stored(zk: ZkClient, path: string): Promise<unknown> {
  const d = await zk.get(path)
  return d ? JSON.parse(d.data.toString('utf8')) : null
}

before(async () => {
  server = await startZooKeeper()
})
after(async () => {
  for (const c of closers.reverse()) await c.close()
  await destroyZooKeeper(server)
})

describe('Persister over ZkStateStore on ZooKeeper', {timeout: 180_000}, () => {
  it('goes on while ZooKeeper is frozen (offers settle, persistence is behind) and stores the newest document when it returns', async () => {
    const path = '/persister/outage/state'
    const direct = await client()
    const store = new ZkStateStore(await client({operationTimeoutMs: 1000}), path)
    await store.load()
    const p = new Persister(store, log, (err) => assert.fail(`unexpected conflict: ${err.message}`), {minMs: 100, maxMs: 500})
    await p.offer({n: 0})
    assert.deepEqual(await stored(direct, path), {n: 0})
    assert.equal(p.behind, false)

    const thaw = freeze(server!)
    try {
      await p.offer({n: 1}, 200) // bounded wait: never longer than asked
      await waitFor('persistence to be behind', () => p.behind, 30_000, 50)
      for (let n = 2; n <= 5; n++) await p.offer({n}) // behind: settles at once
      assert.equal(p.behind, true)
      assert.ok(p.storedGen < p.offeredGen)
    } finally {
      thaw()
    }
    await p.whenStored(p.offeredGen)
    assert.deepEqual(await stored(direct, path), {n: 5}, 'the newest document is stored')
    assert.equal(p.behind, false)
    await p.stop()
    assert.deepEqual(await stored(direct, path), {n: 5}, 'no older document overwrote it')
  })

  it('writes nothing while paused; on resume the newest document goes first', async () => {
    const path = '/persister/paused/state'
    const direct = await client()
    const store = new ZkStateStore(await client(), path)
    await store.load()
    const p = new Persister(store, log, (err) => assert.fail(`unexpected conflict: ${err.message}`))
    await p.offer({n: 1})
    p.pause('test: our session expired')
    await p.offer({n: 2}) // settles at once
    await p.offer({n: 3})
    assert.equal(p.behind, true)
    assert.deepEqual(await stored(direct, path), {n: 1}, 'nothing written while paused')
    p.resume()
    await p.whenStored(p.offeredGen)
    assert.deepEqual(await stored(direct, path), {n: 3})
    await p.stop()
  })

  it('a write by another scheduler is a conflict: reported once, nothing more written', async () => {
    const path = '/persister/conflict/state'
    const direct = await client()
    const store = new ZkStateStore(await client(), path)
    await store.load()
    const conflicts: Error[] = []
    const p = new Persister(store, log, (err) => conflicts.push(err))
    await p.offer({n: 1})
    const other = new ZkStateStore(await client(), path)
    await other.load()
    await other.save({other: true})
    await p.offer({n: 2})
    await waitFor('the conflict to be reported', () => conflicts.length === 1, 30_000, 20)
    assert.ok(conflicts[0] instanceof StateConflictError, `a StateConflictError: ${conflicts[0]?.name}`)
    await p.offer({n: 3})
    await p.stop()
    assert.equal(conflicts.length, 1)
    assert.deepEqual(await stored(direct, path), {other: true}, "the other scheduler's state is left alone")
  })
})
