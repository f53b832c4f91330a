/**
 * Test harness: two etcd versions side by side, for upgrade tests (issue 16).
 *
 * - 3.4: Debian 12's `/usr/bin/etcd` and `/usr/bin/etcdctl` (ETCD_BIN / ETCDCTL_BIN override).
 * - 3.5: Debian 13's etcd-server/etcd-client, unpacked by scripts/fetch-etcd.sh into .cache/etcd-trixie of the
 *   checkout; `etcd35Bin()` / `etcdctl35Bin()` run the script when needed (idempotent, at most 10 minutes;
 *   ETCD35_BIN / ETCDCTL35_BIN override) and return the paths.
 * - `startVersionedCluster(n, bin)`: like etcd.ts's `startEtcdCluster`, but each member can be stopped and
 *   started again with another binary on the SAME data dir and ports (`member.startWith(bin)`), which
 *   etcd.ts's harness (one global ETCD_BIN) cannot do. Every etcd goes through `spawnTracked`; `stop()` kills
 *   them and removes the temp dir.
 */
import {execFile} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdir, mkdtemp, open, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {quorumReadOk} from './etcd.js'
import {freePorts, waitFor} from './ports.js'
import {spawnTracked, stopTracked} from './procs.js'

export const ETCD34_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd'
export const ETCDCTL34_BIN = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl'

const FETCH_SCRIPT = fileURLToPath(new URL('../../scripts/fetch-etcd.sh', import.meta.url))
let fetched: Promise<{etcd: string; etcdctl: string}> | undefined

function fetchEtcd35(): Promise<{etcd: string; etcdctl: string}> {
  if (process.env.ETCD35_BIN && process.env.ETCDCTL35_BIN) {
    return Promise.resolve({etcd: process.env.ETCD35_BIN, etcdctl: process.env.ETCDCTL35_BIN})
  }
  fetched ??= new Promise((resolve, reject) => {
    execFile('bash', [FETCH_SCRIPT], {timeout: 600_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20}, (err, stdout, stderr) => {
      const etcd = /^ETCD35_BIN=(.+)$/m.exec(stdout)?.[1]
      const etcdctl = /^ETCDCTL35_BIN=(.+)$/m.exec(stdout)?.[1]
      if (err || !etcd || !etcdctl) {
        reject(
          new Error(
            `scripts/fetch-etcd.sh could not provide etcd 3.5 (${err ? err.message : 'no paths printed'}):\n${stderr.slice(-2000)}`,
          ),
        )
        return
      }
      resolve({etcd, etcdctl})
    })
  })
  fetched.catch(() => {
    fetched = undefined
  })
  return fetched
}

/** etcd 3.5.x (Debian 13's etcd-server), fetched into the checkout's cache when missing. */
export async function etcd35Bin(): Promise<string> {
  return (await fetchEtcd35()).etcd
}

/** etcdctl 3.5.x (Debian 13's etcd-client), fetched into the checkout's cache when missing. */
export async function etcdctl35Bin(): Promise<string> {
  return (await fetchEtcd35()).etcdctl
}

export interface VersionAnswer {
  etcdserver: string
  etcdcluster: string
}

/** GET /version of one member (throws when it does not answer 200). */
export async function getVersion(clientUrl: string): Promise<VersionAnswer> {
  const res = await fetch(`${clientUrl}/version`, {signal: AbortSignal.timeout(3000)})
  const body = await res.text()
  if (res.status !== 200) throw new Error(`GET ${clientUrl}/version: HTTP ${res.status} ${body}`)
  return JSON.parse(body) as VersionAnswer
}

export interface VersionedMember {
  name: string
  clientUrl: string
  peerUrl: string
  dataDir: string
  logFile: string
  /** The binary of the last start (undefined before the first). */
  bin: string | undefined
  running(): boolean
  /** Starts etcd with `bin` on this member's data dir and ports (the bootstrap flags are ignored once data exists). */
  startWith(bin: string, extraArgs?: string[]): Promise<void>
  /** Signals etcd (default SIGTERM: a clean stop), SIGKILL after 10 s; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

export interface VersionedCluster {
  members: VersionedMember[]
  stop(): Promise<void>
}

class Member implements VersionedMember {
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  readonly logFile: string
  bin: string | undefined
  private child: ChildProcess | undefined

  constructor(
    readonly name: string,
    host: string,
    clientPort: number,
    peerPort: number,
    dir: string,
    private readonly boot: {initialCluster: string; token: string},
  ) {
    this.clientUrl = `http://${host}:${clientPort}`
    this.peerUrl = `http://${host}:${peerPort}`
    this.dataDir = path.join(dir, 'data')
    this.logFile = path.join(dir, 'etcd.log')
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  async startWith(bin: string, extraArgs: string[] = []): Promise<void> {
    if (this.running()) throw new Error(`etcd ${this.name} is already running`)
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${this.boot.initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${this.boot.token}`,
      ...extraArgs,
    ]
    const log = await open(this.logFile, 'a')
    try {
      await log.write(`\n===== ${new Date().toISOString()} start ${bin} =====\n`)
      const child = spawnTracked(bin, args, {stdio: ['ignore', log.fd, log.fd]})
      this.child = child
      this.bin = bin
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve())
        child.once('error', reject)
      })
    } finally {
      await log.close()
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.child || !this.running()) return
    await stopTracked(this.child, signal, 10_000)
  }
}

/** A cluster of `n` members started with `bin`, serving a quorum read on every member when returned. */
export async function startVersionedCluster(n: number, bin: string, opts: {host?: string} = {}): Promise<VersionedCluster> {
  const host = opts.host ?? '127.0.0.1'
  const base = await mkdtemp(path.join(os.tmpdir(), 'etcd-versions-test-'))
  const boot = {initialCluster: '', token: `upgrade-${process.pid}-${Date.now()}`}
  const members: Member[] = []
  for (let i = 0; i < n; i++) {
    const [clientPort, peerPort] = await freePorts(2, host)
    const dir = path.join(base, `m${i}`)
    await mkdir(dir, {recursive: true})
    members.push(new Member(`m${i}`, host, clientPort!, peerPort!, dir, boot))
  }
  boot.initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',')
  const cluster: VersionedCluster = {
    members,
    async stop() {
      await Promise.all(members.map((m) => m.stop('SIGKILL')))
      await rm(base, {recursive: true, force: true})
    },
  }
  try {
    await Promise.all(members.map((m) => m.startWith(bin)))
    await waitFor(
      `etcd cluster of ${n} (${bin}) to serve a quorum read`,
      async () => (await Promise.all(members.map((m) => quorumReadOk(m.clientUrl)))).every(Boolean),
      60_000,
      200,
    )
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
