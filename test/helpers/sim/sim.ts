/**
 * A deterministic in-memory world for scenario tests of the core (and of drivers): fake Mesos
 * agents/offers/tasks/executors answering the core's actions with events, plus fake timers driven by
 * `advance`. The fake etcd membership with quorum rules is the base class, SimEtcd (sim-etcd.ts).
 * Pure (no I/O, no real clock).
 */
import type {Offer, TaskState, TaskStatus} from '../../../src/lib/mesos/types.js'
import {decodeFrameworkMessage, encodeFrameworkMessage, parseMemberConfig, type MemberConfig} from '../../../src/lib/member-config.js'
import type {SchedulerAction} from '../../../src/scheduler/core/actions.js'
import type {SchedulerConfigInput} from '../../../src/scheduler/core/config.js'
import {resolveConfig} from '../../../src/scheduler/core/config.js'
import type {SchedulerEvent, TimerName} from '../../../src/scheduler/core/events.js'
import {initialState, parsePersistedDoc, serializePersistedDoc, type PersistedDoc} from '../../../src/scheduler/core/persist.js'
import type {SchedulerState} from '../../../src/scheduler/core/state.js'
import {step} from '../../../src/scheduler/core/step.js'
import {SimEtcd, type SimMember} from './sim-etcd.js'

export type {SimMember} from './sim-etcd.js'

export interface SimAgent {
  agentId: string
  hostname: string
  ports: [number, number][]
  up: boolean
}
export interface SimTask {
  taskId: string
  agentId: string
  cfg: MemberConfig
  state: TaskState
}

export class World extends SimEtcd {
  state: SchedulerState
  readonly agents = new Map<string, SimAgent>()
  readonly tasks = new Map<string, SimTask>()
  readonly timers = new Map<TimerName, number>()
  readonly actions: SchedulerAction[] = []
  readonly events: SchedulerEvent[] = []
  private readonly queue: SchedulerEvent[] = []
  private readonly outstanding = new Map<string, string>()
  suppressed = false
  /** Answer actions automatically (false: only record them). */
  respond = true
  /** Task ids whose explicit reconciliation gets no answer (agent recovering). */
  readonly reconcileSilent = new Set<string>()
  /** Task ids whose executor ignores the reseed MESSAGE. */
  readonly reseedIgnores = new Set<string>()
  /** Record reseed MESSAGEs without delivering them. */
  holdMessages = false
  /** Task ids whose executor re-seeds but never reports 'done'. */
  readonly reseedNoReport = new Set<string>()
  /** Task ids whose executor refuses a non-forced re-seed (a linearizable read through its member succeeds). */
  readonly reseedRefuses = new Set<string>()
  persisted: PersistedDoc | null = null
  /** Called after each step with the state before, the event and the state after (event-log tests). */
  onStep: ((prev: SchedulerState, ev: SchedulerEvent, next: SchedulerState) => void) | null = null
  fatal: SchedulerAction | null = null
  private nextOffer = 1
  private nextUuid = 1

  constructor(
    public configInput: SchedulerConfigInput,
    agents: number | SimAgent[],
    opts: {seed?: number; now?: number} = {},
  ) {
    super()
    this.now = opts.now ?? 1_000_000
    this.state = initialState(resolveConfig(configInput), opts.seed ?? 7)
    const list =
      typeof agents === 'number'
        ? Array.from(
            {length: agents},
            (_, i): SimAgent => ({
              agentId: `S${i + 1}`,
              hostname: `agent${i + 1}.test`,
              ports: [[31000 + i * 100, 31000 + i * 100 + 10]],
              up: true,
            }),
          )
        : agents
    for (const a of list) this.agents.set(a.agentId, a)
  }

  /** Feeds one event and every event the world produces in answer (no time passes). */
  feed(ev: SchedulerEvent): SchedulerAction[] {
    const start = this.actions.length
    this.queue.push(ev)
    let n = 0
    while (this.queue.length > 0) {
      if (++n > 5000)
        throw new Error(`sim: more than 5000 events without time passing (feedback loop?) last: ${JSON.stringify(this.events.slice(-3))}`)
      const e = this.queue.shift()!
      this.observeUp()
      this.events.push(e)
      const r = step(this.state, e, this.now)
      this.onStep?.(this.state, e, r.state)
      this.state = r.state
      for (const a of r.actions) {
        this.actions.push(a)
        if (this.respond) this.handle(a)
        else if (a.type === 'SET_TIMER') this.timers.set(a.name, a.atMs)
      }
    }
    return this.actions.slice(start)
  }

  start(doc: PersistedDoc | null = null): SchedulerAction[] {
    return this.feed({type: 'PersistedStateLoaded', doc})
  }

  /** Restart the scheduler process: fresh state from the last PERSISTed document (JSON round trip). */
  restart(seed = 99, patch: Partial<SchedulerConfigInput> = {}): SchedulerAction[] {
    this.configInput = {...this.configInput, ...patch}
    this.state = initialState(resolveConfig(this.configInput), seed)
    this.timers.clear()
    this.outstanding.clear()
    const doc = this.persisted ? parsePersistedDoc(serializePersistedDoc(this.persisted)) : null
    return this.start(doc)
  }

  /** Lets `ms` pass, firing due timers in order; offers all free agents after each timer unless suppressed. */
  advance(ms: number, opts: {offers?: boolean} = {}): void {
    const target = this.now + ms
    for (;;) {
      const due = [...this.timers].filter(([, at]) => at <= target).sort((a, b) => a[1] - b[1])[0]
      if (!due) break
      this.timers.delete(due[0])
      this.observeUp()
      this.now = Math.max(this.now, due[1])
      this.feed({type: 'TimerFired', name: due[0]})
      if (opts.offers !== false && !this.suppressed) this.offerAll()
    }
    this.observeUp()
    this.now = target
  }

  offerAll(): SchedulerAction[] {
    const offers: Offer[] = []
    for (const a of this.agents.values()) {
      if (!a.up || [...this.outstanding.values()].includes(a.agentId)) continue
      const id = `O${this.nextOffer++}`
      this.outstanding.set(id, a.agentId)
      offers.push(simOffer(id, a))
    }
    return offers.length > 0 ? this.feed({type: 'Offers', offers}) : []
  }

  uuid(): string {
    const b = Buffer.alloc(16)
    b.writeUInt32BE(this.nextUuid++, 12)
    b[6] = 0x40
    return b.toString('base64')
  }

  update(taskId: string, state: TaskState, extra: Partial<TaskStatus> = {}): SchedulerAction[] {
    const t = this.tasks.get(taskId)
    if (t) t.state = state
    return this.feed({
      type: 'Update',
      status: {
        task_id: {value: taskId},
        state,
        agent_id: {value: t?.agentId ?? 'S?'},
        uuid: this.uuid(),
        source: 'SOURCE_EXECUTOR',
        ...extra,
      },
    })
  }

  failTask(taskId: string, state: TaskState = 'TASK_FAILED'): SchedulerAction[] {
    this.stopProcess(taskId)
    return this.update(taskId, state, {source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED'})
  }

  loseAgent(agentId: string): void {
    this.loseAgents([agentId])
  }

  /** Agents die at the same moment (their etcd members stop before the scheduler hears of it). */
  loseAgents(agentIds: string[]): void {
    for (const agentId of agentIds) {
      this.agents.get(agentId)!.up = false
      for (const t of this.tasks.values()) {
        if (t.agentId === agentId && t.state === 'TASK_RUNNING') this.stopProcess(t.taskId)
      }
    }
    for (const agentId of agentIds) {
      for (const [id, ag] of [...this.outstanding])
        if (ag === agentId) {
          this.outstanding.delete(id)
          this.feed({type: 'Rescind', offerId: id})
        }
      for (const t of this.tasks.values()) {
        if (t.agentId !== agentId || t.state !== 'TASK_RUNNING') continue
        t.state = 'TASK_LOST'
        this.feed({
          type: 'Update',
          status: {
            task_id: {value: t.taskId},
            state: 'TASK_LOST',
            agent_id: {value: agentId},
            source: 'SOURCE_MASTER',
            reason: 'REASON_AGENT_REMOVED',
            message: 'health check timed out',
          },
        })
      }
      this.feed({type: 'Failure', agentId})
    }
  }

  reregisterAgent(agentId: string): void {
    this.agents.get(agentId)!.up = true
    for (const t of this.tasks.values()) {
      if (t.agentId !== agentId || t.state !== 'TASK_LOST') continue
      t.state = 'TASK_RUNNING'
      const m = this.memberOfTask(t.taskId)
      if (m) m.alive = true
      this.feed({
        type: 'Update',
        status: {
          task_id: {value: t.taskId},
          state: 'TASK_RUNNING',
          agent_id: {value: agentId},
          source: 'SOURCE_MASTER',
          reason: 'REASON_AGENT_REREGISTERED',
          message: 'Unreachable agent re-reregistered',
        },
      })
    }
  }

  memberOfTask(taskId: string): SimMember | undefined {
    const t = this.tasks.get(taskId)
    return t ? this.members.find((m) => m.peerUrl === `http://${t.cfg.member.host}:${t.cfg.member.peerPort}`) : undefined
  }

  /** The task's etcd process stops (its member, and a removed member still shutting down, on its peer URL). */
  stopProcess(taskId: string): void {
    const m = this.memberOfTask(taskId)
    if (m) m.alive = false
    const t = this.tasks.get(taskId)
    const url = t ? `http://${t.cfg.member.host}:${t.cfg.member.peerPort}` : undefined
    for (const r of this.removed) if (r.member.peerUrl === url) r.member.alive = false
  }

  liveTasks(): SimTask[] {
    return [...this.tasks.values()].filter((t) => ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(t.state))
  }

  private reply(ev: SchedulerEvent): void {
    this.queue.push(ev)
  }

  private handle(a: SchedulerAction): void {
    switch (a.type) {
      case 'SUBSCRIBE':
        return this.reply({type: 'Subscribed', frameworkId: a.frameworkId ?? 'fw-1'})
      case 'SET_TIMER':
        this.timers.set(a.name, a.atMs)
        return
      case 'PERSIST':
        this.persisted = parsePersistedDoc(serializePersistedDoc(a.doc))
        return
      case 'FATAL':
        this.fatal = a
        return
      case 'SUPPRESS':
        this.suppressed = true
        return
      case 'REVIVE':
        this.suppressed = false
        return
      case 'DECLINE':
        for (const id of a.offerIds) this.outstanding.delete(id)
        return
      case 'ACCEPT':
        return this.accept(a)
      case 'KILL':
        return this.kill(a.taskId)
      case 'RECONCILE':
        return this.reconcile(a.tasks.map((t) => t.taskId))
      case 'MESSAGE':
        return this.holdMessages ? undefined : this.message(a.executorId, a.data)
      default: {
        const ev = this.answerEtcd(a)
        if (ev) this.reply(ev)
      }
    }
  }

  private accept(a: Extract<SchedulerAction, {type: 'ACCEPT'}>): void {
    for (const id of a.offerIds) this.outstanding.delete(id)
    for (const op of a.operations) {
      for (const ti of op.launch?.task_infos ?? []) {
        const cfg = parseMemberConfig(ti.data)
        const t: SimTask = {taskId: ti.task_id.value, agentId: ti.agent_id.value, cfg, state: 'TASK_STAGING'}
        this.tasks.set(t.taskId, t)
        if (cfg.initialClusterState === 'new') {
          for (const p of cfg.initialCluster) {
            if (!this.members.some((m) => m.peerUrl === p.peerUrl)) this.addMember(p.peerUrl, p.name, false)
          }
        }
        const m = this.memberOfTask(t.taskId)
        if (!m) {
          t.state = 'TASK_FAILED'
          this.reply({
            type: 'Update',
            status: {
              task_id: ti.task_id,
              state: 'TASK_FAILED',
              agent_id: ti.agent_id,
              uuid: this.uuid(),
              source: 'SOURCE_EXECUTOR',
              message: 'member was not added',
            },
          })
          continue
        }
        m.name = cfg.member.name
        m.clientUrl = `http://${cfg.member.host}:${cfg.member.clientPort}`
        m.started = true
        m.alive = true
        t.state = 'TASK_RUNNING'
        // like the executor: STARTING/RUNNING carry {"dataDir"} (the sandbox is /sandbox/<task id> here)
        const dataDir = cfg.dataDir?.startsWith('/') ? cfg.dataDir : `/sandbox/${t.taskId}/${cfg.dataDir ?? 'etcd_data'}`
        const data = Buffer.from(JSON.stringify({dataDir})).toString('base64')
        this.reply({
          type: 'Update',
          status: {task_id: ti.task_id, state: 'TASK_STARTING', agent_id: ti.agent_id, uuid: this.uuid(), source: 'SOURCE_EXECUTOR', data},
        })
        this.reply({
          type: 'Update',
          status: {task_id: ti.task_id, state: 'TASK_RUNNING', agent_id: ti.agent_id, uuid: this.uuid(), source: 'SOURCE_EXECUTOR', data},
        })
      }
    }
  }

  private kill(taskId: string): void {
    const t = this.tasks.get(taskId)
    if (!t || !['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(t.state)) {
      return this.reply({
        type: 'Update',
        status: {
          task_id: {value: taskId},
          state: 'TASK_LOST',
          source: 'SOURCE_MASTER',
          reason: 'REASON_RECONCILIATION',
          message: 'Reconciliation: Task is unknown',
        },
      })
    }
    t.state = 'TASK_KILLED'
    this.stopProcess(taskId)
    this.reply({
      type: 'Update',
      status: {task_id: {value: taskId}, state: 'TASK_KILLED', agent_id: {value: t.agentId}, uuid: this.uuid(), source: 'SOURCE_EXECUTOR'},
    })
  }

  private reconcile(ids: string[]): void {
    const list = ids.length > 0 ? ids : this.liveTasks().map((t) => t.taskId)
    for (const id of list) {
      if (this.reconcileSilent.has(id)) continue
      const t = this.tasks.get(id)
      this.reply({
        type: 'Update',
        status: {
          task_id: {value: id},
          state: t?.state ?? 'TASK_LOST',
          ...(t ? {agent_id: {value: t.agentId}} : {}),
          source: 'SOURCE_MASTER',
          reason: 'REASON_RECONCILIATION',
          message: 'Reconciliation: Latest task state',
        },
      })
    }
  }

  private message(executorId: string, data: string): void {
    const msg = decodeFrameworkMessage(data)
    const t = this.tasks.get(executorId)
    if (msg?.type !== 'reseed' || !t || this.reseedIgnores.has(executorId)) return
    if (this.reseedRefuses.has(executorId) && msg.force !== true) {
      const refusal = "refused: this member's cluster has a working quorum (a linearizable read through it succeeded)"
      for (const step of ['accepted', 'failed'] as const) {
        this.reply({
          type: 'FrameworkMessage',
          agentId: t.agentId,
          executorId,
          data: encodeFrameworkMessage({type: 'reseed-progress', op: msg.op, step, ...(step === 'failed' ? {message: refusal} : {})}),
        })
      }
      return
    }
    const m = this.memberOfTask(executorId)
    if (!m?.alive) return
    this.members = [m] // --force-new-cluster: a one-member cluster keeping the member id
    if (this.reseedNoReport.has(executorId)) return
    this.reply({
      type: 'FrameworkMessage',
      agentId: t.agentId,
      executorId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op: msg.op, step: 'done'}),
    })
  }

  actionsOf<T extends SchedulerAction['type']>(type: T, from = 0): Extract<SchedulerAction, {type: T}>[] {
    return this.actions.slice(from).filter((a): a is Extract<SchedulerAction, {type: T}> => a.type === type)
  }
}

export function simOffer(id: string, a: {agentId: string; hostname: string; ports: [number, number][]}): Offer {
  return {
    id: {value: id},
    framework_id: {value: 'fw-1'},
    agent_id: {value: a.agentId},
    hostname: a.hostname,
    resources: [
      {name: 'cpus', type: 'SCALAR', scalar: {value: 4}, role: '*'},
      {name: 'mem', type: 'SCALAR', scalar: {value: 8192}, role: '*'},
      {name: 'disk', type: 'SCALAR', scalar: {value: 20000}, role: '*'},
      {name: 'ports', type: 'RANGES', ranges: {range: a.ports.map(([begin, end]) => ({begin, end}))}, role: '*'},
    ],
  }
}
