/**
 * The executor restores a member from a backup before starting etcd (MemberConfig.restore, issue 15). Real etcd 3.4 and
 * etcdctl, a file:// backup target in a temp dir, `etcd-mesos executor` as real subprocesses (bin/run.js: needs a
 * current build, `npx tsc -p tsconfig.json`) against the test agent of test/helpers/executor-agent.ts.
 *
 * - a backup of a real etcd with data, restored by 3 executors into a NEW 3-member cluster (new token): the same keys,
 *   3 members with new ids, a new cluster id, the backup's revision; no temp dir left;
 * - a corrupt backup: TASK_FAILED naming the backup and the problem, exit 1, no etcd data in the data dir;
 * - etcdctl missing: TASK_FAILED naming it;
 * - a data dir that already holds etcd data: restore ignored (the backup is never read), the member's own data served.
 */
import {after, afterEach, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {copyFile, mkdtemp, open, readdir, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {countKeys, putKey, startEtcdCluster, type EtcdCluster} from '../helpers/etcd.js'
import {TestAgent, startExecutor, soloMember, type ExecutorProcess} from '../helpers/executor-agent.js'
import {freePorts, waitFor} from '../helpers/ports.js'
import {startS3Server, type S3Server} from '../helpers/s3-server.js'
import {listBackups, openBackupTarget, startDeltaRecorder, takeBackup, type BackupManifest} from '../../src/lib/backup/index.js'
import type {S3Options} from '../../src/lib/backup/s3-options.js'
import type {MemberConfig, MemberRestore} from '../../src/lib/member-config.js'

type Json = Record<string, unknown>

async function gw(url: string, p: string, body: unknown = {}): Promise<Json> {
  const res = await fetch(`${url}${p}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${url}${p}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as Json
}

/** Every key/value under `prefix`, decoded (a linearizable range). */
async function kvs(url: string, prefix: string): Promise<Record<string, string>> {
  const end = Buffer.from(prefix)
  end[end.length - 1]! += 1
  const r = await gw(url, '/v3/kv/range', {key: Buffer.from(prefix).toString('base64'), range_end: end.toString('base64')})
  const out: Record<string, string> = {}
  for (const kv of (r.kvs ?? []) as {key: string; value: string}[])
    out[Buffer.from(kv.key, 'base64').toString()] = Buffer.from(kv.value ?? '', 'base64').toString()
  return out
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

async function launch(cfg: MemberConfig, sandbox?: string): Promise<{agent: TestAgent; exec: ExecutorProcess; sandbox: string}> {
  const agent = new TestAgent()
  await agent.listen()
  cleanups.push(() => agent.close())
  const dir = sandbox ?? (await mkdtemp(path.join(os.tmpdir(), 'executor-restore-sandbox-')))
  if (!sandbox) cleanups.push(() => rm(dir, {recursive: true, force: true}))
  const exec = startExecutor(agent, cfg, dir)
  cleanups.push(() => exec.stop())
  return {agent, exec, sandbox: dir}
}

/** The executor's exit, within a bound (a test never hangs on an executor that keeps running). */
async function exitOf(e: ExecutorProcess, ms = 120_000): Promise<{code: number | null; signal: string | null}> {
  return (await waitFor('the executor to exit', () => e.exit(), ms, 100))!
}

const running = (a: TestAgent) => a.updates.some((u) => u.status.state === 'TASK_RUNNING')
const startingMessages = (a: TestAgent) =>
  a.updates.filter((u) => u.status.state === 'TASK_STARTING' && u.status.message).map((u) => u.status.message!)

/** Pids of live etcd processes started by a restore's private replay (`--name=restore-replay`). */
function replayEtcdPids(): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (cmd.includes('--name=restore-replay') && !stat.split(') ')[1]?.startsWith('Z')) out.push(Number(d))
    } catch {
      /* gone */
    }
  }
  return out
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')
  } catch {
    return false
  }
}

/** A new cluster of `n` members on free ports, each restoring `restore`, launched by its own executor. */
async function launchCluster(n: number, restore: MemberRestore) {
  const ports = await freePorts(2 * n)
  const token = `restored-${process.pid}-${Date.now()}`
  const ids = [...Array(n).keys()]
  const initialCluster = ids.map((i) => ({name: `m${i}`, peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`}))
  const members = await Promise.all(
    ids.map((i) =>
      launch({
        version: 1,
        cluster: {name: 'restored', token},
        member: {name: `m${i}`, host: '127.0.0.1', clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]!},
        initialCluster,
        initialClusterState: 'new',
        restore,
      }),
    ),
  )
  const exited = await waitFor(
    `TASK_RUNNING from the ${n} executors`,
    () => members.find((m) => m.exec.exit()) ?? members.every((m) => running(m.agent)),
    180_000,
    200,
  )
  if (exited !== true && exited !== false) assert.fail(`an executor exited: ${JSON.stringify(exited.exec.exit())}\n${exited.exec.stderr()}`)
  const urls = ids.map((i) => `http://127.0.0.1:${ports[2 * i]}`)
  await waitFor(
    'a linearizable read on every member',
    async () => {
      for (const u of urls) await gw(u, '/v3/kv/range', {key: Buffer.from('probe').toString('base64')})
      return true
    },
    60_000,
    200,
  )
  return {members, urls}
}

async function revisionOf(url: string): Promise<number> {
  return Number(((await gw(url, '/v3/maintenance/status')).header as {revision: string}).revision)
}

describe('executor restore from a backup (real etcd, file:// target)', {timeout: 400_000}, () => {
  let source: EtcdCluster | undefined
  let backupDir = ''
  let manifest: BackupManifest
  let expected: Record<string, string> = {}
  before(async () => {
    source = await startEtcdCluster(1, {token: `restore-src-${process.pid}`})
    const url = source.members[0]!.clientUrl
    for (let i = 0; i < 25; i++) await putKey(url, `rs/k${String(i).padStart(2, '0')}`, `v${i}-${'x'.repeat(i * 100)}`)
    await putKey(url, 'rs/k03', 'overwritten')
    await gw(url, '/v3/kv/deleterange', {key: Buffer.from('rs/k04').toString('base64')})
    expected = await kvs(url, 'rs/')
    backupDir = await mkdtemp(path.join(os.tmpdir(), 'executor-restore-backups-'))
    manifest = await takeBackup({endpoint: url, target: await openBackupTarget(`file://${backupDir}`)})
    await source.stop()
    source = undefined
  })
  after(async () => {
    await source?.stop()
    if (backupDir) await rm(backupDir, {recursive: true, force: true})
  })

  const restoreOf = (dir: string, extra: Partial<MemberRestore> = {}): MemberRestore => ({
    op: 'restore-op-1',
    target: `file://${dir}`,
    fullId: manifest.id,
    deltaIds: [],
    toRevision: null,
    ...extra,
  })

  it('3 executors restore the backup into a new 3-member cluster: same keys, new member ids, the backup revision', async () => {
    const {members, urls} = await launchCluster(3, restoreOf(backupDir))
    for (const m of members) {
      const msgs = startingMessages(m.agent)
      assert.ok(
        msgs.some((x) => x.includes(`fetching backup ${manifest.id}`)),
        `progress names the backup: ${JSON.stringify(msgs)}`,
      )
      assert.ok(
        msgs.some((x) => /restoring the data at revision \d+ as member m\d of a new 3-member cluster/.test(x)),
        JSON.stringify(msgs),
      )
    }
    for (const u of urls) assert.deepEqual(await kvs(u, 'rs/'), expected, `keys on ${u}`)
    assert.equal(await countKeys(urls[0]!, 'rs/'), 24)

    const list = (await gw(urls[0]!, '/v3/cluster/member/list')).members as {ID: string; name: string; peerURLs: string[]}[]
    assert.deepEqual(list.map((m) => m.name).sort(), ['m0', 'm1', 'm2'])
    assert.equal(new Set(list.map((m) => m.ID)).size, 3)
    assert.ok(!list.some((m) => m.ID === manifest.memberId), 'new member ids')
    for (const u of urls) {
      const st = await gw(u, '/v3/maintenance/status')
      const header = st.header as {revision: string; cluster_id: string}
      assert.equal(Number(header.revision), manifest.revision, `revision on ${u}`)
      assert.notEqual(header.cluster_id, manifest.clusterId, 'a new cluster id')
    }
    // a write goes through the new cluster
    await putKey(urls[1]!, 'rs/new', 'after-restore')
    assert.equal((await kvs(urls[2]!, 'rs/new'))['rs/new'], 'after-restore')
    for (const m of members) {
      assert.deepEqual(
        (await readdir(m.sandbox)).filter((n) => n.startsWith('.restore-')),
        [],
        'no work dir left',
      )
      assert.deepEqual(await readdir(path.join(m.sandbox, 'etcd_data')), ['member'], 'only member/ in the data dir')
    }
  })

  it('a corrupt backup: TASK_FAILED naming the backup and the problem, exit 1, no etcd data left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'executor-restore-corrupt-'))
    cleanups.push(() => rm(dir, {recursive: true, force: true}))
    for (const n of await readdir(backupDir)) await copyFile(path.join(backupDir, n), path.join(dir, n))
    const fh = await open(path.join(dir, manifest.data), 'r+')
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, 8192)
    b[0] = (b[0] ?? 0) ^ 0xff
    await fh.write(b, 0, 1, 8192)
    await fh.close()
    const [c, p] = await freePorts(2)
    const m = await launch(soloMember(c!, p!, {restore: restoreOf(dir)}))
    const {code} = await exitOf(m.exec)
    assert.equal(code, 1, m.exec.stderr())
    const last = m.agent.updates.at(-1)!.status
    assert.equal(last.state, 'TASK_FAILED')
    assert.match(
      last.message ?? '',
      new RegExp(`^restore restore-op-1 failed: fetching: backup ${manifest.id} is corrupt: sha256 mismatch`),
    )
    assert.equal(existsSync(path.join(m.sandbox, 'etcd_data', 'member')), false, 'no etcd data')
    const left = existsSync(path.join(m.sandbox, 'etcd_data')) ? await readdir(path.join(m.sandbox, 'etcd_data')) : []
    assert.deepEqual(left, [], 'the data dir is empty')
    assert.deepEqual(
      (await readdir(m.sandbox)).filter((n) => n.startsWith('.restore-')),
      [],
      'no work dir left',
    )
    assert.equal(existsSync(path.join(m.sandbox, 'etcd.stdout')), false, 'etcd never started')
  })

  it('etcdctl missing: TASK_FAILED naming it', async () => {
    const [c, p] = await freePorts(2)
    const m = await launch(soloMember(c!, p!, {restore: restoreOf(backupDir), etcdctlBin: '/nonexistent/etcdctl'}))
    assert.equal((await exitOf(m.exec)).code, 1)
    const last = m.agent.updates.at(-1)!.status
    assert.equal(last.state, 'TASK_FAILED')
    assert.match(last.message ?? '', /etcdctl \/nonexistent\/etcdctl does not exist or is not executable/)
  })

  it('a data dir that already holds etcd data: restore ignored, the member keeps its own data', async () => {
    const [c, p] = await freePorts(2)
    const cfg = soloMember(c!, p!)
    const first = await launch(cfg)
    await waitFor('the first member running', () => running(first.agent), 60_000, 100)
    const url = `http://127.0.0.1:${c}`
    await waitFor('a write', () => putKey(url, 'own/key', 'mine').then(() => true), 30_000, 200)
    first.agent.kill()
    assert.equal((await exitOf(first.exec, 30_000)).code, 0)

    // the backup named does not exist: were it read, the task would fail
    const missing = restoreOf(backupDir, {fullId: '20200101T000000.000Z-r1'})
    const second = await launch({...cfg, restore: missing}, first.sandbox)
    await waitFor(
      'the relaunched member running',
      () => {
        if (second.exec.exit()) throw new Error(second.exec.stderr())
        return running(second.agent)
      },
      60_000,
      100,
    )
    assert.equal((await kvs(url, 'own/'))['own/key'], 'mine')
    assert.deepEqual(startingMessages(second.agent), [], 'no restore progress')
    assert.match(second.exec.stderr(), /restore restore-op-1 ignored: data dir .* already holds etcd data/)
  })
})

describe('executor restore with delta backups (real etcd, file:// target)', {timeout: 400_000}, () => {
  let source: EtcdCluster | undefined
  let backupDir = ''
  let full: BackupManifest
  let deltaIds: string[] = []
  let midRevision = 0
  let finalRevision = 0
  let atMid: Record<string, string> = {}
  let atEnd: Record<string, string> = {}

  before(async () => {
    source = await startEtcdCluster(1, {token: `restore-delta-src-${process.pid}`})
    const url = source.members[0]!.clientUrl
    for (let i = 0; i < 10; i++) await putKey(url, `d/base-${i}`, `b${i}`)
    backupDir = await mkdtemp(path.join(os.tmpdir(), 'executor-restore-deltas-'))
    const target = await openBackupTarget(`file://${backupDir}`)
    full = await takeBackup({endpoint: url, target})
    const rec = startDeltaRecorder({target, base: full, endpoint: () => url, flushIntervalMs: 200})
    try {
      for (let i = 0; i < 10; i++) await putKey(url, `d/a-${i}`, `a${i}`)
      await putKey(url, 'd/base-0', 'changed')
      await gw(url, '/v3/kv/deleterange', {key: Buffer.from('d/base-1').toString('base64')})
      midRevision = await revisionOf(url)
      atMid = await kvs(url, 'd/')
      await waitFor('a delta past the middle revision', () => rec.status().flushedRevision >= midRevision, 60_000, 50)
      for (let i = 0; i < 10; i++) await putKey(url, `d/b-${i}`, `b${i}`)
      const end = Buffer.from('d/a-')
      end[end.length - 1]! += 1
      await gw(url, '/v3/kv/deleterange', {key: Buffer.from('d/a-').toString('base64'), range_end: end.toString('base64')}) // 10 keys, one revision
      await putKey(url, 'd/base-0', 'changed-again')
      finalRevision = await revisionOf(url)
      atEnd = await kvs(url, 'd/')
      await waitFor('every revision in a delta', () => rec.status().flushedRevision === finalRevision, 60_000, 50)
    } finally {
      await rec.stop()
    }
    const {backups} = await listBackups(target)
    deltaIds = backups
      .filter((b) => b.kind === 'delta')
      .map((b) => b.id)
      .reverse()
    assert.ok(deltaIds.length >= 2, `deltas recorded: ${deltaIds.join(', ')}`)
    await source.stop()
    source = undefined
  })
  after(async () => {
    await source?.stop()
    if (backupDir) await rm(backupDir, {recursive: true, force: true})
  })

  const restoreOf = (toRevision: number | null, dir = backupDir): MemberRestore => ({
    op: 'restore-op-2',
    target: `file://${dir}`,
    fullId: full.id,
    deltaIds,
    toRevision,
  })

  it('3 executors restore up to toRevision: the writes up to it are there, the later ones are not, at its revision', async () => {
    assert.ok(midRevision > full.revision && midRevision < finalRevision)
    const {members, urls} = await launchCluster(3, restoreOf(midRevision))
    for (const u of urls) {
      assert.deepEqual(await kvs(u, 'd/'), atMid, `keys on ${u}`)
      assert.equal(await revisionOf(u), midRevision, `revision on ${u}`)
    }
    for (const m of members) {
      const msgs = startingMessages(m.agent)
      assert.ok(
        msgs.some((x) => x.includes(`replaying ${deltaIds.length} delta backup(s) (events up to revision ${midRevision})`)),
        JSON.stringify(msgs),
      )
      assert.ok(
        msgs.some((x) => x.includes(`restoring the data at revision ${midRevision} as member`)),
        JSON.stringify(msgs),
      )
    }
    assert.deepEqual(replayEtcdPids(), [], 'no private etcd left running')
  })

  it('toRevision null: every delta replayed, the end revision', async () => {
    const {urls} = await launchCluster(1, restoreOf(null))
    assert.deepEqual(await kvs(urls[0]!, 'd/'), atEnd)
    assert.equal(await revisionOf(urls[0]!), finalRevision)
    assert.deepEqual(replayEtcdPids(), [], 'no private etcd left running')
  })

  it('a corrupt delta: TASK_FAILED naming it, the private etcd gone, no etcd data left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'executor-restore-bad-delta-'))
    cleanups.push(() => rm(dir, {recursive: true, force: true}))
    for (const n of await readdir(backupDir)) await copyFile(path.join(backupDir, n), path.join(dir, n))
    const last = deltaIds.at(-1)!
    const data = (await readdir(dir)).find((n) => n.startsWith(last) && !n.endsWith('.manifest.json'))!
    const fh = await open(path.join(dir, data), 'r+')
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, 10)
    b[0] = (b[0] ?? 0) ^ 0x01
    await fh.write(b, 0, 1, 10)
    await fh.close()
    const [c, p] = await freePorts(2)
    const m = await launch(soloMember(c!, p!, {restore: restoreOf(null, dir)}))
    assert.equal((await exitOf(m.exec)).code, 1, m.exec.stderr())
    const st = m.agent.updates.at(-1)!.status
    assert.equal(st.state, 'TASK_FAILED')
    assert.match(st.message ?? '', new RegExp(`^restore restore-op-2 failed: replaying: .*${last}`))
    assert.deepEqual(replayEtcdPids(), [], 'no private etcd left running')
    const left = existsSync(path.join(m.sandbox, 'etcd_data')) ? await readdir(path.join(m.sandbox, 'etcd_data')) : []
    assert.deepEqual(left, [], 'the data dir is empty')
    assert.deepEqual(
      (await readdir(m.sandbox)).filter((n) => n.startsWith('.restore-')),
      [],
      'no work dir left',
    )
  })

  it('KILL during the restore: the restore is aborted (private etcd killed), TASK_KILLED, exit 0, no temp dir, no etcd data', async () => {
    // An etcd wrapper whose private replay etcd never serves: the restore waits in 'replaying' until the KILL.
    const bin = await mkdtemp(path.join(os.tmpdir(), 'executor-restore-bin-'))
    cleanups.push(() => rm(bin, {recursive: true, force: true}))
    const pidFile = path.join(bin, 'replay.pid')
    const wrapper = path.join(bin, 'etcd')
    await writeFile(
      wrapper,
      `#!/bin/sh\ncase "$*" in *--name=restore-replay*) echo $$ > ${pidFile}; exec sleep 600 ;; esac\nexec /usr/bin/etcd "$@"\n`,
      {mode: 0o755},
    )
    const [c, p] = await freePorts(2)
    const m = await launch(soloMember(c!, p!, {restore: restoreOf(null), etcdBin: wrapper, etcdctlBin: '/usr/bin/etcdctl'}))
    const pid = Number(
      await waitFor('the private etcd started', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), 60_000, 20),
    )
    assert.ok(startingMessages(m.agent).at(-1)?.includes('replaying'), `still replaying: ${JSON.stringify(startingMessages(m.agent))}`)
    m.agent.kill()
    assert.equal((await exitOf(m.exec)).code, 0, m.exec.stderr())
    assert.equal(m.agent.updates.at(-1)!.status.state, 'TASK_KILLED')
    assert.equal(m.agent.states().filter((x) => x === 'TASK_KILLED').length, 1)
    assert.match(m.exec.stderr(), /restore restore-op-2 ended while killing: failed: replaying: aborted: the task is being killed/)
    assert.equal(pidAlive(pid), false, 'the private etcd was killed')
    assert.deepEqual(
      (await readdir(m.sandbox)).filter((n) => n.startsWith('.restore-')),
      [],
      'no work dir left',
    )
    const dataDir = path.join(m.sandbox, 'etcd_data')
    assert.deepEqual(existsSync(dataDir) ? await readdir(dataDir) : [], [], 'no etcd data, no staging dir')
    assert.equal(existsSync(path.join(m.sandbox, 'etcd.stdout')), false, "the member's etcd never started")
  })
})

describe('executor restore from an s3:// target (real S3-compatible server)', {timeout: 300_000}, () => {
  let source: EtcdCluster | undefined
  let s3: S3Server | undefined
  let manifest: BackupManifest
  let expected: Record<string, string> = {}
  let s3opts: S3Options

  before(async () => {
    ;[source, s3] = await Promise.all([
      startEtcdCluster(1, {token: `restore-s3-src-${process.pid}`}),
      startS3Server({buckets: ['restores']}),
    ])
    s3opts = {
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    }
    const url = source.members[0]!.clientUrl
    for (let i = 0; i < 10; i++) await putKey(url, `s3r/k${i}`, `v${i}`)
    expected = await kvs(url, 's3r/')
    const target = await openBackupTarget('s3://restores/c1', {s3: s3opts})
    try {
      manifest = await takeBackup({endpoint: url, target})
    } finally {
      ;(target as {close?: () => void}).close?.()
    }
    await source.stop()
    source = undefined
  })
  after(async () => {
    await Promise.all([source?.stop(), s3?.stop()])
  })

  const restoreOf = (s3: S3Options): MemberRestore => ({
    op: 'restore-op-s3',
    target: 's3://restores/c1',
    s3,
    fullId: manifest.id,
    deltaIds: [],
    toRevision: null,
  })

  it('restores from S3 with the options in the member config; the secret appears in no log line or message', async () => {
    const {members, urls} = await launchCluster(1, restoreOf(s3opts))
    assert.deepEqual(await kvs(urls[0]!, 's3r/'), expected)
    const m = members[0]!
    assert.ok(startingMessages(m.agent).some((x) => x.includes(`fetching backup ${manifest.id} from s3://restores/c1`)))
    assert.ok(!m.exec.stderr().includes(s3opts.secretAccessKey!), 'secret in the executor log')
    assert.ok(!JSON.stringify(m.agent.updates.map((u) => u.status.message ?? '')).includes(s3opts.secretAccessKey!))
  })

  it('wrong S3 credentials: TASK_FAILED naming the backup, without the secret', async () => {
    const wrong = {...s3opts, secretAccessKey: `WRONG-${s3opts.secretAccessKey}`}
    const [c, p] = await freePorts(2)
    const m = await launch(soloMember(c!, p!, {restore: restoreOf(wrong)}))
    assert.equal((await exitOf(m.exec)).code, 1, m.exec.stderr())
    const st = m.agent.updates.at(-1)!.status
    assert.equal(st.state, 'TASK_FAILED')
    assert.match(st.message ?? '', new RegExp(`^restore restore-op-s3 failed: fetching: .*${manifest.id}`))
    assert.ok(!(st.message ?? '').includes(wrong.secretAccessKey), st.message)
    assert.ok(!m.exec.stderr().includes(wrong.secretAccessKey), 'secret in the executor log')
    assert.equal(existsSync(path.join(m.sandbox, 'etcd_data', 'member')), false)
  })
})
