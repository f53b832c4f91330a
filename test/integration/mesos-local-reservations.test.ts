/**
 * The local Mesos master with dynamic reservations and persistent volumes, against what a real Mesos 1.12 did in
 * fixture 13 (test/fixtures/real-mesos/13-reservations-volumes.json, Surprises 36-41): the resource format of offers
 * by RESERVATION_REFINEMENT capability, RESERVE / UNRESERVE / CREATE / DESTROY in ACCEPT (applied in order, with
 * LAUNCH), their refusals with the real master's texts (dropped with a master log line, or OPERATION_ERROR with an
 * operation id), reserved resources offered only to their role and volumes only when unused, the state endpoints
 * and the operator API. Raw HTTP (test/helpers/raw-scheduler.ts), one real local agent.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import type {Offer, Resource, SchedulerEvent} from '../../src/lib/mesos/types.js'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {call, subscribe, type RawSub} from '../helpers/raw-scheduler.js'

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
