/**
 * Backups in `serve` to an s3:// target on a REAL S3-compatible server in its own process (s3rver, see
 * test/helpers/s3-server.ts): `serve --master local --backup-target s3://bucket/prefix --backup-s3-endpoint …
 * --backup-s3-credentials-file …`; an on-demand backup lands in the bucket and `backups list` shows it; the keys
 * never appear in serve's output. Wrong keys: serve runs the cluster and the backups fail loudly. A bad endpoint
 * flag: exit 2 naming it.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {getJson, stats, until, type ServeProc} from '../helpers/serve.js'
import {runCli, startLocalServe} from '../helpers/serve-e2e.js'
import {startS3Server, type S3Server} from '../helpers/s3-server.js'

describe('serve: backups to an s3:// target', {timeout: 400_000}, () => {
  let dir: string
  let s3: S3Server
  let serve: ServeProc

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-backups-s3-'))
    s3 = await startS3Server({buckets: ['etcd-backups']})
    writeFileSync(
      path.join(dir, 'credentials'),
      `[backup]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`,
    )
    writeFileSync(path.join(dir, 'wrong'), '[default]\naws_access_key_id = AKIAWRONGWRONG\naws_secret_access_key = not-the-secret-at-all\n')
  })

  after(async () => {
    await serve?.stop()
    await s3?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('a bad --backup-s3-endpoint: exit 2 naming it', async () => {
    const r = await runCli([
      'serve',
      '--master',
      'local',
      '--admin-port',
      '0',
      '--backup-target',
      's3://etcd-backups/x',
      '--backup-s3-endpoint',
      'ftp://127.0.0.1:1',
    ])
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`)
    assert.match(
      r.stderr.replace(/\s*\n\s*›?\s*/g, ' '),
      /--backup-target s3:\/\/etcd-backups\/x: invalid S3 endpoint "ftp:\/\/127\.0\.0\.1:1"/,
    )
  })

  it('an on-demand backup lands in the bucket, backups list shows it, and no key is in the log', async () => {
    serve = await startLocalServe({
      cluster: 's3bk',
      size: 1,
      agents: 1,
      bootstrapWait: 1,
      args: [
        ...['--backup-target', 's3://etcd-backups/cluster/s3bk', '--backup-s3-endpoint', s3.endpoint, '--backup-s3-region', s3.region],
        ...['--backup-s3-credentials-file', path.join(dir, 'credentials'), '--backup-s3-profile', 'backup', '--backup-interval', '0'],
      ],
    })
    const admin = serve.adminUrl
    const r = await runCli(['backup', '--admin-url', admin, '--json'])
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${serve.log().slice(-3000)}`)
    const id = (JSON.parse(r.stdout) as {operation: {manifest: {id: string}}}).operation.manifest.id
    const list = await runCli(['backups', 'list', '--admin-url', admin, '--json'])
    assert.equal(list.code, 0, list.stderr)
    const doc = JSON.parse(list.stdout) as {target: string; backups: {id: string; kind: string}[]}
    assert.equal(doc.target, 's3://etcd-backups/cluster/s3bk')
    assert.ok(
      doc.backups.some((b) => b.id === id && b.kind === 'full'),
      list.stdout,
    )
    const b = (await stats(admin)).backup!
    assert.equal(b.last_success?.id, id)
    const everything = `${serve.log()}\n${JSON.stringify(await stats(admin))}\n${(await getJson(`${admin}/metrics`)).text}`
    assert.ok(!everything.includes(s3.secretAccessKey), 'the secret key is never shown')
    assert.ok(!everything.includes(s3.accessKeyId), 'the access key id is never shown')
    await serve.stop()
  })

  it('wrong keys: the cluster runs, backups fail loudly naming the target', async () => {
    serve = await startLocalServe({
      cluster: 's3bad',
      size: 1,
      agents: 1,
      bootstrapWait: 1,
      args: [
        ...['--backup-target', 's3://etcd-backups/cluster/s3bad', '--backup-s3-endpoint', s3.endpoint],
        ...['--backup-s3-credentials-file', path.join(dir, 'wrong'), '--backup-interval', '2s', '--backup-timeout', '30s'],
      ],
    })
    const admin = serve.adminUrl
    const b = await until(
      'backups to keep failing',
      async () => ((await stats(admin)).backup?.failing ? (await stats(admin)).backup : undefined),
      180_000,
      500,
    )
    assert.match(b?.last_failure?.message ?? '', /etcd-backups/)
    assert.equal((await stats(admin)).healthy, 1)
    assert.ok(!serve.log().includes('not-the-secret-at-all'), 'the secret key is never logged')
    const check = await runCli(['stats', '--check', '--admin-url', admin])
    assert.equal(check.code, 8, `${check.stdout}\n${check.stderr}`)
  })
})
