/**
 * Delta backups (src/lib/backup/delta-*.ts, restore-plan.ts) against a REAL etcd 3.4 and a file:// target:
 *   - deltas recorded from a watch while writing (puts, deletes, multi-key txns, a range delete of 200 keys, a
 *     leased key, an empty value), across a SIGKILL + restart of the watched member (the watch reconnects);
 *   - a restore: `etcdctl snapshot restore` of the full backup into a fresh dir, a one-member etcd on it,
 *     replayDeltas to a chosen revision then to the end: the whole keyspace (keys, values, create/mod revisions,
 *     versions) and the revision equal the source's at that revision (read there with a historical range);
 *   - a delta with a flipped byte is refused (CORRUPT naming it) before any write; planRestore skips it;
 *   - the target down: failed flushes are retried, then the memory bound breaks the recorder, saying so;
 *   - an idle watch (no write for longer than idleMs) is renewed without counting a failure;
 *   - a watch whose start revision etcd compacted is reported CHAIN_BROKEN;
 *   - retention deletes the deltas with their full backup.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {copyFile, mkdtemp, open, readdir, rm, mkdir} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {startEtcdCluster, quorumReadOk, type EtcdCluster, type EtcdProc} from '../helpers/etcd.js'
import {waitFor} from '../helpers/ports.js'
import {
  BackupError,
  FileBackupTarget,
  applyRetention,
  listBackups,
  openBackupTarget,
  planRestore,
  replayDeltas,
  saveBackupToFile,
  startDeltaRecorder,
  takeBackup,
  type BackupTarget,
  type DeltaManifest,
  type FullManifest,
} from '../../src/lib/backup/index.js'

const run = promisify(execFile)
const ETCDCTL = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl'
const b64 = (s: string) => Buffer.from(s).toString('base64')
const ALL = Buffer.from([0]).toString('base64')

async function gw(endpoint: string, apiPath: string, body: unknown): Promise<Record<string, unknown> & {header: {revision: string}}> {
  const res = await fetch(`${endpoint}${apiPath}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000)})
  const json = (await res.json()) as Record<string, unknown> & {header: {revision: string}}
  if (res.status !== 200) throw new Error(`${apiPath} on ${endpoint}: HTTP ${res.status} ${JSON.stringify(json)}`)
  return json
}
const put = (e: string, k: string, v: string, lease?: string) =>
  gw(e, '/v3/kv/put', {key: b64(k), value: b64(v), ...(lease ? {lease} : {})})
const revisionOf = async (e: string) => Number((await gw(e, '/v3/kv/range', {key: ALL, range_end: ALL, count_only: true})).header.revision)

/** The whole keyspace (at `revision`, or now) as comparable lines; leases left out (not restored). */
async function keyspace(e: string, revision?: number): Promise<string[]> {
  const r = await gw(e, '/v3/kv/range', {key: ALL, range_end: ALL, ...(revision ? {revision: String(revision)} : {})})
  const kvs = (r.kvs ?? []) as {key: string; value?: string; create_revision: string; mod_revision: string; version: string}[]
  return kvs.map((kv) => `${Buffer.from(kv.key, 'base64')}=${kv.value ?? ''} c${kv.create_revision} m${kv.mod_revision} v${kv.version}`)
}

const isCode = (code: string, re: RegExp) => (err: unknown) =>
  (err instanceof BackupError && err.code === code && re.test(err.message)) || assert.fail(`expected ${code} ${re}, got ${String(err)}`)

describe('delta backups on a real etcd member and a file:// target', {timeout: 300_000}, () => {
  let cluster: EtcdCluster
  let source: EtcdProc
  let endpoint: string
  let dir: string
  let target: BackupTarget
  let base: FullManifest
  let midRevision: number
  let finalRevision: number
  let restored: EtcdProc
  before(async () => {
    cluster = await startEtcdCluster(1)
    source = cluster.members[0]!
    endpoint = source.clientUrl
    dir = await mkdtemp(path.join(os.tmpdir(), 'backup-delta-test-'))
    target = await openBackupTarget(`file://${dir}`)
    for (let i = 0; i < 10; i++) await put(endpoint, `pre/k${i}`, `v${i}`)
    base = (await takeBackup({endpoint, target})) as FullManifest
  })
  after(async () => {
    await cluster?.stop()
    if (dir && !process.env.KEEP_TEST_DIRS) await rm(dir, {recursive: true, force: true})
  })

  it('records deltas while writing, across a restart of the watched member; planRestore takes the whole chain', async () => {
    const flushed: DeltaManifest[] = []
    const warnings: string[] = []
    const errors: string[] = []
    const rec = startDeltaRecorder({
      target,
      base,
      endpoint: () => endpoint,
      flushIntervalMs: 300,
      reconnectDelayMs: 200,
      onFlush: (m) => flushed.push(m),
      onWarning: (e) => warnings.push(e.message),
      onError: (e) => errors.push(e.message),
    })
    try {
      await put(endpoint, 'pre/k1', 'changed')
      await gw(endpoint, '/v3/kv/deleterange', {key: b64('pre/k2')})
      await gw(endpoint, '/v3/kv/txn', {
        success: [
          {request_put: {key: b64('txn/a'), value: b64('1')}},
          {request_put: {key: b64('txn/b'), value: b64('')}},
          {request_delete_range: {key: b64('pre/k3')}},
        ],
      })
      const lease = String((await gw(endpoint, '/v3/lease/grant', {TTL: 3600})).ID)
      await put(endpoint, 'leased', 'L', lease)
      for (let i = 0; i < 200; i++) await put(endpoint, `bulk/${String(i).padStart(3, '0')}`, `b${i}`)
      midRevision = await revisionOf(endpoint)
      await waitFor('a delta up to the middle revision', () => rec.status().flushedRevision >= midRevision, 30_000, 50)

      // The watched member dies and comes back: the recorder reconnects from its last revision.
      await source.kill('SIGKILL')
      await source.start()
      await waitFor('the member back', () => quorumReadOk(endpoint), 60_000, 200)
      const bulkEnd = Buffer.from('bulk0')
      await gw(endpoint, '/v3/kv/deleterange', {key: b64('bulk/'), range_end: bulkEnd.toString('base64')}) // 200 keys at one revision
      await put(endpoint, 'pre/k2', 'again')
      await put(endpoint, 'txn/a', '2')
      finalRevision = await revisionOf(endpoint)
      await waitFor('every revision published', () => rec.status().flushedRevision === finalRevision, 60_000, 50)
    } finally {
      await rec.stop()
    }
    assert.deepEqual(errors, [])
    assert.ok(
      warnings.some((w) => /watch from .* failed/.test(w)),
      `the watch cut was reported: ${JSON.stringify(warnings)}`,
    )
    const st = rec.status()
    assert.equal(st.lastRevision, finalRevision)
    assert.equal(st.pendingEvents, 0)
    assert.equal(st.broken, false)

    const {backups, invalid} = await listBackups(target)
    assert.deepEqual(invalid, [])
    const deltas = backups.filter((b): b is DeltaManifest => b.kind === 'delta').reverse()
    assert.deepEqual(
      deltas.map((d) => d.id),
      flushed.map((d) => d.id),
    )
    assert.ok(deltas.length >= 2)
    let from = base.revision
    for (const d of deltas) {
      assert.equal(d.baseId, base.id)
      assert.equal(d.fromRevision, from, `${d.id} continues the chain`)
      assert.match(d.id, new RegExp(`-r${d.toRevision}$`))
      from = d.toRevision
    }
    assert.equal(from, finalRevision)
    const plan = await planRestore(target, 'latest')
    assert.deepEqual(
      [plan.full.id, plan.deltaIds, plan.toRevision, plan.dataUntil, plan.skipped],
      [base.id, deltas.map((d) => d.id), finalRevision, deltas[deltas.length - 1]!.createdAt, []],
    )
  })

  it('a restore (snapshot restore + replayDeltas) equals the source at the chosen revision, then at the last one', async () => {
    const file = path.join(dir, '..', `${path.basename(dir)}-full.db`)
    restored = await cluster.newMember('r0')
    try {
      await saveBackupToFile(target, base.id, file)
      await run(ETCDCTL, [
        'snapshot',
        'restore',
        file,
        '--name=r0',
        `--data-dir=${restored.dataDir}`,
        `--initial-cluster=r0=${restored.peerUrl}`,
        `--initial-advertise-peer-urls=${restored.peerUrl}`,
        '--initial-cluster-token=restored',
      ])
    } finally {
      await rm(file, {force: true})
    }
    await restored.start({initialCluster: `r0=${restored.peerUrl}`, extraArgs: ['--max-txn-ops=100000']})
    await waitFor('the restored etcd to serve a quorum read', () => quorumReadOk(restored.clientUrl), 60_000, 200)
    assert.equal(await revisionOf(restored.clientUrl), base.revision)
    const plan = await planRestore(target, 'latest', {toRevision: midRevision})
    const r1 = await replayDeltas({
      endpoint: restored.clientUrl,
      target,
      deltaIds: plan.deltaIds,
      afterRevision: base.revision,
      toRevision: midRevision,
      baseId: base.id,
    })
    assert.equal(r1.appliedRevision, midRevision)
    assert.equal(await revisionOf(restored.clientUrl), midRevision)
    assert.deepEqual(await keyspace(restored.clientUrl), await keyspace(endpoint, midRevision))

    const all = await planRestore(target, 'latest')
    const r2 = await replayDeltas({
      endpoint: restored.clientUrl,
      target,
      deltaIds: all.deltaIds,
      afterRevision: midRevision,
      toRevision: null,
    })
    assert.equal(r2.appliedRevision, finalRevision)
    assert.equal(await revisionOf(restored.clientUrl), finalRevision)
    const now = await keyspace(restored.clientUrl)
    assert.deepEqual(now, await keyspace(endpoint))
    assert.ok(now.includes(`pre/k2=${b64('again')} c${finalRevision - 1} m${finalRevision - 1} v1`))
    assert.ok(!now.some((l) => l.startsWith('bulk/')))
    const leased = (await gw(restored.clientUrl, '/v3/kv/range', {key: b64('leased')})).kvs as {lease?: string}[]
    assert.equal(leased[0]?.lease ?? '0', '0', 'a restored key is attached to no lease')
  })

  it('a delta with a flipped byte is refused before any write; planRestore stops the chain before it', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'backup-delta-corrupt-'))
    const fresh = await cluster.newMember('r1')
    try {
      for (const n of await readdir(dir)) await copyFile(path.join(dir, n), path.join(copy, n))
      const t2 = await openBackupTarget(`file://${copy}`)
      const deltas = (await listBackups(t2)).backups.filter((b) => b.kind === 'delta').reverse()
      const victim = deltas[deltas.length - 1]!
      const fh = await open(path.join(copy, victim.data), 'r+')
      const b = Buffer.alloc(1)
      await fh.read(b, 0, 1, 20)
      b[0] = (b[0] ?? 0) ^ 1
      await fh.write(b, 0, 1, 20)
      await fh.close()

      const file = path.join(copy, 'full.db')
      await saveBackupToFile(t2, base.id, file)
      await run(ETCDCTL, [
        'snapshot',
        'restore',
        file,
        '--name=r1',
        `--data-dir=${fresh.dataDir}`,
        `--initial-cluster=r1=${fresh.peerUrl}`,
        `--initial-advertise-peer-urls=${fresh.peerUrl}`,
        '--initial-cluster-token=restored-1',
      ])
      await fresh.start({initialCluster: `r1=${fresh.peerUrl}`, extraArgs: ['--max-txn-ops=100000']})
      await waitFor('the second restored etcd', () => quorumReadOk(fresh.clientUrl), 60_000, 200)
      await assert.rejects(
        replayDeltas({
          endpoint: fresh.clientUrl,
          target: t2,
          deltaIds: deltas.map((d) => d.id),
          afterRevision: base.revision,
          toRevision: null,
        }),
        isCode('CORRUPT', new RegExp(`backup ${victim.id} is corrupt: sha256`)),
      )
      assert.equal(await revisionOf(fresh.clientUrl), base.revision, 'nothing was replayed')
      // A chain with a hole is refused too, naming the delta after it.
      if (deltas.length >= 3)
        await assert.rejects(
          replayDeltas({
            endpoint: fresh.clientUrl,
            target: t2,
            deltaIds: [deltas[0]!.id, deltas[2]!.id],
            afterRevision: base.revision,
            toRevision: null,
          }),
          isCode('CORRUPT', new RegExp(`delta ${deltas[2]!.id} starts after revision \\d+, but the previous delta`)),
        )
      const plan = await planRestore(t2, 'latest')
      assert.deepEqual(
        plan.deltaIds,
        deltas.slice(0, -1).map((d) => d.id),
      )
      assert.deepEqual(
        plan.skipped.map((s) => s.id),
        [victim.id],
      )
    } finally {
      await fresh.kill()
      await rm(copy, {recursive: true, force: true})
    }
  })

  it('the target down: failed flushes are retried and reported, then the memory bound breaks the recorder, saying so', async () => {
    const gone = path.join(dir, '..', `${path.basename(dir)}-gone`)
    await mkdir(gone)
    const t3 = new FileBackupTarget(gone)
    await rm(gone, {recursive: true})
    const now = await revisionOf(endpoint)
    const warnings: BackupError[] = []
    const errors: BackupError[] = []
    const rec = startDeltaRecorder({
      target: t3,
      base: {...base, revision: now},
      endpoint: () => endpoint,
      flushIntervalMs: 200,
      maxPendingBytes: 4000,
      onWarning: (e) => warnings.push(e),
      onError: (e) => errors.push(e),
    })
    try {
      for (let i = 0; i < 10; i++) await put(endpoint, `down/k${i}`, 'x')
      await waitFor('a failed flush reported', () => warnings.some((w) => w.code === 'IO'), 30_000, 50)
      assert.ok(rec.status().failures >= 1 && rec.status().pendingEvents >= 1 && !rec.status().broken)
      for (let i = 0; i < 40; i++) await put(endpoint, `down/big${i}`, 'y'.repeat(200))
      await waitFor('the recorder broken by the memory bound', () => rec.status().broken, 30_000, 50)
    } finally {
      await rec.stop()
    }
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.code, 'CHAIN_BROKEN')
    assert.match(
      errors[0]!.message,
      /changes \(revisions \d+-\d+\) could not be published to file:\/\/.* and exceed 4000 bytes; they are not in any delta/,
    )
    assert.match(rec.status().lastError ?? '', /not in any delta/)
    assert.equal(rec.status().pendingEvents, 0)
  })

  it('an idle watch is renewed quietly (not a failure) and still records what comes after', async () => {
    const now = await revisionOf(endpoint)
    const idleDir = await mkdtemp(path.join(os.tmpdir(), 'backup-delta-idle-'))
    const warnings: string[] = []
    const rec = startDeltaRecorder({
      target: await openBackupTarget(`file://${idleDir}`),
      base: {...base, revision: now},
      endpoint: () => endpoint,
      flushIntervalMs: 100,
      idleMs: 300,
      onWarning: (e) => warnings.push(e.message),
    })
    try {
      await new Promise((r) => setTimeout(r, 1500)) // several idle periods with no write
      await put(endpoint, 'idle/after', 'x')
      await waitFor('the write after the idle periods published', () => rec.status().flushedRevision === now + 1, 30_000, 50)
    } finally {
      await rec.stop()
      await rm(idleDir, {recursive: true, force: true})
    }
    assert.deepEqual(warnings, [])
    assert.equal(rec.status().failures, 0)
  })

  it('a watch from a compacted revision is reported CHAIN_BROKEN and the recorder stops', async () => {
    await gw(endpoint, '/v3/kv/compaction', {revision: String(await revisionOf(endpoint)), physical: true})
    const errors: BackupError[] = []
    const rec = startDeltaRecorder({target, base, endpoint: () => endpoint, flushIntervalMs: 200, onError: (e) => errors.push(e)})
    try {
      await waitFor('the broken chain reported', () => errors.length > 0, 30_000, 50)
    } finally {
      await rec.stop()
    }
    assert.equal(errors[0]!.code, 'CHAIN_BROKEN')
    assert.match(errors[0]!.message, new RegExp(`compacted .* the changes from revision ${base.revision + 1} are gone`))
    assert.equal(rec.status().broken, true)
    assert.equal(rec.status().flushedRevision, base.revision)
  })

  it('retention by count counts full backups and deletes the deltas with their base', async () => {
    const before = (await listBackups(target)).backups
    const deltaIds = before.filter((b) => b.kind === 'delta').map((b) => b.id)
    const newer = await takeBackup({endpoint, target})
    const deleted = await applyRetention(target, {keepCount: 1}, Date.now())
    assert.deepEqual([...deleted].sort(), [...deltaIds, base.id].sort())
    assert.equal(deleted[deleted.length - 1], base.id, 'the base goes last')
    assert.deepEqual(
      (await listBackups(target)).backups.map((b) => b.id),
      [newer.id],
    )
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.includes(base.id) || deltaIds.some((id) => n.includes(id))),
      [],
    )
  })
})
