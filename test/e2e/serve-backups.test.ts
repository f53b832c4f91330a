/**
 * Backups in `serve` (issue 15) with a real `serve --master local` (3 real etcd members) and a file:// target in a
 * temp dir, and the operator commands as subprocesses of bin/run.js:
 *   - the target missing at start-up: a warning, failures counted, the cluster still comes up; once it exists,
 *     periodic full backups appear, verify (the library reads them back), come from a follower, and retention keeps
 *     --backup-keep of them;
 *   - POST /backups (token required) → 202 op → GET /backups/op/<op> succeeded with the manifest; GET /backups;
 *   - `backup` (--json, --no-wait: exit 4) and `backups list` (table, --json);
 *   - the target gone: backups fail loudly (/stats backup.failing, etcd_mesos_backup_* metrics, `stats --check` exit
 *     8, `backup` exit 1) while the cluster stays healthy; back again: a backup succeeds and failing clears;
 *   - bad --backup-* flags: exit 2 with a message naming the flag;
 *   - delta backups (--backup-interval 0, --backup-delta-interval 1s): a write made after an on-demand full backup
 *     is in a flushed delta of that full backup, and /stats shows the flush and the recovery point.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {openBackupTarget} from '../../src/lib/backup/open.js'
import {listBackups, verifyBackup} from '../../src/lib/backup/backups.js'
import {getJson, members, stats, until, type ServeProc} from '../helpers/serve.js'
import {runCli, startLocalServe} from '../helpers/serve-e2e.js'

const TOKEN = 'backup-token-7f3a'
const cli = (args: string[]) => runCli(args, 180_000)

describe('serve: bad --backup-* flags', {timeout: 120_000}, () => {
  const cases: [string[], RegExp][] = [
    [
      ['--backup-target', '/var/backups'],
      /--backup-target: invalid backup target "\/var\/backups": a path, not a URL: write file:\/\/\/var\/backups/,
    ],
    [['--backup-target', 'ftp://host/x'], /--backup-target: .*unsupported scheme/],
    [['--backup-target', 'file:///tmp', '--backup-interval', '5x'], /--backup-interval "5x" must be a duration like/],
    [['--backup-target', 'file:///tmp', '--backup-timeout', '0'], /--backup-timeout must be at least 1s/],
    [['--backup-keep', '3'], /--backup-keep and --backup-max-age need --backup-target/],
  ]
  for (const [flags, message] of cases) {
    it(`${flags.join(' ')}: exit 2`, async () => {
      const r = await cli(['serve', '--master', 'local', '--admin-port', '0', ...flags])
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`)
      assert.match(r.stderr.replace(/\s*\n\s*›?\s*/g, ' '), message) // oclif wraps long messages
    })
  }
})

describe('serve: backups to a file:// target', {timeout: 600_000}, () => {
  let dir: string
  let targetDir: string
  let serve: ServeProc
  let admin: string
  const at = (...args: string[]): string[] => [...args, '--admin-url', admin, '--admin-token-file', path.join(dir, 'token')]
  const backupStats = async () => (await stats(admin)).backup!

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-backups-'))
    writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`)
    targetDir = path.join(dir, 'target') // created later: missing at start-up
    serve = await startLocalServe({
      cluster: 'bk',
      size: 3,
      bootstrapWait: 3,
      args: [
        ...['--admin-token-file', path.join(dir, 'token'), '--backup-target', `file://${targetDir}`],
        ...['--backup-interval', '4s', '--backup-keep', '2', '--backup-timeout', '60s'],
      ],
    })
    admin = serve.adminUrl
  })

  after(async () => {
    await serve?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('a target missing at start-up: a warning and counted failures; the cluster is healthy', async () => {
    assert.match(serve.log(), /backup target not usable yet/)
    const b = await until(
      'a failed backup',
      async () => {
        const s = await backupStats()
        return s.failures_total >= 1 ? s : undefined
      },
      60_000,
      300,
    )
    assert.equal(b.backups_taken, 0)
    assert.match(b.last_failure?.message ?? '', /target/)
    assert.equal((await stats(admin)).healthy, 1)
  })

  it('periodic full backups appear, verify, come from a follower, and retention keeps 2', async () => {
    mkdirSync(targetDir)
    const target = await openBackupTarget(`file://${targetDir}`)
    const listed = await until(
      '3 backups taken and 2 kept',
      async () => {
        const s = await backupStats()
        const l = await listBackups(target)
        const full = l.backups.filter((b) => b.kind === 'full')
        assert.ok(full.length <= 3, `retention keeps 2 (3 only between a backup and its retention): ${full.map((b) => b.id)}`)
        return s.backups_taken >= 3 && full.length === 2 ? {...l, backups: full} : undefined
      },
      120_000,
      300,
    )
    assert.deepEqual(listed.invalid, [])
    const leaderUrl = (await members(admin)).find((m) => m.leader)?.client_url
    for (const m of listed.backups) {
      assert.equal(m.kind, 'full')
      assert.equal((await verifyBackup(target, m.id)).id, m.id)
      assert.notEqual(m.endpoint, leaderUrl, 'a backup is streamed from a follower when there is one')
    }
    const b = await backupStats()
    assert.equal(b.consecutive_failures, 0)
    assert.equal(b.failing, null)
    assert.ok(b.last_success && b.last_success.revision >= 1)
    assert.equal(typeof b.recovery_point_seconds, 'number')
    const metrics = (await getJson(`${admin}/metrics`)).text
    assert.match(metrics, /^etcd_mesos_backup_last_success_revision\{cluster="bk"\} \d+$/m)
    assert.match(metrics, /^etcd_mesos_backup_recovery_point_seconds\{cluster="bk"\} [\d.]+$/m)
  })

  it('POST /backups: the token is required; 202 op, then the op succeeds with its manifest; GET /backups lists it', async () => {
    const refused = await getJson(`${admin}/backups`, {method: 'POST'})
    assert.equal(refused.status, 401)
    const auth = {authorization: `Bearer ${TOKEN}`}
    let posted = await getJson<{op: string}>(`${admin}/backups`, {method: 'POST', headers: auth})
    // A periodic backup may be running (every 4 s): 409 names it; try again.
    for (let i = 0; posted.status === 409 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 200))
      posted = await getJson<{op: string}>(`${admin}/backups`, {method: 'POST', headers: auth})
    }
    assert.equal(posted.status, 202, posted.text)
    const op = posted.body.op
    const done = await until(
      'the backup operation to end',
      async () => {
        const r = await getJson<{status: string; manifest: {id: string} | null; message: string | null}>(`${admin}/backups/op/${op}`)
        assert.equal(r.status, 200, r.text)
        return r.body.status !== 'running' ? r.body : undefined
      },
      90_000,
      200,
    )
    assert.equal(done.status, 'succeeded', done.message ?? '')
    const list = await getJson<{backups: {id: string; kind: string; verified: boolean}[]}>(`${admin}/backups`)
    assert.equal(list.status, 200)
    assert.ok(list.body.backups.some((b) => b.id === done.manifest!.id && b.kind === 'full' && b.verified))
    assert.equal((await getJson(`${admin}/backups/op/nosuchop`)).status, 404)
  })

  it('CLI: backup --json (0), backup --no-wait (4), backups list (table and --json)', async () => {
    let r = await cli(at('backup', '--json'))
    for (let i = 0; r.code === 6 && /already running/.test(r.stdout) && i < 20; i++) r = await cli(at('backup', '--json'))
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const doc = JSON.parse(r.stdout) as {outcome: string; operation: {manifest: {id: string}}}
    assert.equal(doc.outcome, 'succeeded')
    const id = doc.operation.manifest.id
    const list = await cli(at('backups', 'list', '--json'))
    assert.equal(list.code, 0, list.stderr)
    const ids = (JSON.parse(list.stdout) as {backups: {id: string}[]}).backups.map((b) => b.id)
    assert.ok(ids.includes(id) || ids.length === 2, `${id} in ${ids}`)
    const table = await cli(at('backups', 'list'))
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /ID\s+TIME\s+REVISION\s+SIZE\s+KIND\s+VERIFIED/)
    assert.match(table.stdout, /full\s+yes/)
    let nowait = await cli(at('backup', '--no-wait', '--json'))
    for (let i = 0; nowait.code === 6 && i < 20; i++) nowait = await cli(at('backup', '--no-wait', '--json'))
    assert.equal(nowait.code, 4, `${nowait.stdout}\n${nowait.stderr}`)
    assert.match((JSON.parse(nowait.stdout) as {op: string}).op, /^[a-f0-9]{16}$/)
  })

  it('the target gone: backups fail loudly (stats, metrics, stats --check 8, backup 1); the cluster stays healthy', async () => {
    renameSync(targetDir, `${targetDir}.away`)
    const b = await until(
      'backups to keep failing',
      async () => {
        const s = await backupStats()
        return s.failing ? s : undefined
      },
      120_000,
      300,
    )
    assert.ok(b.consecutive_failures >= 3, JSON.stringify(b))
    assert.match(b.last_failure?.message ?? '', /target|ENOENT|no such/i)
    assert.equal((await stats(admin)).healthy, 1, 'the cluster is unaffected')
    const metrics = (await getJson(`${admin}/metrics`)).text
    assert.match(metrics, /^etcd_mesos_backup_consecutive_failures\{cluster="bk"\} ([3-9]|\d\d+)$/m)
    assert.match(metrics, /^etcd_mesos_backup_failing\{cluster="bk"\} 1$/m)
    assert.match(metrics, /^etcd_mesos_healthy\{cluster="bk"\} 1$/m)
    const check = await cli(at('stats', '--check'))
    assert.equal(check.code, 8, `${check.stdout}\n${check.stderr}`)
    assert.match(check.stderr, /backups keep failing/)
    const human = await cli(at('stats'))
    assert.match(human.stdout, /Backups failing/)
    let failed = await cli(at('backup', '--json'))
    for (let i = 0; failed.code === 6 && i < 20; i++) failed = await cli(at('backup', '--json'))
    assert.equal(failed.code, 1, `${failed.stdout}\n${failed.stderr}`)
    assert.equal((JSON.parse(failed.stdout) as {outcome: string}).outcome, 'failed')

    renameSync(`${targetDir}.away`, targetDir)
    await until('a backup to succeed again', async () => ((await backupStats()).failing === null ? true : undefined), 120_000, 300)
    assert.equal((await cli(at('stats', '--check'))).code, 0)
  })
})

describe('serve: delta backups after an on-demand full backup', {timeout: 400_000}, () => {
  let dir: string
  let serve: ServeProc
  let admin: string

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-deltas-'))
    mkdirSync(path.join(dir, 'target'))
    serve = await startLocalServe({
      cluster: 'dl',
      size: 1,
      agents: 1,
      bootstrapWait: 1,
      args: ['--backup-target', `file://${path.join(dir, 'target')}`, '--backup-interval', '0', '--backup-delta-interval', '1s'],
    })
    admin = serve.adminUrl
  })

  after(async () => {
    await serve?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('a write after the full backup is in a flushed delta of it', async () => {
    assert.equal((await stats(admin)).backup?.backups_taken, 0, '--backup-interval 0: no periodic backup')
    const posted = await getJson<{op: string}>(`${admin}/backups`, {method: 'POST'})
    assert.equal(posted.status, 202, posted.text)
    const op = await until(
      'the full backup',
      async () => {
        const r = await getJson<{status: string; manifest: {id: string; revision: number} | null; message: string | null}>(
          `${admin}/backups/op/${posted.body.op}`,
        )
        return r.body.status !== 'running' ? r.body : undefined
      },
      90_000,
      200,
    )
    assert.equal(op.status, 'succeeded', op.message ?? '')
    const full = op.manifest!
    const clientUrl = (await members(admin))[0]!.client_url
    const put = await fetch(`${clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({key: Buffer.from('after-full').toString('base64'), value: Buffer.from('v').toString('base64')}),
      signal: AbortSignal.timeout(5000),
    })
    const written = Number(((await put.json()) as {header: {revision: string}}).header.revision)
    assert.ok(written > full.revision)
    const target = await openBackupTarget(`file://${path.join(dir, 'target')}`)
    const delta = await until(
      'a delta holding the write',
      async () => {
        const l = await listBackups(target)
        return l.backups.find((b) => b.kind === 'delta' && b.baseId === full.id && b.toRevision >= written)
      },
      60_000,
      300,
    )
    assert.equal(delta.kind, 'delta')
    const b = (await stats(admin)).backup!
    assert.equal(b.deltas.enabled, true)
    assert.ok(b.deltas.last_flush_at !== null && b.deltas.revision !== null && b.deltas.revision >= written, JSON.stringify(b.deltas))
    assert.equal(typeof b.recovery_point_seconds, 'number')
    const list = await getJson<{backups: {id: string; kind: string; base_id: string | null}[]}>(`${admin}/backups`)
    assert.ok(list.body.backups.some((x) => x.kind === 'delta' && x.base_id === full.id))
  })
})
