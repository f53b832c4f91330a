/**
 * Property/fuzz tests of the Mesos codecs (src/lib/mesos/codec.ts) for scheduler/executor Calls and Events,
 * JSON and protobuf: random JSON values, structurally and byte-mutated real messages from the fixtures in
 * test/fixtures/real-mesos, and random bytes as protobuf give a result or a CodecError — never another
 * exception — and whatever decodes round-trips through both content types.
 * Deterministic (seeded mulberry32; FUZZ_SEED overrides); each test prints how many cases it tried.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {CodecError, decode, encode, toJsonForm, type MessageName} from '../../src/lib/mesos/codec.js'
import type {ContentType} from '../../src/lib/mesos/types.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

const FIX = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))
const JSON_CT: ContentType = 'application/json'
const PB_CT: ContentType = 'application/x-protobuf'
const NAMES: MessageName[] = ['scheduler.Event', 'executor.Event', 'scheduler.Call', 'executor.Call']

interface Sample {
  name: MessageName
  ct: ContentType
  bytes: Buffer
}

/** Every scheduler/executor Call body and Event record in the fixtures that decodes (some are deliberately bad). */
function loadCorpus(): Sample[] {
  const out: Sample[] = []
  const add = (name: MessageName, ct: ContentType, bytes: Buffer): void => {
    try {
      decode(name, bytes, ct)
      out.push({name, ct, bytes})
    } catch {
      /* deliberately invalid fixture bodies are not seeds */
    }
  }
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit)
    if (typeof v !== 'object' || v === null) return
    const o = v as Record<string, unknown>
    if (Array.isArray(o.steps)) {
      for (const st of o.steps as {request?: Record<string, unknown> | null; response?: Record<string, unknown> | null}[]) {
        const path = String(st.request?.path ?? '')
        const kind = path.endsWith('/api/v1/scheduler') ? 'scheduler' : path.endsWith('/api/v1/executor') ? 'executor' : null
        if (!kind) continue
        const rq = st.request!
        const reqCt = String((rq.headers as Record<string, string> | undefined)?.['Content-Type'] ?? '')
        if (rq.body_format === 'json' && reqCt === JSON_CT) add(`${kind}.Call`, JSON_CT, Buffer.from(JSON.stringify(rq.body)))
        if (rq.body_format === 'base64' && reqCt === PB_CT) add(`${kind}.Call`, PB_CT, Buffer.from(String(rq.body), 'base64'))
        const rs = st.response
        if (!rs) continue
        for (const rec of (rs.records as unknown[] | undefined) ?? []) add(`${kind}.Event`, JSON_CT, Buffer.from(JSON.stringify(rec)))
        for (const rec of (rs.records_base64 as string[] | undefined) ?? []) add(`${kind}.Event`, PB_CT, Buffer.from(rec, 'base64'))
      }
    }
    for (const [k, x] of Object.entries(o)) if (k !== 'steps' && typeof x === 'object') visit(x)
  }
  for (const f of readdirSync(FIX)
    .filter((f) => f.endsWith('.json'))
    .sort())
    visit(JSON.parse(readFileSync(`${FIX}/${f}`, 'utf8')))
  return out
}

/** decode: a value or a CodecError, nothing else. */
function tryDecode(
  name: MessageName,
  bytes: Uint8Array,
  ct: ContentType,
): {ok: true; value: Record<string, unknown>} | {ok: false; err: CodecError} {
  try {
    return {ok: true, value: decode<Record<string, unknown>>(name, bytes, ct)}
  } catch (err) {
    assert.ok(err instanceof CodecError, `${name} ${ct}: expected CodecError, got ${(err as Error)?.stack ?? String(err)}`)
    assert.ok(err.message.length > 0)
    return {ok: false, err}
  }
}

/** A decoded value re-encodes in both content types and decodes back to the same JSON form. */
function assertRoundTrip(name: MessageName, value: Record<string, unknown>, what: string): void {
  const form = toJsonForm<Record<string, unknown>>(name, value)
  assert.deepEqual(form, value, `${what}: decode output is not in normal form`)
  for (const ct of [JSON_CT, PB_CT]) {
    const back = decode<Record<string, unknown>>(name, encode(name, value, ct), ct)
    assert.deepEqual(back, form, `${what}: round trip via ${ct}`)
  }
}

/** Replaces a random sub-value (or drops a key) somewhere in a JSON tree. */
function mutateTree(r: Prng, v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || r.chance(0.15 + depth * 0.1)) return r.chance(0.7) ? r.jsonValue(2) : v
  if (Array.isArray(v)) {
    if (v.length === 0 || r.chance(0.2)) return [...v, r.jsonValue(1)]
    const i = r.int(v.length)
    return v.map((x, j) => (j === i ? mutateTree(r, x, depth + 1) : x))
  }
  const o = {...(v as Record<string, unknown>)}
  const keys = Object.keys(o)
  if (keys.length === 0) return o
  const k = r.pick(keys)
  if (r.chance(0.2)) delete o[k]
  else o[k] = mutateTree(r, o[k], depth + 1)
  return o
}

const corpus = loadCorpus()

describe('fuzz: Mesos codecs', () => {
  it('the fixture corpus decodes and round-trips in both content types', () => {
    const counts: Record<string, number> = {}
    for (const [i, s] of corpus.entries()) {
      const v = decode<Record<string, unknown>>(s.name, s.bytes, s.ct)
      assertRoundTrip(s.name, v, `corpus ${i} ${s.name} ${s.ct}`)
      counts[`${s.name} ${s.ct}`] = (counts[`${s.name} ${s.ct}`] ?? 0) + 1
    }
    console.log(`fuzz-codec corpus: ${corpus.length} fixture messages`, counts)
    for (const n of NAMES)
      assert.ok(
        corpus.some((s) => s.name === n),
        `no fixture sample of ${n}`,
      )
    assert.ok(corpus.some((s) => s.ct === PB_CT))
  })

  it('random JSON values: a result or a CodecError; results round-trip', () => {
    const r = new Prng(fuzzSeed(0xc0dec001))
    let cases = 0
    let decoded = 0
    for (let i = 0; i < 3000; i++) {
      const name = r.pick(NAMES)
      const value = r.chance(0.6) ? {type: r.jsonValue(0), ...(r.jsonValue(3) as object)} : r.jsonValue(4)
      const text = r.chance(0.9) ? (JSON.stringify(value) ?? 'null') : r.junkString(40)
      const out = tryDecode(name, Buffer.from(text), JSON_CT)
      if (out.ok) {
        assertRoundTrip(name, out.value, `case ${i} (seed ${r.seed}) ${text.slice(0, 80)}`)
        decoded++
      }
      // encode() of the same random object: a Buffer or a CodecError.
      try {
        encode(name, value as object, r.pick([JSON_CT, PB_CT]))
      } catch (err) {
        assert.ok(err instanceof CodecError, `encode ${name}: expected CodecError, got ${(err as Error)?.stack ?? String(err)}`)
      }
      cases += 2
    }
    console.log(`fuzz-codec random JSON: ${cases} cases (${decoded} decoded)`)
  })

  it('structurally mutated fixture messages: a result or a CodecError; results round-trip', () => {
    const r = new Prng(fuzzSeed(0xc0dec002))
    let cases = 0
    let decoded = 0
    for (let i = 0; i < 3000; i++) {
      const s = r.pick(corpus)
      const base = decode<Record<string, unknown>>(s.name, s.bytes, s.ct)
      const mutated = mutateTree(r, base)
      const name = r.chance(0.9) ? s.name : r.pick(NAMES) // sometimes the wrong message type
      const out = tryDecode(name, Buffer.from(JSON.stringify(mutated) ?? 'null'), JSON_CT)
      if (out.ok) {
        assertRoundTrip(name, out.value, `case ${i} (seed ${r.seed})`)
        decoded++
      }
      try {
        const pb = encode(name, mutated as object, PB_CT)
        const back = tryDecode(name, pb, PB_CT)
        assert.ok(back.ok, `case ${i}: what encode() wrote in protobuf does not decode: ${back.ok ? '' : back.err.message}`)
      } catch (err) {
        assert.ok(err instanceof CodecError, `encode: expected CodecError, got ${(err as Error)?.stack ?? String(err)}`)
      }
      cases += 2
    }
    console.log(`fuzz-codec mutated trees: ${cases} cases (${decoded} decoded)`)
    assert.ok(decoded > 0)
  })

  it('byte-mutated fixture messages (JSON text and protobuf): a result or a CodecError', () => {
    const r = new Prng(fuzzSeed(0xc0dec003))
    let cases = 0
    let decoded = 0
    for (let i = 0; i < 4000; i++) {
      const s = r.pick(corpus)
      const ct = r.chance(0.5) ? s.ct : s.ct === JSON_CT ? PB_CT : JSON_CT
      const bytes = ct === s.ct ? s.bytes : encode(s.name, decode(s.name, s.bytes, s.ct) as object, ct)
      const out = tryDecode(s.name, r.mutateBytes(bytes), ct)
      if (out.ok) {
        assertRoundTrip(s.name, out.value, `case ${i} (seed ${r.seed})`)
        decoded++
      }
      cases++
    }
    console.log(`fuzz-codec mutated bytes: ${cases} cases (${decoded} decoded)`)
  })

  it('random bytes as protobuf (and as JSON): a result or a CodecError', () => {
    const r = new Prng(fuzzSeed(0xc0dec004))
    let cases = 0
    let decoded = 0
    for (let i = 0; i < 4000; i++) {
      const name = r.pick(NAMES)
      const ct = r.chance(0.8) ? PB_CT : JSON_CT
      const out = tryDecode(name, r.bytes(r.int(120)), ct)
      if (out.ok) {
        assertRoundTrip(name, out.value, `case ${i} (seed ${r.seed})`)
        decoded++
      }
      cases++
    }
    // Deep nesting must not exhaust the stack (JSON: depth limit; protobuf: nested length-delimited fields).
    for (const name of NAMES) {
      tryDecode(name, Buffer.from('['.repeat(200_000)), JSON_CT)
      tryDecode(name, Buffer.from(`${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`), JSON_CT)
      let nested: Buffer = Buffer.alloc(0)
      for (let d = 0; d < 3000; d++) nested = Buffer.concat([Buffer.from([0x1a, ...varint(nested.length)]), nested])
      tryDecode(name, nested, PB_CT)
      cases += 3
    }
    console.log(`fuzz-codec random bytes: ${cases} cases (${decoded} decoded)`)
  })

  it('regression: out-of-range int64 JSON numbers round-trip through protobuf (found by seed 3235823619)', () => {
    for (const ns of ['17953149195314920000000000', '-17953149195314920000000000', '9223372036854775807', '1e300']) {
      const text = `{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_LOST","unreachable_time":{"nanoseconds":${ns}}}}}`
      const out = tryDecode('scheduler.Event', Buffer.from(text), JSON_CT)
      assert.ok(out.ok)
      assertRoundTrip('scheduler.Event', out.value, ns)
    }
    console.log('fuzz-codec int64 regression: 4 cases')
  })

  it('unsupported content types are a CodecError', () => {
    for (const ct of ['', 'text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON']) {
      assert.throws(() => decode('scheduler.Event', Buffer.from('{}'), ct as ContentType), CodecError)
    }
    console.log('fuzz-codec content types: 4 cases')
  })
})

function varint(n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}
