/**
 * etcd client and peer TLS end to end: certificates generated here with openssl are given to
 * `serve --master local`; the members must serve https only (plain http is refused), the scheduler's
 * health checks must use the client certificate (the cluster becomes healthy), and a client without
 * a certificate signed by the CA is refused (client-cert auth).
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {makeCa, makeCert} from '../helpers/certs.js'
import {freePort, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import type {ChildProcess} from 'node:child_process'

const RUN_JS = path.resolve('bin/run.js')

function makeCerts(dir: string, cn: string, caName = 'ca'): void {
  makeCa(dir, caName)
  makeCert(dir, cn, caName)
}

function etcdctl(args: string[]): {ok: boolean; out: string} {
  try {
    const out = execFileSync('etcdctl', ['--dial-timeout=2s', '--command-timeout=3s', ...args], {
      env: {...process.env, ETCDCTL_API: '3'},
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString()
    return {ok: true, out}
  } catch (err) {
    return {ok: false, out: String((err as {stderr?: Buffer}).stderr ?? err)}
  }
}

describe('etcd TLS end to end (serve --master local)', {timeout: 120_000}, () => {
  let dir: string
  let serve: ChildProcess
  let admin: string
  let log = ''

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-mesos-tls-'))
    makeCerts(dir, 'member')
    makeCerts(dir, 'rogue', 'otherca')
    const port = await freePort()
    admin = `http://127.0.0.1:${port}`
    serve = spawnTracked(
      process.execPath,
      [
        RUN_JS,
        'serve',
        '--master',
        'local',
        '--cluster-name',
        'tlstest',
        '--cluster-size',
        '3',
        '--admin-address',
        '127.0.0.1',
        '--admin-port',
        String(port),
        '--local-mesos-port',
        '0',
        '--health-interval',
        '1',
        '--bootstrap-wait',
        '3',
        '--state-file',
        path.join(dir, 'state.json'),
        '--etcd-cert-file',
        path.join(dir, 'member.crt'),
        '--etcd-key-file',
        path.join(dir, 'member.key'),
        '--etcd-trusted-ca-file',
        path.join(dir, 'ca.crt'),
      ],
      {cwd: dir},
    )
    serve.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  })

  after(async () => {
    if (serve) await stopTracked(serve, 'SIGTERM', 20_000)
    rmSync(dir, {recursive: true, force: true})
  })

  it('bootstraps 3 healthy https members, health-checked with the client certificate', async () => {
    const stats = await waitFor(
      '3 healthy members',
      async () => {
        const s = (await (await fetch(`${admin}/stats`)).json()) as {healthy: number; running_servers: number}
        return s.healthy === 1 && s.running_servers === 3 ? s : null
      },
      60_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- serve log ---\n${log.slice(-3000)}`)
    })
    assert.equal(stats?.healthy, 1)
    const members = (await (await fetch(`${admin}/members`)).json()) as {client_url: string; peer_url: string}[]
    assert.equal(members.length, 3)
    for (const m of members) {
      assert.match(m.client_url, /^https:\/\/127\.0\.0\.\d+:\d+$/)
      assert.match(m.peer_url, /^https:\/\//)
    }
    const ep = members[0].client_url
    const tls = ['--cacert', path.join(dir, 'ca.crt'), '--cert', path.join(dir, 'member.crt'), '--key', path.join(dir, 'member.key')]
    assert.ok(etcdctl(['--endpoints', ep, ...tls, 'put', 'tls-key', 'tls-value']).ok, 'a put with the CA-signed client certificate works')
    assert.match(etcdctl(['--endpoints', ep, ...tls, 'get', 'tls-key', '--print-value-only']).out, /tls-value/)
    // Plain http to the https port is refused.
    assert.equal(etcdctl(['--endpoints', ep.replace('https:', 'http:'), 'get', 'tls-key']).ok, false)
    // A certificate from another CA is refused (client-cert auth).
    const rogue = ['--cacert', path.join(dir, 'ca.crt'), '--cert', path.join(dir, 'rogue.crt'), '--key', path.join(dir, 'rogue.key')]
    assert.equal(etcdctl(['--endpoints', ep, ...rogue, 'get', 'tls-key']).ok, false)
  })
})

describe('etcd TLS flag validation', () => {
  it('refuses a certificate without its key, and unreadable files, with exit code 2', async () => {
    const {spawnSync} = await import('node:child_process')
    const a = spawnSync(
      process.execPath,
      [RUN_JS, 'serve', '--master', 'local', '--etcd-cert-file', '/etc/hostname', '--admin-port', '0', '--local-mesos-port', '0'],
      {encoding: 'utf8', timeout: 20_000},
    )
    assert.equal(a.status, 2)
    assert.match(a.stderr, /needs both --etcd-cert-file and --etcd-key-file/)
    const b = spawnSync(
      process.execPath,
      [
        RUN_JS,
        'serve',
        '--master',
        'local',
        '--etcd-cert-file',
        '/nonexistent.crt',
        '--etcd-key-file',
        '/nonexistent.key',
        '--admin-address',
        '127.0.0.1',
        '--admin-port',
        '0',
        '--local-mesos-port',
        '0',
        '--state-file',
        path.join(os.tmpdir(), `etcd-mesos-tls-bad-${process.pid}.json`),
      ],
      {encoding: 'utf8', timeout: 30_000},
    )
    assert.equal(b.status, 2, b.stderr)
    assert.match(b.stderr, /etcd TLS file \/nonexistent.crt is not readable/)
  })
})
