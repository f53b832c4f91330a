/**
 * Leader election among the `serve` processes of one cluster (the classic ZooKeeper recipe).
 *
 * Each candidate creates an EPHEMERAL_SEQUENTIAL znode `<path>/candidate_<10-digit seq>` holding JSON
 * `{id, ...data}`; the candidate with the lowest sequence number leads. Every candidate watches the children.
 *
 * States of one LeaderElection: idle → (start) standby | leader → (stop) stopped.
 * Transitions and events:
 *   - 'change' (candidates)  whenever the candidate list changes (sorted by seq, leader first);
 *   - 'leader' ()            when this process becomes the lowest candidate;
 *   - 'standby' (leader)     when it is not (initially, when the leader changes, or when it loses leadership);
 *   - 'join-failed' (err)    joining (creating the own node) failed because ZooKeeper did not answer; retried with
 *                            backoff (start() does not fail for that);
 *   - session expiry: the own node is gone, so a leader steps down at once ('standby' with null) and a new
 *     candidate node is created when the new session connects (it joins at the back of the queue).
 * Invariants: at most one own node exists per started election; `isLeader` is true only while the own node is
 * the lowest one seen in the latest children listing; a plain disconnect (session still alive) is not a step-down.
 */
import {EventEmitter} from 'node:events'
import os from 'node:os'
import {randomUUID} from 'node:crypto'
import {join, ZkError, type ZkClient, type ZkState} from './client.js'
import {ChildrenDrain} from './drain.js'

export interface Candidate {
  id: string
  node: string
  seq: number
  data: Record<string, unknown>
}

const PREFIX = 'candidate_'
const NODE_RE = /^candidate_(\d+)$/

function parseSeq(node: string): number | null {
  const m = NODE_RE.exec(node)
  return m ? Number(m[1]) : null
}

function toCandidate(node: string, seq: number, raw: Buffer): Candidate {
  let data: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'))
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>
  } catch {
    /* a foreign or corrupt node still takes part in the ordering */
  }
  return {id: typeof data.id === 'string' ? data.id : node, node, seq, data}
}

async function listCandidates(zk: ZkClient, path: string, children: string[], cache?: Map<string, Candidate>): Promise<Candidate[]> {
  const nodes = children
    .map((node) => ({node, seq: parseSeq(node)}))
    .filter((n): n is {node: string; seq: number} => n.seq !== null)
    .sort((a, b) => a.seq - b.seq)
  const out: Candidate[] = []
  for (const {node, seq} of nodes) {
    let c = cache?.get(node)
    if (!c) {
      const d = await zk.get(join(path, node))
      if (d === null) continue // vanished meanwhile
      c = toCandidate(node, seq, d.data)
      cache?.set(node, c)
    }
    out.push(c)
  }
  return out
}

export class LeaderElection extends EventEmitter {
  readonly id: string
  private own: string | null = null
  private _isLeader = false
  private list: Candidate[] = []
  private lastLeaderNode: string | null | undefined = undefined
  private readonly cache = new Map<string, Candidate>()
  private unwatch: (() => void) | undefined
  private started = false
  private stopped = false
  /** The children listings, processed one at a time; a failure is retried with backoff (drain.ts). */
  private readonly drain = new ChildrenDrain({
    list: () => this.zk.children(this.path),
    process: (children) => this.process(children),
    initialDelayMs: 500,
    maxDelayMs: 5000,
  })

  constructor(
    private readonly zk: ZkClient,
    readonly path: string,
    private readonly data: Record<string, unknown>,
  ) {
    super()
    this.id = typeof data.id === 'string' ? data.id : `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  }

  get isLeader(): boolean {
    return this._isLeader
  }

  candidates(): Candidate[] {
    return [...this.list]
  }

  leader(): Candidate | null {
    return this.list[0] ?? null
  }

  /**
   * Joins the election. ZooKeeper not answering (CONNECTION_LOSS, TIMEOUT, SESSION_EXPIRED: e.g. a standby started
   * as ZooKeeper goes away) does not fail it: joining is retried with backoff until ZooKeeper answers or stop().
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('LeaderElection.start() was already called')
    this.started = true
    this.zk.on('state', this.onState)
    this.unwatch = this.zk.watchChildren(this.path, (children) => this.drain.push(children))
    try {
      await this.join()
    } catch (err) {
      if (!transient(err)) {
        this.zk.off('state', this.onState)
        this.unwatch()
        throw err
      }
      this.emit('join-failed', err)
      this.retryJoin(500)
    }
  }

  private async join(): Promise<void> {
    await this.zk.mkdirp(this.path)
    await this.createOwn()
  }

  private retryJoin(delayMs: number): void {
    const t = setTimeout(() => {
      if (this.stopped || this.own !== null) return
      this.join().then(
        () => this.drain.refresh(0),
        (err: unknown) => {
          this.emit('join-failed', err)
          this.retryJoin(Math.min(delayMs * 2, 5000))
        },
      )
    }, delayMs)
    t.unref()
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this._isLeader = false
    this.drain.stop()
    this.unwatch?.()
    this.zk.off('state', this.onState)
    const own = this.own
    this.own = null
    if (own !== null) await this.removeQuietly(join(this.path, own))
  }

  private async removeQuietly(path: string): Promise<void> {
    try {
      await this.zk.remove(path)
    } catch (err) {
      if (!(err instanceof ZkError) || (err.code !== 'NO_NODE' && err.code !== 'CONNECTION_LOSS')) throw err
    }
  }

  private async createOwn(): Promise<void> {
    const body = Buffer.from(JSON.stringify({...this.data, id: this.id}), 'utf8')
    const created = await this.zk.create(join(this.path, PREFIX), body, {ephemeral: true, sequential: true})
    const node = created.slice(created.lastIndexOf('/') + 1)
    if (this.stopped) return this.removeQuietly(created)
    this.own = node
  }

  private readonly onState = (s: ZkState): void => {
    if (s === 'expired') {
      this.own = null
      if (this._isLeader) {
        this._isLeader = false
        this.emit('standby', null)
      }
    } else if (s === 'connected' && this.own === null && !this.stopped) {
      this.drain.refresh(0)
    }
  }

  private async process(children: string[]): Promise<void> {
    let cands = await listCandidates(this.zk, this.path, children, this.cache)
    for (const node of this.cache.keys()) if (!children.includes(node)) this.cache.delete(node)
    if (this.stopped) return
    // Nodes carrying our id but not our own node: a create whose reply was lost (timeout). Adopt one, drop the rest.
    const mine = cands.filter((c) => c.id === this.id)
    if (this.own === null && mine[0]) this.own = mine[0].node
    const strays = mine.filter((c) => c.node !== this.own)
    for (const c of strays) await this.removeQuietly(join(this.path, c.node))
    if (strays.length > 0) cands = cands.filter((c) => !strays.includes(c))
    const changed = cands.map((c) => c.node).join() !== this.list.map((c) => c.node).join()
    this.list = cands
    if (changed) this.emit('change', this.candidates())

    if (this.own !== null && !children.includes(this.own)) {
      // Either deleted under us, or a listing fetched before our node was created: ask ZooKeeper.
      if ((await this.zk.exists(join(this.path, this.own))) !== null) return this.drain.refresh(0)
      this.own = null
    }
    if (this.own === null) {
      if (this._isLeader) {
        this._isLeader = false
        this.emit('standby', null)
      }
      await this.createOwn() // the watch reports the new node
      return
    }
    const leader = cands[0] ?? null
    if (leader !== null && leader.node === this.own) {
      if (!this._isLeader) {
        this._isLeader = true
        this.emit('leader')
      }
    } else if (this._isLeader || (leader?.node ?? null) !== this.lastLeaderNode) {
      this._isLeader = false
      this.emit('standby', leader)
    }
    this.lastLeaderNode = leader?.node ?? null
  }
}

/** ZooKeeper did not answer (the call may be retried): connection lost, timed out, session expired. */
function transient(err: unknown): boolean {
  return err instanceof ZkError && (err.code === 'CONNECTION_LOSS' || err.code === 'TIMEOUT' || err.code === 'SESSION_EXPIRED')
}

/** The current leader under `path` (for CLI lookups), or null when there is no candidate. */
export async function readLeader(zk: ZkClient, path: string): Promise<Candidate | null> {
  const all = await listCandidates(zk, path, await zk.children(path))
  return all[0] ?? null
}
