/**
 * restore-replay.ts's private etcd against REAL etcd 3.4 and etcdctl: a port taken between the pick and etcd's bind
 * (here by a listener the test holds; on an agent, often the source port of some outgoing connection) is not waited
 * on for long: the next attempt picks other ports, restores the snapshot again and the replay succeeds. When every
 * attempt finds a taken port, the error says so, after 3 attempts, and no private etcd is left running.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {replayOnPrivateEtcd} from '../../src/executor/restore-replay.js'
import {openBackupTarget} from '../../src/lib/backup/index.js'
import type {BackupTarget} from '../../src/lib/backup/target.js'
import {ETCD_BIN, putKey, startEtcdCluster, type EtcdCluster} from '../helpers/etcd.js'
import {freePorts} from '../helpers/ports.js'

/** Live (not zombie) processes of the private replay etcd. */
function replayEtcds(): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
      if (cmd.includes('--name=restore-replay') && !readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.startsWith('Z'))
        out.push(Number(d))
    } catch {
      /* gone */
    }
  }
  return out
}

describe('restore replay: a port taken before the private etcd binds it', {timeout: 180_000}, () => {
  let cluster: EtcdCluster
  let dir: string
  let snapshot: string
  let target: BackupTarget
  let held: net.Server
  let heldPort: number
  before(async () => {
    cluster = await startEtcdCluster(1)
    for (let i = 0; i < 20; i++) await putKey(cluster.endpoints[0]!, `replay/${i}`, `v${i}`)
    dir = await mkdtemp(path.join(os.tmpdir(), 'restore-replay-'))
    snapshot = path.join(dir, 'full.db')
    execFileSync('etcdctl', ['--endpoints', cluster.endpoints[0]!, 'snapshot', 'save', snapshot], {
      env: {...process.env, ETCDCTL_API: '3'},
      stdio: 'ignore',
    })
    await mkdir(path.join(dir, 'target'))
    target = await openBackupTarget(`file://${path.join(dir, 'target')}`)
    ;[heldPort] = await freePorts(1)
    held = net.createServer()
    await new Promise<void>((r) => held.listen(heldPort!, '127.0.0.1', r))
  })
  after(async () => {
    held?.close()
    await cluster?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  const options = (workDir: string, ports: () => Promise<number[]>) => ({
    etcdBin: ETCD_BIN,
    etcdctl: 'etcdctl',
    workDir,
    snapshot,
    target,
    deltaIds: [],
    toRevision: null,
    baseId: 'full',
    extraArgs: [],
    timeoutMs: 60_000,
    ports,
  })

  it('the first start finds its client port taken: other ports, the replay succeeds', async () => {
    const workDir = await mkdtemp(path.join(dir, 'ok-'))
    let picks = 0
    const ports = async () => (++picks === 1 ? [heldPort, (await freePorts(1))[0]!] : freePorts(2))
    const out = await replayOnPrivateEtcd(options(workDir, ports))
    assert.equal(picks, 2)
    assert.equal(out.revision, 21, 'the snapshot of 20 puts, as the source had it')
    assert.ok(statSync(out.snapshot).size > 0)
    assert.equal(existsSync(path.join(workDir, 'replay-1')), false, "the first attempt's data dir is removed")
    assert.deepEqual(replayEtcds(), [])
  })

  it('every attempt finds a taken port: the error says so after 3 attempts; no private etcd left', async () => {
    const workDir = await mkdtemp(path.join(dir, 'taken-'))
    let picks = 0
    const ports = async () => {
      picks++
      return [heldPort, (await freePorts(1))[0]!]
    }
    await assert.rejects(replayOnPrivateEtcd(options(workDir, ports)), /a port is still in use/)
    assert.equal(picks, 3)
    assert.deepEqual(replayEtcds(), [])
  })
})
