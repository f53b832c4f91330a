/**
 * Property/fuzz tests of the RecordIO decoder (src/lib/mesos/recordio.ts): random bytes, valid streams
 * re-chunked at random points, and mutated streams either decode or fail with a RecordIOError — never another
 * exception, never buffering more than maxRecordBytes + 20 bytes, and the outcome never depends on chunking.
 * Deterministic (seeded mulberry32; FUZZ_SEED overrides); each test prints how many cases it tried.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {decodeRecordStream, encodeRecord, RecordIODecoder, RecordIOError} from '../../src/lib/mesos/recordio.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

type Outcome = {records: Buffer[]; error?: string}

/** Byte-at-a-time decoding delivers every record completed before a framing error (a push that throws drops
 * the records completed earlier in the same chunk), so it is the reference the chunked outcomes are compared to. */
function bytewise(input: Uint8Array, max: number): Outcome {
  return decodeChunks(
    Array.from(input, (b) => Uint8Array.of(b)),
    max,
  )
}

/** Same error (or none); with no error the same records; with an error, a prefix of the reference's records. */
function assertConsistent(got: Outcome, ref: Outcome, what: string): void {
  assert.equal(got.error, ref.error, `${what}: error differs`)
  if (ref.error === undefined) assert.deepEqual(got.records, ref.records, `${what}: records differ`)
  else assert.deepEqual(got.records, ref.records.slice(0, got.records.length), `${what}: records are not a prefix of the reference`)
}

/** Feeds chunks one by one, checking the buffering bound after every push; returns records or the error code. */
function decodeChunks(chunks: Uint8Array[], max: number): Outcome {
  const d = new RecordIODecoder({maxRecordBytes: max})
  const records: Buffer[] = []
  let failure: unknown
  for (const c of chunks) {
    try {
      records.push(...d.push(c))
    } catch (err) {
      failure = err
      break
    }
    assert.ok(d.bufferedBytes <= max + 20, `bufferedBytes ${d.bufferedBytes} > max ${max} + 20`)
  }
  if (failure === undefined) {
    try {
      d.end()
    } catch (err) {
      failure = err
    }
  }
  if (failure === undefined) return {records}
  assert.ok(failure instanceof RecordIOError, `expected RecordIOError, got ${String(failure)}`)
  assert.ok(failure.message.startsWith('RecordIO: '), failure.message)
  // A failed decoder keeps failing with the same error.
  assert.throws(
    () => d.push(Buffer.from('1\nx')),
    (e) => e === failure,
  )
  assert.throws(
    () => d.end(),
    (e) => e === failure,
  )
  return {records, error: failure.code}
}

/** pushSome(): records completed before a framing error are returned with it, so any chunking gives the reference. */
function decodeSome(chunks: Uint8Array[], max: number): Outcome {
  const d = new RecordIODecoder({maxRecordBytes: max})
  const records: Buffer[] = []
  for (const c of chunks) {
    const out = d.pushSome(c)
    records.push(...out.records)
    if (out.error) return {records, error: out.error.code}
    assert.ok(d.bufferedBytes <= max + 20)
  }
  try {
    d.end()
  } catch (err) {
    assert.ok(err instanceof RecordIOError)
    return {records, error: err.code}
  }
  return {records}
}

async function decodeAsync(chunks: Uint8Array[], max: number): Promise<Outcome> {
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) yield c
  }
  const records: Buffer[] = []
  try {
    for await (const r of decodeRecordStream(body(), {maxRecordBytes: max})) records.push(r)
  } catch (err) {
    assert.ok(err instanceof RecordIOError, `expected RecordIOError, got ${String(err)}`)
    return {records, error: err.code}
  }
  return {records}
}

function randomRecords(r: Prng): Buffer[] {
  const n = r.int(8)
  return Array.from({length: n}, () =>
    r.chance(0.15) ? Buffer.alloc(0) : r.chance(0.5) ? Buffer.from(JSON.stringify(r.jsonValue(3))) : r.bytes(r.int(300)),
  )
}

describe('fuzz: RecordIO decoder', () => {
  it('regression: decodeRecordStream delivers the records before a framing error in the same chunk', async () => {
    // Found by fuzz-scheduler-client: SUBSCRIBED and a broken record arriving in one chunk lost the SUBSCRIBED.
    const chunk = Buffer.concat([encodeRecord('{"type":"SUBSCRIBED"}'), Buffer.from('5\nabcdeX\n')])
    assert.deepEqual(await decodeAsync([chunk], 1024), {
      records: [Buffer.from('{"type":"SUBSCRIBED"}'), Buffer.from('abcde')],
      error: 'MALFORMED_LENGTH',
    })
    assert.throws(() => new RecordIODecoder().push(chunk), RecordIOError, 'push() still throws for the chunk')
    console.log('fuzz-recordio regression: 1 case')
  })

  it('random bytes: records or RecordIOError, bounded buffering, chunking-independent', () => {
    const r = new Prng(fuzzSeed(0x5eed0001))
    let cases = 0
    let errors = 0
    for (let i = 0; i < 4000; i++) {
      const max = r.pick([0, 1, 10, 100, 4096])
      // Bias towards digit-heavy input so the length state machine is exercised, not just rejected at byte 0.
      const input = r.chance(0.5) ? r.bytes(r.int(200)) : Buffer.from(r.stringOf('0123456789\n\n\nab', r.int(120)), 'latin1')
      const ref = bytewise(input, max)
      assertConsistent(decodeChunks([input], max), ref, `case ${i} (seed ${r.seed}) whole`)
      assertConsistent(decodeChunks(r.chunk(input), max), ref, `case ${i} (seed ${r.seed}) split`)
      assert.deepEqual(decodeSome(r.chunk(input), max), ref, `case ${i} (seed ${r.seed}) pushSome`)
      if (ref.error) errors++
      cases++
    }
    console.log(`fuzz-recordio random bytes: ${cases} cases (${errors} RecordIOError)`)
    assert.ok(errors > 0 && errors < cases)
  })

  it('valid streams re-chunked at random points decode identically (sync and async)', async () => {
    const r = new Prng(fuzzSeed(0x5eed0002))
    let cases = 0
    for (let i = 0; i < 1500; i++) {
      const recs = randomRecords(r)
      const stream = Buffer.concat(recs.map((x) => encodeRecord(x)))
      const chunks = r.chunk(stream)
      const got = decodeChunks(chunks, 1024 * 1024)
      assert.equal(got.error, undefined, `case ${i}: ${got.error}`)
      assert.deepEqual(got.records, recs, `case ${i} (seed ${r.seed})`)
      // Every chunk split of small streams, as STYLE.md asks, for a few cases.
      if (i < 40 && stream.length < 200) {
        for (let cut = 0; cut <= stream.length; cut++) {
          assert.deepEqual(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)], 1024 * 1024).records, recs)
          cases++
        }
      }
      const asyncGot = await decodeAsync(chunks, 1024 * 1024)
      assert.deepEqual(asyncGot, got)
      cases += 2
    }
    console.log(`fuzz-recordio valid streams: ${cases} cases`)
  })

  it('mutated streams (flip/insert/delete/duplicate/truncate): records or RecordIOError, same for any chunking', async () => {
    const r = new Prng(fuzzSeed(0x5eed0003))
    let cases = 0
    const codes = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const stream = Buffer.concat(randomRecords(r).map((x) => encodeRecord(x)))
      const mutated = r.mutateBytes(stream)
      const max = r.pick([16, 300, 1024 * 1024])
      const ref = bytewise(mutated, max)
      assertConsistent(decodeChunks([mutated], max), ref, `case ${i} (seed ${r.seed}) whole`)
      assertConsistent(decodeChunks(r.chunk(mutated), max), ref, `case ${i} (seed ${r.seed}) split`)
      assert.deepEqual(decodeSome(r.chunk(mutated), max), ref, `case ${i} (seed ${r.seed}) pushSome`)
      if (i % 10 === 0) assert.deepEqual(await decodeAsync(r.chunk(mutated), max), ref, `case ${i} (seed ${r.seed}) async`)
      const decodedBytes = ref.records.reduce((a, b) => a + b.length, 0)
      assert.ok(decodedBytes <= mutated.length, 'decoded more bytes than were fed')
      codes.set(ref.error ?? 'ok', (codes.get(ref.error ?? 'ok') ?? 0) + 1)
      cases++
    }
    console.log(`fuzz-recordio mutated streams: ${cases} cases`, Object.fromEntries(codes))
    assert.ok((codes.get('ok') ?? 0) > 0 && codes.size > 1, 'mutations should produce both decodable and broken streams')
  })

  it('hostile length prefixes are rejected before any data is buffered', () => {
    const cases: [string, string][] = [
      ['99999999999999999999\n', 'RECORD_TOO_LARGE'],
      ['18446744073709551616\n', 'RECORD_TOO_LARGE'],
      ['123456789012345678901', 'MALFORMED_LENGTH'],
      ['67108865\n', 'RECORD_TOO_LARGE'],
      ['\n', 'MALFORMED_LENGTH'],
      ['-1\n', 'MALFORMED_LENGTH'],
      ['1e3\n', 'MALFORMED_LENGTH'],
      [' 5\nhello', 'MALFORMED_LENGTH'],
      ['0x10\n', 'MALFORMED_LENGTH'],
      ['5\r\nhello', 'MALFORMED_LENGTH'],
      ['5\nhel', 'TRUNCATED'],
      ['12', 'TRUNCATED'],
    ]
    for (const [input, code] of cases) {
      const out = decodeChunks([Buffer.from(input, 'latin1')], 64 * 1024 * 1024)
      assert.equal(out.error, code, JSON.stringify(input))
    }
    // A record announced within the limit but never completed buffers at most its own size.
    const d = new RecordIODecoder({maxRecordBytes: 1000})
    d.push(Buffer.from('1000\n'))
    for (let i = 0; i < 50; i++) d.push(Buffer.alloc(19, 0x41))
    assert.equal(d.bufferedBytes, 950)
    console.log(`fuzz-recordio hostile prefixes: ${cases.length + 1} cases`)
  })
})
