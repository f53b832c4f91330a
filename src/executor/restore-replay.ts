/**
 * The delta step of a restore (restore.ts): a PRIVATE one-member etcd started from the full backup replays the delta
 * backups' events (replayDeltas of the backup library: one txn per source revision, so revisions stay the source's),
 * and a snapshot of it becomes the data every member of the new cluster is restored from.
 *
 * That etcd is never advertised: `etcdctl snapshot restore` gives it its own name (restore-replay) and a random
 * cluster token; it listens on 127.0.0.1 only, on ports free a moment before (a port taken meanwhile: other ports,
 * up to 3 attempts), with short raft timings (alone, it elects itself in ~0.1-0.2 s), its output in the work dir. It is
 * always stopped (SIGKILL: its data is thrown away) before replayOnPrivateEtcd returns or throws, and at once on
 * `signal`. The snapshot is streamed through etcd's JSON gateway and verified (etcd's trailing sha256) while written.
 */
import {randomBytes} from 'node:crypto'
import {open, rm} from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import {replayDeltas, snapshotChunks, SnapshotVerifier, verified} from '../lib/backup/index.js'
import type {BackupTarget} from '../lib/backup/target.js'
import {EtcdGateway} from '../lib/etcd/gateway.js'
import {runEtcdctl} from './etcdctl.js'
import {EtcdSupervisor} from './supervisor.js'

export interface ReplayOptions {
  etcdBin: string
  etcdctl: string
  /** A directory of ours (removed by the caller): the private etcd's data and output, the snapshot taken. */
  workDir: string
  /** The full backup, as a local snapshot file. */
  snapshot: string
  target: BackupTarget
  deltaIds: string[]
  toRevision: number | null
  /** The full backup's id: every delta must extend it. */
  baseId: string
  /** The member's extraArgs: only --quota-backend-bytes is carried over (a large backup must fit). */
  extraArgs: string[]
  timeoutMs: number
  signal?: AbortSignal
  /** Picks the private etcd's [client, peer] ports (default: two free loopback ports; tests choose a taken one). */
  ports?: () => Promise<number[]>
}

const NAME = 'restore-replay'
/**
 * Alone, with no peer to miss: 20 ms ticks, a 100 ms election timeout (etcd's minimum ratio of 5). A source revision's
 * events are replayed as one txn: a range delete of N keys becomes N operations, hence the large txn and request bounds.
 */
const REPLAY_ARGS = ['--heartbeat-interval=20', '--election-timeout=100', '--max-txn-ops=100000', '--max-request-bytes=33554432']

/** Fresh ports for each start: a port taken between the pick and etcd's bind is not waited for, others are picked. */
const START_ATTEMPTS = 3

export async function replayOnPrivateEtcd(o: ReplayOptions): Promise<{snapshot: string; revision: number}> {
  const {sup, clientUrl} = await startPrivateEtcd(o)
  const gw = new EtcdGateway(clientUrl, {timeoutMs: 5000})
  const kill = () => void sup.stop(0).catch(() => undefined)
  o.signal?.addEventListener('abort', kill, {once: true})
  try {
    if (o.signal?.aborted) throw new Error('aborted: the task is being killed')
    const afterRevision = await waitLeader(sup, gw, o.timeoutMs, o.signal)
    const {appliedRevision} = await replayDeltas({
      endpoint: clientUrl,
      target: o.target,
      deltaIds: o.deltaIds,
      afterRevision,
      toRevision: o.toRevision,
      baseId: o.baseId,
    })
    const file = path.join(o.workDir, 'replayed.db')
    const verifier = new SnapshotVerifier('the snapshot of the replayed data')
    const fh = await open(file, 'wx', 0o600)
    try {
      for await (const chunk of verified(snapshotChunks(clientUrl, o.signal ? {signal: o.signal} : {}), verifier)) {
        let off = 0
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten
      }
      await fh.sync()
    } finally {
      await fh.close()
    }
    verifier.finish()
    return {snapshot: file, revision: appliedRevision}
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err)
    const tail = sup.pid === undefined && !o.signal?.aborted ? sup.logTail().trim() : ''
    throw new Error(`${text}${tail ? `\nthe private etcd's last log lines:\n${tail.split('\n').slice(-8).join('\n')}` : ''}`)
  } finally {
    o.signal?.removeEventListener('abort', kill)
    await sup.stop(0).catch(() => undefined)
    await gw.close().catch(() => undefined)
  }
}

/**
 * `etcdctl snapshot restore` of the full backup into a fresh data dir and the private etcd started on it, on ports
 * free a moment before. A port taken meanwhile (by a listener, or as the source port of any outgoing connection on
 * the agent, which can hold it for as long as that connection lives) fails the start after a short wait; then the
 * next attempt picks other ports (the data dir records the peer URL, so it is restored again).
 */
async function startPrivateEtcd(o: ReplayOptions): Promise<{sup: EtcdSupervisor; clientUrl: string}> {
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort] = await (o.ports ?? (() => loopbackPorts(2)))()
    const peerUrl = `http://127.0.0.1:${peerPort}`
    const clientUrl = `http://127.0.0.1:${clientPort}`
    const dataDir = path.join(o.workDir, `replay-${attempt}`)
    await runEtcdctl(
      o.etcdctl,
      [
        'snapshot',
        'restore',
        o.snapshot,
        `--name=${NAME}`,
        `--initial-cluster=${NAME}=${peerUrl}`,
        `--initial-cluster-token=${NAME}-${randomBytes(8).toString('hex')}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--data-dir=${dataDir}`,
      ],
      o.signal,
    )
    const quota = o.extraArgs.filter((a) => /^--?quota-backend-bytes=/.test(a))
    const sup = new EtcdSupervisor({
      bin: o.etcdBin,
      args: [
        `--name=${NAME}`,
        `--data-dir=${dataDir}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        ...quota,
        ...REPLAY_ARGS,
      ],
      sandbox: o.workDir,
      clientUrl,
      healthIntervalMs: 3_600_000,
      startRetryWindowMs: Math.min(o.timeoutMs, 5_000),
    })
    if (o.signal?.aborted) throw new Error('aborted: the task is being killed')
    const kill = () => void sup.stop(0).catch(() => undefined)
    o.signal?.addEventListener('abort', kill, {once: true})
    try {
      await sup.start()
      return {sup, clientUrl}
    } catch (err) {
      const inUse = /a port is still in use/.test((err as Error).message)
      if (!inUse || attempt >= START_ATTEMPTS || o.signal?.aborted) throw err
      await rm(dataDir, {recursive: true, force: true})
    } finally {
      o.signal?.removeEventListener('abort', kill)
    }
  }
}

/** Waits until the private etcd leads (alone); resolves with its revision. */
async function waitLeader(sup: EtcdSupervisor, gw: EtcdGateway, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  for (;;) {
    if (signal?.aborted) throw new Error('aborted: the task is being killed')
    if (sup.pid === undefined) throw new Error('the private etcd exited while starting')
    try {
      const st = await gw.status()
      if (st.leader !== '0' && st.leader === st.memberId) return st.revision
      last = `no leader yet (leader ${st.leader})`
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
    }
    if (Date.now() > deadline) throw new Error(`the private etcd on ${gw.endpoint} did not lead within ${timeoutMs} ms (${last})`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** `n` distinct TCP ports free on 127.0.0.1 a moment ago. */
async function loopbackPorts(n: number): Promise<number[]> {
  const out = new Set<number>()
  while (out.size < n) {
    out.add(
      await new Promise<number>((resolve, reject) => {
        const srv = net.createServer()
        srv.unref()
        srv.on('error', reject)
        srv.listen(0, '127.0.0.1', () => {
          const a = srv.address()
          srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))))
        })
      }),
    )
  }
  return [...out]
}
