/**
 * Benchmark of issue 15: a full backup of a cluster holding DATA_MB (default 100) MB of data.
 *
 *   (s) `etcd-mesos serve --master local --backup-target file://<tmp>` (3 members), filled with DATA_MB of
 *       random 512 KiB values; POST /backups, then GET /backups/op/<op> until it succeeded. Time from the POST to
 *       the op's success; serve's RSS sampled every 25 ms from /proc/<pid>/status: its peak during the backup and
 *       that peak minus its RSS just before (what taking the backup costs the scheduler).
 *   (f) floor, in the same run: `etcdctl snapshot save` of the member the backup came from (the manifest's
 *       endpoint), to a file in the same file system: its time and its own peak RSS (VmHWM).
 * Repeats REPEAT times (default 3), alternating (s) and (f) on the same cluster; prints each run, the medians and
 * the ratio (s)/(f) for the time. No assertions.
 * Run: node --import tsx bench/backup.bench.ts   (needs a current build: dist/)
 * Env: REPEAT=n, DATA_MB=n, BENCH_SERVE_ARGS="extra serve flags", BENCH_MESOS=separate (see bench-serve.ts).
 */
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {waitFor} from '../test/helpers/ports.js'
import {killAllTracked} from '../test/helpers/procs.js'
import {members, stats, sweepCluster} from '../test/helpers/serve.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../test/helpers/zookeeper.js'
import {SEPARATE, startBenchServe} from './bench-serve.js'

const REPEAT = Number(process.env.REPEAT ?? 3)
const DATA_MB = Number(process.env.DATA_MB ?? 100)
const VALUE_BYTES = 512 * 1024
const CLUSTER = 'bench-backup'
const ETCDCTL = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl'

const MB = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A /proc/<pid>/status field in bytes (VmRSS, VmHWM), or undefined once the process is gone. */
function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Samples `pid`'s RSS every 25 ms until stopped; `peak` is the highest seen. */
function rssSampler(pid: number): {stop(): number} {
  let peak = procKb(pid, 'VmRSS') ?? 0
  const t = setInterval(() => {
    peak = Math.max(peak, procKb(pid, 'VmRSS') ?? 0)
  }, 25)
  return {
    stop() {
      clearInterval(t)
      return Math.max(peak, procKb(pid, 'VmRSS') ?? 0)
    },
  }
}

async function adminJson(url: string, init?: RequestInit): Promise<{status: number; body: Record<string, unknown>}> {
  const res = await fetch(url, {...init, signal: AbortSignal.timeout(10_000)})
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    body = {text}
  }
  return {status: res.status, body}
}

/** The first string field named `endpoint` anywhere in `v` (the manifest of the op's result). */
function findEndpoint(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  for (const [k, x] of Object.entries(v)) {
    if (k === 'endpoint' && typeof x === 'string') return x
    const inner = findEndpoint(x)
    if (inner) return inner
  }
  return undefined
}

/** (s): one on-demand backup through serve's admin API. */
async function byServe(adminUrl: string, pid: number): Promise<{ms: number; peak: number; growth: number; endpoint: string}> {
  const before = procKb(pid, 'VmRSS') ?? 0
  const sampler = rssSampler(pid)
  const t0 = performance.now()
  const posted = await adminJson(`${adminUrl}/backups`, {method: 'POST'})
  if (posted.status !== 202 || typeof posted.body.op !== 'string')
    throw new Error(`POST /backups: HTTP ${posted.status} ${JSON.stringify(posted.body)}`)
  const op = posted.body.op
  const done = await waitFor(
    `backup ${op} to finish`,
    async () => {
      const r = await adminJson(`${adminUrl}/backups/op/${op}`)
      const status = r.body.status
      if (status === 'failed') throw new Error(`backup ${op} failed: ${JSON.stringify(r.body)}`)
      return status === 'succeeded' ? r.body : false
    },
    600_000,
    20,
  )
  const ms = performance.now() - t0
  const peak = sampler.stop()
  const endpoint = findEndpoint(done)
  if (!endpoint) throw new Error(`backup ${op}: no endpoint in ${JSON.stringify(done)}`)
  return {ms, peak, growth: peak - before, endpoint}
}

/** (f): `etcdctl snapshot save` of `endpoint`; its time and peak RSS (VmHWM, read until it exits). */
async function byEtcdctl(endpoint: string, dir: string): Promise<{ms: number; peak: number; size: number}> {
  const file = path.join(dir, `etcdctl-${Date.now()}.db`)
  const t0 = performance.now()
  const child = spawn(ETCDCTL, ['--endpoints', endpoint, 'snapshot', 'save', file], {
    env: {...process.env, ETCDCTL_API: '3'},
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  let peak = 0
  const t = setInterval(() => {
    peak = Math.max(peak, child.pid === undefined ? 0 : (procKb(child.pid, 'VmHWM') ?? 0))
  }, 10)
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  const ms = performance.now() - t0
  clearInterval(t)
  if (code !== 0) throw new Error(`etcdctl snapshot save ${endpoint}: exit ${code}: ${err.slice(-2000)}`)
  const size = (await stat(file)).size
  await rm(file, {force: true})
  return {ms, peak, size}
}

async function fill(clientUrl: string): Promise<void> {
  const n = Math.ceil((DATA_MB * 1024 * 1024) / VALUE_BYTES)
  for (let i = 0; i < n; i++) {
    const value = randomBytes(VALUE_BYTES).toString('base64') // etcd's JSON gateway takes base64: this IS the value
    const key = Buffer.from(`big/${String(i).padStart(5, '0')}`).toString('base64')
    const res = await fetch(`${clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({key, value}),
      signal: AbortSignal.timeout(30_000),
    })
    if (res.status !== 200) throw new Error(`put ${i}: HTTP ${res.status} ${await res.text()}`)
  }
}

async function main(): Promise<void> {
  let zk: ZkServer | undefined
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-backup-'))
  if (SEPARATE) zk = await startZooKeeper()
  // Its own agent port range: another local scheduler on this machine (a test, a bench) may hold 31000-32000.
  const lo = 33_000 + Math.floor(Math.random() * 100) * 200
  const {serve, mesos, cwd} = await startBenchServe(CLUSTER, zk, [
    ...(SEPARATE ? [] : ['--local-agent-ports', `${lo}-${lo + 199}`]),
    '--backup-target',
    `file://${dir}`,
    '--backup-interval',
    '0',
    '--backup-delta-interval',
    '0',
  ])
  try {
    await waitFor(
      '3 healthy members',
      async () => {
        if (serve.exited()) throw new Error(`serve exited:\n${serve.log().slice(-3000)}`)
        return (await stats(serve.adminUrl).catch(() => null))?.healthy === 1
      },
      240_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nserve's log:\n${serve.log().slice(-4000)}`)
    })
    const ms = await members(serve.adminUrl)
    const t0 = performance.now()
    await fill(ms[0]!.client_url)
    console.log(
      `filled ${DATA_MB} MB (${Math.ceil((DATA_MB * 1024 * 1024) / VALUE_BYTES)} values of 512 KiB) in ${Math.round(performance.now() - t0)} ms`,
    )
    const pid = serve.child.pid!
    const s: {ms: number; peak: number; growth: number}[] = []
    const f: {ms: number; peak: number}[] = []
    for (let i = 0; i < REPEAT; i++) {
      const a = await byServe(serve.adminUrl, pid)
      const b = await byEtcdctl(a.endpoint, dir)
      s.push(a)
      f.push(b)
      console.log(
        `run ${i + 1}: (s) serve ${Math.round(a.ms)} ms, RSS peak ${MB(a.peak)} (+${MB(a.growth)} over the RSS before)` +
          `  (f) etcdctl snapshot save ${Math.round(b.ms)} ms, peak RSS ${MB(b.peak)}, snapshot ${MB(b.size)}`,
      )
    }
    const sm = median(s.map((r) => r.ms))
    const fm = median(f.map((r) => r.ms))
    console.log('medians:')
    console.log(
      `  (s) serve POST /backups → succeeded: ${Math.round(sm)} ms; serve RSS peak ${MB(median(s.map((r) => r.peak)))}, growth ${MB(median(s.map((r) => r.growth)))}`,
    )
    console.log(`  (f) etcdctl snapshot save:          ${Math.round(fm)} ms; peak RSS ${MB(median(f.map((r) => r.peak)))}`)
    console.log(`  ratio (s)/(f) time: ${(sm / fm).toFixed(2)}x`)
    console.log(
      `BENCH-SUMMARY ${JSON.stringify({row: `backup of ${DATA_MB} MB`, figure: `${(sm / 1000).toFixed(1)} s, +${MB(median(s.map((r) => r.growth)))}`, floor: `${(fm / 1000).toFixed(1)} s`, ratio: `${(sm / fm).toFixed(2)}x`, goal: 'none set'})}`,
    )
  } finally {
    await serve.stop()
    await sweepCluster(CLUSTER)
    await mesos?.stop()
    if (zk) await destroyZooKeeper(zk)
    await rm(cwd, {recursive: true, force: true})
    await rm(dir, {recursive: true, force: true})
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    killAllTracked()
    process.exit(1)
  },
)
