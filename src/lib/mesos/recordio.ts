/**
 * RecordIO framing used by the Mesos v1 streaming APIs (scheduler/executor subscription streams).
 *
 * Grammar (stout/recordio.hpp, docs/recordio.md):
 *   records = *record ; record = record-size LF record-data ; record-size = 1*DIGIT
 * The size is the decimal count of BYTES of record-data; there is no trailing newline.
 *
 * The decoder is an incremental state machine:
 *   - state LENGTH: accumulating ASCII digits of the size prefix (at most 20 digits) until '\n'.
 *   - state DATA:   collecting `remaining` bytes of the current record: a record inside one chunk is copied
 *                   once; a record spread over chunks is copied chunk by chunk into one buffer of its announced
 *                   size (Buffer.allocUnsafe: its pages are only touched as bytes arrive), never held twice.
 *                   A 6.6 MB OFFERS event in 64 KB chunks was a list of chunk copies plus their concatenation.
 *   - state FAILED: a RecordIOError was raised; every later push()/end() rethrows the same error.
 *     push() throws it for the chunk that broke the framing; pushSome() (used by decodeRecordStream) also
 *     returns the records completed before the error in that chunk, so the outcome is chunking-independent.
 * Invariants: `bufferedBytes` = digits buffered in LENGTH state, or bytes collected so far in DATA state.
 * Zero-length records are emitted as empty Buffers (Mesos' own decoder accepts them).
 */

export type RecordIOErrorCode = 'MALFORMED_LENGTH' | 'RECORD_TOO_LARGE' | 'TRUNCATED'

export class RecordIOError extends Error {
  readonly code: RecordIOErrorCode
  constructor(code: RecordIOErrorCode, message: string) {
    super(message)
    this.name = 'RecordIOError'
    this.code = code
  }
}

/** Default upper bound for a single record: 64 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
/** A uint64 has at most 20 decimal digits. */
const MAX_LENGTH_DIGITS = 20
const LF = 0x0a
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39

/** Frame one record: `${byteLength}\n` followed by the payload bytes. */
export function encodeRecord(payload: Uint8Array | string): Buffer {
  const data =
    typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  const header = Buffer.from(`${data.byteLength}\n`, 'ascii')
  return Buffer.concat([header, data], header.byteLength + data.byteLength)
}

function printable(bytes: number[]): string {
  const s = Buffer.from(bytes).toString('latin1')
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)
}

export class RecordIODecoder {
  private readonly maxRecordBytes: number
  private lengthDigits: number[] = []
  /** -1 while reading the length prefix; otherwise bytes still missing from the current record. */
  private remaining = -1
  /** The record being collected over several chunks (undefined while it fits in one chunk so far). */
  private record: Buffer | undefined
  private collected = 0
  private failure: RecordIOError | undefined

  constructor(opts?: {maxRecordBytes?: number}) {
    const max = opts?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
    if (!Number.isSafeInteger(max) || max < 0)
      throw new RangeError(`maxRecordBytes must be a non-negative safe integer, got ${String(max)}`)
    this.maxRecordBytes = max
  }

  get bufferedBytes(): number {
    return this.remaining < 0 ? this.lengthDigits.length : this.collected
  }

  /** Feed bytes; returns every record completed by this chunk (possibly none), or throws a RecordIOError. */
  push(chunk: Uint8Array): Buffer[] {
    const {records, error} = this.pushSome(chunk)
    if (error) throw error
    return records
  }

  /**
   * Like push(), but a framing error does not discard the records completed earlier in the same chunk: they
   * are returned together with the error, so the outcome does not depend on how the stream was chunked.
   */
  pushSome(chunk: Uint8Array): {records: Buffer[]; error?: RecordIOError} {
    if (this.failure) return {records: [], error: this.failure}
    const out: Buffer[] = []
    try {
      this.decodeInto(chunk, out)
    } catch (err) {
      if (err instanceof RecordIOError) return {records: out, error: err}
      throw err
    }
    return {records: out}
  }

  private decodeInto(chunk: Uint8Array, out: Buffer[]): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let i = 0
    const n = buf.byteLength
    while (i < n) {
      if (this.remaining < 0) {
        const b = buf[i]!
        i++
        if (b === LF) {
          this.startRecord()
          if (this.remaining === 0) {
            out.push(Buffer.alloc(0))
            this.remaining = -1
          }
          continue
        }
        if (b < DIGIT_0 || b > DIGIT_9) {
          this.lengthDigits.push(b)
          this.fail('MALFORMED_LENGTH', `RecordIO: invalid byte in record length prefix: ${printable(this.lengthDigits)}`)
        }
        this.lengthDigits.push(b)
        if (this.lengthDigits.length > MAX_LENGTH_DIGITS) {
          this.fail(
            'MALFORMED_LENGTH',
            `RecordIO: record length prefix exceeds ${MAX_LENGTH_DIGITS} digits: ${printable(this.lengthDigits)}`,
          )
        }
      } else {
        const take = Math.min(this.remaining, n - i)
        const slice = buf.subarray(i, i + take)
        i += take
        this.remaining -= take
        if (this.remaining === 0 && this.record === undefined) {
          // Whole record inside this chunk: copy once so callers may keep it after the chunk is reused.
          out.push(Buffer.from(slice))
        } else {
          // Copy: the caller may reuse the chunk's memory after push() returns.
          this.record ??= Buffer.allocUnsafe(this.collected + take + this.remaining)
          slice.copy(this.record, this.collected)
          this.collected += take
          if (this.remaining === 0) {
            out.push(this.record)
            this.record = undefined
            this.collected = 0
          }
        }
        if (this.remaining === 0) this.remaining = -1
      }
    }
  }

  /** Declare end of stream; throws TRUNCATED if a partial record or length prefix is buffered. */
  end(): void {
    if (this.failure) throw this.failure
    if (this.remaining >= 0) {
      this.fail(
        'TRUNCATED',
        `RecordIO: stream ended inside a record (${this.collected} of ${this.collected + this.remaining} bytes received)`,
      )
    }
    if (this.lengthDigits.length > 0) {
      this.fail('TRUNCATED', `RecordIO: stream ended inside a record length prefix (${printable(this.lengthDigits)})`)
    }
  }

  private startRecord(): void {
    if (this.lengthDigits.length === 0) {
      this.fail('MALFORMED_LENGTH', 'RecordIO: empty record length prefix')
    }
    const text = Buffer.from(this.lengthDigits).toString('ascii')
    this.lengthDigits = []
    const len = BigInt(text)
    if (len > BigInt(this.maxRecordBytes)) {
      this.fail('RECORD_TOO_LARGE', `RecordIO: record of ${text} bytes exceeds the limit of ${this.maxRecordBytes} bytes`)
    }
    this.remaining = Number(len)
    this.collected = 0
    this.record = undefined
  }

  private fail(code: RecordIOErrorCode, message: string): never {
    this.failure = new RecordIOError(code, message)
    throw this.failure
  }
}

/** Decode a byte stream (e.g. an HTTP response body) into records; throws RecordIOError on bad framing or truncation. */
export async function* decodeRecordStream(body: AsyncIterable<Uint8Array>, opts?: {maxRecordBytes?: number}): AsyncGenerator<Buffer> {
  const decoder = new RecordIODecoder(opts)
  for await (const chunk of body) {
    // Records completed before a framing error are still delivered (as if the stream came byte by byte).
    const {records, error} = decoder.pushSome(chunk)
    for (const rec of records) yield rec
    if (error) throw error
  }
  decoder.end()
}
