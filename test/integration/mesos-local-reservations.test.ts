/**
 * The local Mesos master with dynamic reservations and persistent volumes, against what a real Mesos 1.12 did in
 * fixture 13 (test/fixtures/real-mesos/13-reservations-volumes.json, Surprises 36-41): the resource format of offers
 * by RESERVATION_REFINEMENT capability, RESERVE / UNRESERVE / CREATE / DESTROY in ACCEPT (applied in order, with
 * LAUNCH), their refusals with the real master's texts (dropped with a master log line, or OPERATION_ERROR with an
 * operation id), reserved resources offered only to their role and volumes only when unused, the state endpoints
 * and the operator API. Raw HTTP (test/helpers/raw-scheduler.ts), one real local agent; end to end: the first task writes
 * `hello` into the volume, is killed, and a second task on the re-offered volume prints it (agent /files/read).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import type {Offer, Resource, SchedulerEvent} from '../../src/lib/mesos/types.js'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {waitFor} from '../helpers/ports.js'
import {autoAck, call, getJson, operator, type RawSub, subscribe, unusedOffer} from '../helpers/raw-scheduler.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/real-mesos/13-reservations-volumes.json', import.meta.url))

interface Fixture13 {
  steps: {seq: number; response: {records?: SchedulerEvent[]} | null}[]
}
const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture13
/** The OFFERS events the real master sent in fixture 13, in order. */
const fxOffers = (fx.steps[0]!.response!.records ?? []).filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers!.offers)

const ROLE = 'etcd-pv'
const PRINCIPAL = 'fixture-pv'
const REFINEMENT = {
  name: 'pv',
  roles: [ROLE],
  principal: PRINCIPAL,
  capabilities: [{type: 'MULTI_ROLE'}, {type: 'RESERVATION_REFINEMENT'}, {type: 'TASK_KILLING_STATE'}],
}

async function nextOffer(sub: RawSub, from = 0): Promise<Offer> {
  const e = await sub.next('OFFERS', (x) => x.type === 'OFFERS', from)
  return e.offers!.offers[0]!
}

async function teardown(base: string, sub: RawSub): Promise<void> {
  await call(base, {type: 'TEARDOWN', framework_id: {value: sub.frameworkId}}, sub.streamId)
  sub.close()
}

describe('mesos-local master: the resource format of offers (Surprise 39)', {timeout: 60_000}, () => {
  let mesos: LocalMesos
  before(async () => {
    mesos = await startLocalMesos({agents: 1, allocationIntervalMs: 100})
  })
  after(async () => {
    await mesos?.stop()
  })

  it('a RESERVATION_REFINEMENT framework gets resources with no role field, exactly as the real master sent them', async () => {
    const sub = await subscribe(mesos.masterUrl, REFINEMENT)
    try {
      const offer = await nextOffer(sub)
      for (const r of offer.resources) assert.equal('role' in r, false, `no role in ${JSON.stringify(r)}`)
      assert.deepEqual(offer.resources, fxOffers[0]!.resources)
      assert.deepEqual(offer.allocation_info, {role: ROLE})
    } finally {
      await teardown(mesos.masterUrl, sub)
    }
  })

  it('a framework without the capability gets the pre-refinement format (role "*")', async () => {
    const sub = await subscribe(mesos.masterUrl, {name: 'old', roles: [ROLE], capabilities: [{type: 'MULTI_ROLE'}]})
    try {
      const offer = await nextOffer(sub)
      const want: Resource[] = fxOffers[0]!.resources.map((r) => ({...r, role: '*'}))
      assert.deepEqual(
        offer.resources.map((r) => ({...r})),
        want.map(({name, type, scalar, ranges, role, allocation_info}) =>
          Object.fromEntries(Object.entries({name, type, scalar, ranges, role, allocation_info}).filter(([, v]) => v !== undefined)),
        ),
      )
    } finally {
      await teardown(mesos.masterUrl, sub)
    }
  })
})

// ---------------------------------------------------------------------------------------------- fixture 13 replayed

const FX_MASTER = 'f8a6e9ac-eb7f-4013-9c7a-b5651012d788'
const FX_FW = `${FX_MASTER}-0000`
const FX_AGENT = `${FX_MASTER}-S0`
interface Fx13 {
  steps: {seq: number; request: {body: unknown} | null; response: {records?: SchedulerEvent[]; body?: unknown} | null}[]
  master_log_lines: Record<string, string[]>
}
const fx13 = fx as unknown as Fx13
const fxStep = (seq: number) => fx13.steps.find((s) => s.seq === seq)!
/** The fixture's OFFERS by offer number (O0, O1, ...). */
const fxOffer = (n: number): Offer => fxOffers.find((o) => o.id.value === `${FX_MASTER}-O${n}`)!
/** The events of the fixture's stream. */
const fxEvents = fxStep(1).response!.records ?? []

/** Resources compared without regard to order (Mesos' order comes from its allocator's internals). */
function sameResources(actual: readonly Resource[], expected: readonly Resource[], what: string): void {
  const key = (rs: readonly Resource[]) => rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort()
  assert.deepEqual(key(actual), key(expected), what)
}

describe('mesos-local master: RESERVE / UNRESERVE / CREATE / DESTROY as in fixture 13 (Surprises 36-39)', {timeout: 180_000}, () => {
  let mesos: LocalMesos
  let sub: RawSub
  let ours: {fw: string; agent: string; endpoint: string; host: string}
  const logs: string[] = []
  let stopAcks: (() => void) | undefined

  /** A fixture request body with the fixture's ids replaced by ours (and `offerId` as the offer to accept). */
  function body(seq: number, offerId?: string, replace: [string, string][] = []): Record<string, unknown> {
    let text = JSON.stringify(fxStep(seq).request!.body)
    for (const [a, b] of [[FX_FW, ours.fw], [FX_AGENT, ours.agent], ...replace] as [string, string][]) text = text.split(a).join(b)
    const out = JSON.parse(text) as {accept?: {offer_ids: {value: string}[]}}
    if (offerId !== undefined && out.accept) out.accept.offer_ids = [{value: offerId}]
    return out as Record<string, unknown>
  }
  /** The fixture's master log line "Dropping ..." of `key`, with our ids. */
  function fxDropLine(key: string): string {
    const line = fx13.master_log_lines[key]!.find((l) => l.includes('Dropping'))!
    return line
      .slice(line.indexOf('Dropping'))
      .split(FX_FW)
      .join(ours.fw)
      .split(FX_AGENT)
      .join(ours.agent)
      .split('slave(1)@127.0.0.1:5051 (127.0.0.1)')
      .join(`slave(1)@${ours.endpoint} (${ours.host})`)
  }
  const used = new Set<string>()
  /** The first offer not yet accepted (and not rescinded) matching `pred`, waiting for one. */
  const fresh = (pred?: (o: Offer) => boolean): Promise<Offer> => unusedOffer(sub, used, pred)
  const hasVolume = (o: Offer) => o.resources.some((r) => r.disk !== undefined)
  async function send(seq: number, offerId?: string, replace: [string, string][] = []): Promise<number> {
    if (offerId !== undefined) used.add(offerId)
    const from = sub.events.length
    const r = await call(mesos.masterUrl, body(seq, offerId, replace), sub.streamId)
    assert.equal(r.status, 202, `step ${seq}: ${r.body}`)
    return from
  }
  function dropLines(): string[] {
    return logs.filter((l) => l.includes('Dropping')).map((l) => l.slice(l.indexOf('Dropping')))
  }

  before(async () => {
    mesos = await startLocalMesos({agents: 1, allocationIntervalMs: 100, log: (l) => logs.push(l)})
    const r = await call(mesos.masterUrl, fxStep(1).request!.body)
    assert.ok(r.sub, `SUBSCRIBE: ${r.status} ${r.body}`)
    sub = r.sub
    const first = await nextOffer(sub)
    const agent = mesos.agents[0]!
    ours = {fw: sub.frameworkId, agent: first.agent_id.value, endpoint: agent.endpoint, host: first.hostname}
    stopAcks = autoAck(mesos.masterUrl, sub)
  })
  after(async () => {
    stopAcks?.()
    sub?.close()
    await mesos?.stop()
  })

  const updates = (task: string, from = 0) =>
    sub.events
      .slice(from)
      .filter((e) => e.update?.status.task_id.value === task)
      .map((e) => e.update!.status)

  it('RESERVE + CREATE + LAUNCH in one ACCEPT: the task runs on the reserved resources and the volume', async () => {
    const offer = await fresh()
    // The fixture's own command: it writes into the volume mounted at data/ (the agent links it into the sandbox).
    const from = await send(2, offer.id.value)
    await sub.next(
      'pv-writer TASK_RUNNING',
      (e) => e.update?.status.task_id.value === 'pv-writer' && e.update.status.state === 'TASK_RUNNING',
      from,
    )
    assert.deepEqual(dropLines(), [])
    // While the task runs, offers hold only the unreserved rest (fixture O1).
    const next = await fresh()
    assert.deepEqual(next.resources, fxOffer(1).resources)
  })

  it('the state endpoints and GET_AGENTS show the reservations and the volume like the real master', async () => {
    const slaves = await getJson<{slaves: Record<string, unknown>[]}>(mesos.masterUrl, '/master/slaves')
    const fxSlave = (fxStep(8).response!.body as {slaves: Record<string, unknown>[]}).slaves[0]!
    for (const k of ['reserved_resources_full', 'used_resources_full', 'unreserved_resources_full', 'offered_resources_full']) {
      assert.deepEqual(slaves.slaves[0]![k], fxSlave[k], `/master/slaves ${k}`)
    }
    for (const k of ['resources', 'used_resources', 'offered_resources', 'reserved_resources', 'unreserved_resources']) {
      assert.deepEqual(slaves.slaves[0]![k], fxSlave[k], `/master/slaves ${k}`)
    }
    const state = await getJson<{slaves: Record<string, unknown>[]}>(mesos.masterUrl, '/master/state')
    const fxState = (fxStep(7).response!.body as {slaves: Record<string, unknown>[]}).slaves[0]!
    assert.deepEqual(state.slaves[0]!.reserved_resources, fxState.reserved_resources)
    assert.deepEqual(state.slaves[0]!.unreserved_resources, fxState.unreserved_resources)
    assert.equal('reserved_resources_full' in state.slaves[0]!, false)
    const roles = await getJson<{roles: Record<string, unknown>[]}>(mesos.masterUrl, '/master/roles')
    const fxRole = (fxStep(9).response!.body as {roles: Record<string, unknown>[]}).roles[0]!
    const role = roles.roles.find((r) => r.name === ROLE)!
    for (const k of ['reserved', 'allocated', 'offered', 'resources']) assert.deepEqual(role[k], fxRole[k], `/master/roles ${k}`)
    assert.deepEqual((role.quota as {consumed: unknown}).consumed, (fxRole.quota as {consumed: unknown}).consumed)
    const agents = await operator(mesos.masterUrl, {type: 'GET_AGENTS'})
    const got = (JSON.parse(agents.body) as {get_agents: {agents: Record<string, unknown>[]}}).get_agents.agents[0]!
    const fxAgent = (fxStep(10).response!.body as {get_agents: {agents: Record<string, unknown>[]}}).get_agents.agents[0]!
    for (const k of ['total_resources', 'allocated_resources', 'offered_resources']) assert.deepEqual(got[k], fxAgent[k], `GET_AGENTS ${k}`)
  })

  it('invalid operations are dropped with the real master log line; the other operations of the ACCEPT still apply', async () => {
    const cases: [number, string][] = [
      [11, 'create_on_unreserved_disk'],
      [12, 'destroy_volume_in_use'],
      [13, 'reserve_other_principal'],
      [14, 'reserve_other_role'],
      [15, 'create_duplicate_persistence_id'],
    ]
    for (const [seq, key] of cases) {
      const offer = await fresh()
      const before = dropLines().length
      const from = await send(seq, offer.id.value)
      await waitFor(`drop line of step ${seq}`, () => dropLines().length > before, 5000, 10)
      assert.deepEqual(dropLines().slice(before), [fxDropLine(key)], `step ${seq}`)
      const back = await fresh()
      assert.equal(
        sub.events.slice(from).some((e) => e.type === 'UPDATE_OPERATION_STATUS' || e.type === 'UPDATE'),
        false,
        `step ${seq}: no event without an operation id`,
      )
      // After step 15 the RESERVE of disk 32 took effect although its CREATE was dropped (fixture O6).
      if (seq === 15) assert.deepEqual(back.resources, fxOffer(6).resources)
      else assert.deepEqual(back.resources, fxOffer(1).resources)
    }
  })

  it('a LAUNCH placed before the RESERVE it needs fails with the real TASK_ERROR text; the RESERVE still applies', async () => {
    const offer = await fresh()
    const from = await send(16, offer.id.value)
    const err = await sub.next('order-test TASK_ERROR', (e) => e.update?.status.task_id.value === 'order-test', from)
    const fxErr = fxEvents.find((e) => e.update?.status.task_id.value === 'order-test')!.update!.status
    assert.equal(err.update!.status.state, 'TASK_ERROR')
    assert.equal(err.update!.status.reason, 'REASON_TASK_INVALID')
    assert.equal(err.update!.status.message, fxErr.message)
    assert.equal(err.update!.status.uuid, undefined)
    const back = await fresh()
    assert.deepEqual(back.resources, fxOffer(7).resources)
  })

  it('operation ids: OPERATION_ERROR for an invalid one (no uuid/agent_id), OPERATION_FINISHED for a valid one, ACK 202', async () => {
    let offer = await fresh()
    let from = await send(17, offer.id.value)
    const bad = await sub.next('OPERATION_ERROR', (e) => e.type === 'UPDATE_OPERATION_STATUS', from)
    const fxBad = fxEvents.find((e) => e.type === 'UPDATE_OPERATION_STATUS')!
    assert.deepEqual(
      bad,
      JSON.parse(
        JSON.stringify(fxBad)
          .split(FX_AGENT)
          .join(ours.agent)
          .split('slave(1)@127.0.0.1:5051 (127.0.0.1)')
          .join(`slave(1)@${ours.endpoint} (${ours.host})`),
      ),
    )
    offer = await fresh()
    from = await send(18, offer.id.value)
    const ok = (await sub.next('OPERATION_FINISHED', (e) => e.type === 'UPDATE_OPERATION_STATUS', from)).update_operation_status!.status
    assert.deepEqual(Object.keys(ok).sort(), ['agent_id', 'operation_id', 'state', 'uuid'])
    assert.equal(ok.state, 'OPERATION_FINISHED')
    assert.deepEqual(ok.operation_id, {value: 'op-unreserve-extra'})
    assert.deepEqual(ok.agent_id, {value: ours.agent})
    assert.equal(Buffer.from(ok.uuid!.value, 'base64').length, 16)
    const ack = await call(
      mesos.masterUrl,
      {
        type: 'ACKNOWLEDGE_OPERATION_STATUS',
        framework_id: {value: ours.fw},
        acknowledge_operation_status: {uuid: ok.uuid!.value, operation_id: ok.operation_id, agent_id: ok.agent_id},
      },
      sub.streamId,
    )
    assert.equal(ack.status, 202)
    const back = await fresh()
    assert.deepEqual(back.resources, fxOffer(1).resources)
  })

  it('after the task ends, its reserved resources and the volume come back in an offer; a second task uses them', async () => {
    await fresh((o) => !hasVolume(o)) // the unreserved rest stays held in this offer, as in the fixture (O9)
    const from = await send(20)
    await sub.next(
      'pv-writer TASK_KILLED',
      (e) => e.update?.status.task_id.value === 'pv-writer' && e.update.status.state === 'TASK_KILLED',
      from,
    )
    const offer = await fresh(hasVolume)
    sameResources(offer.resources, fxOffer(10).resources, 'the reserved offer (fixture O10)')
    const f2 = await send(23, offer.id.value) // `cat data/f`: the second task reads what the first one wrote
    await sub.next(
      'pv-reader TASK_FINISHED',
      (e) => e.update?.status.task_id.value === 'pv-reader' && e.update.status.state === 'TASK_FINISHED',
      f2,
    )
    assert.deepEqual(
      updates('pv-reader', f2).map((s) => s.state),
      ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'],
    )
    const stdout = `/frameworks/${ours.fw}/executors/pv-reader/runs/latest/stdout`
    const read = await fetch(`http://${ours.endpoint}/files/read?path=${encodeURIComponent(stdout)}&offset=0&length=65536`)
    assert.equal(read.status, 200)
    assert.deepEqual(await read.json(), {data: 'hello\n', offset: 0})
  })

  it('UNRESERVE of the volume, and of the disk under it, are refused with the real texts', async () => {
    for (const [seq, key] of [
      [29, 'unreserve_volume'],
      [30, 'unreserve_disk_under_volume'],
    ] as const) {
      const offer = await fresh(hasVolume)
      const before = dropLines().length
      await send(seq, offer.id.value)
      await waitFor(`drop line of step ${seq}`, () => dropLines().length > before, 5000, 10)
      const got = dropLines()[before]!
      const want = fxDropLine(key)
      if (seq === 29) assert.equal(got, want)
      else {
        // `<offered resources> does not contain <disk>`: the offered resources in Mesos' allocator order.
        const parts = (s: string) => {
          const [head, tail] = s.split(' does not contain ')
          const [pre, list] = [head!.slice(0, head!.indexOf(': ') + 2), head!.slice(head!.indexOf(': ') + 2)]
          return [pre, list.split('; ').sort(), tail]
        }
        assert.deepEqual(parts(got), parts(want))
      }
    }
  })

  it('DESTROY + UNRESERVE in one ACCEPT: the next offer holds plain resources, no reservation is left', async () => {
    const offer = await fresh(hasVolume)
    const before = dropLines().length
    await send(40, offer.id.value)
    const plain = await fresh((o) => o.resources.length === 3)
    sameResources(plain.resources, fxOffer(17).resources, 'fixture O17')
    assert.deepEqual(dropLines().slice(before), [])
    const slaves = await getJson<{slaves: Record<string, unknown>[]}>(mesos.masterUrl, '/master/slaves')
    assert.deepEqual(slaves.slaves[0]!.reserved_resources_full, {})
    assert.deepEqual(slaves.slaves[0]!.reserved_resources, {})
  })
})
