/**
 * The scheduler's BackupService (src/scheduler/backup-service.ts) on REAL etcd 3.4 members and a file:// target,
 * driven directly (serve's e2e test is test/e2e/serve-backups.test.ts):
 *   - never two backups at once (409 naming the running one), and --backup-timeout bounds a backup whose
 *     snapshot stream stalls (a proxy stops forwarding): failed, counted, the message names the timeout; the
 *     next one from a working member succeeds;
 *   - retention after each success keeps --backup-keep full backups;
 *   - a broken delta chain (the member watched is gone; the only one left belongs to another cluster) makes the
 *     service take a new full backup by itself.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {listBackups, openBackupTarget} from '../../src/lib/backup/index.js'
import {probeMembers, type MemberProbe} from '../../src/lib/etcd/probe.js'
import {BackupService} from '../../src/scheduler/backup-service.js'
import type {BackupSettings} from '../../src/scheduler/backup-policy.js'
import {createLogger} from '../../src/scheduler/logger.js'
import {putKey, startEtcdCluster, type EtcdCluster} from '../helpers/etcd.js'
import {waitFor} from '../helpers/ports.js'
import {startSnapshotProxy} from '../helpers/snapshot-proxy.js'

function harness(dir: string, settings: Partial<BackupSettings>, probeUrls: () => string[]) {
  const lines: string[] = []
  let probes: MemberProbe[] = []
  const refresh = async (): Promise<void> => {
    probes = await probeMembers(probeUrls(), {timeoutMs: 2000})
  }
  const service = new BackupService({
    settings: {target: `file://${dir}`, intervalMs: 0, deltaIntervalMs: 0, timeoutMs: 60_000, ...settings},
    probes: () => probes,
    log: createLogger({write: (l) => lines.push(l)}),
  })
  return {service, lines, refresh}
}

async function waitOp(service: BackupService, op: string) {
  return waitFor(
    `backup operation ${op} to end`,
    () => {
      const o = service.opStatus(op)
      return o && o.status !== 'running' ? o : undefined
    },
    60_000,
    100,
  ) as Promise<NonNullable<ReturnType<BackupService['opStatus']>>>
}

describe('BackupService on real etcd', {timeout: 300_000}, () => {
  let a: EtcdCluster
  let b: EtcdCluster
  const dirs: string[] = []
  const newDir = async (): Promise<string> => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'backup-service-'))
    dirs.push(d)
    return d
  }
  before(async () => {
    a = await startEtcdCluster(1)
    b = await startEtcdCluster(1)
    // ~400 KB: a snapshot of many stream messages, so the stalling proxy stops mid-stream.
    for (let i = 0; i < 20; i++) await putKey(a.endpoints[0]!, `k${i}`, 'x'.repeat(20_000))
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('never two at once; a stalled stream fails after --backup-timeout; the next backup succeeds', async () => {
    const dir = await newDir()
    const stall = await startSnapshotProxy(a.endpoints[0]!, 'stall', 100_000)
    let url = stall.url
    const h = harness(dir, {timeoutMs: 3000}, () => [url])
    try {
      await h.refresh()
      await h.service.start()
      const first = h.service.requestBackup()
      assert.ok(first.accepted)
      const second = h.service.requestBackup()
      assert.ok(!second.accepted)
      assert.equal(second.status, 409)
      assert.equal(second.op, first.op)
      assert.match(second.error, /already running/)
      const failed = await waitOp(h.service, first.op)
      assert.equal(failed.status, 'failed')
      assert.match(failed.message ?? '', /--backup-timeout \(3 s\)/)
      const st = h.service.status()
      assert.equal(st.consecutive_failures, 1)
      assert.equal(st.failures_total, 1)
      assert.equal((await listBackups(await openBackupTarget(`file://${dir}`))).backups.length, 0, 'nothing published')
      url = a.endpoints[0]!
      await h.refresh()
      const third = h.service.requestBackup()
      assert.ok(third.accepted)
      const ok = await waitOp(h.service, third.op)
      assert.equal(ok.status, 'succeeded', ok.message ?? '')
      assert.equal(h.service.status().consecutive_failures, 0)
      assert.equal(h.service.status().last_success?.id, ok.manifest?.id)
    } finally {
      await h.service.stop()
      await stall.close()
    }
  })

  it('retention after each success keeps --backup-keep full backups', async () => {
    const dir = await newDir()
    const h = harness(dir, {keep: 2}, () => [a.endpoints[0]!])
    try {
      await h.refresh()
      await h.service.start()
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const r = h.service.requestBackup()
        assert.ok(r.accepted)
        const done = await waitOp(h.service, r.op)
        assert.equal(done.status, 'succeeded', done.message ?? '')
        ids.push(done.manifest!.id)
        await new Promise((r) => setTimeout(r, 5)) // distinct ids (ms resolution)
      }
      const listed = (await listBackups(await openBackupTarget(`file://${dir}`))).backups.map((m) => m.id)
      assert.deepEqual(listed, [ids[2], ids[1]])
    } finally {
      await h.service.stop()
    }
  })

  it('a broken delta chain makes the service take a new full backup by itself', async () => {
    const dir = await newDir()
    const c = await startEtcdCluster(1)
    let urls = [c.endpoints[0]!]
    const h = harness(dir, {deltaIntervalMs: 200}, () => urls)
    try {
      await h.refresh()
      await h.service.start()
      const r = h.service.requestBackup()
      assert.ok(r.accepted)
      const first = await waitOp(h.service, r.op)
      assert.equal(first.status, 'succeeded', first.message ?? '')
      await putKey(c.endpoints[0]!, 'delta-key', 'v')
      await waitFor('a delta flushed', () => h.service.status().deltas.last_delta_id !== null, 30_000, 100)
      // The watched member goes away; the only member left belongs to another cluster: the chain cannot go on.
      urls = [b.endpoints[0]!]
      await h.refresh()
      await c.stop()
      const second = await waitFor(
        'a new full backup taken by itself',
        () => (h.service.status().backups_taken >= 2 ? h.service.status().last_success : undefined),
        60_000,
        100,
      )
      const target = await openBackupTarget(`file://${dir}`)
      const fulls = (await listBackups(target)).backups.filter((m) => m.kind === 'full')
      const newest = fulls.find((m) => m.id === second?.id)
      assert.ok(newest, `${second?.id} listed`)
      assert.notEqual(newest.clusterId, first.manifest!.clusterId, 'the new base is the other cluster')
      assert.match(h.lines.join('\n'), /delta backups broke; taking a new full backup/)
    } finally {
      await h.service.stop()
      await c.stop().catch(() => undefined)
    }
  })
})
