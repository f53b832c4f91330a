/**
 * Integration tests of the embedded local Mesos master (real HTTP, real local agents, real ZooKeeper for HA):
 * subscription/offers, the fixture-03 error matrix replayed against our master, DECLINE filters, SUPPRESS/REVIVE,
 * task launch/ACK/reconcile/KILL through a real agent, failover, disconnection, failover_timeout, agent loss and
 * re-registration, and 307 redirects from a non-leading master with 2 masters on ZooKeeper.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {decode} from '../../src/lib/mesos/codec.js'
import {RecordIODecoder} from '../../src/lib/mesos/recordio.js'
import type {SchedulerEvent} from '../../src/lib/mesos/types.js'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {waitFor} from '../helpers/ports.js'
import {call, getJson, JSON_HEADERS, type RawSub, send, subscribe} from '../helpers/raw-scheduler.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
// ---------------------------------------------------------------------------------------------- tests

const FIXTURES = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))

interface FixtureStep {
  seq: number
  label: string
  request: {method: string; path: string; headers: Record<string, string>; body: unknown; body_format: string} | null
  response: {status: number | null; headers?: Record<string, string>; body?: unknown; records?: SchedulerEvent[] | null} | null
}

function loadSteps(file: string): FixtureStep[] {
  return (JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as {steps: FixtureStep[]}).steps
}

describe('mesos-local master: subscription and offers (3 real agents)', {timeout: 60_000}, () => {
  let mesos: LocalMesos
  before(async () => {
    mesos = await startLocalMesos({agents: 3, allocationIntervalMs: 100})
  })
  after(async () => {
    await mesos?.stop()
  })

  it('SUBSCRIBE (JSON): headers, SUBSCRIBED, immediate HEARTBEAT, one OFFERS event with all 3 agents', async () => {
    const r = await call(mesos.masterUrl, {
      type: 'SUBSCRIBE',
      subscribe: {framework_info: {user: 'root', name: 'fx', failover_timeout: 60, roles: ['*'], capabilities: [{type: 'MULTI_ROLE'}]}},
    })
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-type'], 'application/json')
    assert.equal(r.headers['transfer-encoding'], 'chunked')
    assert.equal(r.headers['content-length'], undefined)
    assert.match(String(r.headers['mesos-stream-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const sub = r.sub!
    try {
      await sub.next('OFFERS', (e) => e.type === 'OFFERS')
      const masterId = mesos.masters[0]!.id
      assert.deepEqual(
        sub.events.slice(0, 3).map((e) => e.type),
        ['SUBSCRIBED', 'HEARTBEAT', 'OFFERS'],
      )
      const s = sub.events[0]!.subscribed!
      assert.equal(s.framework_id.value, `${masterId}-0000`)
      assert.equal(s.heartbeat_interval_seconds, 15)
      assert.equal(s.master_info?.id, masterId)
      assert.equal(s.master_info?.ip, 16777343)
      const offers = sub.events[2]!.offers!.offers
      assert.equal(offers.length, 3)
      assert.equal(new Set(offers.map((o) => o.agent_id.value)).size, 3)
      for (const o of offers) {
        assert.match(o.id.value, new RegExp(`^${masterId}-O\\d+$`))
        assert.match(o.agent_id.value, new RegExp(`^${masterId}-S\\d+$`))
        assert.deepEqual(o.allocation_info, {role: '*'})
        assert.equal(o.url?.scheme, 'http')
        assert.equal(o.url?.path, '/slave(1)')
        assert.equal(o.url?.address.ip, o.hostname)
        const cpus = o.resources.find((x) => x.name === 'cpus')!
        assert.deepEqual({...cpus}, {name: 'cpus', type: 'SCALAR', scalar: {value: 2}, role: '*', allocation_info: {role: '*'}})
        assert.deepEqual(o.resources.find((x) => x.name === 'ports')?.ranges, {range: [{begin: 31000, end: 32000}]})
      }
      const state = await getJson<{frameworks: {id: string; offers: unknown[]}[]; slaves: unknown[]}>(mesos.masterUrl, '/master/state')
      assert.equal(state.slaves.length, 3)
      assert.equal(state.frameworks[0]?.offers.length, 3)
      const td = await call(mesos.masterUrl, {type: 'TEARDOWN', framework_id: {value: s.framework_id.value}}, sub.streamId)
      assert.equal(td.status, 202)
      assert.equal(td.headers['content-length'], '0')
      assert.equal(td.headers['content-type'], undefined)
      await waitFor('stream closed by the master after TEARDOWN', () => sub.closedBy === 'server', 5000, 10)
    } finally {
      sub.close()
    }
  })

  it('DECLINE filters: refuse_seconds keeps the agent out for that long; 0 re-offers at the next allocation', async () => {
    const sub = await subscribe(mesos.masterUrl, {name: 'decline'})
    try {
      const first = await sub.next('OFFERS', (e) => e.type === 'OFFERS')
      const fid = sub.frameworkId
      const [o1, ...rest] = first.offers!.offers
      const from = sub.events.length
      const t0 = Date.now()
      await call(
        mesos.masterUrl,
        {type: 'DECLINE', framework_id: {value: fid}, decline: {offer_ids: [o1!.id], filters: {refuse_seconds: 5}}},
        sub.streamId,
      )
      await call(
        mesos.masterUrl,
        {type: 'DECLINE', framework_id: {value: fid}, decline: {offer_ids: rest.map((o) => o.id), filters: {refuse_seconds: 0}}},
        sub.streamId,
      )
      const quick = await sub.next('re-offer of the refuse_seconds=0 agents', (e) => e.type === 'OFFERS', from)
      // 5 s, not 1 s: on a loaded machine the second DECLINE and the next allocation may take over a second.
      assert.ok(
        quick.offers!.offers.every((o) => o.agent_id.value !== o1!.agent_id.value),
        'the 5 s filter must hold the first agent back',
      )
      const back = await sub.next(
        're-offer of the filtered agent',
        (e) => e.type === 'OFFERS' && e.offers!.offers.some((o) => o.agent_id.value === o1!.agent_id.value),
        from,
        30_000,
      )
      assert.ok(back && Date.now() - t0 >= 4950, `filtered agent re-offered after ${Date.now() - t0} ms (< refuse_seconds)`)
    } finally {
      sub.close()
    }
  })

  it('SUPPRESS stops new offers (held ones stay valid); REVIVE brings them back at once', async () => {
    const sub = await subscribe(mesos.masterUrl, {name: 'suppress'})
    try {
      const first = await sub.next('OFFERS', (e) => e.type === 'OFFERS')
      const fid = sub.frameworkId
      assert.equal((await call(mesos.masterUrl, {type: 'SUPPRESS', framework_id: {value: fid}}, sub.streamId)).status, 202)
      const from = sub.events.length
      await call(
        mesos.masterUrl,
        {
          type: 'DECLINE',
          framework_id: {value: fid},
          decline: {offer_ids: first.offers!.offers.map((o) => o.id), filters: {refuse_seconds: 0}},
        },
        sub.streamId,
      )
      await new Promise((r) => setTimeout(r, 600)) // six allocation cycles
      assert.deepEqual(
        sub.events.slice(from).filter((e) => e.type === 'OFFERS' || e.type === 'RESCIND'),
        [],
      )
      assert.equal((await call(mesos.masterUrl, {type: 'REVIVE', framework_id: {value: fid}}, sub.streamId)).status, 202)
      const again = await sub.next('OFFERS after REVIVE', (e) => e.type === 'OFFERS', from)
      assert.equal(again.offers!.offers.length, 3)
    } finally {
      sub.close()
    }
  })

  it('launches a command task on a real agent; ACK, reconcile, KILL, invalid launches', async () => {
    const sub = await subscribe(mesos.masterUrl, {name: 'launch', failover_timeout: 60})
    try {
      const offers = (await sub.next('OFFERS', (e) => e.type === 'OFFERS')).offers!.offers
      const fid = sub.frameworkId
      const o = offers[0]!
      const res = (cpus: number) => [
        {name: 'cpus', type: 'SCALAR', scalar: {value: cpus}, role: '*', allocation_info: {role: '*'}},
        {name: 'mem', type: 'SCALAR', scalar: {value: 32}, role: '*', allocation_info: {role: '*'}},
      ]
      const task = (id: string, extra: Record<string, unknown> = {}) => ({
        name: id,
        task_id: {value: id},
        agent_id: o.agent_id,
        resources: res(0.1),
        command: {value: 'sleep 30'},
        ...extra,
      })
      await call(
        mesos.masterUrl,
        {
          type: 'ACCEPT',
          framework_id: {value: fid},
          accept: {
            offer_ids: [o.id],
            operations: [
              {
                type: 'LAUNCH',
                launch: {
                  task_infos: [
                    task('t1'),
                    task('both', {executor: {executor_id: {value: 'e'}, command: {value: 'true'}}}),
                    task('bad/id'),
                    task('too-big', {resources: res(100)}),
                    task('t1'),
                  ],
                },
              },
            ],
            filters: {refuse_seconds: 0},
          },
        },
        sub.streamId,
      )
      const err = (id: string) =>
        sub.next(
          `TASK_ERROR ${id}`,
          (e) => e.type === 'UPDATE' && e.update!.status.task_id.value === id && e.update!.status.state === 'TASK_ERROR',
        )
      assert.equal(
        (await err('both')).update!.status.message,
        'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present',
      )
      assert.equal((await err('bad/id')).update!.status.message, "'bad/id' contains invalid characters")
      assert.match(
        (await err('too-big')).update!.status.message ?? '',
        /^Total resources cpus\(allocated: \*\):100; mem\(allocated: \*\):32 required by task and its executor is more than available /,
      )
      const dup = await err('t1')
      assert.equal(dup.update!.status.message, 'Task has duplicate ID: t1')
      assert.equal(dup.update!.status.uuid, undefined)
      const starting = await sub.next(
        't1 TASK_STARTING',
        (e) => e.type === 'UPDATE' && e.update!.status.task_id.value === 't1' && e.update!.status.state === 'TASK_STARTING',
        0,
        20_000,
      )
      const ack = (st: typeof starting) =>
        call(
          mesos.masterUrl,
          {
            type: 'ACKNOWLEDGE',
            framework_id: {value: fid},
            acknowledge: {agent_id: o.agent_id, task_id: {value: 't1'}, uuid: st.update!.status.uuid},
          },
          sub.streamId,
        )
      assert.equal((await ack(starting)).status, 202)
      const running = await sub.next(
        't1 TASK_RUNNING',
        (e) => e.type === 'UPDATE' && e.update!.status.state === 'TASK_RUNNING' && e.update!.status.source === 'SOURCE_EXECUTOR',
      )
      await ack(running)
      let from = sub.events.length
      await call(
        mesos.masterUrl,
        {
          type: 'RECONCILE',
          framework_id: {value: fid},
          reconcile: {tasks: [{task_id: {value: 't1'}, agent_id: o.agent_id}, {task_id: {value: 'nope'}}]},
        },
        sub.streamId,
      )
      const rec = await sub.next('reconcile t1', (e) => e.type === 'UPDATE' && e.update!.status.task_id.value === 't1', from)
      assert.deepEqual(
        {...rec.update!.status, timestamp: 0, container_status: undefined},
        {
          task_id: {value: 't1'},
          state: 'TASK_RUNNING',
          message: 'Reconciliation: Latest task state',
          source: 'SOURCE_MASTER',
          reason: 'REASON_RECONCILIATION',
          agent_id: o.agent_id,
          timestamp: 0,
          container_status: undefined,
        },
      )
      const unknown = await sub.next('reconcile nope', (e) => e.type === 'UPDATE' && e.update!.status.task_id.value === 'nope', from)
      assert.equal(unknown.update!.status.message, 'Reconciliation: Task is unknown')
      assert.equal(unknown.update!.status.agent_id, undefined)
      const tasks = await getJson<{tasks: {id: string; state: string; executor_id: string; resources: Record<string, unknown>}[]}>(
        mesos.masterUrl,
        '/master/tasks?task_id=t1',
      )
      assert.deepEqual(
        tasks.tasks.map((t) => [t.id, t.state, t.executor_id, t.resources.cpus]),
        [['t1', 'TASK_RUNNING', '', 0.1]],
      )
      from = sub.events.length
      await call(
        mesos.masterUrl,
        {type: 'KILL', framework_id: {value: fid}, kill: {task_id: {value: 't1'}, agent_id: o.agent_id}},
        sub.streamId,
      )
      const killed = await sub.next('TASK_KILLED', (e) => e.type === 'UPDATE' && e.update!.status.state === 'TASK_KILLED', from, 20_000)
      await ack(killed)
      from = sub.events.length
      await call(
        mesos.masterUrl,
        {type: 'RECONCILE', framework_id: {value: fid}, reconcile: {tasks: [{task_id: {value: 't1'}, agent_id: o.agent_id}]}},
        sub.streamId,
      )
      const gone = await sub.next('reconcile after terminal ACK', (e) => e.type === 'UPDATE', from)
      assert.deepEqual(
        [gone.update!.status.state, gone.update!.status.message],
        ['TASK_LOST', 'Reconciliation: Task is unknown to the agent'],
      )
    } finally {
      sub.close()
    }
  })

  it('SUBSCRIBE with Accept: application/x-protobuf streams binary scheduler.Event records', async () => {
    const u = new URL(mesos.masterUrl)
    const body = JSON.stringify({type: 'SUBSCRIBE', subscribe: {framework_info: {user: 'root', name: 'pb'}}})
    const records = await new Promise<Buffer[]>((resolve, reject) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: 'POST',
          path: '/api/v1/scheduler',
          agent: false,
          headers: {'Content-Type': 'application/json', Accept: 'application/x-protobuf'},
        },
        (res) => {
          assert.equal(res.headers['content-type'], 'application/x-protobuf')
          const dec = new RecordIODecoder()
          const got: Buffer[] = []
          res.on('data', (c: Buffer) => {
            got.push(...dec.push(c))
            if (got.length >= 2) {
              req.destroy()
              resolve(got)
            }
          })
          res.on('error', () => {})
        },
      )
      req.on('error', (e) => (e.message.includes('aborted') || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)))
      req.end(body)
    })
    const events = records.map((r) => decode<SchedulerEvent>('scheduler.Event', r, 'application/x-protobuf'))
    assert.deepEqual(
      events.map((e) => e.type),
      ['SUBSCRIBED', 'HEARTBEAT'],
    )
    assert.equal(events[0]!.subscribed!.master_info?.id, mesos.masters[0]!.id)
  })

  it('serves the state endpoints, redirect, health, version, 404 and the operator API (JSON and protobuf)', async () => {
    const base = mesos.masterUrl
    const u = new URL(base)
    const redirect = await send(base, 'GET', '/master/redirect', {})
    assert.deepEqual([redirect.status, redirect.headers.location, redirect.headers['content-length']], [307, `//${u.host}`, '0'])
    const health = await send(base, 'GET', '/health', {})
    assert.deepEqual([health.status, health.body, health.headers['content-type']], [200, '', undefined])
    assert.equal(JSON.parse((await send(base, 'GET', '/version', {})).body).version, '1.12.0')
    const nf = await send(base, 'GET', '/master/state.json', {})
    assert.deepEqual([nf.status, nf.body, nf.headers['content-type']], [404, '404 Not Found.', 'text/plain; charset=utf-8'])
    const state = await getJson<Record<string, unknown>>(base, '/state')
    for (const k of [
      'version',
      'id',
      'pid',
      'leader',
      'leader_info',
      'flags',
      'slaves',
      'frameworks',
      'completed_frameworks',
      'orphan_tasks',
      'unregistered_frameworks',
    ]) {
      assert.ok(k in state, `/state has ${k}`)
    }
    for (const p of ['/master/state-summary', '/master/frameworks', '/master/slaves', '/master/roles', '/master/flags', '/master/tasks'])
      await getJson(base, p)
    const op = await send(base, 'POST', '/api/v1', JSON_HEADERS, JSON.stringify({type: 'GET_MASTER'}))
    assert.equal(op.status, 200)
    const gm = JSON.parse(op.body) as {type: string; get_master: {master_info: {id: string}}}
    assert.deepEqual([gm.type, gm.get_master.master_info.id], ['GET_MASTER', mesos.masters[0]!.id])
    const agents = JSON.parse((await send(base, 'POST', '/master/api/v1', JSON_HEADERS, JSON.stringify({type: 'GET_AGENTS'}))).body) as {
      get_agents: {agents: unknown[]}
    }
    assert.equal(agents.get_agents.agents.length, 3)
    const pb = await send(
      base,
      'POST',
      '/api/v1',
      {'Content-Type': 'application/json', Accept: 'application/x-protobuf'},
      JSON.stringify({type: 'GET_HEALTH'}),
    )
    assert.equal(pb.headers['content-type'], 'application/x-protobuf')
    assert.deepEqual(decode('master.Response', Buffer.from(pb.body, 'latin1'), 'application/x-protobuf'), {
      type: 'GET_HEALTH',
      get_health: {healthy: true},
    })
  })
})

describe('mesos-local master: fixture 03 error matrix replayed', {timeout: 60_000}, () => {
  let mesos: LocalMesos
  before(async () => {
    mesos = await startLocalMesos({agents: 1, allocationIntervalMs: 100})
  })
  after(async () => {
    await mesos?.stop()
  })

  it('answers every request of 03-errors.json like Mesos 1.12 (status, body text, key headers)', async () => {
    const steps = loadSteps('03-errors.json')
    const FX_MASTER = '467a4ffd-3a6a-45a9-b757-d7a3551393f4'
    const base = mesos.masterUrl
    const ourMaster = mesos.masters[0]!.id
    const streams = new Map<string, string>() // fixture Mesos-Stream-Id → ours
    const map = (text: string): string => {
      let out = text.split(FX_MASTER).join(ourMaster)
      for (const [fx, ours] of streams) out = out.split(fx).join(ours)
      return out
    }
    const open: RawSub[] = []
    let setup: RawSub | undefined
    try {
      for (const step of steps) {
        const req = step.request!
        const res = step.response!
        if (step.seq === 50) {
          // Steps 50-53 need the setup framework disconnected (inside failover_timeout).
          setup!.close()
          await waitFor(
            'setup framework disconnected',
            async () => (await call(base, {type: 'REVIVE', framework_id: {value: `${ourMaster}-0000`}}, setup!.streamId)).status === 403,
          )
        }
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) if (k !== 'Host' && k !== 'Content-Length') headers[k] = map(v)
        const body = req.body_format === 'json' ? map(JSON.stringify(req.body)) : req.body_format === 'text' ? String(req.body) : ''
        const got = await send(base, req.method, req.path, headers, req.method === 'GET' ? undefined : body)
        const what = `step ${step.seq} (${step.label})`
        if (res.status === null) {
          // Step 55: type UNKNOWN crashes the real master (Surprise 1); we answer 501 and stay up.
          assert.equal(got.status, 501, what)
          assert.equal((await send(base, 'GET', '/health', {})).status, 200, `${what}: master still up`)
          continue
        }
        assert.equal(got.status, res.status, `${what}: status (body ${got.body})`)
        for (const h of ['Content-Type', 'Allow', 'Content-Length']) {
          const want = res.headers?.[h]
          if (h === 'Content-Length' && res.records) continue
          assert.equal(got.headers[h.toLowerCase()], want, `${what}: header ${h}`)
        }
        if (res.records) {
          assert.ok(got.sub, `${what}: a stream`)
          const wantFirst = res.records[0]!
          const first = await got.sub.next(`${what}: first event`, () => true)
          assert.equal(first.type, wantFirst.type, what)
          if (wantFirst.type === 'ERROR') {
            assert.equal(first.error?.message, wantFirst.error?.message, what)
            await waitFor(`${what}: closed by the master`, () => got.sub!.closedBy === 'server', 5000, 10)
          }
          streams.set(String(res.headers?.['Mesos-Stream-Id']), got.sub.streamId)
          open.push(got.sub)
          if (step.seq === 1) {
            setup = got.sub
            assert.equal(setup.frameworkId, `${ourMaster}-0000`)
          }
        } else {
          assert.equal(got.body, map(String(res.body)), `${what}: body`)
        }
      }
      // The unsolicited UPDATEs of steps 46-48 on the setup stream (Surprise 12).
      const updates = setup!.of('UPDATE').map((e) => e.update!.status)
      const want = steps[0]!.response!.records!.filter((e) => e.type === 'UPDATE').map((e) => e.update!.status)
      assert.deepEqual(
        updates.map((s) => [s.task_id.value, s.state, s.message, s.source, s.reason, s.agent_id?.value, s.uuid]),
        want.map((s) => [s.task_id.value, s.state, s.message, s.source, s.reason, s.agent_id?.value, s.uuid]),
      )
    } finally {
      for (const sub of open) sub.close()
    }
  })
})

describe('mesos-local master: failover, disconnection, failover_timeout', {timeout: 60_000}, () => {
  let mesos: LocalMesos
  before(async () => {
    mesos = await startLocalMesos({agents: 1, allocationIntervalMs: 100})
  })
  after(async () => {
    await mesos?.stop()
  })

  it('re-SUBSCRIBE with the old stream open: ERROR "Framework failed over" on the old stream, old stream id refused', async () => {
    const a = await subscribe(mesos.masterUrl, {name: 'fo', failover_timeout: 60})
    await a.next('OFFERS', (e) => e.type === 'OFFERS')
    const fid = a.frameworkId
    const b = await subscribe(mesos.masterUrl, {name: 'fo', failover_timeout: 60, id: {value: fid}})
    try {
      await b.next('SUBSCRIBED', (e) => e.type === 'SUBSCRIBED')
      assert.equal(b.frameworkId, fid)
      await waitFor('old stream closed by the master', () => a.closedBy === 'server', 5000, 10)
      assert.deepEqual(
        a.events.slice(3).map((e) => (e.type === 'ERROR' ? e.error!.message : e.type)),
        ['Framework failed over'],
      )
      const old = await call(mesos.masterUrl, {type: 'REVIVE', framework_id: {value: fid}}, a.streamId)
      assert.deepEqual(
        [old.status, old.body],
        [
          400,
          `The stream ID '${a.streamId}' included in this request didn't match the stream ID currently associated with framework ID ${fid}`,
        ],
      )
      await b.next('OFFERS for the new stream', (e) => e.type === 'OFFERS')
      // Disconnect: calls get 403, even TEARDOWN; re-subscribing works.
      b.close()
      await waitFor(
        '403 after disconnect',
        async () => (await call(mesos.masterUrl, {type: 'REVIVE', framework_id: {value: fid}}, b.streamId)).status === 403,
      )
      const td = await call(mesos.masterUrl, {type: 'TEARDOWN', framework_id: {value: fid}}, b.streamId)
      assert.deepEqual([td.status, td.body], [403, 'Framework is not subscribed'])
      const fws = await getJson<{frameworks: {id: string; active: boolean; connected: boolean}[]}>(mesos.masterUrl, '/master/frameworks')
      assert.deepEqual(
        fws.frameworks.map((f) => [f.id, f.active, f.connected]),
        [[fid, false, false]],
      )
      const c = await subscribe(mesos.masterUrl, {name: 'fo', failover_timeout: 60, id: {value: fid}})
      await c.next('SUBSCRIBED', (e) => e.type === 'SUBSCRIBED')
      assert.equal((await call(mesos.masterUrl, {type: 'TEARDOWN', framework_id: {value: fid}}, c.streamId)).status, 202)
      await waitFor('TEARDOWN closes the stream', () => c.closedBy === 'server', 5000, 10)
    } finally {
      a.close()
      b.close()
    }
  })

  it('after failover_timeout the framework is removed: 400 "Framework cannot be found", SUBSCRIBE gets ERROR', async () => {
    const a = await subscribe(mesos.masterUrl, {name: 'ft', failover_timeout: 1})
    const fid = (await a.next('SUBSCRIBED', (e) => e.type === 'SUBSCRIBED')).subscribed!.framework_id.value
    a.close()
    await waitFor(
      'framework removed',
      async () =>
        (await call(mesos.masterUrl, {type: 'REVIVE', framework_id: {value: fid}}, a.streamId)).body === 'Framework cannot be found',
      10_000,
    )
    const again = await subscribe(mesos.masterUrl, {name: 'ft', failover_timeout: 1, id: {value: fid}})
    const err = await again.next('ERROR', () => true)
    assert.deepEqual(err, {type: 'ERROR', error: {message: 'Framework has been removed'}})
    await waitFor('closed by the master', () => again.closedBy === 'server', 5000, 10)
    const fws = await getJson<{frameworks: unknown[]; completed_frameworks: {id: string}[]}>(mesos.masterUrl, '/master/frameworks')
    assert.ok(fws.completed_frameworks.some((f) => f.id === fid))
  })
})

describe('mesos-local master: agent loss and re-registration', {timeout: 60_000}, () => {
  let mesos: LocalMesos
  before(async () => {
    mesos = await startLocalMesos({agents: 2, allocationIntervalMs: 100, agentPingTimeoutMs: 300, maxAgentPingTimeouts: 2})
  })
  after(async () => {
    await mesos?.stop()
  })

  it('killed agent: RESCIND at once, TASK_LOST REASON_AGENT_REMOVED + FAILURE later, TASK_RUNNING when it comes back', async () => {
    const sub = await subscribe(mesos.masterUrl, {name: 'loss', failover_timeout: 60, checkpoint: true})
    try {
      const offers = (await sub.next('OFFERS', (e) => e.type === 'OFFERS' && e.offers!.offers.length === 2)).offers!.offers
      const fid = sub.frameworkId
      const agent0 = mesos.agents[0]!
      const o = offers.find((x) => x.agent_id.value === agent0.id)!
      await call(
        mesos.masterUrl,
        {
          type: 'ACCEPT',
          framework_id: {value: fid},
          accept: {
            offer_ids: [o.id],
            operations: [
              {
                type: 'LAUNCH',
                launch: {
                  task_infos: [
                    {
                      name: 'doomed',
                      task_id: {value: 'doomed'},
                      agent_id: o.agent_id,
                      resources: [
                        {name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}},
                        {name: 'mem', type: 'SCALAR', scalar: {value: 32}},
                      ],
                      command: {value: 'sleep 60'},
                    },
                  ],
                },
              },
            ],
            filters: {refuse_seconds: 3600},
          },
        },
        sub.streamId,
      )
      for (const state of ['TASK_STARTING', 'TASK_RUNNING']) {
        const u = await sub.next(state, (e) => e.type === 'UPDATE' && e.update!.status.state === state, 0, 20_000)
        await call(
          mesos.masterUrl,
          {
            type: 'ACKNOWLEDGE',
            framework_id: {value: fid},
            acknowledge: {agent_id: o.agent_id, task_id: {value: 'doomed'}, uuid: u.update!.status.uuid},
          },
          sub.streamId,
        )
      }
      const other = offers.find((x) => x.agent_id.value !== agent0.id)!
      const from = sub.events.length
      await mesos.stopAgent(0, 'kill')
      const lost = await sub.next('TASK_LOST', (e) => e.type === 'UPDATE' && e.update!.status.state === 'TASK_LOST', from)
      const s = lost.update!.status
      assert.deepEqual(
        [s.reason, s.message, s.source, s.uuid, typeof s.unreachable_time?.nanoseconds],
        ['REASON_AGENT_REMOVED', 'health check timed out', 'SOURCE_MASTER', undefined, 'number'],
      )
      const failure = await sub.next('FAILURE', (e) => e.type === 'FAILURE', from)
      assert.deepEqual(failure.failure, {agent_id: {value: agent0.id}})
      assert.ok(
        !sub.events.slice(from).some((e) => e.type === 'RESCIND' && e.rescind!.offer_id.value === other.id.value),
        "other agents' offers untouched",
      )
      await mesos.startAgent(0)
      const back = await sub
        .next('re-registered', (e) => e.type === 'UPDATE' && e.update!.status.reason === 'REASON_AGENT_REREGISTERED', from, 20_000)
        .catch((err: Error) => {
          throw new Error(`${err.message}; events: ${JSON.stringify(sub.events.slice(from))}`)
        })
      assert.deepEqual(
        [back.update!.status.state, back.update!.status.message],
        ['TASK_RUNNING', 'Unreachable agent re-reregistered'],
        JSON.stringify(sub.events.slice(from)),
      )
    } finally {
      sub.close()
    }
  })
})

describe('mesos-local master: two masters on real ZooKeeper', {timeout: 90_000}, () => {
  let zk: ZkServer | undefined
  let mesos: LocalMesos | undefined
  before(async () => {
    zk = await startZooKeeper()
    mesos = await startLocalMesos({agents: 1, masters: 2, zk: `${zk.url}/mesos`, allocationIntervalMs: 100})
  })
  after(async () => {
    await mesos?.stop()
    await destroyZooKeeper(zk)
  })

  it('the non-leader redirects (307) before any validation; /version and /health answer locally; failover', async () => {
    const m = mesos!
    const leader = m.masters.find((x) => x.isLeader())!
    const follower = m.masters.find((x) => !x.isLeader())!
    const lhost = new URL(leader.url).host
    await waitFor('follower knows the leader', () => follower.leaderAddress() === lhost)
    const garbage = await send(follower.url, 'POST', '/api/v1/scheduler', {'Content-Type': 'text/plain'}, 'not json')
    assert.deepEqual([garbage.status, garbage.headers.location, garbage.body], [307, `//${lhost}/master/api/v1/scheduler`, ''])
    const op = await send(follower.url, 'POST', '/api/v1', JSON_HEADERS, '{"type":"GET_MASTER"}')
    assert.deepEqual([op.status, op.headers.location], [307, `//${lhost}/master/api/v1`])
    const st = await send(follower.url, 'GET', '/master/state', {})
    assert.deepEqual([st.status, st.headers.location], [307, `//${lhost}/master/state`])
    const rd = await send(follower.url, 'GET', '/redirect', {})
    assert.deepEqual([rd.status, rd.headers.location], [307, `//${lhost}`])
    assert.equal((await send(follower.url, 'GET', '/version', {})).status, 200)
    assert.equal((await send(follower.url, 'GET', '/health', {})).status, 200)
    const sub = await subscribe(leader.url, {name: 'ha', failover_timeout: 60})
    const fid = (await sub.next('SUBSCRIBED', (e) => e.type === 'SUBSCRIBED')).subscribed!.framework_id.value
    await m.killMaster(m.masters.indexOf(leader))
    await waitFor('the other master leads', () => follower.isLeader(), 20_000)
    assert.equal(m.masterUrl, follower.url)
    await waitFor('stream of the dead leader ended', () => sub.closedBy !== null, 5000, 10)
    const again = await subscribe(follower.url, {name: 'ha', failover_timeout: 60, id: {value: fid}})
    try {
      const subscribed = await again.next('SUBSCRIBED', (e) => e.type === 'SUBSCRIBED')
      assert.equal(subscribed.subscribed!.framework_id.value, fid)
      assert.equal(subscribed.subscribed!.master_info?.id, follower.id)
      const offers = await again.next('OFFERS from the re-registered agent', (e) => e.type === 'OFFERS', 0, 20_000)
      assert.equal(offers.offers!.offers[0]!.agent_id.value, m.agents[0]!.id)
    } finally {
      again.close()
      sub.close()
    }
  })
})
