/**
 * Test harness: real etcd 3.4 clusters on loopback.
 *
 * `startEtcdCluster(n)` picks free ports, makes a temp dir per member (`<base>/<name>/data`, log in
 * `<base>/<name>/etcd.log`), bootstraps statically with `--initial-cluster`, and waits until a
 * linearizable read works (checked through etcd's JSON gateway with `fetch`, so the harness does not
 * depend on the code under test). Every etcd is started through `spawnTracked`, so it dies with the
 * test process even after a failed assertion; `stop()` kills them all and removes the temp dirs.
 * `cluster.newMember()` prepares (without starting) an extra member for add/promote tests.
 */
import {mkdtemp, mkdir, rm, open} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {freePorts, waitFor} from './ports.js'
import {spawnTracked, stopTracked} from './procs.js'

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd'

export interface EtcdStartOptions {
  initialClusterState?: 'new' | 'existing'
  /** `--initial-cluster` value; default: the cluster's bootstrap list (plus this member if it is new). */
  initialCluster?: string
  extraArgs?: string[]
}

export interface EtcdProc {
  name: string
  host: string
  clientPort: number
  peerPort: number
  clientUrl: string
  peerUrl: string
  dataDir: string
  logFile: string
  pid(): number | undefined
  /** Signals the process (default SIGKILL) and resolves when it has exited. No-op when not running. */
  kill(signal?: NodeJS.Signals): Promise<void>
  start(opts?: EtcdStartOptions): Promise<void>
  running(): boolean
}

export interface EtcdCluster {
  members: EtcdProc[]
  endpoints: string[]
  /** `name=peerUrl,...` of the bootstrap members. */
  initialCluster: string
  token: string
  /** A new, not started member (free ports, own temp dir) that `stop()` also cleans up. */
  newMember(name?: string): Promise<EtcdProc>
  stop(): Promise<void>
}

/** A linearizable read through `clientUrl`'s JSON gateway; true when it answered 200. */
export async function quorumReadOk(clientUrl: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({key: Buffer.from('harness-probe').toString('base64')}),
      signal: AbortSignal.timeout(timeoutMs),
    })
    await res.text()
    return res.status === 200
  } catch {
    return false
  }
}

/** Puts `key=value` through the JSON gateway (throws on failure). */
export async function putKey(clientUrl: string, key: string, value: string): Promise<void> {
  const res = await fetch(`${clientUrl}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64')}),
    signal: AbortSignal.timeout(5000),
  })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`put ${key} on ${clientUrl}: HTTP ${res.status} ${body}`)
}

/** Counts keys with `prefix` (linearizable range with count_only). */
export async function countKeys(clientUrl: string, prefix: string): Promise<number> {
  const key = Buffer.from(prefix)
  const end = Buffer.from(prefix)
  end[end.length - 1]++
  const res = await fetch(`${clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({key: key.toString('base64'), range_end: end.toString('base64'), count_only: true}),
    signal: AbortSignal.timeout(5000),
  })
  const body = (await res.json()) as {count?: string}
  if (res.status !== 200) throw new Error(`range on ${clientUrl}: HTTP ${res.status} ${JSON.stringify(body)}`)
  return Number(body.count ?? 0)
}

class Proc implements EtcdProc {
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  readonly logFile: string
  private child: ChildProcess | undefined

  constructor(
    readonly name: string,
    readonly host: string,
    readonly clientPort: number,
    readonly peerPort: number,
    dir: string,
    private readonly cluster: {initialCluster: string; token: string},
  ) {
    this.clientUrl = `http://${host}:${clientPort}`
    this.peerUrl = `http://${host}:${peerPort}`
    this.dataDir = path.join(dir, 'data')
    this.logFile = path.join(dir, 'etcd.log')
  }

  pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  async start(opts: EtcdStartOptions = {}): Promise<void> {
    if (this.running()) throw new Error(`etcd ${this.name} is already running`)
    let initialCluster = opts.initialCluster ?? this.cluster.initialCluster
    if (!initialCluster.split(',').some((p) => p.startsWith(`${this.name}=`))) initialCluster += `,${this.name}=${this.peerUrl}`
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${opts.initialClusterState ?? 'new'}`,
      `--initial-cluster-token=${this.cluster.token}`,
      ...(opts.extraArgs ?? []),
    ]
    const log = await open(this.logFile, 'a')
    try {
      this.child = spawnTracked(ETCD_BIN, args, {stdio: ['ignore', log.fd, log.fd]})
      await new Promise<void>((resolve, reject) => {
        this.child!.once('spawn', () => resolve())
        this.child!.once('error', reject)
      })
    } finally {
      await log.close()
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.child || !this.running()) return
    await stopTracked(this.child, signal, 5000)
  }
}

export async function startEtcdCluster(
  n: number,
  opts: {
    host?: string
    token?: string /** Extra etcd flags for every bootstrap member (e.g. `--quota-backend-bytes=…`). */
    extraArgs?: string[]
  } = {},
): Promise<EtcdCluster> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`startEtcdCluster: n must be a positive integer, got ${n}`)
  const host = opts.host ?? '127.0.0.1'
  const token = opts.token ?? `test-${process.pid}-${Date.now()}`
  const base = await mkdtemp(path.join(os.tmpdir(), 'etcd-test-'))
  const shared = {initialCluster: '', token}
  const members: EtcdProc[] = []
  const makeProc = async (name: string): Promise<Proc> => {
    const [clientPort, peerPort] = await freePorts(2, host)
    const dir = path.join(base, name)
    await mkdir(dir, {recursive: true})
    return new Proc(name, host, clientPort!, peerPort!, dir, shared)
  }
  for (let i = 0; i < n; i++) members.push(await makeProc(`m${i}`))
  shared.initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',')
  const extra: EtcdProc[] = []
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    initialCluster: shared.initialCluster,
    token,
    async newMember(name = `m${members.length + extra.length}`) {
      const p = await makeProc(name)
      extra.push(p)
      return p
    },
    async stop() {
      await Promise.all([...members, ...extra].map((m) => m.kill('SIGKILL')))
      await rm(base, {recursive: true, force: true})
    },
  }
  try {
    await Promise.all(members.map((m) => m.start(opts.extraArgs ? {extraArgs: opts.extraArgs} : {})))
    await waitFor(
      `etcd cluster of ${n} to serve a quorum read`,
      async () => {
        const oks = await Promise.all(members.map((m) => quorumReadOk(m.clientUrl)))
        return oks.every(Boolean)
      },
      30_000,
      100,
    )
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
