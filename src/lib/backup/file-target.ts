/**
 * The file:// BackupTarget: one directory (local or shared, e.g. NFS). Objects are plain files named as the
 * objects; a put writes `.tmp-<name>-<pid>-<random>` in the same directory, fsyncs it, hard-links it to its name
 * (atomic, and fails if the name exists: never an overwrite), removes the temporary name and fsyncs the directory.
 * Names beginning with '.' are never listed, so a temporary file (one being written, or left by a crash) is
 * never seen as an object; `removeStaleTemporaries` clears the ones older than a given age.
 * The directory must exist: a missing mount point must fail loudly, not fill the local disk.
 */
import {randomBytes} from 'node:crypto'
import {constants as FS} from 'node:fs'
import {link, open, readdir, stat, unlink} from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {BackupError, toBackupError} from './errors.js'
import {checkObjectName, type BackupTarget} from './target.js'

const TEMP_PREFIX = '.tmp-'

export class FileBackupTarget implements BackupTarget {
  readonly url: string

  constructor(readonly dir: string) {
    if (!path.isAbsolute(dir)) throw new BackupError('BAD_TARGET', `backup directory ${JSON.stringify(dir)} is not absolute`)
    this.url = new URL(`file://${dir}`).href
  }

  /** Throws IO unless the directory exists and is a directory. */
  async check(): Promise<void> {
    let s: Awaited<ReturnType<typeof stat>>
    try {
      s = await stat(this.dir)
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
      throw toBackupError(
        err,
        'IO',
        `backup target ${this.url}${missing ? ' does not exist (create it, or mount the shared directory)' : ''}`,
      )
    }
    if (!s.isDirectory()) throw new BackupError('IO', `backup target ${this.url} is not a directory`)
  }

  async put(name: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<{size: number}> {
    checkObjectName(name)
    await this.check()
    const final = path.join(this.dir, name)
    const temp = path.join(this.dir, `${TEMP_PREFIX}${name}-${process.pid}-${randomBytes(4).toString('hex')}`)
    let size = 0
    try {
      const fh = await open(temp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o644)
      try {
        for await (const chunk of data instanceof Uint8Array ? [data] : data) {
          let off = 0
          while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten
          size += chunk.length
        }
        await fh.sync()
      } finally {
        await fh.close()
      }
      try {
        await link(temp, final)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError('EXISTS', `${name} already exists in ${this.url}`)
        throw err
      }
    } catch (err) {
      await unlink(temp).catch(() => undefined)
      throw toBackupError(err, 'IO', `writing ${name} to ${this.url}`)
    }
    await unlink(temp).catch(() => undefined)
    await this.syncDir()
    return {size}
  }

  async get(name: string): Promise<Readable> {
    checkObjectName(name)
    try {
      const fh = await open(path.join(this.dir, name), 'r')
      return fh.createReadStream({highWaterMark: 64 * 1024})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupError('NOT_FOUND', `${name} not found in ${this.url}`)
      throw toBackupError(err, 'IO', `reading ${name} from ${this.url}`)
    }
  }

  async list(): Promise<string[]> {
    await this.check()
    try {
      const entries = await readdir(this.dir, {withFileTypes: true})
      return entries
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort()
    } catch (err) {
      throw toBackupError(err, 'IO', `listing ${this.url}`)
    }
  }

  async delete(name: string): Promise<void> {
    checkObjectName(name)
    try {
      await unlink(path.join(this.dir, name))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw toBackupError(err, 'IO', `deleting ${name} from ${this.url}`)
    }
    await this.syncDir()
  }

  /** Removes temporary files (left by crashed writers) last modified more than `maxAgeMs` before `nowMs`. */
  async removeStaleTemporaries(maxAgeMs: number, nowMs: number): Promise<string[]> {
    const removed: string[] = []
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue
      const p = path.join(this.dir, name)
      const s = await stat(p).catch(() => undefined)
      if (
        s &&
        nowMs - s.mtimeMs > maxAgeMs &&
        (await unlink(p).then(
          () => true,
          () => false,
        ))
      )
        removed.push(name)
    }
    return removed
  }

  private async syncDir(): Promise<void> {
    const dh = await open(this.dir, 'r')
    try {
      await dh.sync()
    } catch {
      // Some file systems refuse fsync on a directory; the rename/link itself is still atomic.
    } finally {
      await dh.close()
    }
  }
}
