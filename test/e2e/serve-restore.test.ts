/**
 * Restore in `serve` (issue 15) with a real `serve --master local` (3 real etcd members), a file:// backup target in a
 * temp dir and the operator command as a subprocess of bin/run.js:
 *   - POST /restore with a bad body: 400; `restore` without --yes and without a terminal: exit 2; on a healthy
 *     cluster without --force: refused, exit 6, nothing killed;
 *   - keys written, a full backup taken (the library's takeBackup from a member), more keys written, then every etcd
 *     killed with its data: with --auto-restore (after --reseed-timeout) the scheduler restores the latest backup into
 *     a NEW cluster (new member ids) holding the backed-up keys and not the later ones; /stats says which backup and
 *     the recovery point, and so does the log;
 *   - `restore --from latest --force --yes --json` on a healthy cluster whose newest backup is corrupt: the next good
 *     one is used (and named), a new cluster with its keys;
 *   - bad restore flags stop serve (exit 2); a second, brand-new serve with --restore-from <target>/<id>.manifest.json
 *     comes up with that backup's keys;
 *   - with delta backups (serve's own POST /backups and its delta recorder): `restore --to-revision R` brings back
 *     exactly the writes up to revision R.
 * Needs the executor's restore (src/executor) and the backup library's planRestore.
 * Run: node --import tsx --test --test-timeout=600000 test/e2e/serve-restore.test.ts   (needs dist/).
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {openBackupTarget} from '../../src/lib/backup/open.js'
import {takeBackup} from '../../src/lib/backup/backups.js'
import {
  etcdNames,
  getJson,
  killEtcdAndData,
  memberList,
  members,
  putKeys,
  randomPortRange,
  readPrefix,
  startServe,
  stats,
  sweepCluster,
  until,
  waitHealthyMembers,
  type ServeProc,
} from '../helpers/serve.js'
import {runCli, startLocalServe} from '../helpers/serve-e2e.js'
import type {RestoreStats} from '../../src/lib/stats.js'

const CLUSTER = `rst${process.pid % 10000}`

describe('serve: restore from a file:// backup target', {timeout: 600_000}, () => {
  let dir: string
  let targetDir: string
  let serve: ServeProc
  let admin: string
  let good: {id: string}
  const restoreStats = async (): Promise<RestoreStats> => (await stats(admin)).restore!
  const withLog = (err: Error): never => {
    throw new Error(`${err.message}\n--- serve log ---\n${serve.log().slice(-6000)}`)
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-restore-'))
    targetDir = path.join(dir, 'target')
    mkdirSync(targetDir)
    serve = await startLocalServe({
      cluster: CLUSTER,
      size: 3,
      bootstrapWait: 3,
      args: [
        ...['--reseed-timeout', '3', '--backup-target', `file://${targetDir}`],
        ...['--backup-interval', '0', '--backup-delta-interval', '0', '--auto-restore'],
      ],
    })
    admin = serve.adminUrl
  })

  after(async () => {
    await serve?.stop()
    await sweepCluster(CLUSTER)
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('bad requests: POST /restore 400, no --yes without a terminal 2, a healthy cluster without --force 6', async () => {
    const bad = await getJson(`${admin}/restore`, {method: 'POST', headers: {'content-type': 'application/json'}, body: '{"from": "../x"}'})
    assert.equal(bad.status, 400, bad.text)
    assert.match((bad.body as {error: string}).error, /"from" must be "latest" or a backup id/)
    const noYes = await runCli(['restore', '--admin-url', admin, '--from', 'latest'])
    assert.equal(noYes.code, 2, noYes.stdout + noYes.stderr)
    assert.match(noYes.stderr, /--yes/)
    const before = (await members(admin)).map((m) => m.task_id).sort()
    const r = await runCli(['restore', '--admin-url', admin, '--from', 'latest', '--yes'])
    assert.equal(r.code, 6, r.stdout + r.stderr)
    assert.match(r.stderr, /healthy.*force/)
    const json = await runCli(['restore', '--admin-url', admin, '--from', 'latest', '--yes', '--json'])
    assert.equal(json.code, 6, json.stdout + json.stderr)
    assert.deepEqual((await members(admin)).map((m) => m.task_id).sort(), before, 'nothing was killed')
    assert.equal((await stats(admin)).healthy, 1)
  })

  it('after a total loss, --auto-restore brings the backed-up keys back in a new cluster and reports the recovery point', async () => {
    const ms = await members(admin)
    const url = ms[0]!.client_url
    await putKeys(url, 'before/', 20)
    const target = await openBackupTarget(`file://${targetDir}`)
    const manifest = await takeBackup({endpoint: url, target})
    await putKeys(url, 'after/', 10)
    const oldIds = new Set((await memberList(ms.map((m) => m.client_url))).map((m) => m.id))
    assert.equal(oldIds.size, 3)

    const names = etcdNames(CLUSTER)
    assert.equal(names.length, 3, `etcd processes of ${CLUSTER}: ${names.join(', ')}`)
    await Promise.all(names.map((n) => killEtcdAndData(n)))

    const done = await until(
      'the automatic restore to succeed',
      async () => {
        const r = await restoreStats().catch(() => null)
        return r?.last?.status === 'succeeded' || r?.last?.status === 'failed' ? r : undefined
      },
      300_000,
      1000,
    ).catch(withLog)
    assert.equal(done.last!.status, 'succeeded', done.last!.message)
    assert.match(done.last!.message, new RegExp(manifest.id.replace(/\./g, '\\.')))
    assert.match(done.last!.message, /s of writes before the loss are not in it/)
    assert.match(serve.log(), /automatic restore/)
    assert.match(serve.log(), new RegExp(`restoring backup ${manifest.id.replace(/\./g, '\\.')}.*of writes before the loss are not in it`))

    const now = await waitHealthyMembers(admin, 3, 120_000).catch(withLog)
    const urls = now.map((m) => m.client_url)
    const got = await readPrefix(urls, 'before/')
    assert.equal(got.size, 20, 'every backed-up key is back')
    assert.equal((await readPrefix(urls, 'after/')).size, 0, 'writes after the backup are not in it')
    const newIds = (await memberList(urls)).map((m) => m.id)
    assert.equal(newIds.length, 3)
    assert.ok(
      newIds.every((id) => !oldIds.has(id)),
      'new member ids',
    )
    const s = await stats(admin)
    assert.equal(s.healthy, 1)
    assert.equal(s.mode, 'MUTABLE')
    const human = await runCli(['stats', '--admin-url', admin])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, new RegExp(`Last restore +succeeded .*${manifest.id.replace(/\./g, '\\.')}.*s of writes before the loss`))
  })

  it('restore --from latest --force --yes: a corrupt newest backup is skipped and the next good one restored', async () => {
    const ms = await waitHealthyMembers(admin, 3, 60_000).catch(withLog)
    const url = ms[0]!.client_url
    await putKeys(url, 'good/', 15)
    const target = await openBackupTarget(`file://${targetDir}`)
    good = await takeBackup({endpoint: url, target})
    await putKeys(url, 'newer/', 5)
    const bad = await takeBackup({endpoint: url, target})
    const data = path.join(targetDir, `${bad.id}.snapshot.db`)
    writeFileSync(data, readFileSync(data).subarray(0, 4096)) // truncated
    const oldIds = new Set((await memberList(ms.map((m) => m.client_url))).map((m) => m.id))

    const r = await runCli(['restore', '--admin-url', admin, '--from', 'latest', '--force', '--yes', '--json', '--wait-timeout', '300'])
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- serve log ---\n${serve.log().slice(-6000)}`)
    const doc = JSON.parse(r.stdout) as {op: string; outcome: string; operation: {status: string; message: string}}
    assert.equal(doc.outcome, 'succeeded')
    assert.match(doc.operation.message, new RegExp(`restored from backup ${good.id.replace(/\./g, '\\.')}`))
    assert.match(doc.operation.message, new RegExp(`skipped: ${bad.id.replace(/\./g, '\\.')}`))

    const now = await waitHealthyMembers(admin, 3, 120_000).catch(withLog)
    const urls = now.map((m) => m.client_url)
    assert.equal((await readPrefix(urls, 'good/')).size, 15)
    assert.equal((await readPrefix(urls, 'newer/')).size, 0)
    assert.ok(
      (await memberList(urls)).every((m) => !oldIds.has(m.id)),
      'new member ids',
    )
  })

  it('bad restore flags stop serve with exit 2; a brand-new serve --restore-from <backup manifest URL> starts with its keys', async () => {
    for (const [flags, message] of [
      [['--auto-restore'], /--auto-restore needs --backup-target/],
      [['--restore-from', 'not an id!'], /--restore-from "not an id!" is not "latest", a backup id or a file/],
      [['--restore-from', 'latest'], /--restore-from latest needs --backup-target/],
      [['--restore-from', 'ftp://x/y'], /--restore-from: .*unsupported scheme/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['serve', '--master', 'local', '--admin-port', '0', ...flags])
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stdout}\n${r.stderr}`)
      assert.match(r.stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' '), message)
    }
    const [lo, hi] = randomPortRange()
    const clone = await startServe(
      [
        ...['--master', 'local', '--cluster-name', `${CLUSTER}c`, '--cluster-size', '3', '--local-mesos-port', '0'],
        ...['--local-agent-ports', `${lo}-${hi}`, '--health-interval', '1', '--bootstrap-wait', '3'],
        ...['--restore-from', `file://${targetDir}/${good.id}.manifest.json`],
      ],
      undefined,
      'clone',
    )
    try {
      const ms = await waitHealthyMembers(clone.adminUrl, 3, 180_000).catch((err: Error) => {
        throw new Error(`${err.message}\n--- clone log ---\n${clone.log().slice(-6000)}`)
      })
      assert.equal(
        (
          await readPrefix(
            ms.map((m) => m.client_url),
            'good/',
          )
        ).size,
        15,
      )
      const last = (await stats(clone.adminUrl)).restore?.last
      assert.equal(last?.status, 'succeeded')
      assert.match(last!.message, new RegExp(good.id.replace(/\./g, '\\.')))
    } finally {
      await clone.stop()
      await sweepCluster(`${CLUSTER}c`)
    }
  })
})

/** One put through etcd's JSON gateway; resolves with the revision it created. */
async function putRev(clientUrl: string, key: string, value: string): Promise<number> {
  const b64 = (t: string): string => Buffer.from(t).toString('base64')
  const r = await fetch(`${clientUrl}/v3/kv/put`, {method: 'POST', body: JSON.stringify({key: b64(key), value: b64(value)})})
  const doc = (await r.json()) as {header?: {revision?: string}}
  const rev = Number(doc.header?.revision)
  if (!r.ok || !Number.isInteger(rev)) throw new Error(`put ${key}: ${r.status} ${JSON.stringify(doc)}`)
  return rev
}

describe('serve: restore to a chosen revision from a full backup and its deltas', {timeout: 600_000}, () => {
  let dir: string
  let serve: ServeProc
  const cluster = `${CLUSTER}d`

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-restore-rev-'))
    mkdirSync(path.join(dir, 'target'))
    serve = await startLocalServe({
      cluster,
      size: 3,
      bootstrapWait: 3,
      args: ['--backup-target', `file://${path.join(dir, 'target')}`, '--backup-interval', '0', '--backup-delta-interval', '1s'],
    })
  })

  after(async () => {
    await serve?.stop()
    await sweepCluster(cluster)
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('restore --to-revision R: the writes up to R and none after', async () => {
    const admin = serve.adminUrl
    const withLog = (err: Error): never => {
      throw new Error(`${err.message}\n--- serve log ---\n${serve.log().slice(-6000)}`)
    }
    const url = (await members(admin))[0]!.client_url
    await putRev(url, 'rev/base', 'in the full backup')
    const b = await getJson<{op: string}>(`${admin}/backups`, {method: 'POST'})
    assert.equal(b.status, 202, b.text)
    const full = await until(
      'the full backup',
      async () => {
        const r = await getJson<{status: string; manifest: {revision: number} | null}>(`${admin}/backups/op/${b.body.op}`)
        return r.body.status !== 'running' ? r.body : undefined
      },
      120_000,
      300,
    ).catch(withLog)
    assert.equal(full.status, 'succeeded')
    const revs: number[] = []
    for (let i = 1; i <= 10; i++) revs.push(await putRev(url, `rev/k${i}`, `v${i}`))
    const cut = revs[4]! // rev/k5
    await until(
      'a delta backup holding the last write',
      async () => ((await stats(admin)).backup?.deltas.revision ?? 0) >= revs[9]! || undefined,
      120_000,
      300,
    ).catch(withLog)

    const r = await runCli([
      'restore',
      '--admin-url',
      admin,
      '--from',
      'latest',
      '--to-revision',
      String(cut),
      '--force',
      '--yes',
      '--json',
      '--wait-timeout',
      '300',
    ])
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- serve log ---\n${serve.log().slice(-6000)}`)
    const now = await waitHealthyMembers(admin, 3, 120_000).catch(withLog)
    const got = await readPrefix(
      now.map((m) => m.client_url),
      'rev/',
    )
    assert.deepEqual([...got.keys()].sort(), ['rev/base', 'rev/k1', 'rev/k2', 'rev/k3', 'rev/k4', 'rev/k5'])
    assert.equal(got.get('rev/k5'), 'v5')
  })
})
