/** GET /events and the Server-Sent Events stream GET /events/stream (event-routes.ts) over a real HTTP server, fed by
 *  an EventRecorder (event-recorder.ts); and the recorder's bounded, throttled persistence with a fake store. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {setTimeout as sleep} from 'node:timers/promises'
import {EventRecorder} from '../../src/scheduler/event-recorder.js'
import type {StateStore} from '../../src/scheduler/state-store.js'
import type {Logger} from '../../src/scheduler/logger.js'
import {adminDeps, withAdminServer} from '../helpers/admin-harness.js'

const quiet: Logger = {debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined} as unknown as Logger

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function getJson(url: string): Promise<{status: number; body: any}> {
  const r = await fetch(url)
  return {status: r.status, body: await r.json()}
}

/** An SSE client: the frames as they arrive, whether the server ended the stream. */
function sse(url: string, headers: Record<string, string> = {}) {
  const st = {
    status: 0,
    type: '',
    frames: [] as {id?: string; data?: string; comment?: string}[],
    ended: false,
    aborted: false,
    req: null as http.ClientRequest | null,
    body: '',
  }
  let buf = ''
  st.req = http.get(url, {headers}, (res) => {
    st.status = res.statusCode ?? 0
    st.type = String(res.headers['content-type'] ?? '')
    res.setEncoding('utf8')
    res.on('data', (d: string) => {
      st.body += d
      buf += d
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const frame = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const f: {id?: string; data?: string; comment?: string} = {}
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) f.comment = line.slice(1).trim()
          else if (line.startsWith('id: ')) f.id = line.slice(4)
          else if (line.startsWith('data: ')) f.data = line.slice(6)
        }
        st.frames.push(f)
      }
    })
    res.on('end', () => (st.ended = true))
    res.on('aborted', () => (st.aborted = true))
  })
  st.req.on('error', () => (st.aborted = true))
  return st
}
const seqs = (s: ReturnType<typeof sse>): number[] => s.frames.filter((f) => f.id !== undefined).map((f) => Number(f.id))

function recorderWith(n: number, opts: ConstructorParameters<typeof EventRecorder>[0] = {log: quiet}): EventRecorder {
  const r = new EventRecorder(opts)
  for (let i = 1; i <= n; i++) r.record('task', `event ${i}`, i % 2 ? 'etcd-1' : undefined)
  return r
}

describe('GET /events', () => {
  it('answers the events after ?since= oldest first with the latest seq; a bad since is a 400; a standby a 503', async () => {
    const r = recorderWith(5)
    const standby = Object.assign(new Error('this scheduler is a standby; the leader is at http://x:1/'), {name: 'StandbyError'})
    let leading = true
    const deps = adminDeps({
      eventLog: () => {
        if (!leading) throw standby
        return r
      },
    })
    await withAdminServer(deps, async (base) => {
      const all = await getJson(`${base}/events`)
      assert.equal(all.status, 200)
      assert.equal(all.body.latest, 5)
      assert.deepEqual(
        all.body.events.map((e: {seq: number}) => e.seq),
        [1, 2, 3, 4, 5],
      )
      assert.deepEqual(Object.keys(all.body.events[0]).sort(), ['at', 'kind', 'member', 'message', 'seq'])
      assert.match(all.body.events[0].at, /^\d{4}-\d\d-\d\dT/)
      const after = await getJson(`${base}/events?since=3`)
      assert.deepEqual(
        after.body.events.map((e: {message: string}) => e.message),
        ['event 4', 'event 5'],
      )
      assert.deepEqual((await getJson(`${base}/events?since=5`)).body, {events: [], latest: 5})
      for (const bad of ['-1', 'abc', '1.5', '99999999999999999999']) {
        const b = await getJson(`${base}/events?since=${bad}`)
        assert.equal(b.status, 400, bad)
        assert.match(b.body.error, /since/)
      }
      leading = false
      const s = await getJson(`${base}/events`)
      assert.equal(s.status, 503)
      assert.match(s.body.error, /standby/)
      const st = await fetch(`${base}/events/stream`)
      assert.equal(st.status, 503)
      await st.body?.cancel()
    })
    await r.stop()
  })
})

describe('GET /events/stream', () => {
  it('replays the last 50, then streams new events live with id = seq; ends cleanly when the log stops', async () => {
    const r = recorderWith(60)
    await withAdminServer(adminDeps({eventLog: () => r}), async (base) => {
      const s = sse(`${base}/events/stream`)
      await until('the backlog', () => seqs(s).length >= 50)
      assert.equal(s.status, 200)
      assert.match(s.type, /^text\/event-stream/)
      assert.deepEqual(
        seqs(s),
        Array.from({length: 50}, (_, i) => i + 11),
      )
      const first = s.frames.find((f) => f.id === '11')!
      assert.deepEqual(JSON.parse(first.data!), {...JSON.parse(first.data!), seq: 11, kind: 'task', message: 'event 11'})
      r.record('health', 'cluster unhealthy: no leader')
      await until('the live event', () => seqs(s).includes(61))
      assert.equal(JSON.parse(s.frames.find((f) => f.id === '61')!.data!).message, 'cluster unhealthy: no leader')
      await r.stop()
      await until('the end of the stream', () => s.ended || s.aborted)
      assert.equal(s.aborted, false, 'ended, not cut')
      assert.equal(r.subscriberCount, 0)
    })
  })

  it('starts after Last-Event-ID or ?since= (the later of the two: a reconnecting EventSource keeps its URL), and rejects a bad one with 400', async () => {
    const r = recorderWith(10)
    await withAdminServer(adminDeps({eventLog: () => r}), async (base) => {
      const a = sse(`${base}/events/stream`, {'last-event-id': '8'})
      const b = sse(`${base}/events/stream?since=9`, {'last-event-id': '2'})
      const c = sse(`${base}/events/stream?since=2`, {'last-event-id': '9'})
      await until('the backlogs', () => seqs(a).length >= 2 && seqs(b).length >= 1 && seqs(c).length >= 1)
      await sleep(100)
      assert.deepEqual(seqs(a), [9, 10])
      assert.deepEqual(seqs(b), [10])
      assert.deepEqual(seqs(c), [10], 'a reconnection after #9 of a stream opened with ?since=2')
      const bad = sse(`${base}/events/stream`, {'last-event-id': 'x'})
      await until('the refusal', () => bad.ended || bad.aborted)
      assert.equal(bad.status, 400)
      assert.match(bad.body, /Last-Event-ID/)
      a.req!.destroy()
      b.req!.destroy()
      c.req!.destroy()
      await until('the streams to be released', () => r.subscriberCount === 0)
    })
    await r.stop()
  })

  it('sends a ping comment as heartbeat, and refuses streams beyond the limit with 503', async () => {
    const r = recorderWith(1)
    await withAdminServer(adminDeps({eventLog: () => r, eventStream: {heartbeatMs: 50, maxStreams: 2}}), async (base) => {
      const a = sse(`${base}/events/stream`)
      const b = sse(`${base}/events/stream`)
      await until('a ping', () => a.frames.some((f) => f.comment === 'ping'))
      await until('two streams', () => r.subscriberCount === 2)
      const c = sse(`${base}/events/stream`)
      await until('the refusal', () => c.ended || c.aborted)
      assert.equal(c.status, 503)
      assert.match(c.body, /too many event streams/)
      a.req!.destroy()
      await until('a stream released', () => r.subscriberCount === 1)
      const d = sse(`${base}/events/stream`)
      await until('a stream again', () => seqs(d).length === 1)
      assert.equal(d.status, 200)
      await r.stop()
      await until('the ends', () => (b.ended || b.aborted) && (d.ended || d.aborted))
    })
  })
})

describe('event recorder persistence', () => {
  it('saves the newest events at most once per interval, continues a persisted history, stops on a conflict', async () => {
    const saved: {latest: number; reserved: number; events: {seq: number}[]}[] = []
    let conflict = false
    const store: StateStore = {
      description: 'fake',
      load: async () => ({version: 1, latest: 40, events: [{seq: 40, at: '2026-01-01T00:00:00.000Z', kind: 'backup', message: 'old'}]}),
      save: async (doc) => {
        if (conflict) throw Object.assign(new Error('written by another'), {name: 'StateConflictError'})
        saved.push(JSON.parse(JSON.stringify(doc)))
      },
    }
    const r = new EventRecorder({log: quiet, store, persistEveryMs: 200, persistMax: 5, reserve: 100})
    r.record('leadership', 'recorded before the load')
    await r.load()
    assert.equal(r.latest, 41)
    assert.deepEqual(
      r.page(0).events.map((e) => [e.seq, e.message]),
      [
        [40, 'old'],
        [41, 'recorded before the load'],
      ],
    )
    assert.equal(saved.length, 1, 'the reservation is written at once after the load')
    assert.deepEqual([saved[0]!.latest, saved[0]!.reserved], [41, 141])
    for (let i = 0; i < 20; i++) r.record('task', `t${i}`)
    await until('a save', () => saved.length >= 2)
    await sleep(300)
    assert.equal(saved.length, 2, 'twenty events, one save')
    assert.equal(saved[1]!.latest, 61)
    assert.deepEqual(
      saved[1]!.events.map((e) => e.seq),
      [57, 58, 59, 60, 61],
    )
    for (let i = 0; i < 60; i++) r.record('task', `u${i}`)
    await until('a save before the reservation runs out', () => saved.some((d) => d.latest >= 111))
    assert.ok(
      saved.every((d, i) => i === 0 || d.latest <= saved[i - 1]!.reserved),
      'never past what was reserved',
    )
    await r.stop()
    const last = saved[saved.length - 1]!
    assert.deepEqual([last.latest, last.reserved], [121, 121], 'a clean stop releases the reservation')
    const r2 = new EventRecorder({log: quiet, store})
    conflict = true
    await r2.load()
    r2.record('task', 'after another leader wrote')
    await r2.stop()
    assert.equal(saved[saved.length - 1], last, 'nothing saved after the conflict')
  })
})
