/**
 * SchedulerClient against an in-test fake Mesos master (node:http on 127.0.0.1, RecordIO streams written by
 * hand), so the client mechanics (redirects, stream ids, retries, watchdog, generations) are deterministic.
 */
import {after, afterEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {EventEmitter} from 'node:events'
import {decode, encode} from '../../src/lib/mesos/codec.js'
import type {DetectedMaster, MasterDetector} from '../../src/lib/mesos/detector.js'
import {encodeRecord} from '../../src/lib/mesos/recordio.js'
import {
  MesosCallError,
  MesosNotSubscribedError,
  SchedulerClient,
  type SchedulerClientOptions,
  type SubscribedInfo,
} from '../../src/lib/mesos/scheduler-client.js'
import {
  CONTENT_JSON,
  CONTENT_PROTOBUF,
  type ContentType,
  type FrameworkInfo,
  type SchedulerCall,
  type SchedulerEvent,
} from '../../src/lib/mesos/types.js'
import {waitFor} from '../helpers/ports.js'

// ---------- fake master ----------
interface Recv {
  path: string
  headers: http.IncomingHttpHeaders
  body: Buffer
  call: SchedulerCall
}
type Handler = (r: Recv, res: http.ServerResponse) => void

class FakeMaster {
  readonly received: Recv[] = []
  handler: Handler = (_r, res) => res.writeHead(500).end('no handler')
  private constructor(
    readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(handler?: Handler): Promise<FakeMaster> {
    let fm: FakeMaster | undefined
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const ct = req.headers['content-type'] as ContentType
        let call: SchedulerCall
        try {
          call = decode<SchedulerCall>('scheduler.Call', body, ct)
        } catch (err) {
          res.writeHead(400, {'content-type': 'text/plain; charset=utf-8'}).end(String(err))
          return
        }
        const r: Recv = {path: req.url ?? '', headers: req.headers, body, call}
        fm!.received.push(r)
        fm!.handler(r, res)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    fm = new FakeMaster(server, (server.address() as {port: number}).port)
    if (handler) fm.handler = handler
    return fm
  }
  get master(): DetectedMaster {
    return {host: '127.0.0.1', port: this.port, scheme: 'http'}
  }
  calls(type: string): Recv[] {
    return this.received.filter((r) => r.call.type === type)
  }
  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** 200 + stream head; returns a writer of events (several events in one write = one chunk). */
function openStream(res: http.ServerResponse, streamId: string, ct: ContentType = CONTENT_JSON): (...evs: SchedulerEvent[]) => void {
  res.writeHead(200, {'content-type': ct, 'mesos-stream-id': streamId})
  res.flushHeaders()
  return (...evs) => {
    if (!res.writableEnded && !res.destroyed) res.write(Buffer.concat(evs.map((e) => encodeRecord(encode('scheduler.Event', e, ct)))))
  }
}

const accepted = (res: http.ServerResponse): void => void res.writeHead(202, {'content-length': '0'}).end()

function subscribed(fid: string, port: number, heartbeat = 15): SchedulerEvent {
  return {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: {value: fid},
      heartbeat_interval_seconds: heartbeat,
      master_info: {id: 'master-1', ip: 16777343, port, hostname: '127.0.0.1'},
    },
  }
}

const OFFER: SchedulerEvent = {
  type: 'OFFERS',
  offers: {
    offers: [
      {
        id: {value: 'm-O1'},
        framework_id: {value: 'fw-1'},
        agent_id: {value: 'm-S0'},
        hostname: '127.0.0.1',
        resources: [{name: 'cpus', type: 'SCALAR', scalar: {value: 2}}],
      },
    ],
  },
}

// ---------- test detector ----------
class TestDetector extends EventEmitter implements MasterDetector {
  constructor(private m: DetectedMaster | null) {
    super()
  }
  current(): DetectedMaster | null {
    return this.m
  }
  async waitForLeader(timeoutMs: number, signal?: AbortSignal): Promise<DetectedMaster> {
    if (this.m) return this.m
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no leader')), timeoutMs)
      signal?.addEventListener('abort', () => reject(new Error('aborted')))
      this.once('leader', (m: DetectedMaster) => {
        clearTimeout(t)
        resolve(m)
      })
    })
  }
  set(m: DetectedMaster | null): void {
    this.m = m
    this.emit('leader', m)
  }
  async close(): Promise<void> {}
}

const FRAMEWORK: FrameworkInfo = {
  user: 'root',
  name: 'etcd-test',
  failover_timeout: 3600,
  checkpoint: true,
  roles: ['*'],
  capabilities: [{type: 'MULTI_ROLE'}],
}

// ---------- bookkeeping ----------
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {})
})
after(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {})
})

async function master(handler?: Handler): Promise<FakeMaster> {
  const m = await FakeMaster.start(handler)
  cleanups.push(() => m.close())
  return m
}

interface Recorded {
  events: SchedulerEvent[]
  subscribed: SubscribedInfo[]
  disconnected: string[]
  errors: string[]
  fatal: string[]
}

function client(detector: MasterDetector, extra: Partial<SchedulerClientOptions> = {}): {c: SchedulerClient; rec: Recorded} {
  const c = new SchedulerClient({detector, frameworkInfo: FRAMEWORK, backoffMinMs: 10, backoffMaxMs: 40, requestTimeoutMs: 3000, ...extra})
  const rec: Recorded = {events: [], subscribed: [], disconnected: [], errors: [], fatal: []}
  c.on('event', (e: SchedulerEvent) => rec.events.push(e))
  c.on('subscribed', (s: SubscribedInfo) => rec.subscribed.push(s))
  c.on('disconnected', (d: {reason: string}) => rec.disconnected.push(d.reason))
  c.on('error-event', (e: {message: string}) => rec.errors.push(e.message))
  c.on('fatal', (f: {reason: string}) => rec.fatal.push(f.reason))
  cleanups.push(() => c.stop())
  return {c, rec}
}

/** A master that subscribes everyone as fw-1 and accepts every call. */
function simpleHandler(port: () => number, opts: {heartbeat?: number; extra?: SchedulerEvent[]} = {}): Handler {
  let n = 0
  return (r, res) => {
    if (r.call.type !== 'SUBSCRIBE') return accepted(res)
    const send = openStream(res, `stream-${++n}`)
    send(subscribed('fw-1', port(), opts.heartbeat ?? 15), {type: 'HEARTBEAT'}, ...(opts.extra ?? []))
  }
}

describe('SchedulerClient', {timeout: 120_000}, () => {
  it('subscribes (no Mesos-Stream-Id, exact Content-Type) and delivers every event', async () => {
    const m = await master()
    m.handler = simpleHandler(() => m.port, {extra: [OFFER]})
    const {c, rec} = client(new TestDetector(m.master))
    assert.equal(c.connected, false)
    c.start()
    await waitFor('3 events', () => rec.events.length >= 3, 5000, 10)
    assert.deepEqual(
      rec.events.map((e) => e.type),
      ['SUBSCRIBED', 'HEARTBEAT', 'OFFERS'],
    )
    assert.equal(rec.events[2]!.offers!.offers[0]!.id.value, 'm-O1')
    assert.equal(c.connected, true)
    assert.equal(c.frameworkId, 'fw-1')
    const sub = rec.subscribed[0]!
    assert.equal(sub.frameworkId, 'fw-1')
    assert.equal(sub.streamId, 'stream-1')
    assert.equal(sub.heartbeatIntervalSec, 15)
    assert.equal(sub.master.port, m.port)
    assert.equal(sub.masterInfo?.id, 'master-1')
    const [s] = m.calls('SUBSCRIBE')
    assert.equal(s!.path, '/api/v1/scheduler')
    assert.equal(s!.headers['content-type'], 'application/json')
    assert.equal(s!.headers['accept'], 'application/json')
    assert.equal(s!.headers['mesos-stream-id'], undefined)
    assert.equal(s!.call.framework_id, undefined)
    assert.equal(s!.call.subscribe?.framework_info.name, 'etcd-test')
    assert.equal(s!.call.subscribe?.framework_info.id, undefined)
  })

  it('sends calls with framework_id and the current Mesos-Stream-Id on a separate connection', async () => {
    const m = await master()
    m.handler = simpleHandler(() => m.port)
    const {c, rec} = client(new TestDetector(m.master), {authorization: 'Basic dTpw'})
    c.start()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    await c.decline([{value: 'm-O1'}], {refuse_seconds: 3600})
    await c.revive(['*'])
    await c.acknowledge({value: 'm-S0'}, {value: 't1'}, 'ciubD75DSKWsR3RnW2r2TQ==')
    await c.reconcile([{task_id: {value: 't1'}}])
    const [d] = m.calls('DECLINE')
    assert.equal(d!.headers['mesos-stream-id'], 'stream-1')
    assert.equal(d!.headers['authorization'], 'Basic dTpw')
    assert.deepEqual(d!.call.framework_id, {value: 'fw-1'})
    assert.deepEqual(d!.call.decline, {offer_ids: [{value: 'm-O1'}], filters: {refuse_seconds: 3600}})
    assert.deepEqual(m.calls('REVIVE')[0]!.call.revive, {roles: ['*']})
    assert.equal(m.calls('ACKNOWLEDGE')[0]!.call.acknowledge?.uuid, 'ciubD75DSKWsR3RnW2r2TQ==')
    assert.deepEqual(m.calls('RECONCILE')[0]!.call.reconcile, {tasks: [{task_id: {value: 't1'}}]})
    assert.equal(m.calls('SUBSCRIBE')[0]!.headers['authorization'], 'Basic dTpw')
    // The stream is still alive: calls did not use (and close) its connection.
    assert.equal(c.connected, true)
    assert.equal(rec.disconnected.length, 0)
  })

  it('throws MesosNotSubscribedError for calls before SUBSCRIBED', async () => {
    const m = await master()
    const {c} = client(new TestDetector(m.master))
    await assert.rejects(c.revive(), MesosNotSubscribedError)
    assert.equal(m.received.length, 0)
  })

  it('follows a 307 with a scheme-relative Location, re-sending the same body (SUBSCRIBE and calls)', async () => {
    const leader = await master()
    const follower = await master()
    const loc = (p: number): string => `//127.0.0.1:${p}/master/api/v1/scheduler`
    follower.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') return void res.writeHead(307, {location: loc(leader.port), 'content-length': '0'}).end()
      accepted(res)
    }
    leader.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') return openStream(res, 'lead-stream')(subscribed('fw-1', leader.port))
      // The leader bounces calls back to the other master (as if leadership moved).
      res.writeHead(307, {location: loc(follower.port), 'content-length': '0'}).end()
    }
    const {c, rec} = client(new TestDetector(follower.master))
    c.start()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    assert.equal(rec.subscribed[0]!.master.port, leader.port, 'the current master is the redirect target')
    assert.equal(c.master?.port, leader.port)
    const [s1] = follower.calls('SUBSCRIBE')
    const [s2] = leader.calls('SUBSCRIBE')
    assert.equal(s2!.path, '/master/api/v1/scheduler')
    assert.deepEqual(s2!.body, s1!.body)
    assert.equal(s2!.headers['mesos-stream-id'], undefined)

    await c.kill({value: 't1'}, {value: 'm-S0'})
    const [k1] = leader.calls('KILL')
    const [k2] = follower.calls('KILL')
    assert.ok(k1 && k2, 'the call was sent to the current master, then followed back')
    assert.deepEqual(k2.body, k1.body)
    assert.equal(k2.headers['mesos-stream-id'], 'lead-stream')
  })

  it('gives up on a redirect loop after maxRedirects and keeps retrying with backoff', async () => {
    const m = await master()
    m.handler = (_r, res) => void res.writeHead(307, {location: `//127.0.0.1:${m.port}/master/api/v1/scheduler`}).end()
    const logs: string[] = []
    const {c} = client(new TestDetector(m.master), {maxRedirects: 2, log: (_l, msg) => logs.push(msg)})
    c.start()
    await waitFor('two attempts', () => m.calls('SUBSCRIBE').length >= 6, 5000, 10)
    assert.ok(
      logs.some((l) => /too many redirects/.test(l)),
      logs.join('\n'),
    )
    assert.equal(c.connected, false)
  })

  it('retries SUBSCRIBE after 503 and calls after 503, then succeeds', async () => {
    const m = await master()
    let subscribes = 0
    let revives = 0
    m.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') {
        if (++subscribes < 3) return void res.writeHead(503).end('Master is recovering')
        return openStream(res, 's')(subscribed('fw-1', m.port))
      }
      if (++revives < 3) return void res.writeHead(503).end('busy')
      accepted(res)
    }
    const {c, rec} = client(new TestDetector(m.master))
    c.start()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    assert.equal(subscribes, 3)
    await c.revive()
    assert.equal(revives, 3)
    assert.equal(m.calls('REVIVE')[0]!.call.revive, undefined)
  })

  it('rejects a 4xx call with MesosCallError carrying the body, without retrying', async () => {
    const m = await master()
    m.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') return openStream(res, 's')(subscribed('fw-1', m.port))
      res.writeHead(403, {'content-type': 'text/plain; charset=utf-8'}).end('Framework is not subscribed')
    }
    const {c, rec} = client(new TestDetector(m.master))
    c.start()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    await assert.rejects(c.suppress(), (err: unknown) => {
      assert.ok(err instanceof MesosCallError)
      assert.equal(err.status, 403)
      assert.equal(err.body, 'Framework is not subscribed')
      assert.equal(err.call, 'SUPPRESS')
      return true
    })
    assert.equal(m.calls('SUPPRESS').length, 1)
  })

  it('heartbeat watchdog: a silent stream is dropped and the client re-subscribes with the learned framework id', async () => {
    const m = await master()
    let n = 0
    m.handler = (r, res) => {
      if (r.call.type !== 'SUBSCRIBE') return accepted(res)
      // SUBSCRIBED with a 50 ms heartbeat interval, then silence (the connection stays open).
      openStream(res, `s${++n}`)(subscribed('fw-42', m.port, 0.05))
    }
    const {c, rec} = client(new TestDetector(m.master), {heartbeatMissLimit: 3})
    c.start()
    await waitFor('re-subscription', () => rec.subscribed.length >= 2, 5000, 10)
    assert.match(rec.disconnected[0]!, /no event for 150 ms \(3 heartbeats missed\)/)
    const second = m.calls('SUBSCRIBE')[1]!
    assert.deepEqual(second.call.framework_id, {value: 'fw-42'})
    assert.deepEqual(second.call.subscribe?.framework_info.id, {value: 'fw-42'})
    assert.equal(second.headers['mesos-stream-id'], undefined)
    assert.equal(rec.subscribed[1]!.streamId, 's2')
  })

  it('ignores the rest of a superseded stream (ERROR "Framework failed over" after a leader change)', async () => {
    const a = await master()
    const b = await master()
    a.handler = (r, res) => {
      if (r.call.type !== 'SUBSCRIBE') return accepted(res)
      // One chunk: SUBSCRIBED, HEARTBEAT, then the old-stream ERROR.
      openStream(res, 'a-stream')(
        subscribed('fw-1', a.port),
        {type: 'HEARTBEAT'},
        {type: 'ERROR', error: {message: 'Framework failed over'}},
      )
    }
    b.handler = simpleHandler(() => b.port)
    const det = new TestDetector(a.master)
    const {c, rec} = client(det)
    let switched = false
    c.on('event', (e: SchedulerEvent) => {
      if (e.type === 'HEARTBEAT' && !switched) {
        switched = true
        det.set(b.master) // leadership moves while the chunk is being processed
      }
    })
    c.start()
    await waitFor('subscribed on b', () => rec.subscribed.length === 2, 5000, 10)
    assert.equal(rec.subscribed[1]!.master.port, b.port)
    assert.deepEqual(rec.errors, [])
    assert.ok(!rec.events.some((e) => e.type === 'ERROR'))
    assert.match(rec.disconnected[0]!, /leading master changed/)
    assert.deepEqual(b.calls('SUBSCRIBE')[0]!.call.framework_id, {value: 'fw-1'})
  })

  it('ERROR "Framework has been removed" is fatal: no retry', async () => {
    const m = await master()
    m.handler = (_r, res) => {
      openStream(res, 'x')({type: 'ERROR', error: {message: 'Framework has been removed'}})
      res.end()
    }
    const {c, rec} = client(new TestDetector(m.master), {frameworkInfo: {...FRAMEWORK, id: {value: 'old-fw'}}, backoffMaxMs: 20})
    c.start()
    await waitFor('fatal', () => rec.fatal.length === 1, 5000, 10)
    assert.deepEqual(rec.errors, ['Framework has been removed'])
    assert.equal(rec.fatal[0], 'Framework has been removed')
    assert.deepEqual(m.calls('SUBSCRIBE')[0]!.call.framework_id, {value: 'old-fw'})
    // Absence check, bounded: 20 backoff maxima later there is still one SUBSCRIBE.
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(m.calls('SUBSCRIBE').length, 1)
    assert.equal(c.connected, false)
  })

  it('other ERROR events end the subscription and it re-subscribes', async () => {
    const m = await master()
    let n = 0
    m.handler = (_r, res) => {
      const send = openStream(res, `s${++n}`)
      if (n === 1) send({type: 'ERROR', error: {message: 'Framework failed over'}})
      else send(subscribed('fw-1', m.port))
    }
    const {rec} = ((): ReturnType<typeof client> => {
      const x = client(new TestDetector(m.master))
      x.c.start()
      return x
    })()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    assert.deepEqual(rec.errors, ['Framework failed over'])
    assert.equal(rec.fatal.length, 0)
  })

  it('decodes records split across chunks (one byte per write, multi-byte UTF-8)', async () => {
    const m = await master()
    m.handler = (r, res) => {
      if (r.call.type !== 'SUBSCRIBE') return accepted(res)
      res.writeHead(200, {'content-type': CONTENT_JSON, 'mesos-stream-id': 'split'})
      const bytes = Buffer.concat(
        [subscribed('fw-1', m.port), {type: 'ERROR', error: {message: 'héllo wörld — ✓'}} as SchedulerEvent].map((e) =>
          encodeRecord(encode('scheduler.Event', e, CONTENT_JSON)),
        ),
      )
      let i = 0
      const pump = (): void => {
        if (i >= bytes.length || res.destroyed) return
        res.write(bytes.subarray(i, i + 1))
        i++
        setImmediate(pump)
      }
      pump()
    }
    const {c, rec} = client(new TestDetector(m.master))
    c.start()
    await waitFor('error event', () => rec.errors.length === 1, 10_000, 10)
    assert.equal(rec.events[0]!.type, 'SUBSCRIBED')
    assert.equal(rec.errors[0], 'héllo wörld — ✓')
  })

  it('speaks application/x-protobuf end to end', async () => {
    const m = await master()
    m.handler = (r, res) => {
      if (r.call.type !== 'SUBSCRIBE') return accepted(res)
      openStream(res, 'pb', CONTENT_PROTOBUF)(subscribed('fw-pb', m.port, 15), {type: 'HEARTBEAT'}, OFFER)
    }
    const {c, rec} = client(new TestDetector(m.master), {contentType: CONTENT_PROTOBUF})
    c.start()
    await waitFor('3 events', () => rec.events.length >= 3, 5000, 10)
    assert.deepEqual(
      rec.events.map((e) => e.type),
      ['SUBSCRIBED', 'HEARTBEAT', 'OFFERS'],
    )
    assert.equal(c.frameworkId, 'fw-pb')
    assert.equal(rec.events[2]!.offers!.offers[0]!.resources[0]!.scalar!.value, 2)
    await c.decline([{value: 'm-O1'}])
    const [s] = m.calls('SUBSCRIBE')
    assert.equal(s!.headers['content-type'], CONTENT_PROTOBUF)
    assert.equal(s!.headers['accept'], CONTENT_PROTOBUF)
    assert.ok(!s!.body.toString('latin1').startsWith('{'), 'binary body')
    const [d] = m.calls('DECLINE')
    assert.equal(d!.headers['content-type'], CONTENT_PROTOBUF)
    assert.deepEqual(d!.call.decline?.offer_ids, [{value: 'm-O1'}])
    assert.deepEqual(d!.call.framework_id, {value: 'fw-pb'})
  })

  it('emits disconnected when the master closes the stream and re-subscribes after backoff', async () => {
    const m = await master()
    let n = 0
    m.handler = (r, res) => {
      if (r.call.type !== 'SUBSCRIBE') return accepted(res)
      openStream(res, `s${++n}`)(subscribed('fw-1', m.port))
      if (n === 1) setTimeout(() => res.end(), 20)
    }
    const {rec} = ((): ReturnType<typeof client> => {
      const x = client(new TestDetector(m.master))
      x.c.start()
      return x
    })()
    await waitFor('second subscription', () => rec.subscribed.length === 2, 5000, 10)
    assert.equal(rec.disconnected.length, 1)
    assert.match(rec.disconnected[0]!, /closed by the master/)
  })

  it('waits for a leader when the detector has none yet', async () => {
    const m = await master()
    m.handler = simpleHandler(() => m.port)
    const det = new TestDetector(null)
    const {c, rec} = client(det)
    c.start()
    setTimeout(() => det.set(m.master), 50)
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    assert.equal(m.calls('SUBSCRIBE').length, 1)
  })

  it('stop() closes the stream and emits nothing afterwards', async () => {
    const m = await master()
    let send: ((...e: SchedulerEvent[]) => void) | undefined
    let closed = false
    m.handler = (r, res) => {
      if (r.call.type !== 'SUBSCRIBE') return accepted(res)
      send = openStream(res, 's')
      res.on('close', () => (closed = true))
      send(subscribed('fw-1', m.port))
    }
    const {c, rec} = client(new TestDetector(m.master))
    c.start()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    await c.stop()
    await waitFor('server saw the close', () => closed, 5000, 10)
    const before = rec.events.length
    send!({type: 'HEARTBEAT'})
    assert.equal(rec.events.length, before)
    assert.equal(rec.disconnected.length, 0)
    assert.equal(c.connected, false)
    await assert.rejects(c.revive(), MesosNotSubscribedError)
  })

  it('teardown(): the stream closes before the 202 and the client does not re-subscribe', async () => {
    const m = await master()
    let stream: http.ServerResponse | undefined
    m.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') {
        stream = res
        return openStream(res, 's')(subscribed('fw-1', m.port))
      }
      stream?.end() // like Mesos: EOF on the stream first...
      setTimeout(() => accepted(res), 20) // ...then the 202
    }
    const {c, rec} = client(new TestDetector(m.master))
    c.start()
    await waitFor('subscribed', () => rec.subscribed.length === 1, 5000, 10)
    await c.teardown()
    assert.equal(m.calls('TEARDOWN').length, 1)
    assert.equal(m.calls('SUBSCRIBE').length, 1)
    assert.equal(c.connected, false)
  })
})
