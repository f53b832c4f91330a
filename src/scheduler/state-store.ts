/**
 * Where the scheduler persists its document (framework id, task records, re-seed progress, stats):
 * a ZooKeeper node with versioned (compare-and-set) writes, or — only for `--master local` without
 * ZooKeeper — a local JSON file written atomically (temp file + rename).
 *
 * Writes are serialised: a save never overtakes an earlier one. On ZooKeeper they go through the one
 * compare-and-set store (src/lib/zk/store.ts): a write whose answer was lost (timeout, connection loss) is
 * resolved by reading the node back, so our own applied write is a success, not a conflict. Only a node
 * holding something this scheduler did not write (split brain) is reported as StateConflictError, and the
 * scheduler stops rather than overwrite (the core's StateConflict event); any other failure rejects with a plain (transient) error.
 */
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import type {ZkClient} from '../lib/zk/client.js'
import {ZkCasNode, ZkConflictError} from '../lib/zk/store.js'

export interface StateStore {
  readonly description: string
  load(): Promise<unknown | null>
  save(doc: unknown): Promise<void>
}

/** The stored state holds something this scheduler did not write (only then: transient failures are plain errors). */
export class StateConflictError extends Error {
  override name = 'StateConflictError'
}

export class FileStateStore implements StateStore {
  readonly description: string
  private chain: Promise<void> = Promise.resolve()
  constructor(private readonly path: string) {
    this.description = `file ${path}`
  }

  async load(): Promise<unknown | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    try {
      return JSON.parse(text)
    } catch {
      throw new Error(`state file ${this.path} is not valid JSON; move it away to start fresh (the etcd tasks keep running)`)
    }
  }

  save(doc: unknown): Promise<void> {
    const next = this.chain.then(async () => {
      await mkdir(dirname(this.path), {recursive: true})
      const tmp = `${this.path}.tmp-${process.pid}`
      await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`, {mode: 0o600})
      await rename(tmp, this.path)
    })
    this.chain = next.catch(() => undefined)
    return next
  }
}

export class ZkStateStore implements StateStore {
  readonly description: string
  private readonly node: ZkCasNode
  constructor(
    zk: ZkClient,
    private readonly path: string,
  ) {
    this.description = `ZooKeeper node ${path}`
    this.node = new ZkCasNode(zk, path)
  }

  async load(): Promise<unknown | null> {
    const got = await this.node.read()
    if (!got) return null
    try {
      return JSON.parse(got.data.toString('utf8'))
    } catch {
      throw new Error(`ZooKeeper node ${this.path} does not hold JSON; refusing to overwrite it`)
    }
  }

  async save(doc: unknown): Promise<void> {
    try {
      await this.node.write(Buffer.from(JSON.stringify(doc), 'utf8'))
    } catch (err) {
      if (err instanceof ZkConflictError) {
        throw new StateConflictError(`${err.message}: another scheduler wrote the state; this one stops to avoid split brain`)
      }
      throw err
    }
  }
}
