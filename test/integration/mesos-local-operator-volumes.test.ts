/**
 * The local master's operator API for reservations and volumes (RESERVE_RESOURCES, UNRESERVE_RESOURCES,
 * CREATE_VOLUMES, DESTROY_VOLUMES), with the status codes and texts of Mesos 1.12's src/master/http.cpp and
 * src/master/validation.cpp: 400 for an unknown agent or an invalid operation, 409 when the agent's free
 * resources cannot take it, 202 otherwise (offers holding the resources are rescinded first). A framework of the
 * role then gets the operator's reservation and volume in its offers, and a volume in use cannot be destroyed.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {Offer, Resource} from '../../src/lib/mesos/types.js'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {waitFor} from '../helpers/ports.js'
import {call, getJson, operator, type RawSub, subscribe, unusedOffer, unusedOffers} from '../helpers/raw-scheduler.js'

const ROLE = 'ops-role'
const reserved = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({
  name,
  type: 'SCALAR',
  scalar: {value},
  reservations: [{type: 'DYNAMIC', role: ROLE}],
  ...extra,
})
const volume = (id: string, size: number): Resource =>
  reserved('disk', size, {disk: {persistence: {id}, volume: {mode: 'RW', container_path: 'data'}}})

describe('mesos-local master: operator RESERVE_RESOURCES / UNRESERVE_RESOURCES / CREATE_VOLUMES / DESTROY_VOLUMES', {
  timeout: 120_000,
}, () => {
  let mesos: LocalMesos
  let sub: RawSub
  let agentId = ''
  let agentText = ''
  const used = new Set<string>()

  const fresh = (pred?: (o: Offer) => boolean): Promise<Offer> => unusedOffer(sub, used, pred)
  const op = (type: string, key: string, resources: Resource[], field = 'resources', agent = agentId) =>
    operator(mesos.masterUrl, {type, [key]: {agent_id: {value: agent}, [field]: resources}})

  before(async () => {
    mesos = await startLocalMesos({agents: 1, allocationIntervalMs: 100, defaultRefuseSeconds: 0.2})
    sub = await subscribe(mesos.masterUrl, {
      name: 'ops',
      roles: [ROLE],
      capabilities: [{type: 'MULTI_ROLE'}, {type: 'RESERVATION_REFINEMENT'}],
    })
    const offer = await fresh()
    agentId = offer.agent_id.value
    agentText = `${agentId} at slave(1)@${mesos.agents[0]!.endpoint} (${offer.hostname})`
  })
  after(async () => {
    sub?.close()
    await mesos?.stop()
  })

  it('refuses an unknown agent, a missing agent_id, allocated or unreserved resources (400)', async () => {
    let r = await op('RESERVE_RESOURCES', 'reserve_resources', [reserved('cpus', 1)], 'resources', 'no-such-agent')
    assert.deepEqual([r.status, r.body], [400, 'No agent found with specified ID'])
    r = await operator(mesos.masterUrl, {type: 'RESERVE_RESOURCES', reserve_resources: {resources: [reserved('cpus', 1)]}})
    assert.deepEqual(
      [r.status, r.body],
      [400, 'Failed to convert JSON into Call protobuf: Missing required fields: reserve_resources.agent_id'],
    )
    r = await op('RESERVE_RESOURCES', 'reserve_resources', [reserved('cpus', 1, {allocation_info: {role: ROLE}})])
    assert.deepEqual(
      [r.status, r.body],
      [
        400,
        `Invalid RESERVE operation on agent ${agentText}: A reserve operation was attempted with an allocated resource, but the operator API only allows reservations to be made to unallocated resources`,
      ],
    )
    r = await op('RESERVE_RESOURCES', 'reserve_resources', [{name: 'cpus', type: 'SCALAR', scalar: {value: 1}}])
    assert.deepEqual(
      [r.status, r.body],
      [400, `Invalid RESERVE operation on agent ${agentText}: Resource cpus:1 is not dynamically reserved`],
    )
    r = await op('RESERVE_RESOURCES', 'reserve_resources', [reserved('cpus', 100)])
    assert.equal(r.status, 409)
    assert.match(r.body, / does not contain cpus:100$/)
  })

  it('RESERVE_RESOURCES (202) rescinds the offer holding them; the role gets the reservation in its next offer', async () => {
    const held = await fresh()
    const r = await op('RESERVE_RESOURCES', 'reserve_resources', [reserved('cpus', 1), reserved('mem', 64), reserved('disk', 128)])
    assert.deepEqual([r.status, r.body, r.headers['content-length']], [202, '', '0'])
    await waitFor('RESCIND of the held offer', () => sub.events.some((e) => e.rescind?.offer_id.value === held.id.value), 5000, 10)
    const next = await fresh((o) => o.resources.some((x) => x.reservations))
    const cpus = next.resources.find((x) => x.name === 'cpus' && x.reservations)!
    assert.deepEqual(cpus, {...reserved('cpus', 1), allocation_info: {role: ROLE}})
  })

  it('reserved resources go only to their role: a framework of another role never sees them', async () => {
    const other = await subscribe(mesos.masterUrl, {
      name: 'other',
      roles: ['*'],
      capabilities: [{type: 'MULTI_ROLE'}, {type: 'RESERVATION_REFINEMENT'}],
    })
    try {
      // Ours declines all it holds for 30 s: the other framework is offered what it may get, again and again.
      await fresh()
      const held = unusedOffers(sub, used)
      for (const o of held) used.add(o.id.value)
      const decline = {offer_ids: held.map((o) => o.id), filters: {refuse_seconds: 30}}
      await call(mesos.masterUrl, {type: 'DECLINE', framework_id: {value: sub.frameworkId}, decline}, sub.streamId)
      let seen = 0
      for (let i = 0; i < 3; i++) {
        const e = await other.next('an offer to the other framework', (x) => x.type === 'OFFERS', seen)
        seen = other.events.indexOf(e) + 1
        for (const o of e.offers!.offers) for (const x of o.resources) assert.equal(x.reservations, undefined, JSON.stringify(x))
        const back = {offer_ids: e.offers!.offers.map((x) => x.id), filters: {refuse_seconds: 0}}
        await call(mesos.masterUrl, {type: 'DECLINE', framework_id: {value: other.frameworkId}, decline: back}, other.streamId)
      }
      // The reservation stayed free: our role gets it as soon as it asks again.
      await call(mesos.masterUrl, {type: 'REVIVE', framework_id: {value: sub.frameworkId}}, sub.streamId)
      await fresh((o) => o.resources.some((x) => x.reservations))
    } finally {
      await call(mesos.masterUrl, {type: 'TEARDOWN', framework_id: {value: other.frameworkId}}, other.streamId)
      other.close()
    }
  })

  it('CREATE_VOLUMES on the reserved disk (202), a duplicate persistence id (400), UNRESERVE of the volume (400)', async () => {
    let r = await op('CREATE_VOLUMES', 'create_volumes', [volume('opvol', 128)], 'volumes')
    assert.deepEqual([r.status, r.body], [202, ''])
    const slaves = await getJson<{slaves: {reserved_resources_full: Record<string, Resource[]>}[]}>(mesos.masterUrl, '/master/slaves')
    const full = slaves.slaves[0]!.reserved_resources_full[ROLE]!
    assert.deepEqual(
      full.find((x) => x.disk),
      {...volume('opvol', 128), role: ROLE, reservation: {}, reservations: [{type: 'DYNAMIC', role: ROLE}]},
    )
    r = await op('CREATE_VOLUMES', 'create_volumes', [volume('opvol', 1)], 'volumes')
    assert.deepEqual([r.status, r.body], [400, `Invalid CREATE operation on agent ${agentText}: Persistence ID 'opvol' is not unique`])
    r = await op('UNRESERVE_RESOURCES', 'unreserve_resources', [volume('opvol', 128)])
    assert.deepEqual(
      [r.status, r.body],
      [
        400,
        `Invalid UNRESERVE operation: A dynamically reserved persistent volume disk(reservations: [(DYNAMIC,${ROLE})])[opvol:data]:128 cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource`,
      ],
    )
  })

  it('DESTROY_VOLUMES of a volume in use is refused; once the task ended it is destroyed (202), then not found (400)', async () => {
    const offer = await fresh((o) => o.resources.some((x) => x.disk))
    used.add(offer.id.value)
    const res = offer.resources.filter((x) => x.reservations)
    const launch = await call(
      mesos.masterUrl,
      {
        type: 'ACCEPT',
        framework_id: {value: sub.frameworkId},
        accept: {
          offer_ids: [offer.id],
          operations: [
            {
              type: 'LAUNCH',
              launch: {
                task_infos: [
                  {name: 'v', task_id: {value: 'v'}, agent_id: {value: agentId}, resources: res, command: {value: 'sleep 1000'}},
                ],
              },
            },
          ],
          filters: {refuse_seconds: 0},
        },
      },
      sub.streamId,
    )
    assert.equal(launch.status, 202)
    await sub.next('task v TASK_STARTING', (e) => e.update?.status.task_id.value === 'v' && e.update.status.state === 'TASK_STARTING')
    let r = await op('DESTROY_VOLUMES', 'destroy_volumes', [volume('opvol', 128)], 'volumes')
    assert.deepEqual([r.status, r.body], [400, 'Invalid DESTROY operation: Persistent volumes in use'])
    await call(
      mesos.masterUrl,
      {type: 'KILL', framework_id: {value: sub.frameworkId}, kill: {task_id: {value: 'v'}, agent_id: {value: agentId}}},
      sub.streamId,
    )
    await waitFor(
      'the volume free again',
      async () => {
        r = await op('DESTROY_VOLUMES', 'destroy_volumes', [volume('opvol', 128)], 'volumes')
        return r.status === 202
      },
      15_000,
      100,
    )
    r = await op('DESTROY_VOLUMES', 'destroy_volumes', [volume('opvol', 128)], 'volumes')
    assert.deepEqual([r.status, r.body], [400, 'Invalid DESTROY operation: Persistent volumes not found'])
  })

  it('UNRESERVE_RESOURCES (202) leaves no reservation on the agent', async () => {
    const r = await op('UNRESERVE_RESOURCES', 'unreserve_resources', [reserved('cpus', 1), reserved('mem', 64), reserved('disk', 128)])
    assert.deepEqual([r.status, r.body], [202, ''])
    const slaves = await getJson<{slaves: {reserved_resources_full: unknown; reserved_resources: unknown}[]}>(
      mesos.masterUrl,
      '/master/slaves',
    )
    assert.deepEqual(slaves.slaves[0]!.reserved_resources_full, {})
    assert.deepEqual(slaves.slaves[0]!.reserved_resources, {})
  })
})
