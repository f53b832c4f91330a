/**
 * NodeTransport (node-http.ts, the Mesos clients' transport since serve dropped undici) reaches an https master over
 * TLS, with Node's default certificate checks as undici had: a certificate signed by a trusted CA (given to a child
 * process through NODE_EXTRA_CA_CERTS) is accepted and the POST answered; an untrusted one is refused with a
 * certificate error. The certificate is generated here with openssl.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFile, execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {NodeTransport} from '../../src/lib/mesos/node-http.js'

const NODE_HTTP = path.resolve(import.meta.dirname, '../../src/lib/mesos/node-http.ts')

describe('NodeTransport over https', {timeout: 60_000}, () => {
  let dir: string
  let server: https.Server
  let url: string
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'node-http-https-'))
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', 'key.pem', '-out', 'cert.pem'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      {cwd: dir, stdio: 'ignore'},
    )
    server = https.createServer(
      {key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem'))},
      (req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          res.writeHead(202, {'content-type': 'text/plain'})
          res.end(`got ${req.method} ${req.url} ${Buffer.concat(chunks).toString('utf8')}`)
        })
      },
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/scheduler`
  })
  after(async () => {
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('POSTs to an https URL whose certificate is trusted (NODE_EXTRA_CA_CERTS) and reads the answer', async () => {
    const code = `
      import {NodeTransport} from ${JSON.stringify(NODE_HTTP)}
      const t = new NodeTransport({keepAlive: true})
      const body = Buffer.from('{"type":"SUBSCRIBE"}')
      const res = await t.send(new URL(${JSON.stringify(url)}), {headers: {'content-type': 'application/json'}, body, headersTimeoutMs: 10000, bodyTimeoutMs: 10000})
      console.log(JSON.stringify({status: res.statusCode, text: await res.body.text()}))
      await t.destroy()`
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        {env: {...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem')}, timeout: 30_000},
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    )
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), {status: 202, text: 'got POST /api/v1/scheduler {"type":"SUBSCRIBE"}'})
  })

  it('refuses an https URL whose certificate is not trusted, with a certificate error', async () => {
    const t = new NodeTransport({keepAlive: false})
    try {
      await assert.rejects(
        t.send(new URL(url), {headers: {}, body: Buffer.from('x'), headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000}),
        (err: NodeJS.ErrnoException) => /SELF_SIGNED|certificate/i.test(`${err.code} ${err.message}`),
      )
    } finally {
      await t.destroy()
    }
  })
})
