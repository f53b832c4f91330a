/**
 * A restore survives its scheduler (issue 15): real ZooKeeper, the local Mesos as its own process, `serve` with a
 * file:// backup target. POST /restore {from: latest, force} on a healthy cluster; once ZooKeeper holds the
 * restore in progress, serve is SIGKILLed; a new serve (same cluster, same ZooKeeper) resumes it from the
 * persisted phase and finishes: a new cluster (new member ids) with the backed-up keys, the operation succeeded.
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-restore-resume.test.ts   (needs dist/).
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'
import {takeBackup} from '../../src/lib/backup/backups.js'
import {openBackupTarget} from '../../src/lib/backup/open.js'
import {
  ETCD_BIN,
  Logs,
  getJson,
  memberList,
  putKeys,
  readPrefix,
  scenario,
  serveSuite,
  startServe,
  stats,
  until,
  waitHealthyMembers,
} from '../helpers/serve.js'
import {localMesosServeArgs} from '../helpers/serve-e2e.js'
import {withZkClient} from '../helpers/zookeeper.js'

const suite = serveSuite()
const cleanups = suite.cleanups

describe('serve: a restore resumes after the scheduler is SIGKILLed', {timeout: 540_000}, () => {
  it('the new scheduler finishes the persisted restore', {timeout: 480_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const cluster = `rres${process.pid % 10000}`
      const dir = mkdtempSync(path.join(os.tmpdir(), 'it-restore-resume-'))
      cleanups.push(async () => rmSync(dir, {recursive: true, force: true}))
      const targetDir = path.join(dir, 'target')
      mkdirSync(targetDir)
      const args = [
        ...(await localMesosServeArgs(suite, logs, cluster)),
        ...['--etcd-bin', ETCD_BIN, '--backup-target', `file://${targetDir}`, '--backup-interval', '0', '--backup-delta-interval', '0'],
      ]
      const first = await startServe(args, logs, 'serve-1')
      cleanups.push(() => first.stop())
      const ms = await waitHealthyMembers(first.adminUrl, 3, 180_000)
      const oldIds = new Set((await memberList(ms.map((m) => m.client_url))).map((m) => m.id))
      await putKeys(ms[0]!.client_url, 'kept/', 25)
      const backup = await takeBackup({endpoint: ms[0]!.client_url, target: await openBackupTarget(`file://${targetDir}`)})

      const post = await getJson<{op: string}>(`${first.adminUrl}/restore`, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: JSON.stringify({from: 'latest', force: true}),
      })
      assert.equal(post.status, 202, post.text)
      const op = post.body.op
      const persisted = await until(
        'ZooKeeper to hold the restore in progress',
        async () => {
          const d = await withZkClient(suite.zk().url, (c) => c.get(`/etcd-mesos/${cluster}/state`)).catch(() => null)
          const doc = d ? (JSON.parse(d.data.toString('utf8')) as {restore?: {op: string; phase: string} | null}) : null
          return doc?.restore?.op === op ? doc.restore : undefined
        },
        60_000,
        20,
      )
      await first.stop('SIGKILL')
      logs.add('persisted phase at the kill', () => persisted.phase)

      const second = await startServe(args, logs, 'serve-2')
      cleanups.push(() => second.stop())
      const done = await until(
        'the resumed restore to end',
        async () => {
          const r = await getJson<{status: string; message: string}>(`${second.adminUrl}/restore/${op}`).catch(() => null)
          return r?.status === 200 && r.body.status !== 'running' ? r.body : undefined
        },
        300_000,
        500,
      )
      assert.equal(done.status, 'succeeded', done.message)
      assert.match(done.message, new RegExp(backup.id.replace(/\./g, '\\.')))
      assert.match(second.log(), /resuming the restore that was in progress/)
      const now = await waitHealthyMembers(second.adminUrl, 3, 120_000)
      const urls = now.map((m) => m.client_url)
      assert.equal((await readPrefix(urls, 'kept/')).size, 25)
      assert.ok(
        (await memberList(urls)).every((m) => !oldIds.has(m.id)),
        'new member ids',
      )
      const s = await stats(second.adminUrl)
      assert.equal(s.restore?.last?.op, op)
      assert.equal(s.mode, 'MUTABLE')
    })
  })
})
