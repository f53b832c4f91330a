/**
 * Fuzz test of the SchedulerClient's event handling against an in-test fake master (node:http on 127.0.0.1):
 * every subscription gets SUBSCRIBED, then a generated payload (random bytes, garbage records, byte- and
 * tree-mutated real events from the fixtures, unknown event types, JSON or protobuf), then a marker event,
 * then the stream ends. Properties: the client delivers exactly the events that decode (in order) and
 * stops at the first broken record, emits 'disconnected' once per stream and re-subscribes, never throws
 * uncaught, never goes fatal, and never hangs (each case is bounded).
 * Deterministic payloads (seeded mulberry32; FUZZ_SEED overrides); prints how many cases it tried.
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {EventEmitter} from 'node:events'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {CodecError, decode, encode} from '../../src/lib/mesos/codec.js'
import type {DetectedMaster, MasterDetector} from '../../src/lib/mesos/detector.js'
import {encodeRecord, RecordIODecoder, RecordIOError} from '../../src/lib/mesos/recordio.js'
import {SchedulerClient} from '../../src/lib/mesos/scheduler-client.js'
import {CONTENT_JSON, CONTENT_PROTOBUF, type ContentType, type SchedulerCall, type SchedulerEvent} from '../../src/lib/mesos/types.js'
import {waitFor} from '../helpers/ports.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

const FIX = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))
const REMOVED_RE = /framework has been removed/i

class StaticTestDetector extends EventEmitter implements MasterDetector {
  constructor(private readonly m: DetectedMaster) {
    super()
  }
  current(): DetectedMaster {
    return this.m
  }
  async waitForLeader(): Promise<DetectedMaster> {
    return this.m
  }
  async close(): Promise<void> {}
}

interface Case {
  ct: ContentType
  payload: Buffer
  expected: SchedulerEvent[]
  exact: boolean
  kind: string
}

/** Real scheduler events from the fixtures (JSON form). */
function fixtureEvents(): SchedulerEvent[] {
  const out: SchedulerEvent[] = []
  for (const f of [
    '01-subscribe-json.json',
    '04-decline-revive-suppress.json',
    '05-launch-command-task.json',
    '07-failover.json',
    '08-agent-removal.json',
    '12-kill-policy-killing-state.json',
  ]) {
    const doc = JSON.parse(readFileSync(`${FIX}/${f}`, 'utf8')) as {steps: {response?: {records?: unknown[]} | null}[]}
    for (const st of doc.steps)
      for (const rec of st.response?.records ?? [])
        out.push(decode<SchedulerEvent>('scheduler.Event', Buffer.from(JSON.stringify(rec)), CONTENT_JSON))
  }
  return out.filter((e) => !(e.type === 'ERROR' && REMOVED_RE.test(e.error?.message ?? '')))
}

const MARKER = (k: number): SchedulerEvent => ({
  type: 'MESSAGE',
  message: {agent_id: {value: 'marker'}, executor_id: {value: 'marker'}, data: Buffer.from(`case-${k}`).toString('base64')},
})

/**
 * What the client must deliver for `bytes` (payload + marker): the events decoded in order up to the first
 * framing error, undecodable record or ERROR event (inclusive). `exact` when nothing broke and no event in the
 * payload can change the client's timing (a SUBSCRIBED re-arms the heartbeat watchdog with its own interval).
 */
function expectation(bytes: Buffer, ct: ContentType): {expected: SchedulerEvent[]; exact: boolean; fatal: boolean} {
  const d = new RecordIODecoder()
  const records: Buffer[] = []
  let broken = false
  try {
    for (const b of bytes) records.push(...d.push(Uint8Array.of(b)))
    d.end()
  } catch (err) {
    assert.ok(err instanceof RecordIOError)
    broken = true
  }
  const expected: SchedulerEvent[] = []
  for (const rec of records) {
    let ev: SchedulerEvent
    try {
      ev = decode<SchedulerEvent>('scheduler.Event', rec, ct)
    } catch (err) {
      assert.ok(err instanceof CodecError)
      return {expected, exact: false, fatal: false}
    }
    expected.push(ev)
    if (ev.type === 'ERROR') return {expected, exact: false, fatal: REMOVED_RE.test(ev.error?.message ?? '')}
  }
  const timingSafe = !expected.some((e) => e.type === 'SUBSCRIBED')
  return {expected, exact: !broken && timingSafe, fatal: false}
}

function mutateTree(r: Prng, v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || r.chance(0.15 + depth * 0.1)) return r.chance(0.7) ? r.jsonValue(2) : v
  if (Array.isArray(v)) return v.length === 0 ? [r.jsonValue(1)] : v.map((x, j) => (j === 0 ? mutateTree(r, x, depth + 1) : x))
  const o = {...(v as Record<string, unknown>)}
  const keys = Object.keys(o)
  if (keys.length === 0) return o
  const k = r.pick(keys)
  if (r.chance(0.2)) delete o[k]
  else o[k] = mutateTree(r, o[k], depth + 1)
  return o
}

function generate(r: Prng, k: number, corpus: SchedulerEvent[]): Case {
  for (;;) {
    const ct = r.chance(0.7) ? CONTENT_JSON : CONTENT_PROTOBUF
    const enc = (e: unknown): Buffer => encode('scheduler.Event', e as object, ct)
    const some = (n: number): SchedulerEvent[] => Array.from({length: n}, () => r.pick(corpus))
    const kinds = ['random-bytes', 'garbage-record', 'mutated-record', 'mutated-framing', 'mutated-tree', 'unknown-type', 'valid']
    const kind = r.pick(kinds)
    let payload: Buffer
    switch (kind) {
      case 'random-bytes':
        payload = r.bytes(r.int(200))
        break
      case 'garbage-record':
        payload = encodeRecord(r.chance(0.5) ? r.bytes(r.int(100)) : Buffer.from(JSON.stringify(r.jsonValue(3)) ?? 'null'))
        break
      case 'mutated-record':
        payload = Buffer.concat([...some(r.int(3)).map((e) => encodeRecord(enc(e))), encodeRecord(r.mutateBytes(enc(r.pick(corpus))))])
        break
      case 'mutated-framing':
        payload = r.mutateBytes(Buffer.concat(some(r.range(1, 4)).map((e) => encodeRecord(enc(e)))))
        break
      case 'mutated-tree': {
        const text = JSON.stringify(mutateTree(r, r.pick(corpus))) ?? 'null'
        payload = encodeRecord(ct === CONTENT_JSON ? Buffer.from(text) : r.mutateBytes(enc(r.pick(corpus))))
        break
      }
      case 'unknown-type':
        payload = encodeRecord(
          ct === CONTENT_JSON
            ? Buffer.from(`{"type":"${r.pick(['FUTURE_EVENT', 'UNKNOWN', 'heartbeat', ''])}","future":{"x":1}}`)
            : Buffer.from([0x08, 0x7f, 0x92, 0x06, 0x00]),
        )
        break
      default:
        payload = Buffer.concat(some(r.range(1, 5)).map((e) => encodeRecord(enc(e))))
    }
    const bytes = Buffer.concat([payload, encodeRecord(enc(MARKER(k)))])
    const exp = expectation(bytes, ct)
    if (exp.fatal) continue // "Framework has been removed" ends the client on purpose: not a case for this loop
    return {ct, payload: bytes, expected: exp.expected, exact: exp.exact, kind}
  }
}

const servers: http.Server[] = []
after(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
})

async function startMaster(onSubscribe: (res: http.ServerResponse, n: number) => void): Promise<{port: number; subscribes: () => number}> {
  let subscribes = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const call = decode<SchedulerCall>('scheduler.Call', Buffer.concat(chunks), req.headers['content-type'] as ContentType)
      if (call.type !== 'SUBSCRIBE') return void res.writeHead(202, {'content-length': '0'}).end()
      onSubscribe(res, subscribes++)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {port: (server.address() as {port: number}).port, subscribes: () => subscribes}
}

function subscribedEvent(port: number, heartbeat: number): SchedulerEvent {
  return {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: {value: 'fw-fuzz'},
      heartbeat_interval_seconds: heartbeat,
      master_info: {id: 'm', ip: 16777343, port, hostname: '127.0.0.1'},
    },
  }
}

describe('fuzz: SchedulerClient event handling', {timeout: 120_000}, () => {
  it('garbage and mutated records: delivers what decodes, disconnects and re-subscribes, never throws', async () => {
    const r = new Prng(fuzzSeed(0xc11e0001))
    const corpus = fixtureEvents()
    const CASES = 250
    const cases: Case[] = Array.from({length: CASES}, (_, k) => generate(r, k, corpus))
    const uncaught: unknown[] = []
    const onUncaught = (e: unknown): void => void uncaught.push(e)
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    let port = 0
    const m = await startMaster((res, n) => {
      const c = cases[n]
      res.writeHead(200, {'content-type': c?.ct ?? CONTENT_JSON, 'mesos-stream-id': `s-${n}`})
      res.write(encodeRecord(encode('scheduler.Event', subscribedEvent(port, 2), c?.ct ?? CONTENT_JSON)))
      if (!c) return // after the last case: keep the stream open
      res.end(c.payload)
    })
    port = m.port
    const buckets: SchedulerEvent[][] = Array.from({length: CASES + 1}, () => [])
    const disconnected: string[] = []
    const fatal: string[] = []
    const client = new SchedulerClient({
      detector: new StaticTestDetector({host: '127.0.0.1', port, scheme: 'http'}),
      frameworkInfo: {user: 'root', name: 'fuzz', failover_timeout: 60, checkpoint: true, roles: ['*']},
      backoffMinMs: 1,
      backoffMaxMs: 5,
      requestTimeoutMs: 3000,
    })
    client.on('event', (e: SchedulerEvent) => buckets[Math.min(disconnected.length, CASES)]!.push(e))
    client.on('disconnected', (d: {reason: string}) => disconnected.push(d.reason))
    client.on('fatal', (f: {reason: string}) => fatal.push(f.reason))
    const kinds: Record<string, number> = {}
    try {
      client.start()
      for (let k = 0; k < CASES; k++) {
        // Bounded: each case ends in a disconnect and a new SUBSCRIBE (at worst through the 3 s request timeout;
        // 30 s leaves room for a loaded machine, a passing case returns as soon as it re-subscribed).
        await waitFor(`case ${k} (${cases[k]!.kind}) re-subscribed`, () => disconnected.length > k && m.subscribes() > k + 1, 30_000, 2)
        const got = buckets[k]!
        const c = cases[k]!
        assert.equal(got[0]?.type, 'SUBSCRIBED', `case ${k}: first event`)
        const rest = got.slice(1)
        if (c.exact) assert.deepEqual(rest, c.expected, `case ${k} (${c.kind}, seed ${r.seed}): events differ`)
        else
          assert.deepEqual(
            rest,
            c.expected.slice(0, rest.length),
            `case ${k} (${c.kind}, seed ${r.seed}): not a prefix of the decodable events`,
          )
        kinds[c.kind] = (kinds[c.kind] ?? 0) + 1
      }
      await waitFor('subscribed after the last case', () => client.connected, 30_000, 2)
    } finally {
      await client.stop()
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    }
    assert.deepEqual(uncaught, [])
    assert.deepEqual(fatal, [])
    assert.equal(disconnected.length, CASES)
    console.log(`fuzz-scheduler-client: ${CASES} streams`, kinds, `${cases.filter((c) => c.exact).length} exact`)
  })

  it('a silent stream is ended by the heartbeat watchdog and re-subscribed', async () => {
    let port = 0
    const m = await startMaster((res) => {
      res.writeHead(200, {'content-type': CONTENT_JSON, 'mesos-stream-id': 'silent'})
      res.write(encodeRecord(encode('scheduler.Event', subscribedEvent(port, 0.02), CONTENT_JSON)))
    })
    port = m.port
    const disconnected: string[] = []
    const client = new SchedulerClient({
      detector: new StaticTestDetector({host: '127.0.0.1', port, scheme: 'http'}),
      frameworkInfo: {user: 'root', name: 'fuzz', roles: ['*']},
      backoffMinMs: 1,
      backoffMaxMs: 5,
      heartbeatMissLimit: 5,
    })
    client.on('disconnected', (d: {reason: string}) => disconnected.push(d.reason))
    try {
      client.start()
      await waitFor('two watchdog disconnects', () => disconnected.length >= 2 && m.subscribes() >= 3, 5000, 5)
      assert.match(disconnected[0]!, /no event for 100 ms/)
    } finally {
      await client.stop()
    }
    console.log('fuzz-scheduler-client silent stream: 1 case')
  })

  it('a huge heartbeat_interval_seconds does not make the watchdog fire at once', async () => {
    let port = 0
    const m = await startMaster((res) => {
      res.writeHead(200, {'content-type': CONTENT_JSON, 'mesos-stream-id': 'slow-heartbeat'})
      res.write(encodeRecord(encode('scheduler.Event', subscribedEvent(port, 1e7), CONTENT_JSON)))
    })
    port = m.port
    const disconnected: string[] = []
    const subscribed: unknown[] = []
    const client = new SchedulerClient({
      detector: new StaticTestDetector({host: '127.0.0.1', port, scheme: 'http'}),
      frameworkInfo: {user: 'root', name: 'fuzz', roles: ['*']},
      backoffMinMs: 1,
      backoffMaxMs: 5,
    })
    client.on('disconnected', (d: {reason: string}) => disconnected.push(d.reason))
    client.on('subscribed', (s: unknown) => subscribed.push(s))
    const warnings: string[] = []
    const onWarning = (w: Error): void => void warnings.push(w.name)
    process.on('warning', onWarning)
    try {
      client.start()
      await waitFor('subscribed', () => subscribed.length >= 1, 5000, 5)
      // Give a misfiring watchdog plenty of chances: a stream with a 1e7 s heartbeat stays up.
      await waitFor('several subscriptions (watchdog misfires)', () => m.subscribes() >= 5, 300, 10).catch(() => {})
      assert.deepEqual(disconnected, [], `disconnected ${disconnected.length} times: ${disconnected[0] ?? ''}`)
    } finally {
      await client.stop()
      process.off('warning', onWarning)
    }
  })
})
