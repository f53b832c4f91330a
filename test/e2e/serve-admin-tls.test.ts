/**
 * `serve --admin-tls-cert-file/--admin-tls-key-file --log-format json` on a real process (real ZooKeeper; the Mesos
 * master is a port nobody listens on: the admin API serves while the scheduler keeps looking for it):
 *   - the admin API answers https only, and the URL serve publishes in ZooKeeper is https://;
 *   - the operator commands find it with --cluster/--zk and verify it with --ca-file (or ETCD_MESOS_CA_FILE);
 *     without the CA they are refused (exit 3, naming --ca-file), a missing --ca-file is a usage error (2);
 *   - every line serve logs is a JSON object, and the admin token never appears in them;
 *   - missing, unreadable or mismatched certificate files, a lone cert/key flag and a bad --log-format are clear
 *     errors before anything starts (exit 2, like every bad flag of serve; nothing listens);
 *   - with `--master local --log-format json`, the executors it launches log JSON lines too.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {X509Certificate} from 'node:crypto'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {fingerprintOf, makeCa, makeCert, servedFingerprint} from '../helpers/certs.js'
import {freePort, waitFor} from '../helpers/ports.js'
import {RUN_JS, sandboxLogs, startServe, type ServeProc} from '../helpers/serve.js'
import {runCli, startLocalServe} from '../helpers/serve-e2e.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {ZkClient} from '../../src/lib/zk/client.js'
import {parseZkUrl} from '../../src/lib/zk/url.js'
import {readLeader} from '../../src/lib/zk/election.js'

const TOKEN = 'tls-e2e-admin-token-0123456789'

function httpsGet(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, {ca, timeout: 10_000}, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve(body))
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

function runServeOnce(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{code: number | null; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [RUN_JS, 'serve', '--master', 'local', '--admin-port', '0', '--admin-address', '127.0.0.1', ...args],
      {
        env: {PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...env},
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('close', (code) => {
      clearTimeout(timer)
      // oclif wraps an error over lines starting with ' ›': one line, single spaces.
      resolve({code, stderr: stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ')})
    })
  })
}

describe('serve: admin API over HTTPS, JSON logs', {timeout: 300_000}, () => {
  let zk: ZkServer
  let serve: ServeProc
  let dir: string
  let zkArg: string
  const cluster = 'admintls'
  const file = (f: string) => path.join(dir, f)

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'serve-admin-tls-'))
    makeCa(dir, 'ca')
    makeCert(dir, 'admin', 'ca')
    makeCa(dir, 'otherca')
    makeCert(dir, 'stranger', 'otherca')
    writeFileSync(file('token'), `${TOKEN}\n`)
    writeFileSync(file('garbage.pem'), 'not a certificate\n')
    zk = await startZooKeeper()
    zkArg = `${zk.url}/etcd-mesos`
    const deadMaster = await freePort()
    serve = await startServe([
      ...['--master', `127.0.0.1:${deadMaster}`, '--zk-framework-persist', zkArg, '--cluster-name', cluster, '--cluster-size', '1'],
      ...['--admin-tls-cert-file', file('admin.crt'), '--admin-tls-key-file', file('admin.key')],
      ...['--admin-token-file', file('token'), '--log-format', 'json', '-v', '1'],
    ])
    await waitFor('serve to publish its admin URL', () => /admin API listening/.test(serve.log()), 90_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n--- serve log ---\n${serve.log().slice(-3000)}`)
    })
  })
  after(async () => {
    await serve?.stop()
    await destroyZooKeeper(zk)
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('publishes an https admin URL in ZooKeeper', async () => {
    const client = await ZkClient.connect(parseZkUrl(zkArg), {connectTimeoutMs: 10_000})
    try {
      const leader = await waitFor('a leader', () => readLeader(client, `/etcd-mesos/${cluster}/election`), 60_000, 200)
      assert.match(String(leader?.data.adminUrl), /^https:\/\//)
    } finally {
      await client.close()
    }
  })

  it('the operator commands verify it with --ca-file (or ETCD_MESOS_CA_FILE)', async () => {
    const find = ['--cluster', cluster, '--zk', zkArg]
    const ok = await runCli(['failover-status', ...find, '--ca-file', file('ca.crt'), '--json'], 60_000)
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    const fromEnv = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [RUN_JS, 'stats', '--admin-url', `https://127.0.0.1:${serve.adminPort}`, '--json'], {
        env: {...process.env, ETCD_MESOS_CA_FILE: file('ca.crt')},
        stdio: 'ignore',
      })
      child.once('close', resolve)
    })
    assert.notEqual(fromEnv, 3, 'ETCD_MESOS_CA_FILE: the scheduler was reached')
    assert.notEqual(fromEnv, 2)
    for (const ca of [[], ['--ca-file', file('otherca.crt')]]) {
      const refused = await runCli(['failover-status', ...find, ...ca, '--json'], 60_000)
      assert.equal(refused.code, 3, refused.stdout + refused.stderr)
      assert.match(refused.stdout, /certificate/i)
      assert.match(refused.stdout, /--ca-file/)
    }
    const missing = await runCli(['stats', ...find, '--ca-file', file('nope.crt')], 60_000)
    assert.equal(missing.code, 2, missing.stdout + missing.stderr)
    assert.match(missing.stderr, /cannot read --ca-file/)
  })

  it('answers https only: a plain http request gets no admin answer', async () => {
    const answer = await fetch(`http://127.0.0.1:${serve.adminPort}/stats`, {signal: AbortSignal.timeout(10_000)}).then(
      async (r) => `${r.status} ${await r.text()}`,
      (e: Error) => `error ${e.message}`,
    )
    assert.doesNotMatch(answer, /running_servers/)
  })

  it('a renewed certificate is served without a restart (a half-written one is not); /metrics shows its expiry', async () => {
    const ca = readFileSync(file('ca.crt'))
    const notAfter = (f: string) => Math.floor(Date.parse(new X509Certificate(readFileSync(f)).validTo) / 1000)
    const metric = async () => {
      const text = await httpsGet(`https://127.0.0.1:${serve.adminPort}/metrics`, ca)
      return Number(
        new RegExp(`etcd_mesos_certificate_expiry_timestamp_seconds\\{cluster="${cluster}",certificate="admin"\\} (\\d+)`).exec(text)?.[1],
      )
    }
    assert.equal(await servedFingerprint(serve.adminPort, ca), fingerprintOf(file('admin.crt')))
    assert.equal(await metric(), notAfter(file('admin.crt')))
    makeCert(dir, 'renewed', 'ca', 3)
    copyFileSync(file('renewed.crt'), file('admin.crt')) // the key is still the old one: not usable yet
    await waitFor('serve to log the unusable pair', () => /TLS files are not usable/.test(serve.log()), 60_000, 200)
    assert.notEqual(await servedFingerprint(serve.adminPort, ca), fingerprintOf(file('renewed.crt')))
    copyFileSync(file('renewed.key'), file('admin.key'))
    await waitFor(
      'the renewed certificate to be served',
      async () => (await servedFingerprint(serve.adminPort, ca)) === fingerprintOf(file('renewed.crt')),
      60_000,
      500,
    )
    assert.match(serve.log(), /reloaded the TLS certificate/)
    assert.equal(await metric(), notAfter(file('renewed.crt')))
  })

  it('logs JSON lines only, and never the admin token', () => {
    const lines = serve
      .log()
      .split('\n')
      .filter((l) => l.trim() !== '')
    assert.ok(lines.length > 3, serve.log())
    for (const l of lines) {
      const r = JSON.parse(l) as {level?: string; msg?: string; time?: string}
      assert.ok(r.level && r.msg && r.time, l)
    }
    const listening = lines.map((l) => JSON.parse(l)).find((r) => r.msg === 'admin API listening')
    assert.match(String(listening?.url), /^https:\/\/127\.0\.0\.1:\d+\/$/)
    assert.doesNotMatch(serve.log(), new RegExp(TOKEN))
  })

  it('bad TLS files and a bad --log-format are clear errors before anything starts', async () => {
    const cases: [string[], RegExp][] = [
      [['--admin-tls-cert-file', file('admin.crt')], /--admin-tls-cert-file and --admin-tls-key-file go together/],
      [['--admin-tls-key-file', file('admin.key')], /--admin-tls-cert-file and --admin-tls-key-file go together/],
      [['--admin-tls-cert-file', file('missing.crt'), '--admin-tls-key-file', file('admin.key')], /cannot read --admin-tls-cert-file/],
      [['--admin-tls-cert-file', file('admin.crt'), '--admin-tls-key-file', file('missing.key')], /cannot read --admin-tls-key-file/],
      [
        ['--admin-tls-cert-file', file('garbage.pem'), '--admin-tls-key-file', file('admin.key')],
        /--admin-tls-cert-file.*(certificate|PEM)/i,
      ],
      [['--admin-tls-cert-file', file('admin.crt'), '--admin-tls-key-file', file('stranger.key')], /do not match|does not match|mismatch/i],
      [['--log-format', 'yaml'], /--log-format must be text or json/],
    ]
    for (const [args, why] of cases) {
      const r = await runServeOnce(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, why, args.join(' '))
      assert.doesNotMatch(r.stderr, /admin API listening|embedded local Mesos/, args.join(' '))
    }
    const env = await runServeOnce([], {ADMIN_TLS_CERT_FILE: file('missing.crt'), ADMIN_TLS_KEY_FILE: file('admin.key')})
    assert.equal(env.code, 2, env.stderr)
    assert.match(env.stderr, /cannot read --admin-tls-cert-file/)
  })
})

describe('serve --log-format json: the executors log JSON too', {timeout: 300_000}, () => {
  it("every line of every executor's stderr is a JSON object of component executor", async () => {
    const serve = await startLocalServe({cluster: 'jsonexec', size: 1, agents: 1, bootstrapWait: 0, args: ['--log-format', 'json']})
    try {
      const workDir = serve
        .log()
        .split('\n')
        .map((l) => {
          try {
            return JSON.parse(l) as {msg?: string; workDir?: string}
          } catch {
            return {}
          }
        })
        .find((r) => r.msg === 'started the embedded local Mesos')?.workDir
      assert.ok(workDir, serve.log().slice(-3000))
      const text = sandboxLogs(workDir, 'stderr', 100_000)
      const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('--- '))
      assert.ok(lines.length > 0, `no executor log lines under ${workDir}`)
      for (const l of lines) {
        const r = JSON.parse(l) as {level?: string; msg?: string; component?: string}
        assert.equal(r.component, 'executor', l)
        assert.ok(r.level && r.msg, l)
      }
    } finally {
      await serve.stop()
    }
  })
})
