/**
 * admin-tls.ts on a real node:https server on loopback (port 0) with openssl-made certificates: a renewed pair is
 * served to new connections after a check without a restart; a half-written renewal (a key of another certificate,
 * garbage) is logged and the previous certificate stays served; unchanged files are not read again.
 */
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {AdminTlsError, AdminTlsWatcher, readAdminTls} from '../../src/scheduler/admin-tls.js'
import {fingerprintOf, makeCa, makeCert, servedFingerprint} from '../helpers/certs.js'

describe('admin TLS: reloading a renewed certificate', () => {
  let dir: string
  let server: https.Server
  let watcher: AdminTlsWatcher
  let port: number
  const logs: {level: string; msg: string; f?: object}[] = []
  const log = {
    info: (msg: string, f?: object) => logs.push({level: 'info', msg, f}),
    warn: (msg: string, f?: object) => logs.push({level: 'warn', msg, f}),
    error: (msg: string, f?: object) => logs.push({level: 'error', msg, f}),
  }
  const f = (n: string) => path.join(dir, n)
  const files = () => ({certFile: f('admin.crt'), keyFile: f('admin.key')})

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'admin-tls-'))
    makeCa(dir, 'ca')
    makeCert(dir, 'first', 'ca')
    makeCert(dir, 'second', 'ca', 5)
    copyFileSync(f('first.crt'), f('admin.crt'))
    copyFileSync(f('first.key'), f('admin.key'))
    const pair = await readAdminTls(files())
    server = https.createServer({cert: pair.cert, key: pair.key}, (_req, res) => res.end('ok'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as {port: number}).port
    watcher = new AdminTlsWatcher(files(), server, pair, log)
    watcher.start(3_600_000) // the test calls check() itself
  })
  after(async () => {
    watcher?.stop()
    server?.closeAllConnections()
    await new Promise((r) => (server ? server.close(r) : r(undefined)))
    rmSync(dir, {recursive: true, force: true})
  })

  it('serves the first pair; unchanged files are not reloaded', async () => {
    const ca = readFileSync(f('ca.crt'))
    assert.equal(await servedFingerprint(port, ca), fingerprintOf(f('first.crt')))
    await watcher.check()
    assert.deepEqual(logs, [])
  })

  it('a half-written renewal (the new certificate beside the old key) is logged and the old pair stays served', async () => {
    const ca = readFileSync(f('ca.crt'))
    copyFileSync(f('second.crt'), f('admin.crt'))
    await watcher.check()
    assert.equal(logs.length, 1)
    assert.equal(logs[0]!.level, 'error')
    assert.match(JSON.stringify(logs[0]), /does not match the certificate/)
    assert.equal(await servedFingerprint(port, ca), fingerprintOf(f('first.crt')))
    assert.equal(watcher.current.notAfter, Date.parse(new X509Certificate(readFileSync(f('first.crt'))).validTo))
  })

  it('the completed renewal is served to new connections, and its notAfter exposed', async () => {
    const ca = readFileSync(f('ca.crt'))
    copyFileSync(f('second.key'), f('admin.key'))
    await watcher.check()
    assert.equal(logs.at(-1)!.level, 'info')
    assert.match(logs.at(-1)!.msg, /reloaded the TLS certificate/)
    assert.equal(await servedFingerprint(port, ca), fingerprintOf(f('second.crt')))
    assert.equal(watcher.current.notAfter, Date.parse(new X509Certificate(readFileSync(f('second.crt'))).validTo))
  })

  it('garbage or a vanished file keeps the renewed pair served', async () => {
    const ca = readFileSync(f('ca.crt'))
    const before = logs.length
    writeFileSync(f('admin.crt'), 'not a certificate\n')
    await watcher.check()
    rmSync(f('admin.key'))
    await watcher.check()
    assert.deepEqual(
      logs.slice(before).map((l) => l.level),
      ['error', 'error'],
    )
    assert.match(JSON.stringify(logs.slice(before)), /holds no PEM certificate.*cannot read --admin-tls-key-file/)
    assert.equal(await servedFingerprint(port, ca), fingerprintOf(f('second.crt')))
  })

  it('readAdminTls names the flag and the file', async () => {
    await assert.rejects(readAdminTls({certFile: f('nope.crt'), keyFile: f('second.key')}), (e: Error) => {
      assert.ok(e instanceof AdminTlsError)
      assert.match(e.message, /cannot read --admin-tls-cert-file .*nope\.crt/)
      return true
    })
  })
})
