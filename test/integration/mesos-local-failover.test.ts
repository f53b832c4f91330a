/**
 * The local Mesos' registry across a master failover (two masters on a real ZooKeeper, one real agent, a running
 * command task of a checkpointing framework), as real Mesos (mesos-v1-api.md §1.8, Master::_recover):
 *   - the new leader knows the agent the old one admitted ("recovered": /master/state `recovered_slaves`) and
 *     gives NO answer to explicit reconciliation of a task on it (nor of a task without agent_id) until the
 *     agent re-registers; then the latest state (TASK_RUNNING);
 *   - with a short agentReregisterTimeoutMs and an agent that does not come back: the agent is marked
 *     unreachable (FAILURE {agent_id}, `unreachable_slaves`), reconciliation answers TASK_LOST "Task is
 *     unreachable"; when the agent finally returns, its task is known again (TASK_RUNNING).
 * "No answer" is checked without sleeping: a later reconciliation of an unknown task on an unknown agent is
 * answered at once, and events on one stream keep their order.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {SchedulerEvent, TaskStatus} from '../../src/lib/mesos/types.js'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import type {LocalMaster} from '../../src/mesos-local/master/local-master.js'
import {send, type Stream} from '../conformance/http.js'
import {waitFor} from '../helpers/ports.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'

const JSON_HEADERS = {'Content-Type': 'application/json', Accept: 'application/json'}
const TASK = 'registry-task'

/** A raw v1 scheduler: one SUBSCRIBE stream on one master, calls with its Mesos-Stream-Id. */
class Framework {
  private constructor(
    readonly base: string,
    readonly stream: Stream,
    readonly id: string,
  ) {}

  static async subscribe(base: string, id?: string): Promise<Framework> {
    const fi = {
      user: 'root',
      name: 'registry-test',
      checkpoint: true,
      failover_timeout: 120,
      roles: ['*'],
      capabilities: [{type: 'MULTI_ROLE'}],
      ...(id ? {id: {value: id}} : {}),
    }
    const body = {type: 'SUBSCRIBE', ...(id ? {framework_id: {value: id}} : {}), subscribe: {framework_info: fi}}
    const r = await send(base, 'POST', '/api/v1/scheduler', JSON_HEADERS, JSON.stringify(body))
    if (!r.stream) throw new Error(`SUBSCRIBE to ${base} failed: ${r.status} ${r.body.toString('utf8')}`)
    const s = r.stream
    await waitFor(
      `SUBSCRIBED from ${base}`,
      () => s.records.some((x) => (x.event as unknown as SchedulerEvent).type === 'SUBSCRIBED'),
      10_000,
      10,
    )
    const sub = s.records.map((x) => x.event as unknown as SchedulerEvent).find((e) => e.type === 'SUBSCRIBED')!
    return new Framework(base, s, sub.subscribed!.framework_id.value)
  }

  get events(): SchedulerEvent[] {
    return this.stream.records.map((r) => r.event as unknown as SchedulerEvent)
  }

  async call(type: string, body: Record<string, unknown>): Promise<void> {
    const r = await send(
      this.base,
      'POST',
      '/api/v1/scheduler',
      {...JSON_HEADERS, 'Mesos-Stream-Id': this.stream.streamId ?? ''},
      JSON.stringify({type, framework_id: {value: this.id}, ...body}),
    )
    assert.equal(r.status, 202, `${type}: ${r.status} ${r.body.toString('utf8')}`)
  }

  async next(what: string, pred: (e: SchedulerEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<SchedulerEvent> {
    let found: SchedulerEvent | undefined
    await waitFor(
      what,
      () => {
        found = this.events.slice(from).find(pred)
        return found !== undefined
      },
      timeoutMs,
      10,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; events: ${JSON.stringify(this.events.slice(from))}`)
    })
    return found!
  }

  /** UPDATEs about `taskId` from index `from` on. */
  updates(taskId: string, from: number): TaskStatus[] {
    return this.events
      .slice(from)
      .filter((e) => e.type === 'UPDATE' && e.update!.status.task_id.value === taskId)
      .map((e) => e.update!.status)
  }

  /** Explicit RECONCILE of `tasks`, then of an unknown task on an unknown agent; resolves with the events in between. */
  async reconcileAndFence(tasks: {task_id: {value: string}; agent_id?: {value: string}}[]): Promise<SchedulerEvent[]> {
    const from = this.events.length
    const fence = `fence-${from}`
    await this.call('RECONCILE', {reconcile: {tasks}})
    await this.call('RECONCILE', {reconcile: {tasks: [{task_id: {value: fence}, agent_id: {value: 'no-such-agent-S0'}}]}})
    const answer = await this.next('the fence answered', (e) => e.type === 'UPDATE' && e.update!.status.task_id.value === fence, from)
    assert.equal(answer.update!.status.message, 'Reconciliation: Task is unknown')
    return this.events.slice(from, this.events.indexOf(answer))
  }

  close(): void {
    this.stream.close()
  }
}

async function state(
  base: string,
): Promise<{slaves: {id: string}[]; recovered_slaves: {id: string; hostname: string; port: number}[]; unreachable_slaves: number}> {
  const r = await send(base, 'GET', '/master/state', {})
  assert.equal(r.status, 200, `GET ${base}/master/state: ${r.status}`)
  return JSON.parse(r.body.toString('utf8')) as never
}

/** Subscribes, launches TASK (sleep) on the only agent and waits for TASK_RUNNING (ACKing updates). */
async function runTask(mesos: LocalMesos): Promise<{fw: Framework; agentId: string}> {
  const fw = await Framework.subscribe(mesos.masterUrl)
  const offers = await fw.next('an offer', (e) => e.type === 'OFFERS')
  const offer = offers.offers!.offers[0]!
  const scalar = (name: string, value: number) => ({name, type: 'SCALAR', scalar: {value}, role: '*', allocation_info: {role: '*'}})
  await fw.call('ACCEPT', {
    accept: {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: TASK,
                task_id: {value: TASK},
                agent_id: offer.agent_id,
                resources: [scalar('cpus', 0.1), scalar('mem', 32)],
                command: {shell: true, value: 'sleep 300'},
              },
            ],
          },
        },
      ],
    },
  })
  let acked = 0
  const ackAll = async (): Promise<void> => {
    for (const s of fw.updates(TASK, 0).slice(acked)) {
      acked++
      if (s.uuid) await fw.call('ACKNOWLEDGE', {acknowledge: {agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid}})
    }
  }
  await waitFor(
    'TASK_RUNNING',
    async () => {
      await ackAll()
      return fw.updates(TASK, 0).some((s) => s.state === 'TASK_RUNNING')
    },
    20_000,
    20,
  )
  return {fw, agentId: offer.agent_id.value}
}

/** Kills the agent (its task keeps running, checkpointed), then the leading master; answers the new leader. */
async function loseAgentThenLeader(mesos: LocalMesos): Promise<LocalMaster> {
  await mesos.stopAgent(0, 'kill')
  const leader = mesos.masters.find((m) => m.isLeader())!
  const other = mesos.masters.find((m) => m !== leader)!
  await mesos.killMaster(mesos.masters.indexOf(leader))
  await waitFor('the other master leads', () => other.isLeader(), 20_000)
  return other
}

describe('mesos-local registry: master failover with two masters on ZooKeeper', {timeout: 120_000}, () => {
  let zk: ZkServer | undefined
  const clusters: LocalMesos[] = []
  const frameworks: Framework[] = []
  const logs: string[] = []
  before(async () => {
    zk = await startZooKeeper()
  })
  after(async () => {
    for (const f of frameworks) f.close()
    for (const m of clusters) await m.stop().catch(() => undefined)
    await destroyZooKeeper(zk)
  })
  const start = async (path: string, agentReregisterTimeoutMs?: number): Promise<LocalMesos> => {
    const m = await startLocalMesos({
      agents: 1,
      masters: 2,
      zk: `${zk!.url}/${path}`,
      allocationIntervalMs: 100,
      agentReregisterTimeoutMs,
      agentOptions: {statusUpdateRetryMinMs: 1000},
      log: (l) => logs.push(l),
    })
    clusters.push(m)
    return m
  }

  it("no answer about a recovering agent's task until it re-registers, then TASK_RUNNING", async () => {
    const mesos = await start('mesos-recover')
    const {fw, agentId} = await runTask(mesos)
    frameworks.push(fw)
    const leader = await loseAgentThenLeader(mesos)
    const fw2 = await Framework.subscribe(leader.url, fw.id)
    frameworks.push(fw2)

    const st = await state(leader.url)
    assert.deepEqual(st.slaves, [])
    assert.deepEqual(
      st.recovered_slaves.map((s) => [s.id, s.hostname]),
      [[agentId, '127.0.0.2']],
    )
    const silent = await fw2.reconcileAndFence([{task_id: {value: TASK}, agent_id: {value: agentId}}, {task_id: {value: TASK}}])
    assert.deepEqual(
      silent.filter((e) => e.type === 'UPDATE'),
      [],
      'no reconciliation answer while the agent is recovering',
    )
    // Implicit reconciliation (no tasks listed) covers known tasks only: none yet.
    const implicit = await fw2.reconcileAndFence([])
    assert.deepEqual(
      implicit.filter((e) => e.type === 'UPDATE'),
      [],
      'implicit reconciliation knows no task yet',
    )

    await mesos.startAgent(0)
    await waitFor('the agent re-registered with the new leader', async () => (await state(leader.url)).slaves.length === 1, 10_000)
    assert.deepEqual((await state(leader.url)).recovered_slaves, [])
    const answered = await fw2.reconcileAndFence([{task_id: {value: TASK}, agent_id: {value: agentId}}])
    const statuses = answered.filter((e) => e.type === 'UPDATE').map((e) => e.update!.status)
    assert.deepEqual(
      statuses.map((s) => [s.task_id.value, s.state, s.reason, s.message, s.agent_id?.value]),
      [[TASK, 'TASK_RUNNING', 'REASON_RECONCILIATION', 'Reconciliation: Latest task state', agentId]],
    )
    assert.ok(!fw2.events.some((e) => e.type === 'FAILURE'), 'no FAILURE: the agent came back in time')
  })

  it('an agent that does not re-register within agentReregisterTimeoutMs is marked unreachable', async () => {
    const mesos = await start('mesos-timeout', 2000)
    const {fw, agentId} = await runTask(mesos)
    frameworks.push(fw)
    const leader = await loseAgentThenLeader(mesos)
    assert.equal(leader.flags().agent_reregister_timeout, '2secs')
    const fw2 = await Framework.subscribe(leader.url, fw.id)
    frameworks.push(fw2)
    assert.equal((await state(leader.url)).recovered_slaves.length, 1)

    const failure = await fw2.next('FAILURE for the agent', (e) => e.type === 'FAILURE', 0, 15_000)
    assert.deepEqual(failure.failure, {agent_id: {value: agentId}})
    const st = await state(leader.url)
    assert.deepEqual([st.recovered_slaves, st.slaves, st.unreachable_slaves], [[], [], 1])
    assert.match(logs.join('\n'), /did not reregister within 2secs after master failover/)
    const lost = (await fw2.reconcileAndFence([{task_id: {value: TASK}, agent_id: {value: agentId}}]))
      .filter((e) => e.type === 'UPDATE')
      .map((e) => e.update!.status)
    assert.deepEqual(
      lost.map((s) => [s.state, s.reason, s.message, s.source, s.uuid]),
      [['TASK_LOST', 'REASON_RECONCILIATION', 'Reconciliation: Task is unreachable', 'SOURCE_MASTER', undefined]],
    )
    assert.ok(lost[0]!.unreachable_time, 'unreachable_time is set')

    // The agent comes back after all: admitted again, its task known again.
    await mesos.startAgent(0)
    await waitFor('the agent re-registered', async () => (await state(leader.url)).slaves.length === 1, 10_000)
    assert.equal((await state(leader.url)).unreachable_slaves, 0)
    const back = (await fw2.reconcileAndFence([{task_id: {value: TASK}, agent_id: {value: agentId}}]))
      .filter((e) => e.type === 'UPDATE')
      .map((e) => e.update!.status)
    assert.deepEqual(
      back.map((s) => [s.state, s.message]),
      [['TASK_RUNNING', 'Reconciliation: Latest task state']],
    )
  })
})
