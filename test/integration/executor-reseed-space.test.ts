/**
 * A re-seed on a data dir whose file system really runs out of space (a tmpfs mounted here: the tests run as root),
 * and the bounded number of pre-re-seed copies. Real etcd 3.4 throughout.
 *
 * The file system is sized from what etcd really uses: etcd keeps a spare 64 MB WAL segment while it runs (freed
 * when it stops), so with the data dir holding S bytes of copyable files the tmpfs gets a size between
 * S + 64 MB + a little (etcd runs) and 2 × S (a copy does not fit even once etcd is stopped).
 *
 * - the executor (subprocess) is asked for a forced re-seed: it must answer 'failed' naming the free space, with
 *   etcd never stopped, no copy left behind, no TASK_FAILED, and KILL still ends it with 0. (Before: etcd was
 *   stopped, the copy failed with ENOSPC, etcd stayed down and the task failed.)
 * - reseedMember told there is room (a free-space probe that lies), so the copy itself fails with ENOSPC: the
 *   partial copy is removed and etcd is started again exactly as it was (same argv), with its data.
 * - pruning: with --reseed-backups-keep 2 and three older copies, a re-seed leaves the newest old one and the new one.
 */
import {after, afterEach, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {lstat, mkdir, mkdtemp, readdir, rm, rmdir, statfs, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {freePorts, waitFor} from '../helpers/ports.js'
import {countKeys, putKey} from '../helpers/etcd.js'
import {soloMember, startExecutor, TestAgent} from '../helpers/executor-agent.js'
import {onInterrupt} from '../helpers/procs.js'
import {EtcdSupervisor} from '../../src/executor/supervisor.js'
import {buildEtcdArgs} from '../../src/executor/etcd-args.js'
import {reseedMember} from '../../src/executor/reseed.js'
import {clientUrlOf, type MemberConfig, type ReseedStep} from '../../src/lib/member-config.js'

const run = promisify(execFile)
const MB = 1024 * 1024
const SPARE_WAL = 64 * 1000 * 1000 // etcd's preallocated segment: 64 * 1000 * 1000 bytes

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

/** A tmpfs of `sizeMb` on a new temp dir (needs root), unmounted after the test or on SIGINT/SIGTERM. */
async function mountTmpfs(sizeMb: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reseed-space-'))
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]).catch((err: Error) => {
    throw new Error(`this test mounts a tmpfs and must run as root: ${err.message}`)
  })
  const unmount = async (): Promise<void> => {
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]))
    await rmdir(dir)
  }
  cleanups.push(unmount)
  onInterrupt(unmount)
  return dir
}

/** Bytes of the files a copy takes (every file but etcd's spare WAL segments), measured here independently. */
async function copyableBytes(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += await copyableBytes(p)
    else if (!(e.name.endsWith('.tmp') && path.basename(dir) === 'wal')) {
      const st = await lstat(p)
      total += Math.max(st.size, st.blocks * 512)
    }
  }
  return total
}

async function usedBytes(dir: string): Promise<number> {
  const s = await statfs(dir)
  return (s.blocks - s.bfree) * s.bsize
}

/** `keys` × 100 KB of values (default ~30 MB), so that the copyable data clearly exceeds the spare WAL segment etcd
 *  frees when stopped. */
async function fill(clientUrl: string, keys = 300): Promise<void> {
  const value = 'x'.repeat(100 * 1024)
  for (let i = 0; i < keys; i++) await putKey(clientUrl, `fill/k${String(i).padStart(4, '0')}`, value)
}

/**
 * Shrinks the tmpfs at `mount` (holding the running member's data dir) so that etcd keeps running but a copy of
 * its data dir cannot fit, even after etcd stopped and freed its spare segment. Returns the sizes, for messages.
 */
async function shrinkToNoRoomForACopy(mount: string, dataDir: string): Promise<string> {
  const copy = await copyableBytes(dataDir)
  const used = await usedBytes(mount)
  assert.ok(copy > SPARE_WAL + 16 * MB, `setup: the data dir holds only ${copy} copyable bytes; more data needed`)
  // after etcd stops, free = size - copy (+ what the spare segment took): keep that below the copy's size
  const size = Math.min(used + 8 * MB, 2 * copy - 8 * MB)
  assert.ok(size > used, `setup: no size between ${used} and ${2 * copy}`)
  await run('mount', ['-o', `remount,size=${Math.ceil(size / 1024)}k`, mount])
  return `data dir ${(copy / MB).toFixed(1)} MiB copyable, ${(used / MB).toFixed(1)} MiB used, tmpfs ${(size / MB).toFixed(1)} MiB`
}

function backupsIn(dir: string): Promise<string[]> {
  return readdir(dir).then((names) => names.filter((n) => n.includes('.pre-reseed-')).sort())
}

describe("re-seed when the data dir's file system is (nearly) full", {timeout: 180_000}, () => {
  it("the executor refuses the re-seed before stopping etcd: 'failed' naming the space, etcd untouched, task alive", async () => {
    const mount = await mountTmpfs(400)
    const dataDir = path.join(mount, 'data')
    const agent = new TestAgent()
    await agent.listen()
    cleanups.push(() => agent.close())
    const sandbox = await mkdtemp(path.join(os.tmpdir(), 'reseed-space-sandbox-'))
    cleanups.push(() => rm(sandbox, {recursive: true, force: true}))
    const [clientPort, peerPort] = await freePorts(2)
    const cfg = soloMember(clientPort!, peerPort!, {dataDir})
    const clientUrl = clientUrlOf(cfg)
    const ex = startExecutor(agent, cfg, sandbox)
    cleanups.push(ex.stop)
    await waitFor('TASK_RUNNING', () => agent.states().includes('TASK_RUNNING'), 60_000)
    await fill(clientUrl)
    const sizes = await shrinkToNoRoomForACopy(mount, dataDir)

    agent.sendReseed('op-full', true)
    await waitFor(
      'the re-seed answered',
      () => agent.messages.some((m) => m.op === 'op-full' && (m.step === 'failed' || m.step === 'done')),
      90_000,
    )
    const steps = agent.messages.filter((m) => m.op === 'op-full')
    assert.deepEqual(
      steps.map((m) => m.step),
      ['accepted', 'failed'],
      `${sizes}\n${JSON.stringify(steps)}\n${ex.stderr()}`,
    )
    assert.match(steps[1]!.message ?? '', /^backup: not enough free space for the pre-re-seed copy of .*; etcd was not stopped$/)
    assert.deepEqual(await backupsIn(mount), [], 'no copy left behind')
    assert.equal(ex.exit(), undefined, `the executor exited:\n${ex.stderr()}`)
    assert.ok(!agent.states().includes('TASK_FAILED'), agent.states().join(','))
    assert.equal(await countKeys(clientUrl, 'fill/'), 300, 'etcd serves its data')
    await putKey(clientUrl, 'after', 'still writable')

    agent.kill()
    assert.equal((await ex.exited).code, 0, ex.stderr())
    assert.equal(agent.states().at(-1), 'TASK_KILLED')
  })

  it('a copy that fails with ENOSPC (the free-space probe lied) is removed and etcd starts again exactly as it was', async () => {
    const mount = await mountTmpfs(400)
    const sandbox = await mkdtemp(path.join(os.tmpdir(), 'reseed-space-sandbox-'))
    cleanups.push(() => rm(sandbox, {recursive: true, force: true}))
    const [clientPort, peerPort] = await freePorts(2)
    const cfg: MemberConfig = soloMember(clientPort!, peerPort!, {dataDir: path.join(mount, 'data')})
    const clientUrl = clientUrlOf(cfg)
    const {bin, args} = buildEtcdArgs(cfg, sandbox)
    const current = new EtcdSupervisor({bin, args, sandbox, clientUrl, healthIntervalMs: 500})
    cleanups.push(async () => void (await current.stop(1000)))
    await current.start()
    await waitFor('etcd serves', () => countKeys(clientUrl, 'none/').then(() => true), 30_000)
    // ~60 MB of values (in the WAL and again in the db): the copy leaves zero blocks unwritten, so what it writes
    // (> 120 MB) must exceed what is free once etcd stopped (the shrunk tmpfs's slack + the freed spare segment, ~72 MB)
    const keys = 600
    await fill(clientUrl, keys)
    const before = readFileSync(`/proc/${current.pid}/cmdline`, 'utf8')
    const pidBefore = current.pid
    const sizes = await shrinkToNoRoomForACopy(mount, cfg.dataDir!)

    const steps: string[] = []
    await assert.rejects(
      reseedMember({
        cfg,
        sandbox,
        graceMs: 5000,
        current,
        freeBytes: async () => 1024 * 1024 * MB,
        report: (step: ReseedStep, message?: string) => void steps.push(`${step}${message ? `: ${message}` : ''}`),
      }),
      (err: Error) => err.name === 'ReseedError' && /at backup: .*ENOSPC/.test(err.message),
    )
    assert.deepEqual(steps.slice(0, 2), ['stopping', 'backup'], `${sizes}\n${steps.join('\n')}`)
    assert.match(
      steps[2]!,
      /^failed: backup: .*ENOSPC.*; etcd restarted as it was \(same data dir and flags, a normal member of its cluster\)$/s,
    )
    assert.equal(steps.length, 3)
    assert.deepEqual(await backupsIn(mount), [], 'the partial copy is removed')
    assert.ok(current.pid !== undefined && current.pid !== pidBefore, 'etcd runs again (a new process)')
    assert.equal(readFileSync(`/proc/${current.pid}/cmdline`, 'utf8'), before, 'same argv as before')
    assert.equal(await waitFor('etcd serves its data again', () => countKeys(clientUrl, 'fill/').catch(() => 0), 30_000), keys)
  })
})

describe('pre-re-seed copies are bounded', {timeout: 120_000}, () => {
  let tmp = ''
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'reseed-prune-'))
  })
  after(async () => {
    await rm(tmp, {recursive: true, force: true})
  })

  it('keep 2: the three older copies are pruned to the newest one, the new copy is the second; other dirs untouched', async () => {
    const sandbox = await mkdtemp(path.join(tmp, 'sandbox-'))
    const [clientPort, peerPort] = await freePorts(2)
    const dataDir = path.join(tmp, 'data')
    const cfg = soloMember(clientPort!, peerPort!, {dataDir})
    const clientUrl = clientUrlOf(cfg)
    const {bin, args} = buildEtcdArgs(cfg, sandbox)
    const current = new EtcdSupervisor({bin, args, sandbox, clientUrl})
    const started: EtcdSupervisor[] = [current]
    cleanups.push(async () => {
      for (const s of started) await s.stop(1000)
    })
    await current.start()
    await waitFor('etcd serves', () => putKey(clientUrl, 'k', 'v').then(() => true), 30_000)
    const old = ['2020-01-01T00-00-00-000Z', '2020-01-02T00-00-00-000Z', '2020-01-03T00-00-00-000Z'].map((t) => `data.pre-reseed-${t}`)
    for (const n of old) {
      await mkdir(path.join(tmp, n, 'member'), {recursive: true})
      await writeFile(path.join(tmp, n, 'member', 'marker'), n)
    }
    await mkdir(path.join(tmp, 'data-other.pre-reseed-2019-01-01T00-00-00-000Z'))

    const steps: string[] = []
    const sup = await reseedMember({
      cfg,
      sandbox,
      graceMs: 5000,
      current,
      backupsKeep: 2,
      stepTimeoutMs: 30_000,
      now: () => Date.parse('2030-01-01T00:00:00Z'),
      createSupervisor: (spec) => {
        const s = new EtcdSupervisor(spec)
        started.push(s)
        return s
      },
      report: (step, message) => void steps.push(`${step}${message ? `: ${message}` : ''}`),
    })
    assert.ok(sup.pid !== undefined)
    assert.equal(
      steps.find((s) => s.startsWith('backup')),
      'backup: removed 2 older pre-re-seed copies (keeping 2)',
      steps.join('\n'),
    )
    assert.deepEqual(await backupsIn(tmp), [
      'data-other.pre-reseed-2019-01-01T00-00-00-000Z',
      'data.pre-reseed-2020-01-03T00-00-00-000Z',
      'data.pre-reseed-2030-01-01T00-00-00-000Z',
    ])
    assert.equal(await countKeys(clientUrl, 'k'), 1)
  })
})
