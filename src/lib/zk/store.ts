/**
 * A versioned JSON document store on ZooKeeper: each document is one persistent znode `<basePath>/<name>`
 * holding UTF-8 JSON. Writes are compare-and-set on the znode version, so two schedulers can never silently
 * overwrite each other. A missing document is a normal answer (null), never a retry loop (the original
 * etcd-mesos waited ~23 s on NoNode at first start).
 */
import { join, ZkError, type ZkClient } from './client.js'

/** A znode exists but does not hold valid JSON. */
export class ZkDataError extends Error {
  override name = 'ZkDataError'
  constructor(message: string, readonly path: string) {
    super(message)
  }
}

export class ZkStore {
  constructor(private readonly zk: ZkClient, readonly basePath: string) {}

  /** The znode path of document `name` (names may contain '/' for sub-folders). */
  pathOf(name: string): string {
    const segs = name.split('/')
    if (name === '' || segs.some((s) => s === '' || s === '.' || s === '..')) {
      throw new ZkError('UNKNOWN', `invalid document name ${JSON.stringify(name)} (no empty, '.' or '..' segments)`)
    }
    return join(this.basePath, name)
  }

  async read<T>(name: string): Promise<{ value: T; version: number } | null> {
    const path = this.pathOf(name)
    const node = await this.zk.get(path)
    if (node === null) return null
    const text = node.data.toString('utf8')
    try {
      return { value: JSON.parse(text) as T, version: node.version }
    } catch (err) {
      throw new ZkDataError(`ZooKeeper node ${path} does not hold valid JSON (${(err as Error).message}); ` +
        `first bytes: ${JSON.stringify(text.slice(0, 60))}`, path)
    }
  }

  /**
   * Writes `value`. `expectedVersion` null: the document must not exist (NODE_EXISTS otherwise); a number: it
   * must have exactly that version (BAD_VERSION otherwise; NO_NODE if it vanished). Returns the new version.
   */
  async write<T>(name: string, value: T, expectedVersion: number | null): Promise<number> {
    const path = this.pathOf(name)
    const data = Buffer.from(JSON.stringify(value), 'utf8')
    if (expectedVersion !== null) return this.zk.set(path, data, expectedVersion)
    try {
      await this.zk.create(path, data)
    } catch (err) {
      if (!(err instanceof ZkError && err.code === 'NO_NODE')) throw err
      await this.zk.mkdirp(path.slice(0, path.lastIndexOf('/')) || '/')
      await this.zk.create(path, data)
    }
    return 0
  }

  /**
   * Optimistic read-modify-write: `fn` gets the current value (null if none) and returns the new one; on a
   * concurrent change the loop re-reads and calls `fn` again, at most `retries` times (default 10).
   */
  async update<T>(name: string, fn: (cur: T | null) => T, retries = 10): Promise<{ value: T; version: number }> {
    let lastErr: ZkError | undefined
    for (let attempt = 0; attempt <= retries; attempt++) {
      const cur = await this.read<T>(name)
      const next = fn(cur ? cur.value : null)
      try {
        const version = await this.write(name, next, cur ? cur.version : null)
        return { value: next, version }
      } catch (err) {
        const conflict = err instanceof ZkError && (err.code === 'BAD_VERSION' || err.code === 'NODE_EXISTS' || err.code === 'NO_NODE')
        if (!conflict) throw err
        lastErr = err
      }
    }
    throw new ZkError('BAD_VERSION',
      `gave up updating ${this.pathOf(name)} after ${retries + 1} attempts: concurrent writers keep changing it (${lastErr?.message ?? ''})`,
      this.pathOf(name))
  }

  /** Deletes the document; a missing document is fine. */
  async delete(name: string): Promise<void> {
    try {
      await this.zk.remove(this.pathOf(name))
    } catch (err) {
      if (err instanceof ZkError && err.code === 'NO_NODE') return
      throw err
    }
  }
}
