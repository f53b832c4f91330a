/**
 * The backup library (src/lib/backup) against a REAL etcd 3.4 member and a file:// target in a temp directory:
 *   - a backup taken by the library is listed with its manifest and restores with the real `etcdctl snapshot
 *     restore` (3.4) into a working etcd that holds the keys written before it;
 *   - a stored backup with a flipped byte or truncated is refused on read, naming the backup and the problem;
 *   - a snapshot damaged in transit (real stream, one byte flipped by a proxy) or cut is never published;
 *   - atomic publish: while a backup is being written (the stream stalled by a proxy), its temporary file exists
 *     and nothing is listed; an abandoned temporary file is never listed either; an existing name is never overwritten.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, readdir, rm, stat, truncate, open, writeFile, copyFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {startEtcdCluster, putKey, countKeys, quorumReadOk, type EtcdCluster} from '../helpers/etcd.js'
import {waitFor} from '../helpers/ports.js'
import {startSnapshotProxy} from '../helpers/snapshot-proxy.js'
import {
  BackupError,
  type FileBackupTarget,
  applyRetention,
  dataName,
  listBackups,
  manifestName,
  memberStatus,
  openBackupTarget,
  saveBackupToFile,
  takeBackup,
  verifyBackup,
  type BackupTarget,
} from '../../src/lib/backup/index.js'

const run = promisify(execFile)
const ETCDCTL = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl'
const isCode = (code: string, re: RegExp) => (err: unknown) =>
  (err instanceof BackupError && err.code === code && re.test(err.message)) || assert.fail(`expected ${code} ${re}, got ${String(err)}`)

describe('backup library on a real etcd member and a file:// target', {timeout: 300_000}, () => {
  let cluster: EtcdCluster
  let dir: string
  let target: BackupTarget
  let endpoint: string
  before(async () => {
    cluster = await startEtcdCluster(1)
    endpoint = cluster.endpoints[0]!
    dir = await mkdtemp(path.join(os.tmpdir(), 'backup-test-'))
    await writeFile(path.join(dir, 'README'), 'a stray file') // not a backup: never listed as one
    target = await openBackupTarget(`file://${dir}`)
    // ~400 KB of values: a snapshot of many 32 KiB stream messages, so the proxies below cut and stall mid-stream.
    for (let i = 0; i < 20; i++) await putKey(endpoint, `restore/k${i}`, `value-${i}-${'x'.repeat(20_000)}`)
  })
  after(async () => {
    await cluster?.stop()
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, {recursive: true, force: true})
  })

  it('takes a verified backup that `etcdctl snapshot restore` (3.4) restores into a working etcd with the keys', async () => {
    const before = await memberStatus(endpoint)
    const m = await takeBackup({endpoint, target})
    assert.equal(m.kind, 'full')
    assert.ok(m.revision >= 21 && m.revision >= before.revision, `revision ${m.revision}`)
    assert.equal(m.clusterId, before.clusterId)
    assert.equal(m.memberId, before.memberId)
    assert.equal(m.endpoint, endpoint)
    assert.equal(m.etcdVersion, '3.4.23')
    assert.match(m.id, new RegExp(`^\\d{8}T\\d{6}\\.\\d{3}Z-r${m.revision}$`))
    assert.equal((await stat(path.join(dir, m.data))).size, m.size)
    const listing = await listBackups(target)
    assert.deepEqual(listing.backups, [m])
    assert.deepEqual(listing.invalid, [])
    assert.deepEqual(await verifyBackup(target, m.id), m)

    const file = path.join(dir, '..', `${path.basename(dir)}-restore.db`)
    try {
      await saveBackupToFile(target, m.id, file)
      const member = await cluster.newMember('r0')
      await run(ETCDCTL, [
        'snapshot',
        'restore',
        file,
        '--name=r0',
        `--data-dir=${member.dataDir}`,
        `--initial-cluster=r0=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.peerUrl}`,
        '--initial-cluster-token=restored',
      ])
      await member.start({initialCluster: `r0=${member.peerUrl}`})
      await waitFor('the restored etcd to serve a quorum read', () => quorumReadOk(member.clientUrl), 60_000, 200)
      assert.equal(await countKeys(member.clientUrl, 'restore/'), 20)
      const res = await fetch(`${member.clientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({key: Buffer.from('restore/k7').toString('base64')}),
      })
      const kv = ((await res.json()) as {kvs: {value: string}[]}).kvs[0]!
      assert.equal(Buffer.from(kv.value, 'base64').toString(), `value-7-${'x'.repeat(20_000)}`)
      const restored = await memberStatus(member.clientUrl)
      assert.notEqual(restored.clusterId, m.clusterId) // a new cluster from the backup's data
      await member.kill()
    } finally {
      await rm(file, {force: true})
    }
  })

  it('a stored backup with a flipped byte, or truncated, is refused on read naming the backup and the problem', async () => {
    const m = await takeBackup({endpoint, target})
    const data = path.join(dir, m.data)
    const pristine = `${data}.pristine`
    await copyFile(data, pristine)
    try {
      const fh = await open(data, 'r+')
      const b = Buffer.alloc(1)
      await fh.read(b, 0, 1, 5000)
      b[0] = (b[0] ?? 0) ^ 1
      await fh.write(b, 0, 1, 5000)
      await fh.close()
      await assert.rejects(verifyBackup(target, m.id), isCode('CORRUPT', new RegExp(`^backup ${m.id} is corrupt: sha256 mismatch`)))
      const out = path.join(os.tmpdir(), `backup-test-out-${process.pid}.db`)
      await assert.rejects(saveBackupToFile(target, m.id, out), isCode('CORRUPT', /sha256 mismatch/))
      await assert.rejects(stat(out), /ENOENT/) // nothing left behind
      assert.deepEqual(
        (await readdir(os.tmpdir())).filter((n) => n.startsWith(`.backup-test-out-${process.pid}`)),
        [],
      )

      await copyFile(pristine, data)
      await truncate(data, m.size - 4096)
      await assert.rejects(
        verifyBackup(target, m.id),
        isCode('CORRUPT', new RegExp(`^backup ${m.id} is corrupt: truncated: ${m.size - 4096} bytes of the ${m.size}`)),
      )

      await rm(data)
      await assert.rejects(verifyBackup(target, m.id), isCode('CORRUPT', /its data .* is missing/))
      await copyFile(pristine, data)
      assert.deepEqual(await verifyBackup(target, m.id), m)
    } finally {
      await rm(pristine, {force: true})
    }
  })

  it('a snapshot damaged in transit or cut is refused and nothing is published', async () => {
    const names = await target.list()
    const flip = await startSnapshotProxy(endpoint, 'flip')
    try {
      await assert.rejects(
        takeBackup({endpoint: flip.url, target}),
        isCode('CORRUPT', /the snapshot streamed from .* is corrupt: sha256 mismatch/),
      )
    } finally {
      await flip.close()
    }
    const cut = await startSnapshotProxy(endpoint, 'cut', 50_000)
    try {
      await assert.rejects(takeBackup({endpoint: cut.url, target}), isCode('SOURCE', /snapshot from http:\/\/127\.0\.0\.1:\d+ failed/))
    } finally {
      await cut.close()
    }
    assert.deepEqual(await target.list(), names)
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      [],
    ) // no temporary left
  })

  it('atomic publish: a backup being written (stream stalled) is not listed; a leftover temporary never is', async () => {
    const names = await target.list()
    const stall = await startSnapshotProxy(endpoint, 'stall', 150_000)
    const abort = new AbortController()
    try {
      const taking = takeBackup({endpoint: stall.url, target, signal: abort.signal})
      taking.catch(() => undefined)
      await Promise.race([stall.stalled, taking.then(() => assert.fail('the backup completed: the proxy never stalled'))])
      const temp: string = await waitFor('the temporary file to hold data', async () => {
        for (const n of await readdir(dir)) if (n.startsWith('.tmp-') && (await stat(path.join(dir, n))).size > 0) return n
        return ''
      })
      assert.match(temp, /^\.tmp-\d{8}T\d{6}\.\d{3}Z-r\d+\.snapshot\.db-/)
      assert.deepEqual(await target.list(), names)
      assert.equal((await listBackups(target)).backups.length, names.filter((n) => n.endsWith('.manifest.json')).length)
      abort.abort()
      await assert.rejects(taking, isCode('SOURCE', /snapshot from .* failed/))
      await assert.rejects(stat(path.join(dir, temp)), /ENOENT/)
    } finally {
      await stall.close()
    }
    // A temporary left by a crashed writer is never listed, and is removed once stale.
    const crashed: string = path.join(dir, '.tmp-20261203T000000.000Z-r1.snapshot.db-1-abcd')
    await writeFile(crashed, 'half a snapshot')
    assert.deepEqual(await target.list(), names)
    const file = target as FileBackupTarget
    assert.deepEqual(await file.removeStaleTemporaries(60_000, Date.now()), [])
    assert.deepEqual(await file.removeStaleTemporaries(60_000, Date.now() + 120_000), [path.basename(crashed)])
    // Never an overwrite: the same name again is EXISTS and the published object is unchanged.
    const {backups} = await listBackups(target)
    const newest = backups[0]!
    assert.ok(newest)
    await assert.rejects(target.put(manifestName(newest.id), Buffer.from('{}')), isCode('EXISTS', /already exists/))
    await assert.rejects(target.put(dataName(newest.id), Buffer.from('x')), isCode('EXISTS', /already exists/))
    assert.deepEqual(await verifyBackup(target, newest.id), newest)
  })

  it('retention deletes the expired backups (manifest and data) and keeps the newest', async () => {
    await takeBackup({endpoint, target})
    const {backups} = await listBackups(target)
    assert.ok(backups.length >= 3, `${backups.length} backups`)
    const deleted = await applyRetention(target, {keepCount: 1}, Date.now())
    assert.deepEqual(
      deleted,
      backups.slice(1).map((b) => b.id),
    )
    assert.deepEqual((await listBackups(target)).backups, [backups[0]])
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.db') || n.endsWith('.json')).sort(),
      [backups[0]!.data, manifestName(backups[0]!.id)].sort(),
    )
    assert.deepEqual(await applyRetention(target, {keepCount: 1, maxAgeMs: 1}, Date.now() + 60_000), []) // never the newest
  })
})
