/** Unit tests for the RecordIO framing (src/lib/mesos/recordio.ts). */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {RecordIODecoder, RecordIOError, decodeRecordStream, encodeRecord, type RecordIOErrorCode} from '../../src/lib/mesos/recordio.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))

const RECORDS: string[] = [
  '{"type":"HEARTBEAT"}',
  '{"type":"MESSAGE","message":{"data":"w6nDqA==","note":"héllo wörld — ✓ 日本語 😀"}}',
  '',
  'x',
  '{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"ab"}}}',
]
const STREAM = Buffer.concat(RECORDS.map((r) => encodeRecord(r)))

function decodeAll(chunks: Uint8Array[], max?: number): string[] {
  const d = new RecordIODecoder(max === undefined ? undefined : {maxRecordBytes: max})
  const out: string[] = []
  for (const c of chunks) for (const r of d.push(c)) out.push(r.toString('utf8'))
  d.end()
  return out
}

function expectError(code: RecordIOErrorCode, fn: () => unknown): RecordIOError {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  assert.ok(caught instanceof RecordIOError, `expected RecordIOError, got ${String(caught)}`)
  assert.equal(caught.code, code)
  return caught
}

async function* iterate(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve()
    yield c
  }
}

async function collect(gen: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = []
  for await (const r of gen) out.push(r.toString('utf8'))
  return out
}

describe('encodeRecord', () => {
  it('prefixes the UTF-8 byte length, not the string length, with no trailing newline', () => {
    assert.equal(encodeRecord('{"type":"HEARTBEAT"}').toString(), '20\n{"type":"HEARTBEAT"}')
    const e = encodeRecord('é')
    assert.deepEqual([...e], [0x32, 0x0a, 0xc3, 0xa9])
    assert.equal(encodeRecord('').toString(), '0\n')
    assert.deepEqual([...encodeRecord(new Uint8Array([1, 2, 3]))], [0x33, 0x0a, 1, 2, 3])
  })
  it('respects the view of a Uint8Array that is a slice of a larger buffer', () => {
    const big = new Uint8Array([9, 9, 1, 2, 9])
    assert.deepEqual([...encodeRecord(big.subarray(2, 4))], [0x32, 0x0a, 1, 2])
  })
})

describe('RecordIODecoder', () => {
  it('decodes the whole stream in one chunk (many records in one chunk)', () => {
    assert.deepEqual(decodeAll([STREAM]), RECORDS)
  })

  it('decodes the stream split into two chunks at every split point', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      assert.deepEqual(decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]), RECORDS, `split at ${i}`)
    }
  })

  it('decodes the stream fed one byte at a time', () => {
    const chunks: Uint8Array[] = []
    for (let i = 0; i < STREAM.length; i++) chunks.push(STREAM.subarray(i, i + 1))
    assert.deepEqual(decodeAll(chunks), RECORDS)
  })

  it('emits records as soon as their last byte arrives, and tracks bufferedBytes', () => {
    const d = new RecordIODecoder()
    assert.deepEqual(d.push(Buffer.from('1')), [])
    assert.equal(d.bufferedBytes, 1)
    assert.deepEqual(d.push(Buffer.from('0\nabc')), [])
    assert.equal(d.bufferedBytes, 3)
    const out = d.push(Buffer.from('defghij5\nab'))
    assert.deepEqual(
      out.map((b) => b.toString()),
      ['abcdefghij'],
    )
    assert.equal(d.bufferedBytes, 2)
    assert.deepEqual(
      d.push(Buffer.from('cde0\n')).map((b) => b.toString()),
      ['abcde', ''],
    )
    assert.equal(d.bufferedBytes, 0)
    d.end()
  })

  it('returns copies: mutating the input chunk afterwards does not change emitted records', () => {
    const d = new RecordIODecoder()
    const chunk = Buffer.from('3\nabc')
    const [rec] = d.push(chunk)
    chunk.fill(0x7a)
    assert.equal(rec!.toString(), 'abc')
    const part = Buffer.from('4\nab')
    d.push(part)
    part.fill(0x7a)
    assert.equal(d.push(Buffer.from('cd'))[0]!.toString(), 'abcd')
  })

  it('reassembles a large record split into many small chunks', () => {
    const payload = Buffer.alloc(300_000)
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251
    const framed = encodeRecord(payload)
    const d = new RecordIODecoder()
    const out: Buffer[] = []
    for (let i = 0; i < framed.length; i += 97) out.push(...d.push(framed.subarray(i, i + 97)))
    d.end()
    assert.equal(out.length, 1)
    assert.ok(out[0]!.equals(payload))
  })

  it('accepts a length with leading zeros and a length equal to maxRecordBytes', () => {
    assert.deepEqual(decodeAll([Buffer.from('003\nabc')]), ['abc'])
    assert.deepEqual(decodeAll([Buffer.from('5\nabcde')], 5), ['abcde'])
  })

  const garbage: Array<[string, string, RecordIOErrorCode, number?]> = [
    ['letters', 'abc\n', 'MALFORMED_LENGTH'],
    ['negative length', '-1\n', 'MALFORMED_LENGTH'],
    ['digits then a letter', '12x\n', 'MALFORMED_LENGTH'],
    ['empty length', '\nabc', 'MALFORMED_LENGTH'],
    ['space in length', '1 \n', 'MALFORMED_LENGTH'],
    ['CRLF after length', '3\r\nabc', 'MALFORMED_LENGTH'],
    ['30-digit length', `${'9'.repeat(30)}\n`, 'MALFORMED_LENGTH'],
    ['21-digit length without newline yet', '1'.repeat(21), 'MALFORMED_LENGTH'],
    ['length over maxRecordBytes', '11\nhello world', 'RECORD_TOO_LARGE', 10],
    ['20-digit length over the default max', `${'9'.repeat(20)}\n`, 'RECORD_TOO_LARGE'],
    ['second record malformed', '2\nok{"a":1}', 'MALFORMED_LENGTH'],
  ]
  for (const [name, input, code, max] of garbage) {
    it(`rejects ${name} with ${code}, in one chunk and byte by byte, and stays failed`, () => {
      const opts = max === undefined ? undefined : {maxRecordBytes: max}
      const d1 = new RecordIODecoder(opts)
      const err = expectError(code, () => d1.push(Buffer.from(input)))
      assert.match(err.message, /RecordIO/)
      // stays failed: the same error again, for push and end
      assert.equal(
        expectError(code, () => d1.push(Buffer.from('1\na'))),
        err,
      )
      assert.equal(
        expectError(code, () => d1.end()),
        err,
      )

      const d2 = new RecordIODecoder(opts)
      expectError(code, () => {
        for (const b of Buffer.from(input)) d2.push(Buffer.from([b]))
      })
    })
  }

  it('end() mid-record, mid-length, and right after a length prefix throws TRUNCATED', () => {
    for (const input of ['5\nab', '12', '3\n']) {
      const d = new RecordIODecoder()
      assert.deepEqual(d.push(Buffer.from(input)), [])
      const err = expectError('TRUNCATED', () => d.end())
      assert.equal(
        expectError('TRUNCATED', () => d.end()),
        err,
      )
    }
  })

  it('end() after complete records (or nothing at all) succeeds', () => {
    const d = new RecordIODecoder()
    d.end()
    d.push(Buffer.from('1\na'))
    d.end()
  })

  it('rejects a nonsensical maxRecordBytes option', () => {
    assert.throws(() => new RecordIODecoder({maxRecordBytes: -1}), RangeError)
    assert.throws(() => new RecordIODecoder({maxRecordBytes: Number.NaN}), RangeError)
  })
})

describe('decodeRecordStream', () => {
  it('yields the records of an async iterable of chunks', async () => {
    const chunks = [STREAM.subarray(0, 7), STREAM.subarray(7, 8), STREAM.subarray(8, 60), STREAM.subarray(60)]
    assert.deepEqual(await collect(decodeRecordStream(iterate(chunks))), RECORDS)
  })

  it('accepts plain Uint8Array chunks', async () => {
    const chunks = [new Uint8Array(STREAM.subarray(0, 30)), new Uint8Array(STREAM.subarray(30))]
    assert.deepEqual(await collect(decodeRecordStream(iterate(chunks))), RECORDS)
  })

  it('throws TRUNCATED when the body ends inside a record, after yielding the complete ones', async () => {
    const got: string[] = []
    await assert.rejects(
      (async () => {
        for await (const r of decodeRecordStream(iterate([Buffer.from('1\na2\nb')]))) got.push(r.toString())
      })(),
      (e: unknown) => e instanceof RecordIOError && e.code === 'TRUNCATED',
    )
    assert.deepEqual(got, ['a'])
  })

  it('throws RECORD_TOO_LARGE with the maxRecordBytes option', async () => {
    await assert.rejects(
      collect(decodeRecordStream(iterate([Buffer.from('100\n')]), {maxRecordBytes: 99})),
      (e: unknown) => e instanceof RecordIOError && e.code === 'RECORD_TOO_LARGE',
    )
  })
})

describe('real Mesos framing (fixture 01-subscribe-json)', () => {
  const fixture = JSON.parse(readFileSync(`${FIXTURES}/01-subscribe-json.json`, 'utf8')) as {
    steps: Array<{streaming?: boolean; response: {raw_base64?: string; body_bytes_total?: number; records?: unknown[]}}>
  }
  const step = fixture.steps.find((s) => s.streaming && s.response.raw_base64)!
  const raw = Buffer.from(step.response.raw_base64!, 'base64')

  it('decodes raw_base64 into exactly the recorded records', () => {
    assert.equal(raw.length, step.response.body_bytes_total, 'the fixture holds the complete body')
    const records = decodeAll([raw]).map((t) => JSON.parse(t) as unknown)
    assert.deepEqual(records, step.response.records)
  })

  it('decodes it identically when re-chunked at every 13 bytes and byte-by-byte', () => {
    const expected = decodeAll([raw])
    const c13: Uint8Array[] = []
    for (let i = 0; i < raw.length; i += 13) c13.push(raw.subarray(i, i + 13))
    assert.deepEqual(decodeAll(c13), expected)
    const c1: Uint8Array[] = []
    for (let i = 0; i < raw.length; i++) c1.push(raw.subarray(i, i + 1))
    assert.deepEqual(decodeAll(c1), expected)
  })

  it('re-encoding the records reproduces the exact bytes Mesos sent', () => {
    const d = new RecordIODecoder()
    const recs = d.push(raw)
    assert.ok(Buffer.concat(recs.map((r) => encodeRecord(r))).equals(raw))
  })
})
