/**
 * The fast path of normalise (src/lib/mesos/proto/json-fast.ts) against the general path (normaliseSlow), on every
 * message of the real-Mesos transcripts (test/fixtures/real-mesos: scheduler/executor Calls and Events, operator
 * Calls and Responses, protobuf records) and on seeded mutations of them (keys reordered, unknown keys, nulls, a
 * single element for a repeated field, numeric strings, nested arrays, fields removed, wrong kinds): the same
 * value with the same key order, or the same error text. Decoded values are normalised in place where already
 * normal; objects of our own code ('object' mode) never share an object with the result.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import protobuf from 'protobufjs'
import {type MessageName, messageType} from '../../src/lib/mesos/codec.js'
import {FALLBACK, normaliseFast} from '../../src/lib/mesos/proto/json-fast.js'
import {normalise, normaliseSlow, toJsonText} from '../../src/lib/mesos/proto/json-form.js'
import type {NormaliseMode} from '../../src/lib/mesos/proto/json-scalar.js'

const FIX = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))

interface Sample {
  where: string
  name: MessageName
  value: Record<string, unknown>
  mode: NormaliseMode
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const ENDPOINTS: Record<string, [MessageName, MessageName]> = {
  '/api/v1/scheduler': ['scheduler.Call', 'scheduler.Event'],
  '/master/api/v1/scheduler': ['scheduler.Call', 'scheduler.Event'],
  '/api/v1/executor': ['executor.Call', 'executor.Event'],
  '/api/v1': ['master.Call', 'master.Response'],
}

function protoObject(name: MessageName, b64: string): Obj {
  const type = messageType(name)
  return type.toObject(type.decode(Buffer.from(b64, 'base64')), {enums: String, bytes: String, longs: Number, defaults: false})
}

/** Every step (at any depth: executor-side transcripts sit in extra keys) whose body or records are messages. */
function samplesOf(file: string): Sample[] {
  const out: Sample[] = []
  const visit = (v: unknown, where: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        visit(x, `${where}[${i}]`)
      })
      return
    }
    if (!isObj(v)) return
    const req = v.request
    const res = v.response
    const names = isObj(req) && typeof req.path === 'string' ? ENDPOINTS[req.path] : undefined
    if (names && isObj(req) && isObj(req.body) && req.body_format === 'json')
      out.push({where: `${where} request`, name: names[0], value: req.body, mode: 'json'})
    if (names && isObj(res)) {
      if (Array.isArray(res.records))
        res.records.forEach((r, i) => {
          if (isObj(r)) out.push({where: `${where} record ${i}`, name: names[1], value: r, mode: 'json'})
        })
      if (Array.isArray(res.records_base64))
        res.records_base64.forEach((r, i) => {
          out.push({where: `${where} protobuf record ${i}`, name: names[1], value: protoObject(names[1], r as string), mode: 'proto'})
        })
      if (isObj(res.body) && res.body_format === 'json' && names[1] === 'master.Response')
        out.push({where: `${where} response`, name: names[1], value: res.body, mode: 'json'})
    }
    for (const [k, x] of Object.entries(v)) if (k !== 'request' && k !== 'response') visit(x, `${where}.${k}`)
  }
  visit(JSON.parse(readFileSync(`${FIX}/${file}`, 'utf8')), file)
  return out
}

const FILES = readdirSync(FIX).filter((f) => f.endsWith('.json'))
const SAMPLES = FILES.flatMap(samplesOf)

type Outcome = {ok: true; value: unknown; text: string} | {ok: false; error: string}
function outcome(fn: () => unknown): Outcome {
  try {
    const value = fn()
    return {ok: true, value, text: JSON.stringify(value)}
  } catch (e) {
    return {ok: false, error: `${(e as Error).name}: ${(e as Error).message}`}
  }
}

function assertSame(type: protobuf.Type, value: unknown, mode: NormaliseMode, where: string): void {
  const slow = outcome(() => normaliseSlow(type, value, mode))
  const got = outcome(() => normalise(type, value, mode))
  if (!slow.ok) {
    assert.deepEqual(got, slow, `${where}: the error of the general path`)
    return
  }
  assert.ok(got.ok, `${where}: threw ${got.ok ? '' : got.error}`)
  assert.equal(got.text, slow.text, `${where}: JSON text (key order included)`)
  assert.deepStrictEqual(got.value, slow.value, `${where}: value`)
}

/** A small deterministic PRNG (mulberry32), so a failure names a seed that reproduces it. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A copy of `v` with a few random edits at random depths. */
function mutate(v: unknown, rnd: () => number): unknown {
  if (Array.isArray(v)) {
    const arr = v.map((x) => mutate(x, rnd))
    const r = rnd()
    if (r < 0.03) return [arr]
    if (r < 0.06) return [...arr, null]
    if (r < 0.1 && arr.length === 1) return arr[0]
    return arr
  }
  if (!isObj(v)) {
    const r = rnd()
    if (typeof v === 'number' && r < 0.1) return String(v)
    if (typeof v === 'number' && r < 0.12) return -0
    if (typeof v === 'boolean' && r < 0.1) return String(v)
    if (r < 0.02) return 7
    if (r < 0.04) return 'seven'
    if (r < 0.05) return {}
    return v
  }
  let keys = Object.keys(v)
  if (rnd() < 0.3) keys = keys.reverse()
  const out: Obj = {}
  for (const k of keys) {
    const r = rnd()
    if (r < 0.03) continue
    if (r < 0.06) out[k] = null
    else if (r < 0.08) out[k] = [mutate(v[k], rnd)]
    else out[k] = mutate(v[k], rnd)
  }
  if (rnd() < 0.1) out.not_a_field = {x: 1}
  return out
}

describe('normalise fast path = general path', () => {
  it('finds the transcripts messages', () => {
    assert.ok(SAMPLES.length > 400, `only ${SAMPLES.length} messages found`)
    for (const n of ['scheduler.Call', 'scheduler.Event', 'executor.Call', 'executor.Event', 'master.Call', 'master.Response'])
      assert.ok(
        SAMPLES.some((s) => s.name === n),
        `no ${n}`,
      )
  })

  it('every real message: same form, same key order; the fast path takes them itself', () => {
    let fast = 0
    for (const s of SAMPLES) {
      const type = messageType(s.name)
      assertSame(type, s.value, s.mode, s.where)
      if (normaliseFast(type, s.value, s.mode, normaliseSlow) !== FALLBACK) fast++
    }
    // Only messages the general path refuses (a few invalid requests of 03-errors) may fall back.
    const refused = SAMPLES.filter((s) => outcome(() => normaliseSlow(messageType(s.name), s.value, s.mode)).ok === false).length
    assert.equal(fast, SAMPLES.length - refused, 'valid messages the fast path left to the general path')
  })

  it('every real message in object mode, and the normal form of each normalised again', () => {
    for (const s of SAMPLES) {
      const type = messageType(s.name)
      assertSame(type, s.value, 'object', `${s.where} (object mode)`)
      const form = outcome(() => normaliseSlow(type, s.value, s.mode))
      if (form.ok) assertSame(type, form.value, 'object', `${s.where} (its form)`)
    }
  })

  it('seeded mutations of every real message: same form or the same error text', () => {
    let errors = 0
    for (let seed = 1; seed <= 6; seed++) {
      const rnd = prng(seed)
      for (const s of SAMPLES) {
        const v = mutate(s.value, rnd)
        const type = messageType(s.name)
        assertSame(type, v, s.mode, `${s.where} (seed ${seed})`)
        if (!outcome(() => normaliseSlow(type, v, s.mode)).ok) errors++
      }
    }
    assert.ok(errors > 50, `the mutations should also make errors (${errors})`)
  })

  it("'object' mode: the result shares no object or array with the input", () => {
    const objectsOf = (v: unknown, into: Set<unknown>): Set<unknown> => {
      if (typeof v === 'object' && v !== null) {
        into.add(v)
        for (const x of Object.values(v)) objectsOf(x, into)
      }
      return into
    }
    for (const s of SAMPLES) {
      const r = outcome(() => normalise(messageType(s.name), s.value, 'object'))
      if (!r.ok) continue
      const mine = objectsOf(s.value, new Set())
      for (const o of objectsOf(r.value, new Set())) assert.ok(!mine.has(o), `${s.where}: the result shares an object with the input`)
    }
  })

  it('a decoded normal form is its own normal form (kept in place, not copied)', () => {
    let same = 0
    for (const s of SAMPLES) {
      const type = messageType(s.name)
      const form = outcome(() => normaliseSlow(type, s.value, s.mode))
      if (!form.ok) continue
      const again = JSON.parse(form.text) as Obj
      const r = normalise(type, again, 'json')
      assert.equal(JSON.stringify(r), form.text, s.where)
      if (r === again) same++
    }
    assert.ok(same > 400, `only ${same} normal forms were kept in place`)
  })

  it('the storm bench OFFERS event: key order differs from the .proto order', () => {
    const offers = Array.from({length: 50}, (_, i) => ({
      id: {value: `O${i}`},
      framework_id: {value: 'fw'},
      agent_id: {value: `S${i}`},
      hostname: `127.0.0.${i}`,
      url: {scheme: 'http', address: {hostname: '127.0.0.1', ip: '127.0.0.1', port: 5051}, path: '/slave(1)'},
      allocation_info: {role: '*'},
      resources: [
        {name: 'cpus', type: 'SCALAR', scalar: {value: 8}, allocation_info: {role: '*'}},
        {name: 'ports', type: 'RANGES', ranges: {range: [{begin: 31000, end: 32000}]}, role: '*'},
      ],
    }))
    const ev = JSON.parse(JSON.stringify({type: 'OFFERS', offers: {offers}})) as Obj
    const type = messageType('scheduler.Event')
    assertSame(type, ev, 'json', 'storm event')
    const form = normaliseFast(type, ev, 'json', normaliseSlow) as {offers: {offers: Obj[]}}
    assert.notEqual(form, FALLBACK)
    const input = (ev.offers as {offers: Obj[]}).offers
    // Offer's keys are not in .proto order (allocation_info before resources): a new object, its parts kept.
    assert.notEqual(form.offers.offers[0], input[0])
    assert.equal(form.offers.offers[0]!.url, input[0]!.url)
    assert.equal(form.offers.offers[1]!.resources, input[1]!.resources)
  })

  it('toJsonText writes what the former entries/join writer wrote, for every real message and a map', () => {
    const fmt = (v: number): string => (Number.isFinite(v) ? (/[.e]/.test(String(v)) ? String(v) : `${v}.0`) : JSON.stringify(`${v}`))
    const reference = (type: protobuf.Type, form: Obj): string =>
      `{${Object.entries(form)
        .map(([key, v]) => {
          const f = type.fields[key]!
          const one = (x: unknown): string =>
            f.resolvedType instanceof protobuf.Type
              ? reference(f.resolvedType, x as Obj)
              : f.type === 'double' || f.type === 'float'
                ? fmt(x as number)
                : JSON.stringify(x)
          const text = f.map
            ? `{${Object.entries(v as Obj)
                .map(([k, x]) => `${JSON.stringify(k)}:${one(x)}`)
                .join(',')}}`
            : f.repeated
              ? `[${(v as unknown[]).map(one).join(',')}]`
              : one(v)
          return `${JSON.stringify(key)}:${text}`
        })
        .join(',')}}`
    const forms: [protobuf.Type, Obj][] = []
    for (const s of SAMPLES) {
      const r = outcome(() => normaliseSlow(messageType(s.name), s.value, s.mode))
      if (r.ok) forms.push([messageType(s.name), r.value as Obj])
    }
    const fi = messageType('mesos.FrameworkInfo')
    const filters = {b: {min_allocatable_resources: {quantities: [{quantities: {cpus: {value: 1}}}]}}, a: {}}
    forms.push([fi, normalise(fi, {user: 'u', name: 'n', failover_timeout: 1.5, offer_filters: filters}, 'object')])
    for (const [type, form] of forms) assert.equal(toJsonText(type, form), reference(type, form))
    assert.ok(forms.length > 400)
  })
})
