/**
 * Backups with two schedulers (ZooKeeper leader election, a separate local Mesos): only the leader takes backups; the
 * standby takes none and answers POST /backups with 503; after the leader is SIGKILLed the new leader takes them.
 * Needs a current build (dist/).
 */
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'
import {listBackups, openBackupTarget} from '../../src/lib/backup/index.js'
import {stopTracked} from '../helpers/procs.js'
import {
  ETCD_BIN,
  getJson,
  Logs,
  RUN_JS,
  scenario,
  serveSuite,
  startMesosLocal,
  startServe,
  stats,
  until,
  waitHealthyMembers,
  waitStandby,
} from '../helpers/serve.js'

const suite = serveSuite()

describe('serve backups with a standby scheduler', {timeout: 300_000}, () => {
  it('only the leader takes backups; the standby refuses POST /backups (503); the next leader takes them', async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'it-backups-ha-'))
      suite.cleanups.push(() => rm(dir, {recursive: true, force: true}))
      const mesos = await startMesosLocal({}, logs)
      suite.cleanups.push(() => mesos.stop())
      const flags = [
        '--master',
        mesos.hostPort,
        '--cluster-name',
        'bkha',
        '--cluster-size',
        '1',
        '--health-interval',
        '1',
        '--bootstrap-wait',
        '1',
        '--failover-timeout-seconds',
        '300',
        '--executor-bin',
        RUN_JS,
        '--etcd-bin',
        ETCD_BIN,
        '--zk-framework-persist',
        `${suite.zk().url}/etcd-mesos`,
        '--backup-target',
        `file://${dir}`,
        '--backup-interval',
        '2s',
        '--backup-delta-interval',
        '0',
      ]
      const a = await startServe(flags, logs, 'serve A')
      suite.cleanups.push(() => a.stop())
      await waitHealthyMembers(a.adminUrl, 1, 90_000)
      const b = await startServe(flags, logs, 'serve B')
      suite.cleanups.push(() => b.stop())
      await waitStandby(b.adminUrl)
      await until('A to take 2 backups', async () => ((await stats(a.adminUrl)).backup!.backups_taken >= 2 ? true : undefined), 60_000, 200)
      const post = await getJson(`${b.adminUrl}/backups`, {method: 'POST'})
      assert.equal(post.status, 503, post.text)
      assert.match(post.text, /standby/)
      assert.doesNotMatch(b.log(), /backup taken/, 'the standby takes no backup')
      assert.match(a.log(), /backup taken/)

      await stopTracked(a.child, 'SIGKILL')
      const target = await openBackupTarget(`file://${dir}`)
      const before = (await listBackups(target)).backups.length
      await until(
        'B to lead and take backups',
        async () => {
          const r = await getJson<{backup?: {backups_taken: number}}>(`${b.adminUrl}/stats`)
          return r.status === 200 && (r.body.backup?.backups_taken ?? 0) >= 1 ? true : undefined
        },
        90_000,
        300,
      )
      assert.match(b.log(), /backup taken/)
      assert.ok((await listBackups(target)).backups.length > before)
    })
  })
})
