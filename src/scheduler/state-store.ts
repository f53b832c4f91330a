/**
 * Where the scheduler persists its document (framework id, task records, re-seed progress, stats):
 * a ZooKeeper node with versioned (compare-and-set) writes, or — only for `--master local` without
 * ZooKeeper — a local JSON file written atomically (temp file + rename).
 *
 * Writes are serialised: a save never overtakes an earlier one. A version conflict in ZooKeeper
 * means another scheduler wrote the node (split brain): it is reported as StateConflictError and the
 * driver stops rather than overwrite.
 */
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import type {ZkClient} from '../lib/zk/client.js'

export interface StateStore {
  readonly description: string
  load(): Promise<unknown | null>
  save(doc: unknown): Promise<void>
}

export class StateConflictError extends Error {}

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
  private version: number | null = null
  private chain: Promise<void> = Promise.resolve()
  constructor(private readonly zk: ZkClient, private readonly path: string) {
    this.description = `ZooKeeper node ${path}`
  }

  async load(): Promise<unknown | null> {
    const got = await this.zk.get(this.path)
    if (!got) {
      this.version = null
      return null
    }
    this.version = got.version
    try {
      return JSON.parse(got.data.toString('utf8'))
    } catch {
      throw new Error(`ZooKeeper node ${this.path} does not hold JSON; refusing to overwrite it`)
    }
  }

  save(doc: unknown): Promise<void> {
    const next = this.chain.then(async () => {
      const data = Buffer.from(JSON.stringify(doc), 'utf8')
      try {
        if (this.version === null) {
          await this.zk.mkdirp(dirname(this.path))
          await this.zk.create(this.path, data)
          this.version = 0
        } else {
          this.version = await this.zk.set(this.path, data, this.version)
        }
      } catch (err) {
        const code = (err as {code?: string}).code
        if (code === 'BAD_VERSION' || code === 'NODE_EXISTS') {
          throw new StateConflictError(`${this.path} was written by another scheduler; this one stops to avoid split brain`)
        }
        throw err
      }
    })
    this.chain = next.catch(() => undefined)
    return next
  }
}
