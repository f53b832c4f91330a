/**
 * The pre-re-seed copy of a data dir (src/executor/reseed-backup.ts copyDataDir), on the real file system: every
 * file byte for byte and with its mode, the spare WAL segments left out, and the zero blocks of a large file (etcd's
 * WAL segments are preallocated: 64 MB, mostly zeros) left as holes instead of written.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {copyDataDir} from '../../src/executor/reseed-backup.js'

const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex')

describe('copyDataDir', () => {
  it('copies every file byte for byte, leaves out spare WAL segments and writes no zero blocks of a large file', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'reseed-backup-copy-'))
    try {
      const data = path.join(root, 'etcd_data')
      await mkdir(path.join(data, 'member', 'wal'), {recursive: true})
      await mkdir(path.join(data, 'member', 'snap'), {recursive: true})
      // a WAL segment as etcd leaves it: 64 MB written in full (etcd preallocates), records at the start and a few
      // further in, zeros elsewhere (one odd length, so the last block is a short one)
      const wal = Buffer.alloc(64_000_000 + 123)
      randomBytes(150_000).copy(wal, 0)
      randomBytes(10_000).copy(wal, 20_000_000)
      wal[wal.length - 1] = 7
      await writeFile(path.join(data, 'member', 'wal', '0000000000000000-0000000000000000.wal'), wal)
      await writeFile(path.join(data, 'member', 'wal', '0.tmp'), Buffer.alloc(1_000_000)) // a spare segment
      await writeFile(path.join(data, 'member', 'snap', 'db'), randomBytes(3_000_000))
      await writeFile(path.join(data, 'member', 'snap', 'small.snap'), 'x')
      await chmod(path.join(data, 'member', 'snap', 'db'), 0o600)
      const to = `${data}.pre-reseed-test`
      await copyDataDir(data, to)

      for (const f of ['member/wal/0000000000000000-0000000000000000.wal', 'member/snap/db', 'member/snap/small.snap']) {
        const a = await stat(path.join(data, f))
        const b = await stat(path.join(to, f))
        assert.equal(b.size, a.size, `${f}: same length`)
        assert.equal(b.mode & 0o777, a.mode & 0o777, `${f}: same mode`)
        assert.equal(await sha(path.join(to, f)), await sha(path.join(data, f)), `${f}: same bytes`)
      }
      await assert.rejects(stat(path.join(to, 'member', 'wal', '0.tmp')), /ENOENT/, 'the spare segment is not copied')
      const copied = await stat(path.join(to, 'member', 'wal', '0000000000000000-0000000000000000.wal'))
      assert.ok(
        copied.blocks * 512 < 4 * 1024 * 1024,
        `the WAL copy holds its records, not 64 MB of zeros: ${copied.blocks * 512} bytes allocated`,
      )
      await assert.rejects(copyDataDir(data, to), /already exists/, 'never over an existing copy')
    } finally {
      await rm(root, {recursive: true, force: true})
    }
  })
})
