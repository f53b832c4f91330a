/**
 * Test harness for the end-to-end scheduler tests: the REAL processes.
 *
 *  - `startMesosLocal()`  `etcd-mesos mesos-local` as a subprocess (its own work dir and a random agent port
 *    range, so scenarios never share etcd ports); the master URL is parsed from its stdout.
 *  - `startServe(args)`   `etcd-mesos serve` as a subprocess; stdout/stderr are kept (last 400 kB) for `dump()`.
 *  - admin API readers (`getJson`, `stats`, `members`, `waitStats`) polling with waitFor;
 *  - etcd access through etcd's own JSON gateway with fetch (independent of the code under test):
 *    `memberList`, `putKeys`, `readKey`;
 *  - /proc helpers: `etcdPids(member)` finds the etcd process of a member by `--name=<member>` in its
 *    cmdline; `sweep(dir)` SIGKILLs every process whose cmdline mentions `dir` or whose cwd is under it
 *    (executors run detached from the agents and outlive mesos-local, so every scenario sweeps its work dir).
 *  - `Logs`: named log sources of a scenario, printed by `scenario()` when the test body throws.
 */
import fs from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {ChildProcess} from 'node:child_process'
import {freePort, randomPortRange, waitFor} from './ports.js'
import {spawnTracked, stopTracked} from './procs.js'
import {after, afterEach, before} from 'node:test'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from './zookeeper.js'
import type {StatsDocument} from '../../src/lib/stats.js'

export {randomPortRange} from './ports.js'

export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
export const RUN_JS = path.join(REPO, 'bin', 'run.js')
export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd'

/** A bounded text buffer fed by a child's stdout/stderr. */
class Tail {
  text = ''
  constructor(private readonly max = 400_000) {}
  push(s: string): void {
    this.text += s
    if (this.text.length > this.max) this.text = this.text.slice(-this.max)
  }
}

/** The log sources of one scenario; `dump()` renders them all (for a failed test). */
export class Logs {
  private readonly sources = new Map<string, () => string>()
  add(name: string, read: () => string): void {
    this.sources.set(name, read)
  }
  dump(maxPerSource = 30_000): string {
    const out: string[] = []
    for (const [name, read] of this.sources) {
      let text = ''
      try {
        text = read()
      } catch (err) {
        text = `(cannot read: ${(err as Error).message})`
      }
      out.push(`===== ${name} (last ${Math.min(text.length, maxPerSource)} chars) =====`, text.slice(-maxPerSource))
    }
    return out.join('\n')
  }
}

/** Runs `fn`; when it throws (or always with IT_SHOW_LOGS=1), prints every log of `logs` to stderr; rethrows. */
export async function scenario(logs: Logs, fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
    if (process.env.IT_SHOW_LOGS) process.stderr.write(`\n${logs.dump()}\n`)
  } catch (err) {
    process.stderr.write(`\n${logs.dump()}\n`)
    throw err
  }
}

function collect(child: ChildProcess, tail: Tail): void {
  child.stdout?.on('data', (d: Buffer) => tail.push(d.toString('utf8')))
  child.stderr?.on('data', (d: Buffer) => tail.push(d.toString('utf8')))
}

/** waitFor for functions that answer `undefined`/`null`/`false` until ready: resolves with the ready value. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  return (await waitFor(what, fn, timeoutMs, everyMs)) as T
}

/** Until the scheduler at `adminUrl` stands by: /failover-status says STANDBY and names the leader's admin URL (a
 *  scheduler still starting says STANDBY too, naming no leader). */
export async function waitStandby(adminUrl: string, timeoutMs = 60_000): Promise<void> {
  await until(
    `${adminUrl} to stand by behind a leader`,
    async () => {
      const r = await getJson<{mode?: string; scheduler?: {leader?: {admin_url?: string | null} | null}}>(
        `${adminUrl}/failover-status`,
      ).catch(() => null)
      return r?.status === 200 && r.body.mode === 'STANDBY' && r.body.scheduler?.leader?.admin_url ? true : undefined
    },
    timeoutMs,
    200,
  )
}

// ---------------------------------------------------------------- mesos-local

export interface MesosLocalProc {
  child: ChildProcess
  /** http://ip:port of the leading master. */
  url: string
  /** ip:port of the leading master (what `serve --master` takes). */
  hostPort: string
  workDir: string
  portRange: [number, number]
  log(): string
  stop(): Promise<void>
}

export interface MesosLocalOptions {
  agents?: number
  masters?: number
  zk?: string
  allocationIntervalMs?: number
  heartbeatIntervalSec?: number
}

export async function startMesosLocal(opts: MesosLocalOptions = {}, logs?: Logs, label = 'mesos-local'): Promise<MesosLocalProc> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'it-mesos-local-'))
  const portRange = randomPortRange()
  const args = [
    RUN_JS,
    'mesos-local',
    '--port',
    '0',
    '--agents',
    String(opts.agents ?? 3),
    '--work-dir',
    workDir,
    '--resources',
    `cpus:4;mem:8192;disk:20000;ports:[${portRange[0]}-${portRange[1]}]`,
    '--allocation-interval',
    String(opts.allocationIntervalMs ?? 200),
    '--heartbeat-interval',
    String(opts.heartbeatIntervalSec ?? 2),
  ]
  if (opts.masters !== undefined) args.push('--masters', String(opts.masters))
  if (opts.zk !== undefined) args.push('--zk', opts.zk)
  const tail = new Tail()
  const child = spawnTracked(process.execPath, args, {cwd: workDir})
  collect(child, tail)
  logs?.add(label, () => tail.text)
  let exited = false
  child.once('exit', () => (exited = true))
  const url = await until<string>(
    'mesos-local to print its master URL',
    () => {
      if (exited) throw new Error(`mesos-local exited during start:\n${tail.text.slice(-3000)}`)
      const m = /Mesos master: (http:\/\/[^\s]+)/.exec(tail.text)
      return m?.[1]
    },
    30_000,
    50,
  )
  const agents = opts.agents ?? 3
  await waitFor(`${agents} local agents to be listed`, () => (tail.text.match(/^\s+agent \d+:/gm)?.length ?? 0) >= agents, 10_000, 50)
  return {
    child,
    url,
    hostPort: new URL(url).host,
    workDir,
    portRange,
    log: () => tail.text,
    async stop() {
      await stopTracked(child, 'SIGTERM', 10_000)
      await sweep(workDir)
      // Its agents' sandboxes hold etcd data and 64 MB WAL segments (~400 MB a cluster): a suite leaves GBs behind.
      if (!process.env.KEEP_TEST_DIRS) await rm(workDir, {recursive: true, force: true}).catch(() => undefined)
    },
  }
}

// ---------------------------------------------------------------- serve

export interface ServeProc {
  child: ChildProcess
  adminUrl: string
  adminPort: number
  log(): string
  exited(): boolean
  /** Resolves with the exit code (or signal name) once the process exited. */
  exit: Promise<number | string>
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `etcd-mesos serve <args>` with an admin port of its own (appended as `--admin-port`). */
export async function startServe(
  args: string[],
  logs?: Logs,
  label = 'serve',
  opts: {adminPort?: number; cwd?: string} = {},
): Promise<ServeProc> {
  const adminPort = opts.adminPort ?? (await freePort())
  const ownCwd = opts.cwd === undefined
  const cwd = opts.cwd ?? (await mkdtemp(path.join(os.tmpdir(), 'it-serve-')))
  const tail = new Tail()
  const child = spawnTracked(
    process.execPath,
    [RUN_JS, 'serve', ...args, '--admin-address', '127.0.0.1', '--admin-port', String(adminPort)],
    {cwd},
  )
  collect(child, tail)
  logs?.add(label, () => tail.text)
  // serve --master local removes its embedded Mesos's temp work dir when it stops cleanly; a serve the test
  // SIGKILLs cannot: remember the dir it logged and remove it in stop().
  let localWorkDir: string | undefined
  let head = ''
  const onData = (d: Buffer): void => {
    if (localWorkDir !== undefined || head.length > 200_000) return
    head += d.toString('utf8')
    // text: `… started the embedded local Mesos … workDir=/tmp/…`; --log-format json: `"workDir":"/tmp/…"`.
    const m =
      /started the embedded local Mesos.*? workDir=(\S+)/.exec(head) ??
      /"workDir":"([^"]+)".*?"msg":"started the embedded local Mesos"/.exec(head)
    if (m && path.basename(m[1]!).startsWith('mesos-local-')) localWorkDir = m[1]
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  let done = false
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => {
      done = true
      resolve(code ?? sig ?? -1)
    }),
  )
  return {
    child,
    adminPort,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    log: () => tail.text,
    exited: () => done,
    exit,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      await stopTracked(child, signal, 25_000)
      if (process.env.KEEP_TEST_DIRS) return
      if (ownCwd) await rm(cwd, {recursive: true, force: true}).catch(() => undefined)
      if (localWorkDir !== undefined) await rm(localWorkDir, {recursive: true, force: true}).catch(() => undefined)
    },
  }
}

// ---------------------------------------------------------------- admin API

export interface HttpAnswer<T> {
  status: number
  body: T
  text: string
}

export async function getJson<T = any>(url: string, init: RequestInit = {}): Promise<HttpAnswer<T>> {
  const res = await fetch(url, {...init, signal: AbortSignal.timeout(5000)})
  const text = await res.text()
  let body: unknown = null
  try {
    body = JSON.parse(text)
  } catch {
    body = null
  }
  return {status: res.status, body: body as T, text}
}

/** GET /stats (lib/stats.ts, the one definition). */
export type StatsView = StatsDocument

export interface MemberView {
  name: string
  task_id: string
  agent_id: string
  host: string
  client_url: string
  peer_url: string
  state: string
  member_id: string | null
  healthy: boolean | null
  is_learner: boolean
  leader: boolean
  raft_term?: number | null
  probe_error?: string | null
}

export async function stats(adminUrl: string): Promise<StatsView> {
  const r = await getJson<StatsView>(`${adminUrl}/stats`)
  if (r.status !== 200) throw new Error(`GET /stats: HTTP ${r.status} ${r.text}`)
  return r.body
}

export async function members(adminUrl: string): Promise<MemberView[]> {
  const r = await getJson<MemberView[]>(`${adminUrl}/members`)
  if (r.status !== 200) throw new Error(`GET /members: HTTP ${r.status} ${r.text}`)
  return r.body
}

/** Polls /stats until `pred` holds; returns the last stats. The error names the last stats seen. */
export async function waitStats(adminUrl: string, what: string, pred: (s: StatsView) => boolean, timeoutMs = 30_000): Promise<StatsView> {
  let last: StatsView | undefined
  try {
    return await until<StatsView>(
      what,
      async () => {
        last = await stats(adminUrl)
        return pred(last) ? last : undefined
      },
      timeoutMs,
      200,
    )
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast /stats: ${JSON.stringify(last)}`)
  }
}

/** Healthy with `n` running members, every one TASK_RUNNING, healthy and a voter in /members. */
export async function waitHealthyMembers(adminUrl: string, n: number, timeoutMs = 30_000): Promise<MemberView[]> {
  let last: unknown
  try {
    return await until<MemberView[]>(
      `${n} healthy voting members`,
      async () => {
        const s = await stats(adminUrl)
        const ms = await members(adminUrl)
        last = {stats: s, members: ms.map((m) => ({name: m.name, state: m.state, healthy: m.healthy, learner: m.is_learner}))}
        const ok =
          s.healthy === 1 &&
          s.running_servers === n &&
          s.mode === 'MUTABLE' &&
          ms.length === n &&
          ms.every((m) => m.state === 'TASK_RUNNING' && m.healthy === true && !m.is_learner)
        return ok ? ms : undefined
      },
      timeoutMs,
      200,
    )
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast seen: ${JSON.stringify(last)}`)
  }
}

// ---------------------------------------------------------------- etcd through its JSON gateway

const b64 = (s: string): string => Buffer.from(s).toString('base64')
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8')

async function gateway<T>(clientUrl: string, p: string, body: unknown, timeoutMs = 4000): Promise<T> {
  const res = await fetch(`${clientUrl}${p}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`POST ${clientUrl}${p}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as T
}

export interface EtcdMemberInfo {
  id: string
  name: string
  peerURLs: string[]
  clientURLs: string[]
  isLearner: boolean
}

/** `etcdctl member list` through the first endpoint that answers (linearizable in etcd 3.4? no: served by the member). */
export async function memberList(clientUrls: string[]): Promise<EtcdMemberInfo[]> {
  let lastErr: unknown
  for (const u of clientUrls) {
    try {
      const r = await gateway<{members?: {ID: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean}[]}>(
        u,
        '/v3/cluster/member/list',
        {},
      )
      return (r.members ?? []).map((m) => ({
        id: m.ID,
        name: m.name ?? '',
        peerURLs: m.peerURLs ?? [],
        clientURLs: m.clientURLs ?? [],
        isLearner: m.isLearner ?? false,
      }))
    } catch (err) {
      lastErr = err
    }
  }
  throw new Error(`member list failed on ${clientUrls.join(', ')}: ${String(lastErr)}`)
}

export async function putKeys(clientUrl: string, prefix: string, n: number): Promise<Map<string, string>> {
  const written = new Map<string, string>()
  for (let i = 0; i < n; i++) {
    const k = `${prefix}${String(i).padStart(4, '0')}`
    const v = `value-${i}-${Math.random().toString(36).slice(2)}`
    await gateway(clientUrl, '/v3/kv/put', {key: b64(k), value: b64(v)})
    written.set(k, v)
  }
  return written
}

/** Linearizable read of every key with `prefix` (tries each URL in turn). */
export async function readPrefix(clientUrls: string[], prefix: string): Promise<Map<string, string>> {
  const end = Buffer.from(prefix)
  end[end.length - 1]++
  let lastErr: unknown
  for (const u of clientUrls) {
    try {
      const r = await gateway<{kvs?: {key: string; value?: string}[]}>(u, '/v3/kv/range', {
        key: b64(prefix),
        range_end: end.toString('base64'),
      })
      return new Map((r.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value ?? '')]))
    } catch (err) {
      lastErr = err
    }
  }
  throw new Error(`range ${prefix} failed on ${clientUrls.join(', ')}: ${String(lastErr)}`)
}

/** The number of keys under `prefix` in the member's OWN store (a serializable read answers locally). */
export async function localCount(clientUrl: string, prefix: string): Promise<number> {
  const end = Buffer.from(prefix)
  end[end.length - 1]++
  const res = await fetch(`${clientUrl}/v3/kv/range`, {
    method: 'POST',
    signal: AbortSignal.timeout(2000),
    body: JSON.stringify({
      key: Buffer.from(prefix).toString('base64'),
      range_end: end.toString('base64'),
      count_only: true,
      serializable: true,
    }),
  })
  const body = (await res.json()) as {count?: string}
  return Number(body.count ?? 0)
}

// ---------------------------------------------------------------- /proc

export function readCmdline(pid: string): string[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '')
  } catch {
    return []
  }
}

export function pids(): string[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
}

/** Pids of the etcd processes running member `name` (`--name=<name>` in argv, argv[0] an etcd binary). */
export function etcdPids(name: string): number[] {
  const out: number[] = []
  for (const pid of pids()) {
    const argv = readCmdline(pid)
    if (argv.length > 0 && path.basename(argv[0]!) === 'etcd' && argv.includes(`--name=${name}`)) out.push(Number(pid))
  }
  return out
}

/** Etcd member names of running etcd processes whose name starts with `clusterName-`. */
export function etcdNames(clusterName: string): string[] {
  const out: string[] = []
  for (const pid of pids()) {
    const argv = readCmdline(pid)
    if (argv.length === 0 || path.basename(argv[0]!) !== 'etcd') continue
    const n = argv.find((a) => a.startsWith(`--name=${clusterName}-`))
    if (n) out.push(n.slice('--name='.length))
  }
  return out.sort()
}

/** SIGKILLs one etcd member's process(es); resolves when they are gone. Throws if none runs. */
export async function killEtcd(name: string): Promise<number[]> {
  const ps = etcdPids(name)
  if (ps.length === 0) throw new Error(`no etcd process runs member ${name}`)
  for (const p of ps) {
    try {
      process.kill(p, 'SIGKILL')
    } catch {
      /* gone already */
    }
  }
  await waitFor(`etcd ${name} (pids ${ps.join(',')}) to exit`, () => ps.every((p) => !alive(p)), 10_000, 20)
  return ps
}

/**
 * Loses member `name` WITH its data: removes its etcd data dir (read from the process' --data-dir), then
 * SIGKILLs the etcd. A restart in place (quorum lost, data kept) is then impossible: the relaunched
 * member's executor refuses an empty data dir, and the scheduler falls back to the re-seed.
 */
export async function killEtcdAndData(name: string): Promise<string> {
  const pid = etcdPids(name)[0]
  if (pid === undefined) throw new Error(`no etcd process runs member ${name}`)
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  const dataDir = argv.find((a) => a.startsWith('--data-dir='))?.slice('--data-dir='.length)
  if (!dataDir || !path.isAbsolute(dataDir)) throw new Error(`etcd ${name} has no absolute --data-dir: ${argv.join(' ')}`)
  // A persistent volume's data dir is a link into the agent's volumes/ (issue 14): the data is what it points to,
  // and the volume itself stays (the disk is there, its contents are gone).
  const real = fs.realpathSync(dataDir)
  if (real === dataDir) fs.rmSync(dataDir, {recursive: true, force: true})
  else for (const e of fs.readdirSync(real)) fs.rmSync(path.join(real, e), {recursive: true, force: true})
  await killEtcd(name)
  return dataDir
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return false
  }
}

/** SIGKILLs every process whose argv mentions `dir` or whose cwd is inside `dir`. Returns their pids. */
export async function sweep(dir: string): Promise<number[]> {
  const killed: number[] = []
  for (const pid of pids()) {
    const argv = readCmdline(pid).join(' ')
    let cwd = ''
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`)
    } catch {
      /* not ours or gone */
    }
    if (argv.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) {
      try {
        process.kill(Number(pid), 'SIGKILL')
        killed.push(Number(pid))
      } catch {
        /* gone */
      }
    }
  }
  if (killed.length > 0)
    await waitFor(`swept processes ${killed.join(',')} to exit`, () => killed.every((p) => !alive(p)), 10_000, 20).catch(() => undefined)
  return killed
}

/** SIGKILLs every etcd process of cluster `clusterName` (bench / local-mode cleanup). */
export async function sweepCluster(clusterName: string): Promise<void> {
  for (const n of etcdNames(clusterName)) await killEtcd(n).catch(() => undefined)
}

/** Tails of one sandbox file (default: the executors' stderr; `etcd.stderr`: etcd's own log) under a mesos-local work dir. */
export function sandboxLogs(workDir: string, file = 'stderr', tail = 4000): string {
  const out: string[] = []
  const walk = (d: string, depth: number): void => {
    if (depth > 12) return
    let entries: fs.Dirent[] = []
    try {
      entries = fs.readdirSync(d, {withFileTypes: true})
    } catch {
      return
    }
    for (const e of entries) {
      const p = path.join(d, e.name)
      if (e.isDirectory() && e.name !== 'etcd_data' && e.name !== 'latest') walk(p, depth + 1)
      else if (e.isFile() && e.name === file) out.push(`--- ${p}\n${fs.readFileSync(p, 'utf8').slice(-tail)}`)
    }
  }
  walk(workDir, 0)
  return out.join('\n')
}

/**
 * The hooks every file that runs `serve` against the local Mesos needs: dist/ built, one real ZooKeeper
 * for the file, the test's cleanups run (newest first) after each test. `zk()` is valid inside tests.
 */
export function serveSuite(): {zk: () => ZkServer; cleanups: (() => Promise<void>)[]} {
  let zk: ZkServer | undefined
  const cleanups: (() => Promise<void>)[] = []
  before(async () => {
    if (!fs.existsSync(path.join(REPO, 'dist', 'commands', 'serve.js'))) {
      throw new Error('dist/ is missing: build first (npx tsc -p tsconfig.json && npx oclif manifest)')
    }
    zk = await startZooKeeper()
  })
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: Error) => process.stderr.write(`cleanup: ${err.message}\n`))
  })
  after(async () => {
    await destroyZooKeeper(zk)
  })
  return {zk: () => zk!, cleanups}
}
