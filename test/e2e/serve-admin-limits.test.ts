/**
 * `serve`'s admin server enforces its connection cap (--admin-max-connections): the server `serve` runs is
 * built by buildAdminServer (its limits are tested in test/unit/fuzz-admin.test.ts); this checks the flag
 * reaches it, on a real `serve` process (real ZooKeeper; the Mesos master is a port nobody listens on: the
 * admin API serves while the scheduler keeps looking for it), and that a bad value is a usage error.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import {freePort, waitFor} from '../helpers/ports.js'
import {RUN_JS, startServe, type ServeProc} from '../helpers/serve.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'

interface Conn {
  sock: net.Socket
  closed(): boolean
  answered(): boolean
  received(): number
}

function connect(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    let text = ''
    let closed = false
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')))
    sock.on('close', () => (closed = true))
    sock.on('error', () => (closed = true))
    sock.once('connect', () =>
      resolve({sock, closed: () => closed, answered: () => /^HTTP\/1\.1 200 /m.test(text), received: () => text.length}),
    )
    sock.once('error', reject)
  })
}

/** GET /stats on a connection of its own, closed after the answer (fetch would keep one open and count). */
function statsOk(base: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${base}/stats`, {agent: false, headers: {connection: 'close'}, timeout: 10_000}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

describe('serve: --admin-max-connections', {timeout: 240_000}, () => {
  let zk: ZkServer
  let serve: ServeProc

  before(async () => {
    zk = await startZooKeeper()
    const deadMaster = await freePort()
    serve = await startServe([
      '--master',
      `127.0.0.1:${deadMaster}`,
      '--zk-framework-persist',
      `${zk.url}/etcd-mesos`,
      '--cluster-name',
      'limits',
      '--cluster-size',
      '1',
      '--admin-max-connections',
      '2',
    ])
    await waitFor('the admin API', () => statsOk(serve.adminUrl), 90_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n--- serve log ---\n${serve.log().slice(-3000)}`)
    })
  })
  after(async () => {
    await serve?.stop()
    await destroyZooKeeper(zk)
  })

  it('a third connection is closed at once while the two open ones are served', async () => {
    const port = serve.adminPort
    // serve's headersTimeout (10 s) closes an idle held connection: on a very slow machine that can happen before
    // the refused one is seen, so the round is repeated (bounded) until both held connections outlived it.
    for (let attempt = 1; ; attempt++) {
      const held = [await connect(port), await connect(port)]
      const over = await connect(port)
      try {
        await waitFor('the third connection to be closed by serve', () => over.closed(), 30_000, 20)
        if (held.some((c) => c.closed())) {
          assert.ok(
            attempt < 5,
            `5 rounds: the third connection was not refused, it stayed open until the held ones were closed too (by the timeout)\n${serve.log().slice(-2000)}`,
          )
          continue
        }
        assert.equal(over.received(), 0, 'a refused connection gets no answer')
        for (const c of held) {
          c.sock.write('GET /stats HTTP/1.1\r\nHost: x\r\n\r\n')
          await waitFor('an answer on a held connection', () => c.answered() || c.closed(), 30_000, 20)
          if (!c.answered()) break
        }
        if (held.every((c) => c.answered())) break
        assert.ok(attempt < 5, 'a held connection timed out before its request, 5 times')
      } finally {
        for (const c of [...held, over]) c.sock.destroy()
      }
    }
    // Under the cap again: served.
    await waitFor('a fresh connection to be served', () => statsOk(serve.adminUrl), 30_000, 100)
    assert.match(serve.log(), /connection refused, --admin-max-connections reached/)
  })

  it('a bad value is a usage error (2) before anything starts', async () => {
    for (const v of ['0', '-1', 'many']) {
      const r = await new Promise<{code: number | null; stderr: string}>((resolve) => {
        const child = spawn(
          process.execPath,
          [RUN_JS, 'serve', '--master', 'local', '--admin-port', '0', '--admin-address', '127.0.0.1', '--admin-max-connections', v],
          {env: {PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']},
        )
        let stderr = ''
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
        child.once('close', (code) => {
          clearTimeout(timer)
          resolve({code, stderr})
        })
      })
      assert.equal(r.code, 2, `--admin-max-connections ${v}: ${r.stderr}`)
      assert.match(r.stderr, /admin-max-connections/)
      assert.doesNotMatch(r.stderr, /admin API listening/)
    }
  })
})
