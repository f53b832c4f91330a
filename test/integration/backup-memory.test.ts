/**
 * The backup library streams: taking a backup of a real etcd member whose snapshot is ~50-60 MB, and reading it
 * back verified, hold at no time more than a small fraction of the snapshot in memory. Measured, not timed: every
 * 64 chunks a full GC runs and the live V8 heap + Buffers' ArrayBuffers is sampled against a baseline taken after
 * a GC before (the garbage between two GCs is V8's business: the young generation and the external-memory
 * threshold let ~16 MB of heap and ~30 MB of ArrayBuffers accumulate before a collection, whatever the snapshot
 * size; it is printed, not asserted). Its own file: a fresh process gives a quiet baseline.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'
import {startEtcdCluster, putKey, type EtcdCluster} from '../helpers/etcd.js'
import {FileBackupTarget, readBackup, takeBackup, type BackupTarget} from '../../src/lib/backup/index.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const used = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** Samples memory along a stream: live (after a full GC, every 64 chunks) and raw (every chunk, garbage included). */
class Sampler {
  live = 0
  raw = 0
  private n = 0
  constructor(readonly base: number) {}
  async sample(): Promise<void> {
    this.raw = Math.max(this.raw, used() - this.base)
    if (++this.n % 64 !== 0) return
    gc()
    await new Promise((r) => setImmediate(r))
    gc()
    this.live = Math.max(this.live, used() - this.base)
  }
}

/** A FileBackupTarget whose put samples memory at every chunk it is given. */
class MeasuringTarget extends FileBackupTarget implements BackupTarget {
  sampler: Sampler | undefined
  override put(name: string, data: AsyncIterable<Uint8Array> | Uint8Array) {
    if (data instanceof Uint8Array) return super.put(name, data)
    const sampler = this.sampler
    async function* sampled() {
      for await (const c of data as AsyncIterable<Uint8Array>) {
        await sampler?.sample()
        yield c
      }
    }
    return super.put(name, sampled())
  }
}

const MB = 1 << 20
const VALUES = 48

describe('backup memory stays bounded by a chunk, not the snapshot', {timeout: 600_000}, () => {
  let cluster: EtcdCluster
  let dir: string
  before(async () => {
    cluster = await startEtcdCluster(1, {})
    dir = await mkdtemp(path.join(os.tmpdir(), 'backup-memory-'))
    // Incompressible-looking 1 MB values (a different byte pattern each), 48 MB of data in all.
    for (let i = 0; i < VALUES; i++)
      await putKey(cluster.endpoints[0]!, `big/${i}`, Buffer.alloc(MB - 1024, `${i}-0123456789abcdef`).toString('latin1'))
  })
  after(async () => {
    await cluster?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('take and read back a ~50-60 MB snapshot holding less than an eighth of it in memory', async () => {
    const target = new MeasuringTarget(dir)
    gc()
    const take = new Sampler(used())
    target.sampler = take
    const m = await takeBackup({endpoint: cluster.endpoints[0]!, target})
    target.sampler = undefined
    assert.ok(m.size > VALUES * MB * 0.9, `snapshot of ${m.size} bytes`)

    gc()
    const read = new Sampler(used())
    const {stream} = await readBackup(target, m.id)
    for await (const _ of stream) await read.sample()
    const mb = (n: number) => `${(n / MB).toFixed(1)} MB`
    console.log(
      `snapshot ${mb(m.size)}: live memory growth while taking ${mb(take.live)} (with garbage ${mb(take.raw)}), ` +
        `while reading back ${mb(read.live)} (with garbage ${mb(read.raw)})`,
    )
    assert.ok(take.live < m.size / 8, `taking held ${take.live} bytes more for a ${m.size}-byte snapshot`)
    assert.ok(read.live < m.size / 8, `reading held ${read.live} bytes more for a ${m.size}-byte snapshot`)
  })
})
