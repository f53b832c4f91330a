/**
 * The admin API over HTTPS (admin-server.ts with `tls`) and the operator commands' client verifying it
 * (lib/cli/target.ts + admin-client.ts with --ca-file): certificates generated here with openssl. The server keeps
 * its limits; a client that trusts the CA is served; one that does not (no --ca-file, or another CA) is refused with
 * a clear error naming the certificate problem and --ca-file (exit code UNREACHABLE); a --ca-file that is missing or
 * not a PEM certificate is a usage error; plain http to the https port gets no admin answer.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type https from 'node:https'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {makeCa, makeCert} from '../helpers/certs.js'
import {adminDeps} from '../helpers/admin-harness.js'
import {buildAdminServer} from '../../src/scheduler/admin-server.js'
import {openAdminClient} from '../../src/lib/cli/target.js'
import {CliError, ExitCode} from '../../src/lib/cli/exit-codes.js'
import {waitFor} from '../helpers/ports.js'

describe('admin API over HTTPS', {timeout: 120_000}, () => {
  let dir: string
  let server: http.Server | https.Server
  let base: string

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'admin-tls-'))
    makeCa(dir, 'ca')
    makeCert(dir, 'admin', 'ca')
    makeCa(dir, 'other')
    writeFileSync(path.join(dir, 'garbage.pem'), 'not a certificate\n')
    server = buildAdminServer(adminDeps({stats: () => ({healthy: 3, running_servers: 3})}), {
      tls: {cert: readFileSync(path.join(dir, 'admin.crt')), key: readFileSync(path.join(dir, 'admin.key'))},
      limits: {maxConnections: 7},
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    base = `https://127.0.0.1:${(server.address() as {port: number}).port}`
  })
  after(async () => {
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
    rmSync(dir, {recursive: true, force: true})
  })

  const target = (caFile?: string) => ({'admin-url': base, timeout: 10, ...(caFile ? {'ca-file': caFile} : {})})

  it('keeps the limits of the http server', () => {
    assert.equal(server.maxConnections, 7)
    assert.equal(server.headersTimeout, 10_000)
    assert.equal(server.requestTimeout, 20_000)
  })

  it('serves a client that trusts its CA (--ca-file)', async () => {
    const client = await openAdminClient(target(path.join(dir, 'ca.crt')))
    const res = await client.get<{healthy: number}>('/stats')
    assert.equal(res.status, 200)
    assert.equal(res.body.healthy, 3)
  })

  it('is refused by a client that does not trust it, with a clear error', async () => {
    for (const ca of [undefined, path.join(dir, 'other.crt')]) {
      const client = await openAdminClient(target(ca))
      const err = await client.get('/stats').then(
        () => assert.fail(`verified without the CA (--ca-file ${ca})`),
        (e: unknown) => e,
      )
      assert.ok(err instanceof CliError, String(err))
      assert.equal(err.exitCode, ExitCode.UNREACHABLE)
      assert.match(err.message, /certificate/i)
      assert.match(err.message, /--ca-file/)
    }
  })

  it('a --ca-file that is missing or not a PEM certificate is a usage error', async () => {
    for (const [file, why] of [
      [path.join(dir, 'nope.crt'), /cannot read --ca-file/],
      [path.join(dir, 'garbage.pem'), /--ca-file .* no PEM certificate/],
    ] as const) {
      const err = await openAdminClient(target(file)).then(
        () => assert.fail(`accepted --ca-file ${file}`),
        (e: unknown) => e,
      )
      assert.ok(err instanceof CliError, String(err))
      assert.equal(err.exitCode, ExitCode.USAGE)
      assert.equal(err.code, 'BAD_CA_FILE')
      assert.match(err.message, why)
    }
  })

  it('a client that connects and never completes the TLS handshake is cut off like a slow http client', async () => {
    // headersTimeout 1 s here (serve: 10 s); Node's own TLS handshake timeout would keep the socket 120 s.
    const slow = buildAdminServer(adminDeps(), {
      tls: {cert: readFileSync(path.join(dir, 'admin.crt')), key: readFileSync(path.join(dir, 'admin.key'))},
      limits: {headersTimeoutMs: 1000, requestTimeoutMs: 2000},
    })
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()))
    const sock = net.connect((slow.address() as {port: number}).port, '127.0.0.1')
    let closed = false
    sock.on('close', () => (closed = true))
    sock.on('error', () => (closed = true))
    try {
      await waitFor('the silent connection to be closed by the server', () => closed, 60_000, 50)
    } finally {
      sock.destroy()
      slow.closeAllConnections()
      await new Promise<void>((r) => slow.close(() => r()))
    }
  })

  it('plain http on the https port gets no admin answer', async () => {
    const answer = await new Promise<string>((resolve) => {
      const req = http.get(`${base.replace('https:', 'http:')}/stats`, {agent: false, timeout: 10_000}, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => resolve(`${res.statusCode} ${text}`))
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e) => resolve(`error ${e.message}`))
    })
    assert.doesNotMatch(answer, /running_servers/)
  })
})
