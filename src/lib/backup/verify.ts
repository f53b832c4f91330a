/**
 * Streaming verification of an etcd snapshot: the chunks pass through unchanged while the sha256 of all but the
 * last 32 bytes is computed; at the end, those last 32 bytes must equal it (etcd's snapshot format: the
 * Maintenance.Snapshot stream, and `etcdctl snapshot save`'s file, is the bbolt database followed by its sha256).
 * At most 32 bytes are copied aside; nothing else is held.
 *
 * Checks, each a BackupError CORRUPT naming `what` (e.g. "backup 20261203T…-r12") and the problem:
 *   - the content is shorter than 512 bytes or not a multiple of 512 (bbolt pages; `etcdctl snapshot restore`
 *     decides by that rule whether a hash is present): truncated, or not a snapshot;
 *   - the trailing hash differs from the content's;
 *   - with `expect`: a different total size (truncated / grown) or a different hash (another backup's data).
 */
import {createHash, type Hash} from 'node:crypto'
import {BackupError} from './errors.js'

export const HASH_SIZE = 32

export interface SnapshotDigest {
  /** Total bytes, trailing hash included. */
  size: number
  /** Hex sha256 of the content (= the trailing 32 bytes). */
  sha256: string
}

export class SnapshotVerifier {
  private readonly hash: Hash = createHash('sha256')
  private tail: Buffer = Buffer.alloc(0)
  private total = 0
  private digest: SnapshotDigest | undefined
  private failure: BackupError | undefined

  constructor(
    readonly what: string,
    private readonly expect: Partial<SnapshotDigest> = {},
  ) {}

  /** Feeds the next chunk; throws CORRUPT when it goes beyond the expected size. */
  update(chunk: Uint8Array): void {
    this.total += chunk.length
    if (this.expect.size !== undefined && this.total > this.expect.size)
      throw this.corrupt(`longer than the ${this.expect.size} bytes its manifest records`)
    if (chunk.length >= HASH_SIZE) {
      this.hash.update(this.tail)
      this.hash.update(chunk.subarray(0, chunk.length - HASH_SIZE))
      this.tail = Buffer.from(chunk.subarray(chunk.length - HASH_SIZE))
    } else {
      const joined = Buffer.concat([this.tail, chunk])
      const cut = Math.max(0, joined.length - HASH_SIZE)
      this.hash.update(joined.subarray(0, cut))
      this.tail = Buffer.from(joined.subarray(cut))
    }
  }

  /** At the end of the stream: the digest, or CORRUPT. May be called again (same answer). */
  finish(): SnapshotDigest {
    if (this.digest) return this.digest
    if (this.failure) throw this.failure
    if (this.expect.size !== undefined && this.total !== this.expect.size)
      throw this.corrupt(`truncated: ${this.total} bytes of the ${this.expect.size} its manifest records`)
    const content = this.total - HASH_SIZE
    if (content < 512 || content % 512 !== 0)
      throw this.corrupt(`not a complete etcd snapshot: ${this.total} bytes (expected a multiple of 512 plus a 32-byte sha256)`)
    const sha256 = this.hash.digest('hex')
    const trailer = this.tail.toString('hex')
    if (sha256 !== trailer) throw this.corrupt(`sha256 mismatch: the content hashes to ${sha256}, its trailing hash is ${trailer}`)
    if (this.expect.sha256 !== undefined && this.expect.sha256 !== sha256)
      throw this.corrupt(`not the snapshot its manifest records: sha256 ${sha256}, manifest ${this.expect.sha256}`)
    this.digest = {size: this.total, sha256}
    return this.digest
  }

  private corrupt(problem: string): BackupError {
    this.failure = new BackupError('CORRUPT', `${this.what} is corrupt: ${problem}`)
    return this.failure
  }
}

/**
 * Passes `source`'s chunks through `verifier`; throws (CORRUPT) after the last chunk when the whole does not
 * verify, so a consumer that publishes only after the iteration completed never publishes a bad snapshot.
 */
export async function* verified(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  verifier: SnapshotVerifier,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    verifier.update(chunk)
    yield chunk
  }
  verifier.finish()
}
