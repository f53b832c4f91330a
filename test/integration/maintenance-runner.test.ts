/**
 * The driver side of disk-space maintenance (src/scheduler/maintenance-runner.ts) on a real etcd 3.4: every action is
 * answered with the core event reporting it, never a throw — COMPACT (twice at the same revision: the second, already
 * compacted, still counts as Compacted, so a restarted scheduler's repeated step is harmless), DEFRAG, ALARM_DISARM of
 * an alarm not raised (a no-op), and the failures: an unreachable member, a refused argument.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {putKey, startEtcdCluster, type EtcdCluster} from '../helpers/etcd.js'
import {freePort} from '../helpers/ports.js'
import {EtcdGateway} from '../../src/lib/etcd/gateway.js'
import {maintenanceRunner} from '../../src/scheduler/maintenance-runner.js'

describe('maintenance runner on a real etcd', {timeout: 120_000}, () => {
  let cluster: EtcdCluster
  before(async () => {
    cluster = await startEtcdCluster(1)
  })
  after(async () => {
    await cluster?.stop()
  })

  it('answers COMPACT (also an already compacted revision), DEFRAG and ALARM_DISARM with their events', async () => {
    const url = cluster.endpoints[0]!
    for (let i = 0; i < 5; i++) await putKey(url, `k${i % 2}`, `v${i}`)
    const gw = new EtcdGateway(url, {timeoutMs: 10_000})
    const {revision, memberId} = await gw.status()
    await gw.close()
    const r = maintenanceRunner({defragTimeoutMs: 60_000})
    const compacted = {type: 'Compacted', clientUrl: url, revision}
    assert.deepEqual(await r.perform({type: 'COMPACT', clientUrl: url, revision, physical: true}), compacted)
    assert.deepEqual(await r.perform({type: 'COMPACT', clientUrl: url, revision, physical: true}), compacted, 'already compacted: done')
    assert.deepEqual(await r.perform({type: 'DEFRAG', clientUrl: url, memberId}), {type: 'Defragmented', clientUrl: url, memberId})
    assert.deepEqual(await r.perform({type: 'ALARM_DISARM', clientUrl: url, memberId, alarm: 'NOSPACE'}), {
      type: 'AlarmDisarmed',
      memberId,
      alarm: 'NOSPACE',
    })
  })

  it('answers failures with *Failed events naming the member and the problem', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const r = maintenanceRunner({defragTimeoutMs: 10_000})
    const d = await r.perform({type: 'DEFRAG', clientUrl: dead, memberId: '1'})
    assert.equal(d.type, 'DefragFailed')
    assert.match((d as {message: string}).message, new RegExp(dead.replace(/[.]/g, '\\.')))
    const c = await r.perform({type: 'COMPACT', clientUrl: dead, revision: 5, physical: true})
    assert.equal(c.type, 'CompactFailed')
    const a = await r.perform({type: 'ALARM_DISARM', clientUrl: cluster.endpoints[0]!, memberId: 'not-an-id', alarm: 'NOSPACE'})
    assert.equal(a.type, 'AlarmDisarmFailed')
    assert.match((a as {message: string}).message, /memberId/)
  })
})
