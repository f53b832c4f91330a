/**
 * The one compare-and-set store on ZooKeeper: a single persistent znode written with versioned writes, so two
 * writers can never silently overwrite each other. Used by the scheduler's state store (src/scheduler/state-store.ts).
 *
 * State: `base` — the version this writer expects the node to have (null: expects no node) — plus at most one
 * write whose outcome is unknown (`unknown`: its bytes and the base it was written against).
 * Transitions:
 *   read()                       → base = the node's version (or null), unknown cleared
 *   write ok                     → base = the new version
 *   write TIMEOUT / CONNECTION_LOSS / SESSION_EXPIRED (ZooKeeper may or may not have applied it)
 *                                → unknown = that write; resolved by reading the node back, at once and, if
 *                                  ZooKeeper cannot be asked yet, before the next write:
 *                                    our own bytes                      → it was applied: base = that version
 *                                    the version it was written against → it was not applied: write again
 *                                    anything else                      → a real conflict (ZkConflictError)
 *   write BAD_VERSION / NODE_EXISTS / NO_NODE → read back: our own bytes → success (a late answer of an earlier
 *                                  attempt); anything else → ZkConflictError naming the version found.
 * Invariants: writes are serialised (one at a time, in call order); ZkConflictError is thrown only when the node
 * holds something this writer did not write; every other failure is a plain ZkError (transient: save again).
 */
import {ZkError, type ZkClient, type ZkNodeData} from './client.js'

/** The node holds something this writer did not write (another writer changed or deleted it). */
export class ZkConflictError extends Error {
  override name = 'ZkConflictError'
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

const UNKNOWN_OUTCOME = new Set(['TIMEOUT', 'CONNECTION_LOSS', 'SESSION_EXPIRED'])
const CONFLICT = new Set(['BAD_VERSION', 'NODE_EXISTS', 'NO_NODE'])
/** Attempts of one write whose outcome keeps being "unknown, and not applied" before giving up (transient). */
const MAX_ATTEMPTS = 3

function codeOf(err: unknown): string | undefined {
  return err instanceof ZkError ? err.code : undefined
}

function expected(base: number | null): string {
  return base === null ? 'no node' : `version ${base}`
}

export class ZkCasNode {
  private base: number | null = null
  private unknown: {data: Buffer; base: number | null} | null = null
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly zk: ZkClient,
    readonly path: string,
  ) {}

  /** Reads the node (null when missing) and takes its version as the base of the next write. */
  async read(): Promise<ZkNodeData | null> {
    return this.serial(async () => {
      const got = await this.zk.get(this.path)
      this.base = got?.version ?? null
      this.unknown = null
      return got
    })
  }

  /** Compare-and-set write of `data` against the last read or written version; resolves with the new version. */
  write(data: Buffer): Promise<number> {
    return this.serial(() => this.writeNow(data))
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn)
    this.chain = next.catch(() => undefined)
    return next
  }

  private async writeNow(data: Buffer): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      if (this.unknown !== null) {
        const applied = await this.resolveUnknown()
        if (applied !== null && this.base !== null && applied.equals(data)) return this.base
      }
      const base = this.base
      try {
        if (base === null) {
          const parent = this.path.slice(0, this.path.lastIndexOf('/'))
          if (parent !== '') await this.zk.mkdirp(parent)
          await this.zk.create(this.path, data)
          this.base = 0
        } else {
          this.base = await this.zk.set(this.path, data, base)
        }
        return this.base
      } catch (err) {
        const code = codeOf(err)
        if (code !== undefined && UNKNOWN_OUTCOME.has(code)) {
          this.unknown = {data, base}
          if (attempt >= MAX_ATTEMPTS) throw err
          continue // resolve it now (by reading back), and write again if it was not applied
        }
        if (code !== undefined && CONFLICT.has(code)) return this.afterRefusal(data, base)
        throw err
      }
    }
  }

  /**
   * Reads the node back to learn whether the write of unknown outcome happened. Returns its bytes if it did,
   * null if it did not; throws ZkConflictError if someone else wrote, a ZkError if ZooKeeper cannot be asked
   * (the write stays unknown).
   */
  private async resolveUnknown(): Promise<Buffer | null> {
    const u = this.unknown!
    const got = await this.zk.get(this.path)
    this.unknown = null
    if (got?.data.equals(u.data)) {
      this.base = got.version
      return u.data
    }
    if ((got?.version ?? null) === u.base) return null // not applied: the node is as it was before
    throw this.conflict(got, u.base, 'read back after a write whose answer was lost')
  }

  /** ZooKeeper refused the write's version check: our own bytes there (a late-applied attempt) are a success. */
  private async afterRefusal(data: Buffer, base: number | null): Promise<number> {
    const got = await this.zk.get(this.path)
    if (got?.data.equals(data)) {
      this.base = got.version
      return got.version
    }
    throw this.conflict(got, base, 'its version check was refused')
  }

  private conflict(got: ZkNodeData | null, base: number | null, when: string): ZkConflictError {
    const found =
      got === null
        ? 'no node (it was deleted)'
        : `version ${got.version} with content that differs from what this writer wrote (${got.data.length} bytes)`
    return new ZkConflictError(
      `${this.path} was changed by another writer (${when}): expected ${expected(base)}, found ${found}`,
      this.path,
    )
  }
}
