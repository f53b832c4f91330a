/**
 * A persistent volume through the local master and agent, and an agent restart (fixture 13 steps 2–6, 20–21 and
 * 31–40; README surprises 40–41): RESERVE + CREATE + LAUNCH writes into the volume, `/files/read` through the
 * sandbox link is refused while the task runs, the link goes with the task; the agent crashes and comes back on its
 * work dir with the same id, the master offers the reserved resources and the volume again, and a task launched
 * on them reads the data back; DESTROY + UNRESERVE removes the volume directory.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import type {Offer, Resource} from '../../src/lib/mesos/types.js'
import {waitFor} from '../helpers/ports.js'
import {autoAck, call, getJson, type RawSub, subscribe, unusedOffer, unusedOffers} from '../helpers/raw-scheduler.js'

const ROLE = 'etcd-pv'
const PRINCIPAL = 'fixture-pv'
const RESERVATION = [{type: 'DYNAMIC', role: ROLE, principal: PRINCIPAL}]
const reserved = (name: string, value: number): Resource => ({
  name,
  type: 'SCALAR',
  scalar: {value},
  allocation_info: {role: ROLE},
  reservations: RESERVATION,
})
const VOLUME: Resource = {
  ...reserved('disk', 64),
  disk: {persistence: {id: 'vol-1', principal: PRINCIPAL}, volume: {container_path: 'data', mode: 'RW'}},
}

describe('mesos-local: a persistent volume across tasks and an agent restart', {timeout: 180_000}, () => {
  let mesos: LocalMesos
  let sub: RawSub
  let stopAcks: (() => void) | undefined
  const used = new Set<string>()
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesos-local-pv-'))

  before(async () => {
    mesos = await startLocalMesos({agents: 1, workDir, allocationIntervalMs: 100, defaultRefuseSeconds: 0.2})
    sub = await subscribe(mesos.masterUrl, {
      name: 'pv',
      roles: [ROLE],
      principal: PRINCIPAL,
      checkpoint: true,
      capabilities: [{type: 'MULTI_ROLE'}, {type: 'RESERVATION_REFINEMENT'}, {type: 'TASK_KILLING_STATE'}],
    })
    stopAcks = autoAck(mesos.masterUrl, sub)
  })
  after(async () => {
    stopAcks?.()
    sub?.close()
    await mesos?.stop()
    fs.rmSync(workDir, {recursive: true, force: true})
  })

  /** The first unused offer (from event `since` on) matching `pred`, marked used. */
  async function fresh(pred: (o: Offer) => boolean = () => true, since = 0): Promise<Offer> {
    const offer = await unusedOffer(sub, used, pred, 30_000, since)
    used.add(offer.id.value)
    return offer
  }
  async function accept(offer: Offer, operations: unknown[]): Promise<number> {
    const from = sub.events.length
    const body = {
      type: 'ACCEPT',
      framework_id: {value: sub.frameworkId},
      accept: {offer_ids: [offer.id], operations, filters: {refuse_seconds: 0}},
    }
    const r = await call(mesos.masterUrl, body, sub.streamId)
    assert.equal(r.status, 202, r.body)
    return from
  }
  const launch = (id: string, agentId: string, command: string, resources: Resource[]) => ({
    type: 'LAUNCH',
    launch: {task_infos: [{name: id, task_id: {value: id}, agent_id: {value: agentId}, resources, command: {value: command}}]},
  })
  const waitState = (task: string, state: string, from: number) =>
    sub.next(`${task} ${state}`, (e) => e.update?.status.task_id.value === task && e.update.status.state === state, from, 30_000)
  async function filesRead(p: string): Promise<{status: number; text: string}> {
    const r = await fetch(`http://${mesos.agents[0]!.endpoint}/files/read?path=${encodeURIComponent(p)}&offset=0&length=65536`)
    return {status: r.status, text: await r.text()}
  }
  const hasVolume = (o: Offer) => o.resources.some((r) => r.disk?.persistence?.id === 'vol-1')

  it('RESERVE + CREATE + LAUNCH writes into the volume; the link goes with the task; after an agent restart a task reads it back', async () => {
    const offer = await fresh()
    const agentId = offer.agent_id.value
    const volDir = path.join(workDir, 'agent-1', 'volumes', 'roles', ROLE, 'vol-1')
    const from = await accept(offer, [
      {type: 'RESERVE', reserve: {resources: [reserved('cpus', 0.1), reserved('mem', 32), reserved('disk', 64)]}},
      {type: 'CREATE', create: {volumes: [VOLUME]}},
      launch('pv-writer', agentId, 'echo hello > data/f && sleep 1000', [reserved('cpus', 0.1), reserved('mem', 32), VOLUME]),
    ])
    await waitState('pv-writer', 'TASK_RUNNING', from)
    await waitFor('data/f written', () => fs.existsSync(path.join(volDir, 'f')), 30_000)
    const latest = `/frameworks/${sub.frameworkId}/executors/pv-writer/runs/latest`
    const denied = await filesRead(`${latest}/data/f`)
    assert.equal(denied.status, 400)
    assert.match(denied.text, /^'.*\/executors\/pv-writer\/runs\/[0-9a-f-]{36}\/data\/f' is inaccessible\.\n$/)

    const killFrom = sub.events.length
    await call(
      mesos.masterUrl,
      {type: 'KILL', framework_id: {value: sub.frameworkId}, kill: {task_id: {value: 'pv-writer'}, agent_id: {value: agentId}}},
      sub.streamId,
    )
    await waitState('pv-writer', 'TASK_KILLED', killFrom)
    await waitFor('/files/read of data/f: 404 once the link is gone', async () => (await filesRead(`${latest}/data/f`)).status === 404)
    assert.equal(fs.readFileSync(path.join(volDir, 'f'), 'utf8'), 'hello\n')

    // The agent crashes and restarts on its work dir (fixture 13 steps 31-32).
    // Offers made before the crash are rescinded; only an offer made after the restart may be used.
    await mesos.stopAgent(0, 'kill')
    await waitFor("the crashed agent's offers rescinded", () => unusedOffers(sub, used).length === 0, 30_000, 10)
    const restartedAt = sub.events.length
    await mesos.startAgent(0)
    const again = await fresh(hasVolume, restartedAt)
    assert.equal(again.agent_id.value, agentId, 'same agent id after the restart')
    const slaves = await getJson<{slaves: {reserved_resources_full: Record<string, Resource[]>}[]}>(mesos.masterUrl, '/master/slaves')
    assert.ok(
      slaves.slaves[0]!.reserved_resources_full[ROLE]?.some((r) => r.disk?.persistence?.id === 'vol-1'),
      '/master/slaves still lists the volume',
    )
    const onReserved = again.resources.filter((r) => r.reservations !== undefined)
    const f3 = await accept(again, [launch('pv-reader-after-restart', agentId, 'cat data/f', onReserved)])
    await waitState('pv-reader-after-restart', 'TASK_FINISHED', f3)
    const stdout = await filesRead(`/frameworks/${sub.frameworkId}/executors/pv-reader-after-restart/runs/latest/stdout`)
    assert.deepEqual(stdout, {status: 200, text: '{"data":"hello\\n","offset":0}'})

    // DESTROY + UNRESERVE in one ACCEPT removes the volume directory (fixture 13 step 40).
    const last = await fresh(hasVolume)
    const vol = last.resources.find((r) => r.disk?.persistence?.id === 'vol-1')!
    await accept(last, [
      {type: 'DESTROY', destroy: {volumes: [vol]}},
      {type: 'UNRESERVE', unreserve: {resources: [reserved('cpus', 0.1), reserved('mem', 32), reserved('disk', 64)]}},
    ])
    await waitFor('volume directory removed', () => !fs.existsSync(volDir), 30_000)
  })
})
