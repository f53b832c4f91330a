/**
 * A small test framework (Mesos v1 scheduler) for integration tests against the embedded local Mesos or any
 * master: subscribes with SchedulerClient, keeps the outstanding offers, launches tasks with ACCEPT + LAUNCH,
 * records every UPDATE (ACKed automatically when it carries a uuid, after an optional per-update hook),
 * MESSAGE and FAILURE, and sends KILL / MESSAGE. Also: resources cut out of an offer (scalars + ports that are
 * free on the agent's ip right now) and the ExecutorInfo of our own `etcd-mesos executor`.
 *
 * Executor process groups seen in updates (container_status.executor_pid) are SIGKILLed when the test
 * process exits, so a failed test never leaks executors (etcd dies with its executor: pdeathsig).
 */
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {createMasterDetector, type MasterDetector} from '../../src/lib/mesos/detector.js'
import {SchedulerClient} from '../../src/lib/mesos/scheduler-client.js'
import type {
  ExecutorInfo,
  FrameworkInfo,
  Offer,
  OfferID,
  Resource,
  SchedulerEvent,
  TaskInfo,
  TaskState,
  TaskStatus,
} from '../../src/lib/mesos/types.js'
import {waitFor} from './ports.js'

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

export interface TestFrameworkOptions {
  /** `host:port`, `http://host:port` or `zk://…`. */
  master: string
  name?: string
  /** ACK every update with a uuid (default true). */
  autoAck?: boolean
  /** Called for every update before it is ACKed (awaited): a test can look at the world at that moment. */
  onUpdate?: (status: TaskStatus) => Promise<void> | void
  log?: (line: string) => void
}

export interface ReceivedMessage {
  agentId: string
  executorId: string
  data: string
}
export type Failure = NonNullable<SchedulerEvent['failure']>

const executorGroups = new Set<number>()
process.on('exit', () => {
  for (const pid of executorGroups) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      /* gone */
    }
  }
})

export class TestFramework {
  readonly updates: TaskStatus[] = []
  readonly messages: ReceivedMessage[] = []
  readonly failures: Failure[] = []
  readonly errors: string[] = []
  readonly acked: string[] = []
  private readonly offers = new Map<string, Offer>()
  private hook: TestFrameworkOptions['onUpdate']
  private chain: Promise<void> = Promise.resolve()

  private constructor(
    readonly client: SchedulerClient,
    private readonly detector: MasterDetector,
    private readonly opts: TestFrameworkOptions,
  ) {
    this.hook = opts.onUpdate
    client.on('event', (ev: SchedulerEvent) => this.onEvent(ev))
  }

  /** Subscribes a new framework (checkpointing, MULTI_ROLE, role '*') and waits for SUBSCRIBED. */
  static async start(opts: TestFrameworkOptions): Promise<TestFramework> {
    const detector = await createMasterDetector(opts.master)
    const frameworkInfo: FrameworkInfo = {
      user: os.userInfo().username,
      name: opts.name ?? 'etcd-mesos-test',
      checkpoint: true,
      failover_timeout: 300,
      roles: ['*'],
      capabilities: [{type: 'MULTI_ROLE'}],
    }
    const client = new SchedulerClient({
      detector,
      frameworkInfo,
      backoffMinMs: 100,
      backoffMaxMs: 1000,
      log: (level, msg) => opts.log?.(`scheduler ${level}: ${msg}`),
    })
    const fw = new TestFramework(client, detector, opts)
    const subscribed = new Promise<void>((resolve) => client.once('subscribed', () => resolve()))
    client.start()
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        subscribed,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no SUBSCRIBED from ${opts.master} within 15 s`)), 15_000))),
      ])
    } catch (err) {
      await fw.stop()
      throw err
    } finally {
      clearTimeout(timer)
    }
    return fw
  }

  get frameworkId(): string {
    return this.client.frameworkId ?? ''
  }

  set onUpdate(fn: TestFrameworkOptions['onUpdate']) {
    this.hook = fn
  }

  private onEvent(ev: SchedulerEvent): void {
    switch (ev.type) {
      case 'OFFERS':
        for (const o of ev.offers?.offers ?? []) this.offers.set(o.id.value, o)
        return
      case 'RESCIND':
        if (ev.rescind) this.offers.delete(ev.rescind.offer_id.value)
        return
      case 'UPDATE': {
        const st = ev.update?.status
        if (!st) return
        const pid = st.container_status?.executor_pid
        if (typeof pid === 'number') executorGroups.add(pid)
        // Hooks and ACKs run in arrival order; the update is recorded once its hook has looked at the world.
        this.chain = this.chain.then(async () => {
          await Promise.resolve(this.hook?.(st)).catch((e: unknown) => this.errors.push(`onUpdate: ${String(e)}`))
          this.updates.push(st)
          this.opts.log?.(
            `UPDATE ${st.task_id.value} ${st.state}${st.reason ? ` ${st.reason}` : ''}${st.message ? `: ${st.message.split('\n')[0]}` : ''}`,
          )
          if ((this.opts.autoAck ?? true) && st.uuid && st.agent_id) {
            await this.client.acknowledge(st.agent_id, st.task_id, st.uuid).then(
              () => void this.acked.push(st.uuid!),
              (e: unknown) => void this.errors.push(`ACK ${st.task_id.value} ${st.state}: ${String(e)}`),
            )
          }
        })
        return
      }
      case 'MESSAGE':
        if (ev.message)
          this.messages.push({agentId: ev.message.agent_id.value, executorId: ev.message.executor_id.value, data: ev.message.data})
        return
      case 'FAILURE':
        if (ev.failure) this.failures.push(ev.failure)
        this.opts.log?.(`FAILURE ${JSON.stringify(ev.failure)}`)
        return
      case 'ERROR':
        this.errors.push(ev.error?.message ?? '?')
        return
      default:
    }
  }

  /** The outstanding offers (not yet used or rescinded). */
  currentOffers(): Offer[] {
    return [...this.offers.values()]
  }

  /** Waits for outstanding offers from `agentId`; returns them merged into one (see mergeOffers). */
  async offerFor(agentId: string, timeoutMs = 15_000): Promise<Offer> {
    const offers = (await waitFor(
      `an offer from agent ${agentId}`,
      () => {
        const mine = this.currentOffers().filter((o) => o.agent_id.value === agentId)
        return mine.length > 0 ? mine : undefined
      },
      timeoutMs,
      20,
    ))!
    return mergeOffers(offers)
  }

  /** Waits until outstanding offers come from `n` distinct agents; returns one merged offer per agent
   * (sorted by hostname). */
  async offersFromAgents(n: number, timeoutMs = 15_000): Promise<Offer[]> {
    const groups = (await waitFor(
      `offers from ${n} agents`,
      () => {
        const byAgent = new Map<string, Offer[]>()
        for (const o of this.currentOffers()) byAgent.set(o.agent_id.value, [...(byAgent.get(o.agent_id.value) ?? []), o])
        return byAgent.size >= n ? [...byAgent.values()] : undefined
      },
      timeoutMs,
      20,
    ))!
    return groups
      .map(mergeOffers)
      .sort((a, b) => a.hostname.localeCompare(b.hostname))
      .slice(0, n)
  }

  /** ACCEPT `offer` with one LAUNCH of `tasks` (the offer is used up; the rest comes back in a later offer). */
  async launch(offer: Offer, tasks: TaskInfo[]): Promise<void> {
    const ids = mergedIds.get(offer) ?? [offer.id]
    for (const id of ids) this.offers.delete(id.value)
    await this.client.accept(ids, [{type: 'LAUNCH', launch: {task_infos: tasks}}], {refuse_seconds: 0})
  }

  updatesOf(taskId: string): TaskStatus[] {
    return this.updates.filter((u) => u.task_id.value === taskId)
  }
  statesOf(taskId: string): TaskState[] {
    return this.updatesOf(taskId).map((u) => u.state)
  }

  /** Waits for an update of `taskId` in one of `states`; returns the first such update. */
  async waitForState(taskId: string, states: TaskState | TaskState[], timeoutMs = 30_000): Promise<TaskStatus> {
    const want = Array.isArray(states) ? states : [states]
    return (await waitFor(
      `${taskId} to reach ${want.join('|')} (so far: ${this.statesOf(taskId).join(',') || 'nothing'})`,
      () => this.updatesOf(taskId).find((u) => want.includes(u.state)),
      timeoutMs,
      20,
    ))!
  }

  /** Waits for a FAILURE event of `executorId`. */
  async waitForFailure(executorId: string, timeoutMs = 30_000): Promise<Failure> {
    return (await waitFor(
      `FAILURE of executor ${executorId}`,
      () => this.failures.find((f) => f.executor_id?.value === executorId),
      timeoutMs,
      20,
    ))!
  }

  /** Waits for one message matching `pred` (decoded by the caller). */
  async waitForMessage(what: string, pred: (m: ReceivedMessage) => boolean, timeoutMs = 30_000): Promise<ReceivedMessage> {
    return (await waitFor(what, () => this.messages.find(pred), timeoutMs, 20))!
  }

  kill(taskId: string, agentId: string, gracePeriodMs?: number): Promise<void> {
    return this.client.kill(
      {value: taskId},
      {value: agentId},
      gracePeriodMs === undefined ? undefined : {grace_period: {nanoseconds: gracePeriodMs * 1e6}},
    )
  }

  message(agentId: string, executorId: string, data: string): Promise<void> {
    return this.client.message({value: agentId}, {value: executorId}, data)
  }

  async stop(): Promise<void> {
    await this.client.stop()
    await this.detector.close()
  }
}

// ---------------------------------------------------------------------------------------------- resources

/** The offer ids behind a merged offer (launch() accepts all of them). */
const mergedIds = new WeakMap<Offer, OfferID[]>()

/**
 * Several outstanding offers of one agent as one (like a scheduler aggregating offers): scalars of the same
 * name and role summed, ranges concatenated; ACCEPTing it accepts every underlying offer. One offer is
 * returned as is.
 */
export function mergeOffers(offers: Offer[]): Offer {
  const first = offers[0]
  if (!first) throw new Error('mergeOffers: no offers')
  if (offers.length === 1) return first
  if (offers.some((o) => o.agent_id.value !== first.agent_id.value)) throw new Error('mergeOffers: offers of different agents')
  const out = new Map<string, Resource>()
  for (const r of offers.flatMap((o) => o.resources)) {
    const k = `${r.name}\u0000${r.role ?? ''}\u0000${r.type}`
    const have = out.get(k)
    if (!have) out.set(k, {...r})
    else if (r.type === 'SCALAR') have.scalar = {value: Math.round(((have.scalar?.value ?? 0) + (r.scalar?.value ?? 0)) * 1000) / 1000}
    else if (r.type === 'RANGES') have.ranges = {range: [...(have.ranges?.range ?? []), ...(r.ranges?.range ?? [])]}
  }
  const merged: Offer = {...first, resources: [...out.values()]}
  mergedIds.set(
    merged,
    offers.map((o) => o.id),
  )
  return merged
}

function scalar(offer: Offer, name: string, value: number): Resource {
  const r = offer.resources.find((x) => x.name === name && x.type === 'SCALAR')
  if (!r || (r.scalar?.value ?? 0) < value) throw new Error(`offer ${offer.id.value} has no ${value} ${name}`)
  return {...r, scalar: {value}}
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, host, () => srv.close(() => resolve(true)))
  })
}

/** `n` ports from the offer's ranges that nothing listens on at `host` right now (random start, to avoid
 * colliding with other tests running on the same machine). */
export async function pickPorts(offer: Offer, n: number, host = offer.hostname): Promise<number[]> {
  const r = offer.resources.find((x) => x.name === 'ports' && x.type === 'RANGES')
  const all = (r?.ranges?.range ?? []).flatMap((g) => Array.from({length: g.end - g.begin + 1}, (_, i) => g.begin + i))
  const start = Math.floor(Math.random() * all.length)
  const out: number[] = []
  for (let i = 0; i < all.length && out.length < n; i++) {
    const p = all[(start + i) % all.length]!
    if (await isFree(host, p)) out.push(p)
  }
  if (out.length < n) throw new Error(`offer ${offer.id.value} has no ${n} free ports`)
  return out
}

/** Resources cut out of `offer` (role and allocation_info kept): cpus, mem, optional disk and ports. */
export function resourcesFrom(offer: Offer, want: {cpus: number; mem: number; disk?: number; ports?: number[]}): Resource[] {
  const out = [scalar(offer, 'cpus', want.cpus), scalar(offer, 'mem', want.mem)]
  if (want.disk !== undefined) out.push(scalar(offer, 'disk', want.disk))
  if (want.ports && want.ports.length > 0) {
    const r = offer.resources.find((x) => x.name === 'ports' && x.type === 'RANGES')
    if (!r) throw new Error(`offer ${offer.id.value} has no ports`)
    out.push({...r, ranges: {range: want.ports.map((p) => ({begin: p, end: p}))}})
  }
  return out
}

/** ExecutorInfo running `etcd-mesos executor` (node bin/run.js executor, no shell) with small resources. */
export function etcdMesosExecutor(executorId: string, offer: Offer): ExecutorInfo {
  return {
    executor_id: {value: executorId},
    type: 'CUSTOM',
    name: `etcd-mesos executor ${executorId}`,
    command: {value: process.execPath, shell: false, arguments: [process.execPath, path.join(REPO_ROOT, 'bin/run.js'), 'executor']},
    resources: resourcesFrom(offer, {cpus: 0.05, mem: 32}),
  }
}
