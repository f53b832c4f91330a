/**
 * Security of a running scheduler (issue 6): mutating admin calls need the bearer token; secrets
 * (admin token, Mesos secret, ZooKeeper password) never appear in logs or in any admin answer; ZooKeeper
 * nodes written with credentials carry digest ACLs (anyone may read, only the creator may write).
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {freePort, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {ZkClient} from '../../src/lib/zk/client.js'

const RUN_JS = path.resolve('bin/run.js')
const TOKEN = 'tok-7f3a9c1e5b2d4f60'
const MESOS_SECRET = 'mesos-secret-4b1e9a77'
const ZK_PASSWORD = 'zkpw-0d9e2c61'

describe('secrets and authorisation of a running scheduler', {timeout: 120_000}, () => {
  let dir: string
  let zk: ZkServer
  let serve: ChildProcess
  let admin: string
  let log = ''

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-mesos-sec-'))
    zk = await startZooKeeper()
    writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`)
    writeFileSync(path.join(dir, 'secret'), `${MESOS_SECRET}\n`)
    const port = await freePort()
    admin = `http://127.0.0.1:${port}`
    const zkPersist = `${zk.url.replace('zk://', `zk://ops:${ZK_PASSWORD}@`)}/etcd-mesos`
    serve = spawnTracked(
      process.execPath,
      [
        RUN_JS,
        'serve',
        '--master',
        'local',
        '--cluster-name',
        'sectest',
        '--cluster-size',
        '1',
        '--admin-address',
        '127.0.0.1',
        '--admin-port',
        String(port),
        '--local-mesos-port',
        '0',
        '--local-agents',
        '1',
        '--health-interval',
        '1',
        '--bootstrap-wait',
        '1',
        '-v',
        '1',
        '--log-dir',
        dir,
        '--zk-framework-persist',
        zkPersist,
        '--admin-token-file',
        path.join(dir, 'token'),
        '--mesos-authentication-principal',
        'etcd-fw',
        '--mesos-authentication-secret-file',
        path.join(dir, 'secret'),
      ],
      {cwd: dir},
    )
    serve.stdout?.on('data', (d: Buffer) => (log += d.toString()))
    serve.stderr?.on('data', (d: Buffer) => (log += d.toString()))
    await waitFor(
      'a healthy one-member cluster',
      async () => {
        const s = (await (await fetch(`${admin}/stats`)).json()) as {healthy: number}
        return s.healthy === 1
      },
      60_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- serve log ---\n${log.slice(-3000)}`)
    })
  })

  after(async () => {
    if (serve) await stopTracked(serve, 'SIGTERM', 20_000)
    await destroyZooKeeper(zk)
    rmSync(dir, {recursive: true, force: true})
  })

  it('POST /reseed needs the token; with it the request is judged (refused on a healthy cluster)', async () => {
    assert.equal((await fetch(`${admin}/reseed`, {method: 'POST'})).status, 401)
    assert.equal((await fetch(`${admin}/reseed`, {method: 'POST', headers: {authorization: 'Bearer wrong-token-123'}})).status, 401)
    const r = await fetch(`${admin}/reseed`, {method: 'POST', headers: {authorization: `Bearer ${TOKEN}`}})
    assert.equal(r.status, 409, 'healthy cluster without force')
  })

  it('no secret appears in the logs, the log file or any admin answer', async () => {
    const bodies: string[] = []
    for (const p of ['/stats', '/members', '/failover-status', '/metrics', '/reseed/candidates', '/'])
      bodies.push(await (await fetch(`${admin}${p}`)).text())
    const {readFileSync} = await import('node:fs')
    const logFile = readFileSync(path.join(dir, 'etcd-mesos-scheduler.log'), 'utf8')
    assert.ok(log.length > 0 && logFile.length > 0)
    for (const secret of [TOKEN, MESOS_SECRET, ZK_PASSWORD, Buffer.from(`etcd-fw:${MESOS_SECRET}`).toString('base64')]) {
      assert.ok(!log.includes(secret), `stderr leaks ${secret}`)
      assert.ok(!logFile.includes(secret), `the log file leaks ${secret}`)
      for (const b of bodies) assert.ok(!b.includes(secret), `an admin answer leaks ${secret}`)
    }
  })

  it('ZooKeeper nodes carry digest ACLs: readable by anyone, writable only with the credentials', async () => {
    const anon = await ZkClient.connect(`${zk.url}`)
    try {
      const state = await anon.get('/etcd-mesos/sectest/state')
      assert.ok(state, 'the state node exists and is world-readable')
      const doc = JSON.parse(state.data.toString('utf8')) as {frameworkId: string | null}
      assert.ok(doc.frameworkId, 'the framework id is persisted')
      await assert.rejects(
        anon.set('/etcd-mesos/sectest/state', Buffer.from('{}'), -1),
        (err: Error & {code?: string}) => err.code === 'NO_AUTH',
      )
    } finally {
      await anon.close()
    }
  })
})
