/**
 * The pre-re-seed copy of a member's data dir (used by reseed.ts): room for it, making it, keeping a bounded number.
 *
 * - Copies are `<dataDir>.pre-reseed-<UTC timestamp>` next to the data dir; their names sort by age.
 * - `copySize(dir)`: the bytes a copy takes: every file's allocated size (the larger of its length and its blocks),
 *   except the WAL segments etcd preallocates for later use (`member/wal/*.tmp`), which are not copied (etcd
 *   makes new ones; each is 64 MB of nothing).
 * - `checkRoom(dataDir)`: the copy plus one WAL segment (64 MiB, for etcd to go on writing afterwards) must fit in
 *   what statfs (node's fs.statfs) says is available on the data dir's file system; otherwise throws naming both.
 *   `whileRunning`: etcd still runs, and its spare segments (freed when it stops) count as available.
 * - `pruneBackups(dataDir, keep)`: removes the oldest copies until at most `keep` remain; returns what it removed.
 * - `copyDataDir(dataDir, to)`: the copy; when it fails (e.g. ENOSPC) the partial copy is removed before rethrowing,
 *   so a failed copy never eats the space etcd needs to run again. Files of SPARSE_FROM_BYTES and more are copied
 *   block by block and their all-zero blocks left as holes: the copy reads as the same bytes, and the 64 MB WAL
 *   segment etcd preallocates (mostly zeros) costs a few writes instead of 64 MB of them (0.1-0.3 s of the re-seed
 *   under load, measured).
 */
import {cp, lstat, open, readdir, rm, statfs} from 'node:fs/promises'
import path from 'node:path'

/** Room kept free beyond the copy: one etcd WAL segment. */
export const WAL_SEGMENT_BYTES = 64 * 1024 * 1024

/** Default number of pre-re-seed copies kept per data dir (the newest ones; the new copy counts). */
export const DEFAULT_RESEED_BACKUPS_KEEP = 2

/** Bytes available to an unprivileged writer on `dir`'s file system. */
export type FreeBytes = (dir: string) => Promise<number>

export const statfsFreeBytes: FreeBytes = async (dir) => {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

const BACKUP_INFIX = '.pre-reseed-'

export function backupDirName(dataDir: string, nowMs: number): string {
  return `${dataDir}${BACKUP_INFIX}${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`
}

/** A preallocated, not yet used WAL segment (etcd's file pipeline): not worth a copy. */
function isSpareWalSegment(file: string): boolean {
  return file.endsWith('.tmp') && path.basename(path.dirname(file)) === 'wal'
}

/** Bytes a copy of `dir` takes, and bytes of the spare WAL segments it leaves out. */
export async function copySize(dir: string): Promise<{copy: number; spare: number}> {
  const total = {copy: 0, spare: 0}
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      const sub = await copySize(p)
      total.copy += sub.copy
      total.spare += sub.spare
    } else {
      const st = await lstat(p)
      total[isSpareWalSegment(p) ? 'spare' : 'copy'] += Math.max(st.size, st.blocks * 512)
    }
  }
  return total
}

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`

/** Throws when the copy of `dataDir` plus one WAL segment does not fit on its file system. */
export async function checkRoom(dataDir: string, freeBytes: FreeBytes = statfsFreeBytes, whileRunning = false): Promise<void> {
  const {copy: need, spare} = await copySize(dataDir)
  const parent = path.dirname(dataDir)
  const free = (await freeBytes(parent)) + (whileRunning ? spare : 0)
  if (free < need + WAL_SEGMENT_BYTES) {
    throw new Error(
      `not enough free space for the pre-re-seed copy of ${dataDir}: it needs ${mib(need)} plus ${mib(WAL_SEGMENT_BYTES)} ` +
        `for etcd to go on writing, ${parent} has ${mib(free)} available`,
    )
  }
}

/** Existing copies of `dataDir`, oldest first. */
export async function listBackups(dataDir: string): Promise<string[]> {
  const prefix = `${path.basename(dataDir)}${BACKUP_INFIX}`
  const names = await readdir(path.dirname(dataDir)).catch(() => [] as string[])
  return names
    .filter((n) => n.startsWith(prefix))
    .sort()
    .map((n) => path.join(path.dirname(dataDir), n))
}

/** Removes the oldest copies of `dataDir` until at most `keep` remain; returns the removed paths. */
export async function pruneBackups(dataDir: string, keep: number): Promise<string[]> {
  const all = await listBackups(dataDir)
  const old = all.slice(0, Math.max(0, all.length - Math.max(0, keep)))
  for (const p of old) await rm(p, {recursive: true, force: true})
  return old
}

export async function copyDataDir(dataDir: string, to: string): Promise<void> {
  if (
    await lstat(to).then(
      () => true,
      () => false,
    )
  )
    throw new Error(`${to} already exists`)
  try {
    const large: {from: string; to: string; mode: number}[] = []
    await cp(dataDir, to, {
      recursive: true,
      errorOnExist: true,
      force: false,
      filter: async (from, dest) => {
        if (isSpareWalSegment(from)) return false
        const st = await lstat(from)
        if (!st.isFile() || st.size < SPARSE_FROM_BYTES) return true
        large.push({from, to: dest, mode: st.mode & 0o7777})
        return false
      },
    })
    for (const f of large) await copyFileSparse(f.from, f.to, f.mode)
  } catch (err) {
    await rm(to, {recursive: true, force: true}).catch(() => undefined)
    throw err
  }
}

/** Files from this length on are copied by copyFileSparse. */
const SPARSE_FROM_BYTES = 1024 * 1024
/** Read size, and the size of the blocks that are left as holes when all zero. */
const READ_BYTES = 1024 * 1024
const BLOCK_BYTES = 64 * 1024
const ZEROS = Buffer.alloc(BLOCK_BYTES)

/** Copies one regular file to a new file `to` (never over one), writing only its blocks that are not all zeros. */
async function copyFileSparse(from: string, to: string, mode: number): Promise<void> {
  const src = await open(from, 'r')
  try {
    const dst = await open(to, 'wx', mode)
    try {
      const buf = Buffer.allocUnsafe(READ_BYTES)
      let pos = 0
      for (;;) {
        const {bytesRead} = await src.read(buf, 0, READ_BYTES, pos)
        if (bytesRead === 0) break
        // write each run of blocks that are not all zeros where it belongs
        let runStart = -1
        for (let off = 0; off < bytesRead; off += BLOCK_BYTES) {
          const end = Math.min(off + BLOCK_BYTES, bytesRead)
          const zero = buf.subarray(off, end).equals(ZEROS.subarray(0, end - off))
          if (!zero && runStart < 0) runStart = off
          if (zero && runStart >= 0) {
            await writeAll(dst, buf.subarray(runStart, off), pos + runStart)
            runStart = -1
          }
        }
        if (runStart >= 0) await writeAll(dst, buf.subarray(runStart, bytesRead), pos + runStart)
        pos += bytesRead
      }
      await dst.truncate(pos) // the trailing zeros (a hole) up to the same length
      await dst.chmod(mode) // open()'s mode went through the umask
    } finally {
      await dst.close()
    }
  } finally {
    await src.close()
  }
}

async function writeAll(fh: Awaited<ReturnType<typeof open>>, data: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const {bytesWritten} = await fh.write(data, done, data.length - done, position + done)
    done += bytesWritten
  }
}
