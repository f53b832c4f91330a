/**
 * The core's reservation and volume ACCEPTs on the wire (issue 14), against what a real Mesos 1.12 master took
 * (test/fixtures/real-mesos/13-reservations-volumes.json, surprises 36 and 39): fed the fixture's own offer, the
 * core answers RESERVE + CREATE + LAUNCH whose resources have the fixture's shape (allocation_info, the
 * `reservations` stack, no `role`; the volume's disk info), plus our labels; toCall keeps it whole, and the
 * protobuf and JSON encodings of the call decode back to the same operations. A released volume is DESTROY +
 * UNRESERVE like the fixture's step 39.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {decode, encode} from '../../src/lib/mesos/codec.js'
import type {Offer, OfferOperation, Resource} from '../../src/lib/mesos/types.js'
import {toCall} from '../../src/scheduler/calls.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import {releaseOperations} from '../../src/scheduler/core/volumes.js'
import {World} from '../helpers/sim/sim.js'

const FIX = fileURLToPath(new URL('../fixtures/real-mesos/13-reservations-volumes.json', import.meta.url))
interface Step {
  request?: {body?: {type?: string; accept?: {operations: OfferOperation[]}}}
  response?: {records?: {type: string; offers?: {offers: Offer[]}}[]}
}
const steps = (JSON.parse(readFileSync(FIX, 'utf8')) as {steps: Step[]}).steps
const fixtureOffer = steps[0]!.response!.records!.find((r) => r.type === 'OFFERS')!.offers!.offers[0]!
const fixtureAccept = (i: number) => steps[i]!.request!.body!.accept!.operations

type Accept = Extract<SchedulerAction, {type: 'ACCEPT'}>

function withoutLabels(r: Resource): Resource {
  const c = structuredClone(r)
  for (const x of c.reservations ?? []) delete x.labels
  return c
}

/** A one-member cluster sized like the fixture's task, fed the fixture's offer. */
function acceptFor(): Accept {
  const w = new World(
    {
      clusterName: 'pv',
      clusterSize: 1,
      executorCommand: {value: './etcd-mesos-executor'},
      cpus: 0.1,
      mem: 32,
      disk: 64,
      executorCpus: 0,
      executorMem: 0,
      role: 'etcd-pv',
      principal: 'fixture-pv',
      volumeContainerPath: 'data',
      bootstrapWaitMs: 0,
    },
    1,
  )
  w.start()
  w.feed({type: 'Offers', offers: [structuredClone(fixtureOffer)]})
  const a = w.actions.find((x): x is Accept => x.type === 'ACCEPT')
  assert.ok(a, 'the offer is accepted')
  return a
}

describe('reservation and volume operations on the wire', () => {
  it('RESERVE + CREATE + LAUNCH have the shape a real master accepted (fixture 13, step 1), with our labels', () => {
    const a = acceptFor()
    assert.deepEqual(
      a.operations.map((o) => o.type),
      ['RESERVE', 'CREATE', 'LAUNCH'],
    )
    const [fr, fc] = fixtureAccept(1) as [OfferOperation, OfferOperation]
    const scalars = a.operations[0]!.reserve!.resources.filter((r) => r.type === 'SCALAR')
    assert.deepEqual(scalars.map(withoutLabels), fr.reserve!.resources, 'cpus 0.1, mem 32, disk 64 as in the fixture')
    for (const r of a.operations[0]!.reserve!.resources) {
      assert.deepEqual(r.reservations![0]!.labels, {
        labels: [
          {key: 'etcd-mesos/cluster', value: 'pv'},
          {key: 'etcd-mesos/member', value: 'pv-1'},
        ],
      })
    }
    const vol = structuredClone(a.operations[1]!.create!.volumes[0]!)
    assert.match(vol.disk!.persistence!.id, /^etcd-mesos\.pv\.pv-1\.[0-9a-f]{8}$/)
    vol.disk!.persistence!.id = 'vol-1'
    assert.deepEqual(withoutLabels(vol), fc.create!.volumes[0])
  })

  it('toCall keeps the operations; JSON and protobuf encodings decode to the same operations', () => {
    const a = acceptFor()
    const call = toCall(a)
    assert.deepEqual(call, {
      type: 'ACCEPT',
      accept: {offer_ids: [{value: fixtureOffer.id.value}], operations: a.operations, filters: a.filters},
    })
    const full = {...call, framework_id: {value: 'fw-1'}}
    const viaJson = decode<{accept: {operations: OfferOperation[]}}>(
      'scheduler.Call',
      encode('scheduler.Call', full, 'application/json'),
      'application/json',
    )
    const viaProto = decode<{accept: {operations: OfferOperation[]}}>(
      'scheduler.Call',
      encode('scheduler.Call', full, 'application/x-protobuf'),
      'application/x-protobuf',
    )
    assert.deepEqual(viaProto.accept.operations, viaJson.accept.operations)
    const ops = viaJson.accept.operations
    assert.equal(ops[1]!.create!.volumes[0]!.disk!.volume!.container_path, 'data')
    assert.equal(ops[0]!.reserve!.resources[0]!.reservations![0]!.labels!.labels![1]!.value, 'pv-1')
    assert.equal(
      ops[0]!.reserve!.resources.some((r) => r.role !== undefined),
      false,
      'no pre-refinement role field',
    )
    const launched = ops[2]!.launch!.task_infos[0]!.resources!
    assert.ok(launched.some((r) => r.disk?.persistence?.id === a.operations[1]!.create!.volumes[0]!.disk!.persistence!.id))
  })

  it("a release is DESTROY then UNRESERVE (the volume as plain reserved disk), as the fixture's step 39", () => {
    const [fd, fu] = fixtureAccept(39) as [OfferOperation, OfferOperation]
    const volume = fd.destroy!.volumes[0]!
    const rest = fu.unreserve!.resources.filter((r) => r.name !== 'disk')
    assert.deepEqual(releaseOperations([volume], rest), [fd, fu])
  })
})
