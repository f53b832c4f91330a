/**
 * Delta backups over TLS with client-certificate auth (real etcd 3.4, certificates made here with openssl): the
 * recorder's watch and replayDeltas's transactions present the client certificate (EtcdTlsOptions); a recorder
 * without it is refused by etcd and says so (a warning, retried), never crashes.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFile, execFileSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {ETCD_BIN} from '../helpers/etcd.js'
import {freePorts, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {
  openBackupTarget,
  replayDeltas,
  saveBackupToFile,
  startDeltaRecorder,
  takeBackup,
  type BackupError,
  type BackupTarget,
  type FullManifest,
} from '../../src/lib/backup/index.js'

const run = promisify(execFile)
const ETCDCTL = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl'

function makeCerts(dir: string): void {
  const ssl = (args: string[]) => execFileSync('openssl', args, {cwd: dir, stdio: 'ignore'})
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=ca-test'])
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'm.key', '-out', 'm.csr', '-subj', '/CN=member'])
  writeFileSync(path.join(dir, 'm.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  ssl([
    'x509',
    '-req',
    '-in',
    'm.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'm.crt',
    '-days',
    '1',
    '-extfile',
    'm.ext',
  ])
}

describe('delta backups over TLS with client-certificate auth', {timeout: 180_000}, () => {
  let dir: string
  let tls: {caFile: string; certFile: string; keyFile: string}
  const procs: ChildProcess[] = []

  async function startEtcd(name: string): Promise<string> {
    const [client, peer] = await freePorts(2)
    const endpoint = `https://127.0.0.1:${client}`
    const peerUrl = `http://127.0.0.1:${peer}`
    const proc = spawnTracked(
      ETCD_BIN,
      [
        `--name=${name}`,
        `--data-dir=${path.join(dir, name)}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${name}=${peerUrl}`,
        `--cert-file=${tls.certFile}`,
        `--key-file=${tls.keyFile}`,
        `--trusted-ca-file=${tls.caFile}`,
        '--client-cert-auth',
        '--max-txn-ops=100000',
      ],
      {stdio: 'ignore'},
    )
    procs.push(proc)
    await waitFor(
      `etcd ${name} on ${endpoint}`,
      async () =>
        await ctl(endpoint, ['endpoint', 'health']).then(
          () => true,
          () => false,
        ),
      60_000,
      200,
    )
    return endpoint
  }
  const ctl = (endpoint: string, args: string[]) =>
    run(
      ETCDCTL,
      [
        `--endpoints=${endpoint}`,
        `--cacert=${tls.caFile}`,
        `--cert=${tls.certFile}`,
        `--key=${tls.keyFile}`,
        '--command-timeout=5s',
        ...args,
      ],
      {
        env: {...process.env, ETCDCTL_API: '3'},
      },
    )

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'backup-delta-tls-'))
    makeCerts(dir)
    tls = {caFile: path.join(dir, 'ca.crt'), certFile: path.join(dir, 'm.crt'), keyFile: path.join(dir, 'm.key')}
  })
  after(async () => {
    for (const p of procs) await stopTracked(p, 'SIGKILL', 5000)
    rmSync(dir, {recursive: true, force: true})
  })

  it('records with the client certificate and replays into a TLS etcd; without it, etcd refuses and the recorder says so', async () => {
    const source = await startEtcd('src')
    await mkdir(path.join(dir, 'target'))
    const target: BackupTarget = await openBackupTarget(`file://${path.join(dir, 'target')}`)
    await ctl(source, ['put', 'a', '1'])
    const base = (await takeBackup({endpoint: source, target, tls})) as FullManifest

    const warnings: BackupError[] = []
    const noCert = startDeltaRecorder({
      target,
      base,
      endpoint: () => source,
      flushIntervalMs: 200,
      reconnectDelayMs: 200,
      tls: {caFile: tls.caFile},
      onWarning: (e) => warnings.push(e),
    })
    const rec = startDeltaRecorder({target, base, endpoint: () => source, flushIntervalMs: 200, tls})
    let last = 0
    try {
      await ctl(source, ['put', 'b', '2'])
      await ctl(source, ['del', 'a'])
      await ctl(source, ['put', 'c', '3'])
      last = base.revision + 3
      await waitFor('the deltas published', () => rec.status().flushedRevision === last, 30_000, 50)
      await waitFor('the refused watch reported', () => warnings.length > 0, 30_000, 50)
    } finally {
      await noCert.stop()
      await rec.stop()
    }
    assert.equal(warnings[0]!.code, 'SOURCE')
    assert.match(warnings[0]!.message, /watch from https:\/\/127\.0\.0\.1:\d+ .*failed/)
    assert.equal(noCert.status().flushedRevision, base.revision)
    assert.equal(noCert.status().broken, false)

    const file = path.join(dir, 'full.db')
    await saveBackupToFile(target, base.id, file)
    const [peer] = await freePorts(1)
    await run(ETCDCTL, [
      'snapshot',
      'restore',
      file,
      '--name=dst',
      `--data-dir=${path.join(dir, 'dst')}`,
      `--initial-cluster=dst=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    ])
    const dst = await startEtcd('dst')
    const deltaIds = (await target.list()).filter((n) => n.endsWith('.delta.ndjson')).map((n) => n.slice(0, -'.delta.ndjson'.length))
    const {appliedRevision} = await replayDeltas({endpoint: dst, target, deltaIds, afterRevision: base.revision, toRevision: null, tls})
    assert.equal(appliedRevision, last)
    const {stdout} = await ctl(dst, ['get', '', '--from-key', '-w', 'json'])
    const got = JSON.parse(stdout) as {header: {revision: number}; kvs: {key: string; value: string}[]}
    assert.equal(got.header.revision, last)
    assert.deepEqual(
      got.kvs.map((kv) => `${Buffer.from(kv.key, 'base64')}=${Buffer.from(kv.value, 'base64')}`),
      ['b=2', 'c=3'],
    )
  })
})
