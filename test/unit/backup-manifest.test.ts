/**
 * Backup manifests (src/lib/backup/manifest.ts) and the streaming snapshot verifier (verify.ts): ids, field
 * validation with the field named, and etcd's trailing-sha256 rule checked across every chunk split.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {
  backupId,
  dataName,
  idOfManifestName,
  manifestName,
  parseManifest,
  validateManifest,
  type BackupManifest,
} from '../../src/lib/backup/manifest.js'
import {SnapshotVerifier, verified} from '../../src/lib/backup/verify.js'
import {BackupError} from '../../src/lib/backup/errors.js'

const T = Date.UTC(2026, 11, 3, 14, 16, 32, 123)
const good = (): BackupManifest => ({
  format: 'etcd-mesos-backup/1',
  id: '20261203T141632.123Z-r1234',
  kind: 'full',
  createdAt: '2026-12-03T14:16:32.123Z',
  revision: 1234,
  size: 4096 * 6 + 32,
  sha256: 'a'.repeat(64),
  data: '20261203T141632.123Z-r1234.snapshot.db',
  clusterId: '15118495548433857066',
  memberId: '13668033151171901709',
  endpoint: 'http://127.0.0.1:2379',
  etcdVersion: '3.4.23',
})
const badManifest = (patch: Record<string, unknown>, re: RegExp) =>
  assert.throws(
    () => validateManifest({...good(), ...patch}, 'm.json'),
    (err: unknown) =>
      err instanceof BackupError && err.code === 'BAD_MANIFEST' && /^backup manifest m\.json: /.test(err.message) && re.test(err.message),
    JSON.stringify(patch),
  )

/** A well-formed snapshot: `pages` pages of pseudo-random content, then its sha256. */
function snapshot(pages: number): Buffer {
  const content = Buffer.alloc(4096 * pages)
  for (let i = 0; i < content.length; i++) content[i] = (i * 2654435761) >>> 24
  return Buffer.concat([content, createHash('sha256').update(content).digest()])
}
async function drain(chunks: Buffer[], v: SnapshotVerifier): Promise<void> {
  for await (const _ of verified(chunks, v));
}
const corrupt = (re: RegExp) => (err: unknown) => err instanceof BackupError && err.code === 'CORRUPT' && re.test(err.message)

describe('backup manifest', () => {
  it('ids sort by time and carry the revision; object names', () => {
    assert.equal(backupId(T, 1234), '20261203T141632.123Z-r1234')
    assert.ok(backupId(T, 99) < backupId(T + 1, 1))
    assert.equal(manifestName('X'), 'X.manifest.json')
    assert.equal(dataName('X'), 'X.snapshot.db')
    assert.equal(idOfManifestName('20261203T141632.123Z-r1234.manifest.json'), '20261203T141632.123Z-r1234')
    assert.equal(idOfManifestName('20261203T141632.123Z-r1234.snapshot.db'), undefined)
    assert.equal(idOfManifestName('notes.manifest.json'), undefined)
    assert.throws(() => backupId(T, -1), RangeError)
  })

  it('a valid manifest round-trips through JSON', () => {
    assert.deepEqual(parseManifest(JSON.stringify(good()), 'm.json'), good())
  })

  it('refuses each bad field, naming it', () => {
    assert.throws(
      () => parseManifest('{"format":', 'm.json'),
      (e: BackupError) => e.code === 'BAD_MANIFEST' && /m\.json is not JSON/.test(e.message),
    )
    assert.throws(() => validateManifest([], 'm.json'), /not a JSON object/)
    badManifest({format: 'other/2'}, /unknown format "other\/2"/)
    badManifest({kind: 'weird'}, /unknown kind "weird"/)
    badManifest({kind: 'delta'}, /'data' .*expected .*\.delta\.ndjson/)
    badManifest({id: 'latest'}, /'id' "latest" is not/)
    badManifest({createdAt: '2026-12-03 14:16:32'}, /'createdAt' .* is not an ISO UTC time/)
    badManifest({revision: 1235}, /does not match createdAt .* and revision 1235/)
    badManifest({revision: -1}, /'revision' must be a non-negative integer/)
    badManifest({size: '24608'}, /'size' must be a non-negative integer/)
    badManifest({size: 4096 * 6}, /'size' 24576 is not an etcd snapshot's/)
    badManifest({sha256: 'A'.repeat(64)}, /'sha256' must be 64 lowercase hex digits/)
    badManifest({data: 'other.snapshot.db'}, /'data' "other\.snapshot\.db"/)
    badManifest({clusterId: 'abc'}, /decimal ids/)
    badManifest({endpoint: ''}, /'endpoint' must be a non-empty string/)
    badManifest({etcdVersion: 3}, /'etcdVersion' must be a string/)
  })
})

describe('snapshot verifier', () => {
  it('accepts a good snapshot under every chunking, passing the bytes through unchanged', async () => {
    const snap = snapshot(2)
    for (const size of [1, 7, 31, 32, 33, 512, 4096, 5000, snap.length]) {
      const chunks: Buffer[] = []
      for (let i = 0; i < snap.length; i += size) chunks.push(snap.subarray(i, i + size))
      const v = new SnapshotVerifier('s')
      const out: Uint8Array[] = []
      for await (const c of verified(chunks, v)) out.push(c)
      assert.ok(Buffer.concat(out).equals(snap), `chunk ${size}`)
      assert.deepEqual(v.finish(), {size: snap.length, sha256: snap.subarray(-32).toString('hex')})
    }
  })

  it('refuses a flipped byte, a truncation, a wrong hash, and a mismatch with the manifest', async () => {
    const snap = snapshot(2)
    const flipped = Buffer.from(snap)
    flipped[5000] ^= 1
    await assert.rejects(drain([flipped], new SnapshotVerifier('backup B')), corrupt(/^backup B is corrupt: sha256 mismatch/))
    const hashFlipped = Buffer.from(snap)
    hashFlipped[hashFlipped.length - 1] ^= 1
    await assert.rejects(drain([hashFlipped], new SnapshotVerifier('backup B')), corrupt(/sha256 mismatch/))
    await assert.rejects(
      drain([snap.subarray(0, 4096)], new SnapshotVerifier('backup B')),
      corrupt(/not a complete etcd snapshot: 4096 bytes/),
    )
    await assert.rejects(drain([snap.subarray(0, 10)], new SnapshotVerifier('backup B')), corrupt(/not a complete etcd snapshot/))
    const expect = {size: snap.length, sha256: snap.subarray(-32).toString('hex')}
    await assert.rejects(
      drain([snap.subarray(0, 100)], new SnapshotVerifier('backup B', expect)),
      corrupt(/truncated: 100 bytes of the 8224/),
    )
    await assert.rejects(drain([snap, Buffer.from('x')], new SnapshotVerifier('backup B', expect)), corrupt(/longer than the 8224 bytes/))
    const other = snapshot(3)
    await assert.rejects(
      drain([other], new SnapshotVerifier('backup B', {sha256: expect.sha256})),
      corrupt(/not the snapshot its manifest records/),
    )
  })
})
