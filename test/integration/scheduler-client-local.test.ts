/**
 * Our scheduler client against the real embedded local Mesos (no fakes): subscribe, offers from 3
 * agents, launch of a trivial custom executor (test/integration/fixtures/mesos-local-test-executor.mjs,
 * speaking the v1 executor API), updates + acks, explicit and implicit reconciliation, kill, executor
 * message round trip; and with two masters on real
 * ZooKeeper: a 307 from the non-leader followed, then failover re-subscription with the same
 * framework id after the leading master dies.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import {rmSync} from 'node:fs'
import {SchedulerClient} from '../../src/lib/mesos/scheduler-client.js'
import {createMasterDetector, type MasterDetector} from '../../src/lib/mesos/detector.js'
import type {Offer, SchedulerEvent, TaskStatus} from '../../src/lib/mesos/types.js'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {waitFor} from '../helpers/ports.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'

const execLogs: string[] = []
const EXECUTOR = path.resolve('test/integration/fixtures/mesos-local-test-executor.mjs')

function execLog(taskId: string): string {
  const p = path.join(os.tmpdir(), `exec-${taskId}.log`)
  execLogs.push(p)
  return p
}

function frameworkInfo(name: string) {
  return {user: os.userInfo().username, name, checkpoint: true, failover_timeout: 120, roles: ['*'], capabilities: [{type: 'MULTI_ROLE'}]}
}

class Recorder {
  events: SchedulerEvent[] = []
  updates: TaskStatus[] = []
  constructor(readonly client: SchedulerClient) {
    client.on('event', (e: SchedulerEvent) => {
      this.events.push(e)
      if (e.type === 'UPDATE' && e.update) {
        this.updates.push(e.update.status)
        const s = e.update.status
        if (s.uuid && s.agent_id) void client.acknowledge(s.agent_id, s.task_id, s.uuid).catch(() => undefined)
      }
    })
  }
  offers(): Offer[] {
    return this.events.filter((e) => e.type === 'OFFERS').flatMap((e) => e.offers?.offers ?? [])
  }
  async update(taskId: string, state: string, timeoutMs = 15_000): Promise<TaskStatus> {
    return (await waitFor(
      `${taskId} ${state}`,
      () => this.updates.find((u) => u.task_id.value === taskId && u.state === state),
      timeoutMs,
      20,
    ))!
  }
}

describe('SchedulerClient against the local Mesos master', {timeout: 90_000}, () => {
  let mesos: LocalMesos
  let detector: MasterDetector
  let client: SchedulerClient
  let rec: Recorder

  before(async () => {
    mesos = await startLocalMesos({agents: 3, port: 0, allocationIntervalMs: 100})
    detector = await createMasterDetector(new URL(mesos.masterUrl).host)
    client = new SchedulerClient({detector, frameworkInfo: frameworkInfo('client-test')})
    rec = new Recorder(client)
    client.start()
  })
  after(async () => {
    await client?.stop()
    await detector?.close()
    await mesos?.stop()
    for (const f of execLogs) rmSync(f, {force: true})
  })

  it('subscribes and receives offers from 3 distinct agents', async () => {
    await waitFor('offers from 3 agents', () => new Set(rec.offers().map((o) => o.agent_id.value)).size === 3, 15_000)
    assert.ok(client.frameworkId?.endsWith('-0000'))
    assert.equal(client.connected, true)
  })

  it('launches a custom executor, acks its updates, reconciles and kills it', async () => {
    const offer = rec.offers().at(-1)!
    const taskId = `sleeper-${Date.now()}`
    await client.accept(
      [offer.id],
      [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 'sleeper',
                task_id: {value: taskId},
                agent_id: offer.agent_id,
                resources: [
                  {name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}, role: '*', allocation_info: {role: '*'}},
                  {name: 'mem', type: 'SCALAR', scalar: {value: 32}, role: '*', allocation_info: {role: '*'}},
                ],
                executor: {
                  executor_id: {value: `exec-${taskId}`},
                  type: 'CUSTOM',
                  command: {
                    value: process.execPath,
                    shell: false,
                    arguments: [process.execPath, EXECUTOR],
                    environment: {variables: [{name: 'TEST_LOG', value: execLog(taskId)}]},
                  },
                  resources: [{name: 'cpus', type: 'SCALAR', scalar: {value: 0.05}, role: '*', allocation_info: {role: '*'}}],
                },
              },
            ],
          },
        },
      ],
      {refuse_seconds: 1},
    )
    const running = await rec.update(taskId, 'TASK_RUNNING')
    assert.ok(running.uuid, 'executor updates carry a uuid')
    const n = rec.events.length
    await client.message(offer.agent_id, {value: `exec-${taskId}`}, Buffer.from('echo:hi').toString('base64'))
    const pong = await waitFor('MESSAGE back from the executor', () => rec.events.slice(n).find((e) => e.type === 'MESSAGE'))
    assert.equal(Buffer.from(pong!.message!.data, 'base64').toString(), 'pong:hi')
    const before = rec.updates.length
    await client.reconcile([{task_id: {value: taskId}, agent_id: offer.agent_id}])
    const r = await waitFor('explicit reconciliation answer', () =>
      rec.updates.slice(before).find((u) => u.task_id.value === taskId && u.reason === 'REASON_RECONCILIATION'),
    )
    assert.equal(r!.state, 'TASK_RUNNING')
    assert.equal(r!.uuid, undefined, 'reconciliation answers have no uuid')
    const mark = rec.updates.length
    await client.reconcile([])
    await waitFor('implicit reconciliation answer', () => rec.updates.slice(mark).find((u) => u.task_id.value === taskId))
    await client.kill({value: taskId}, offer.agent_id)
    const killed = await rec.update(taskId, 'TASK_KILLED')
    assert.equal(killed.task_id.value, taskId)
  })

  it('rejects a call with a clear MesosCallError (no retry) on a 4xx', async () => {
    await assert.rejects(
      client.acknowledge({value: 'x'}, {value: 'y'}, Buffer.from('short').toString('base64')),
      (err: Error & {status?: number}) => {
        assert.equal(err.status, 400)
        assert.match(err.message, /Not a valid UUID/)
        return true
      },
    )
  })
})

describe('SchedulerClient with two masters on ZooKeeper', {timeout: 120_000}, () => {
  let zk: ZkServer
  let mesos: LocalMesos
  const clients: SchedulerClient[] = []
  const detectors: MasterDetector[] = []

  before(async () => {
    zk = await startZooKeeper()
    mesos = await startLocalMesos({agents: 1, masters: 2, zk: `${zk.url}/mesos`, allocationIntervalMs: 100})
  })
  after(async () => {
    for (const c of clients) await c.stop()
    for (const d of detectors) await d.close()
    await mesos?.stop()
    await destroyZooKeeper(zk)
  })

  it('follows the 307 of a non-leading master to the leader', async () => {
    const leader = mesos.masters.find((m) => m.isLeader())!
    const follower = mesos.masters.find((m) => !m.isLeader())!
    await waitFor('follower knows the leader', () => follower.leaderAddress() !== null)
    const d = await createMasterDetector(new URL(follower.url).host)
    detectors.push(d)
    const c = new SchedulerClient({detector: d, frameworkInfo: frameworkInfo('redirected')})
    clients.push(c)
    const subscribed = new Promise<{master: {host: string; port: number}}>((resolve) => c.once('subscribed', resolve))
    c.start()
    const info = await subscribed
    assert.equal(`${info.master.host}:${info.master.port}`, new URL(leader.url).host)
    await c.stop()
  })

  it('re-subscribes to the new leader with the same framework id after the leader dies', async () => {
    const d = await createMasterDetector(`${zk.url}/mesos`)
    detectors.push(d)
    const c = new SchedulerClient({detector: d, frameworkInfo: frameworkInfo('failover')})
    clients.push(c)
    const subs: {frameworkId: string; master: {host: string; port: number}}[] = []
    c.on('subscribed', (s) => subs.push(s))
    c.start()
    await waitFor('first subscription', () => subs.length === 1, 20_000)
    const leader = mesos.masters.find((m) => m.isLeader())!
    const other = mesos.masters.find((m) => m !== leader)!
    await mesos.killMaster(mesos.masters.indexOf(leader))
    await waitFor('re-subscribed to the new leader', () => subs.length >= 2, 40_000)
    const last = subs.at(-1)!
    assert.equal(last.frameworkId, subs[0].frameworkId)
    assert.equal(`${last.master.host}:${last.master.port}`, new URL(other.url).host)
  })
})
