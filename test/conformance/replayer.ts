/**
 * Step replayer: drives a recorded real-Mesos scenario (fixtures.ts) against our local Mesos and collects every
 * difference a client could see (matcher.ts). Nothing is asserted here; tests assert on `Replayer.mismatches`.
 *
 * Timeline: every scheduler/operator request step is an entry at its `at_ms`, plus one entry per stream the
 * recording client closed itself (`closed_at_ms`) and one per test-harness / zookeeper-client step (handled by
 * the test's hook). Entries run in fixture-time order. Before an entry at fixture time t runs, every record the
 * real master had sent by t (record_at_ms ≤ t) must have arrived on our side (the "barrier"; a record that does
 * not come within `barrierTimeoutMs` after its scaled due time is reported missing). Pacing: gaps between
 * entries are kept, multiplied by `scale`; a step sent within EVENT_TRIGGERED_MS of the record before it is a
 * reaction and runs at once; whenever we run late (slow process start), the schedule is re-anchored.
 *
 * What is compared:
 *   - each response: status, the headers clients use (records.ts `compareHeaders`), and the body (text with
 *     placeholders, or JSON structure and values);
 *   - each stream record: paired with the real record of the same identity (type, task id, state, reason; a
 *     resend only with a resend of the same uuid), then compared field by field. ORDER: (a) the segment — which
 *     request steps it came between — is checked against the steps that bear on it (for a task update: steps
 *     naming the task; for an offer: steps about its agent at least one real allocation interval earlier);
 *     (b) fixture order among the updates of one task; (c) for timer-driven records (re-offers after refuse
 *     filters, update resends) our delay must be at least half the scaled real one. Extra and missing records
 *     are reported;
 *   - offers one by one, not per OFFERS event, and resource by resource: a periodic allocator may split one
 *     real offer into two of ours or merge two (requests naming a real offer then name all our pieces);
 *   - HEARTBEATs: the first right after SUBSCRIBED, then one per configured interval (ratio check);
 *   - stream ends: closed by the master where real Mesos closed it; one HTTP chunk per RecordIO record.
 * Each mismatch has an owner: `agent` for what the agent/executor side produces (updates with
 * SOURCE_EXECUTOR/SOURCE_AGENT, FAILURE with an executor, answers of an agent), `master` otherwise.
 */
import {encode} from '../../src/lib/mesos/codec.js'
import type {Resource} from '../../src/lib/mesos/types.js'
import {containsResources, isEmptyResources, subtractResources} from '../../src/mesos-local/resources.js'
import {headerOf, type Fixture, type FixtureStep, type Json} from './fixtures.js'
import {send, type Reply, type Stream, type StreamRecord} from './http.js'
import {Bindings, compare, matchString, short, type CompareOptions} from './matcher.js'
import {compareHeaders, eventSummary, identities, oneOffer, omit, ownerOfRecord, taskOf, type Ev, type Mismatch, type Owner} from './records.js'

export {compareHeaders, eventSummary, mismatchText, ownerOfRecord, type Mismatch, type Owner} from './records.js'

export interface ReplayEnv {
  /** Base URLs ('http://ip:port') of our masters, for routing by port binding. */
  masters(): string[]
  /** Base URLs of our agents. */
  agents(): string[]
  /** Base URL of the current leading master (fallback route). */
  masterUrl(): string
}

export interface ReplayOptions {
  /** Fixture wall time → our wall time factor (the fixture's values are scaled by the loader). */
  scale: number
  /** Configured heartbeat interval of our master (seconds). */
  heartbeatSec: number
  /** Fixed routes: fixture `host:port` → our base URL (e.g. the two masters of scenario 10). */
  routes?: Record<string, () => string>
  /** Hook for test-harness and zookeeper-client steps. */
  hook?: (step: FixtureStep, r: Replayer) => Promise<void>
  barrierTimeoutMs?: number
  compare?: CompareOptions
  log?: (line: string) => void
}

/**
 * One real record to be matched. An OFFERS event is split into one unit per offer (`offer` = its index): the
 * grouping of offers into events and their order inside an event depend on allocation timing.
 */
interface Expected {
  i: number
  rec: Json
  offer?: number
  /** For an offer: the part of its resources not yet covered by our offers (ours may split or merge them). */
  remaining?: Resource[]
  /** For an offer: how many of our offers covered part of it so far. */
  pieces?: number
  at: number
  seg: number
  matched: boolean
  missing: boolean
}

interface StreamState {
  step: FixtureStep
  label: string
  expected: Expected[]
  stream: Stream
  heartbeats: number[]
  /** Our record indexes (excluding heartbeats) in arrival order, for order checks per task. */
  lastIndexByTask: Map<string, number>
}

interface Entry {
  kind: 'send' | 'close' | 'hook'
  at: number
  step: FixtureStep
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)))

/** Scaled delays from which the "not much sooner than real Mesos" ratio check applies (ms). */
const MIN_RATIO_CHECKED_MS = 250

/** A request sent this soon (fixture ms) after the last record before it was a reaction to that record. */
const EVENT_TRIGGERED_MS = 20

/** --allocation_interval of the recorded masters (the Mesos default). */
const REAL_ALLOCATION_INTERVAL_MS = 1000


export class Replayer {
  readonly bindings = new Bindings()
  readonly mismatches: Mismatch[] = []
  readonly streams = new Map<number, StreamState>()
  /** Replies by step seq. */
  readonly replies = new Map<number, Reply>()
  /**
   * Real offer id → our offer ids that also hold part of it (when our allocator split or merged offers
   * differently); requests naming the real offer name all of them.
   */
  private readonly offerPieces = new Map<string, string[]>()
  private entries: Entry[] = []
  /** The send/hook entries (the segment boundaries; closing a stream is not one). */
  private boundaries: Entry[] = []
  /** Boundaries passed so far = our current segment. */
  private executed = 0
  /** Date.now() when each boundary ran. */
  private readonly boundaryWall: number[] = []
  private anchor = {fx: 0, wall: 0}
  private readonly opts: Required<Omit<ReplayOptions, 'routes' | 'hook' | 'compare' | 'log'>> & ReplayOptions

  constructor(readonly fixture: Fixture, readonly env: ReplayEnv, opts: ReplayOptions) {
    this.opts = {barrierTimeoutMs: 5000, ...opts}
  }

  private log(line: string): void {
    this.opts.log?.(`[${this.fixture.file}] ${line}`)
  }

  report(where: string, what: string, owner: Owner): void {
    this.mismatches.push({where, what, owner})
    this.log(`MISMATCH (${owner}) ${where}: ${what}`)
  }

  /** Fixture-side label of a step. */
  static label(step: FixtureStep): string {
    return `#${step.seq} ${step.label}`
  }

  private buildTimeline(): void {
    const entries: Entry[] = []
    for (const step of this.fixture.steps) {
      if (step.actor === 'executor') continue
      if (step.actor === 'test-harness' || step.actor === 'zookeeper-client') entries.push({kind: 'hook', at: step.at_ms, step})
      else entries.push({kind: 'send', at: step.at_ms, step})
      if (step.streaming && step.response?.closed === 'by_client' && step.response.closed_at_ms !== undefined) {
        entries.push({kind: 'close', at: step.response.closed_at_ms, step})
      }
    }
    this.entries = entries.map((e, i) => ({e, i})).sort((a, b) => a.e.at - b.e.at || a.i - b.i).map((x) => x.e)
    this.boundaries = this.entries.filter((e) => e.kind !== 'close')
  }

  /** Segment of a real record: how many request/hook steps real Mesos had seen before sending it. */
  private segmentOf(at: number, openedBy: FixtureStep): number {
    const opener = this.boundaries.findIndex((e) => e.kind === 'send' && e.step === openedBy)
    const seg = this.boundaries.filter((e) => e.at < at).length
    return Math.max(seg, opener + 1)
  }

  /** Runs the whole scenario. */
  async run(): Promise<void> {
    this.buildTimeline()
    this.anchor = {fx: this.entries[0]?.at ?? 0, wall: Date.now()}
    for (let idx = 0; idx < this.entries.length; idx++) {
      const entry = this.entries[idx]!
      await this.barrier(entry.at, `before ${Replayer.label(entry.step)}`)
      await this.pace(entry.at)
      if (entry.kind !== 'close') {
        this.executed = this.boundaries.indexOf(entry) + 1
        this.boundaryWall[this.executed - 1] = Date.now()
      }
      if (entry.kind === 'send') await this.sendStep(entry.step)
      else if (entry.kind === 'close') this.closeStream(entry.step)
      else if (this.opts.hook) await this.opts.hook(entry.step, this)
      else this.report(Replayer.label(entry.step), 'no hook for this step', 'master')
      this.reanchor(entry.at)
    }
    await this.barrier(Number.POSITIVE_INFINITY, 'at the end of the scenario')
    await this.finishStreams()
  }

  private reanchor(fxAt: number): void {
    const predicted = this.anchor.wall + (fxAt - this.anchor.fx) * this.opts.scale
    if (Date.now() > predicted) this.anchor = {fx: fxAt, wall: Date.now()}
  }

  private async pace(fxAt: number): Promise<void> {
    const target = this.anchor.wall + (fxAt - this.anchor.fx) * this.opts.scale
    await sleep(target - Date.now())
  }

  /** Waits until every real record with record_at_ms ≤ t has a counterpart on our side. */
  private async barrier(t: number, when: string): Promise<void> {
    const due = (): {s: StreamState; e: Expected}[] => [...this.streams.values()].flatMap((s) =>
      s.expected.filter((e) => !e.matched && !e.missing && e.at <= t).map((e) => ({s, e})))
    if (due().length === 0) return
    const maxAt = Math.max(...due().map((d) => d.e.at))
    // Wait from the (scaled) time real Mesos sent the last of them, plus the timeout.
    const predicted = Number.isFinite(maxAt) ? this.anchor.wall + (maxAt - this.anchor.fx) * this.opts.scale : 0
    const deadline = Math.max(Date.now(), predicted) + this.opts.barrierTimeoutMs
    while (due().length > 0 && Date.now() < deadline) await sleep(5)
    for (const {s, e} of due()) {
      e.missing = true
      this.report(`${s.label} R${e.i}`, `missing ${eventSummary(e.rec)} (real Mesos sent it ${when}; waited ${this.opts.barrierTimeoutMs} ms)`, ownerOfRecord(e.rec))
    }
    if (!Number.isFinite(maxAt)) return
    // A step sent right after a record (within EVENT_TRIGGERED_MS) was triggered by it: run it now, not on the clock.
    if (t - maxAt <= EVENT_TRIGGERED_MS) this.anchor = {fx: maxAt, wall: Date.now()}
    else this.reanchor(maxAt)
  }

  /** Where a step's request goes: fixed route, else the port binding of its Host header, else the leader. */
  route(step: FixtureStep): string {
    const host = headerOf(step.request?.headers, 'Host')
    if (host !== undefined) {
      const fixed = this.opts.routes?.[host]
      if (fixed) return fixed()
      const port = this.bindings.port(host.split(':')[1] ?? '')
      if (port !== undefined) {
        const hit = [...this.env.masters(), ...this.env.agents()].find((u) => Number(new URL(u).port) === port)
        if (hit) return hit
      }
    }
    return this.env.masterUrl()
  }

  /** Rewrites fixture ids in a request body; `offer_ids` lists also get our extra offers (see offerPieces). */
  private rewriteBody(body: Json): Json {
    const expand = (v: Json): Json => {
      if (Array.isArray(v)) return v.map(expand)
      if (v === null || typeof v !== 'object') return v
      const out: {[k: string]: Json} = {}
      for (const [k, x] of Object.entries(v)) {
        if (k === 'offer_ids' && Array.isArray(x)) {
          const ids = x.flatMap((o) => {
            const id = String((o as {value?: string}).value)
            const ours = this.bindings.get('id', id)
            return [...(ours !== undefined ? [ours] : this.offerPieces.has(id) ? [] : [id]), ...(this.offerPieces.get(id) ?? [])]
          })
          out[k] = [...new Set(ids)].map((value) => ({value}))
        } else {
          out[k] = expand(x)
        }
      }
      return out
    }
    return this.bindings.rewriteJson(expand(body))
  }

  private requestBody(step: FixtureStep): string | Buffer | undefined {
    const req = step.request!
    if (req.bodyJson !== undefined) {
      const name = req.path.endsWith('/scheduler') ? 'scheduler.Call' : 'master.Call'
      return encode(name, this.rewriteBody(req.bodyJson) as object, 'application/x-protobuf')
    }
    if (req.body_format === 'json') return JSON.stringify(this.rewriteBody(req.body as Json))
    if (req.body_format === 'text') return String(req.body)
    if (req.body_format === 'base64') return Buffer.from(String(req.body), 'base64')
    return req.method === 'GET' ? undefined : ''
  }

  private async sendStep(step: FixtureStep): Promise<void> {
    const req = step.request!
    const label = Replayer.label(step)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers ?? {})) if (k !== 'Host' && k !== 'Content-Length') headers[k] = this.bindings.rewrite(v)
    const base = this.route(step)
    const owner: Owner = this.env.agents().includes(base) ? 'agent' : 'master'
    this.log(`SEND ${label}`)
    let reply: Reply
    try {
      reply = await send(base, req.method ?? 'GET', this.bindings.rewrite(req.path), headers, this.requestBody(step))
    } catch (err) {
      if (step.response?.status === null) return
      this.report(label, `request failed: ${String(err)}`, owner)
      return
    }
    this.replies.set(step.seq, reply)
    const res = step.response!
    if (res.status === null) {
      this.report(label, `real Mesos closed the connection without answering (${res.error ?? ''}); we answered ${reply.status}`, owner)
      return
    }
    if (reply.status !== res.status) this.report(label, `status ${reply.status} (body ${short(reply.body.toString('utf8'))}), real Mesos ${res.status}`, owner)
    this.compareHeaders(label, res.headers ?? {}, reply.headers, owner)
    if (step.streaming) {
      if (!reply.stream) {
        this.report(label, 'no event stream', owner)
        return
      }
      this.attachStream(step, reply.stream)
      return
    }
    this.compareBody(label, step, reply, owner)
  }

  private compareHeaders(label: string, want: Record<string, string>, got: Record<string, string>, owner: Owner): void {
    for (const msg of compareHeaders(want, got, this.bindings)) this.report(label, msg, owner)
  }

  private compareBody(label: string, step: FixtureStep, reply: Reply, owner: Owner): void {
    const res = step.response!
    const text = reply.body.toString('utf8')
    if (res.body_format === 'json') {
      let got: unknown
      try {
        got = JSON.parse(text)
      } catch {
        this.report(label, `body is not JSON: ${short(text)}`, owner)
        return
      }
      for (const d of compare(res.body, got, this.bindings, 'body', this.opts.compare)) this.report(label, `${d.where}: ${d.what}`, owner)
    } else if (res.body_format === 'text' || res.body_format === 'empty') {
      const err = matchString(String(res.body ?? ''), text, this.bindings)
      if (err) this.report(label, `body: ${err}`, owner)
    }
  }

  private attachStream(step: FixtureStep, stream: Stream): void {
    const res = step.response!
    const recs = res.records ?? []
    const at = res.record_at_ms ?? []
    const label = `stream ${Replayer.label(step)}`
    const s: StreamState = {
      step, label, stream, heartbeats: [], lastIndexByTask: new Map(),
      expected: recs.flatMap((rec, i): Expected[] => {
        const base = {i, at: at[i] ?? 0, seg: this.segmentOf(at[i] ?? 0, step), matched: false, missing: false}
        const ev = rec as Ev
        if (ev.type === 'HEARTBEAT') return []
        if (ev.type === 'OFFERS') return (ev.offers?.offers ?? []).map((o: Json, j: number) => ({...base, rec: oneOffer(o), offer: j}))
        return [{...base, rec}]
      }),
    }
    this.streams.set(step.seq, s)
    const onRecord = (r: StreamRecord): void => this.onRecord(s, r)
    for (const r of stream.records) onRecord(r)
    stream.onRecord = onRecord
  }

  private onRecord(s: StreamState, r: StreamRecord): void {
    const ev = r.event as Ev
    if (ev.type === 'HEARTBEAT') {
      s.heartbeats.push(r.at)
      return
    }
    if (ev.type === 'OFFERS') {
      for (const o of ev.offers?.offers ?? []) this.onOffer(s, o as Ev)
      return
    }
    this.onUnit(s, r.event)
  }

  /**
   * An offer of ours. Offers are made by a periodic allocator, so which resources of an agent end up in which
   * offer depends on when the allocation ran: ours may split one real offer in two, or merge two. So an offer is
   * matched against the real offers of its agent in order, resource by resource: it may cover part of a real
   * offer (the rest must follow) or a real offer and part of the next. Everything but the quantities (and
   * executor_ids, which follow the same timing) is compared on every piece; whole matches compare all.
   */
  private onOffer(s: StreamState, o: Ev): void {
    let left = (o.resources ?? []) as Resource[]
    let first = true
    while (!isEmptyResources(left)) {
      const e = this.pick(s, oneOffer(o as Json))
      if (!e) {
        const what = first ? '' : ' (the rest of an offer that covered real offers)'
        this.report(s.label, `unexpected ${eventSummary(oneOffer(o as Json))}${what} (arrived after ${this.stepBefore()}): ${short(o, 400)}`, 'master')
        return
      }
      const real = (e.rec as Ev).offers.offers[0] as Ev
      const remaining = e.remaining ?? (real.resources as Resource[])
      const where = `${s.label} R${e.i}.offers[${e.offer}] OFFERS`
      let part: Resource[]
      if (containsResources(remaining, left)) part = left
      else if (containsResources(left, remaining)) part = remaining
      else {
        this.report(where, `resources ${short(left)} do not fit the real offer's ${short(remaining)}`, 'master')
        part = left
      }
      const whole = e.remaining === undefined && first && part === left && containsResources(part, remaining)
      const realId = String(real.id.value)
      const ourId = String(o.id.value)
      const sameId = (e.pieces ?? 0) === 0 && first
      if ((e.pieces ?? 0) > 0) this.offerPieces.set(realId, [...(this.offerPieces.get(realId) ?? []), ourId])
      else if (!first) this.offerPieces.set(realId, [ourId])
      e.pieces = (e.pieces ?? 0) + 1
      e.remaining = subtractResources(remaining, part)
      if (isEmptyResources(e.remaining) || part === left && !containsResources(remaining, left)) e.matched = true
      if (first) this.checkTiming(s, e, where, 'master')
      const strip = (x: Ev): Ev => omit(x, sameId ? ['resources', 'executor_ids'] : ['resources', 'executor_ids', 'id'])
      const diffs = whole ? compare(real, o, this.bindings, '', this.opts.compare) : compare(strip(real), strip(o), this.bindings, '', this.opts.compare)
      for (const d of diffs) this.report(where, `${d.where || '.'}: ${d.what}`, 'master')
      if (!whole) {
        // Structure of the resources (names, types, roles, allocation_info) is still compared piece by piece.
        for (const r of part) {
          const twin = (real.resources as Resource[]).find((x) => x.name === r.name)
          const shape = (x: Resource): Record<string, unknown> => omit(x as unknown as Ev, ['scalar', 'ranges', 'set'])
          for (const d of compare(twin ? shape(twin) : undefined, shape(r), this.bindings, `.resources[${r.name}]`)) this.report(where, `${d.where}: ${d.what}`, 'master')
        }
      }
      left = part === left ? [] : subtractResources(left, part)
      first = false
    }
  }

  private checkTiming(s: StreamState, e: Expected, where: string, owner: Owner): void {
    if (e.missing) this.report(where, `arrived late (after ${this.stepBefore()})`, owner)
    else if (this.executed < e.seg && this.relevantStepBetween(e.rec, this.executed, e.seg)) {
      this.report(where, `arrived too early: before ${Replayer.label(this.boundaries[this.executed]!.step)}, real Mesos sent it after ${Replayer.label(this.boundaries[e.seg - 1]!.step)}`, owner)
    } else if (this.executed === e.seg && e.seg > 0 && this.boundaries[e.seg - 1]!.kind === 'send' && this.timerDriven(s, e)) {
      // Ratio check for records whose delay is a Mesos timer (refuse filters → re-offers, status update
      // resends): ours must not come in less than half the scaled delay. Delays that are process start-up
      // speed (task launch, agent restart) are not checked.
      const real = (e.at - this.boundaries[e.seg - 1]!.at) * this.opts.scale
      const ours = Date.now() - (this.boundaryWall[e.seg - 1] ?? Date.now())
      if (real >= MIN_RATIO_CHECKED_MS && ours < real / 2) {
        this.report(where, `came ${ours} ms after ${Replayer.label(this.boundaries[e.seg - 1]!.step)}; real Mesos took ${Math.round(real / this.opts.scale)} ms (${Math.round(real)} ms scaled)`, owner)
      }
    }
  }

  /** Picks the real record our record corresponds to (see `identities`; resends are told apart by uuid). */
  private pick(s: StreamState, ev: Json): Expected | undefined {
    const open = s.expected.filter((e) => !e.matched)
    const e = ev as Ev
    if (e.type === 'OFFERS') {
      const ourAgent = String(e.offers.offers[0].agent_id.value)
      const fx = this.bindings.reverse('id', ourAgent)
      const agentOf = (x: Expected): string => String((x.rec as Ev).offers.offers[0].agent_id.value)
      return fx !== undefined ? open.find((x) => x.offer !== undefined && agentOf(x) === fx)
        : open.find((x) => x.offer !== undefined && this.bindings.get('id', agentOf(x)) === undefined)
    }
    const [exact, loose] = identities(ev)
    let pool = open
    const uuid = e.type === 'UPDATE' ? e.update?.status?.uuid : undefined
    if (typeof uuid === 'string') {
      // A uuid we saw before is a resend: it can only stand for a real record with the same (bound) uuid.
      const fxUuid = this.bindings.reverse('b64', uuid)
      pool = open.filter((x) => {
        const xu = (x.rec as Ev).update?.status?.uuid
        return fxUuid !== undefined ? xu === fxUuid : xu === undefined || this.bindings.get('b64', xu) === undefined
      })
    }
    return pool.find((x) => identities(x.rec)[0] === exact) ?? pool.find((x) => identities(x.rec)[1] === loose)
  }

  private onUnit(s: StreamState, ev: Json): void {
    const e = this.pick(s, ev)
    if (!e) {
      const uuid = (ev as Ev).update?.status?.uuid
      const resend = typeof uuid === 'string' && this.bindings.reverse('b64', uuid) !== undefined ? ' (a resend of an update already received)' : ''
      this.report(s.label, `unexpected ${eventSummary(ev)}${resend} (arrived after ${this.stepBefore()}): ${short(ev, 400)}`, ownerOfRecord(ev))
      return
    }
    e.matched = true
    const r = {event: ev}
    const where = `${s.label} R${e.i} ${eventSummary(e.rec)}`
    const owner = ownerOfRecord(e.rec)
    this.checkTiming(s, e, where, owner)
    const task = taskOf(e.rec)
    if (task !== undefined) {
      const last = s.lastIndexByTask.get(task) ?? -1
      if (e.i < last) this.report(where, `out of order: came after R${last} of the same task`, owner)
      s.lastIndexByTask.set(task, Math.max(last, e.i))
    }
    for (const d of compare(e.rec, r.event, this.bindings, '', this.opts.compare)) this.report(where, `${d.where || '.'}: ${d.what}`, owner)
  }

  /** OFFERS, or a resend of a status update (same uuid as an earlier real record). */
  private timerDriven(s: StreamState, e: Expected): boolean {
    const ev = e.rec as Ev
    if (ev.type === 'OFFERS') return true
    const uuid = ev.update?.status?.uuid
    return typeof uuid === 'string' && s.expected.some((x) => x.i < e.i && (x.rec as Ev).update?.status?.uuid === uuid)
  }

  /**
   * Does a step in boundaries[from, to) bear on this record? For a task update only steps naming the task do
   * (updates of different tasks race freely); for anything else every step does.
   */
  private relevantStepBetween(rec: Json, from: number, to: number): boolean {
    const steps = this.boundaries.slice(from, to)
    const text = (b: Entry): string => JSON.stringify(b.step.request?.bodyJson ?? b.step.request?.body ?? '')
    const task = taskOf(rec)
    if (task !== undefined) return steps.some((b) => b.kind === 'hook' || text(b).includes(`"${task}"`))
    const e = rec as Ev
    if (e.type === 'OFFERS') {
      // Offers of an agent depend on calls about that agent's offers/tasks and on framework-wide calls. Offers are
      // made by a periodic allocator, so an offer may trail its cause by up to one allocation interval (1 s in
      // the recordings): only steps sent at least that long before the real offer count.
      const agent = String(e.offers.offers[0].agent_id.value)
      const offerIds = this.offerIdsOf(agent)
      const realAt = this.offerAt(rec)
      return steps.some((b) => {
        if (b.at > realAt - REAL_ALLOCATION_INTERVAL_MS) return false
        if (b.kind === 'hook') return true
        const body = (b.step.request?.bodyJson ?? b.step.request?.body) as Ev | undefined
        if (['REVIVE', 'SUPPRESS', 'SUBSCRIBE', 'TEARDOWN', 'UPDATE_FRAMEWORK'].includes(String(body?.type))) return true
        const t = text(b)
        return t.includes(agent) || offerIds.some((id) => t.includes(`"${id}"`))
      })
    }
    return steps.length > 0
  }

  /** When real Mesos sent the offer in `rec` (a one-offer OFFERS unit). */
  private offerAt(rec: Json): number {
    const id = String((rec as Ev).offers.offers[0].id.value)
    for (const s of this.streams.values()) {
      const x = s.expected.find((u) => u.offer !== undefined && (u.rec as Ev).offers.offers[0].id.value === id)
      if (x) return x.at
    }
    return Number.POSITIVE_INFINITY
  }

  /** Real offer ids made for a (real) agent id, over all streams. */
  private offerIdsOf(agent: string): string[] {
    const out: string[] = []
    for (const s of this.streams.values()) {
      for (const x of s.expected) {
        if (x.offer === undefined) continue
        const o = (x.rec as Ev).offers.offers[0]
        if (o.agent_id.value === agent) out.push(String(o.id.value))
      }
    }
    return out
  }

  private stepBefore(): string {
    const prev = this.boundaries[this.executed - 1]
    return prev ? Replayer.label(prev.step) : 'the start'
  }

  private closeStream(step: FixtureStep): void {
    const s = this.streams.get(step.seq)
    if (!s) return
    if (s.stream.closedBy === 'server') {
      this.report(s.label, `closed by the master before the client closed it (real Mesos kept it open until ${step.response?.closed_at_ms} ms)`, 'master')
    }
    s.stream.close()
  }

  private async finishStreams(): Promise<void> {
    for (const s of this.streams.values()) {
      const res = s.step.response!
      if (res.closed === 'by_server') {
        const deadline = Date.now() + 3000
        while (s.stream.closedBy === null && Date.now() < deadline) await sleep(5)
        if (s.stream.closedBy !== 'server') this.report(s.label, 'real Mesos closed this stream (server EOF); ours stayed open', 'master')
      }
      s.stream.onRecord = undefined
      s.stream.close()
      if (!s.stream.oneRecordPerChunk) this.report(s.label, 'HTTP chunks do not hold exactly one RecordIO record each (real Mesos: one chunk per record)', 'master')
      if (s.stream.error) this.report(s.label, s.stream.error, 'master')
      this.checkHeartbeats(s)
    }
  }

  private checkHeartbeats(s: StreamState): void {
    const recs = s.step.response?.records ?? []
    const real = recs.filter((r) => (r as Ev).type === 'HEARTBEAT').length
    const ours = s.stream.records
    if (real === 0) {
      if (s.heartbeats.length > 0) this.report(s.label, `real Mesos sent no HEARTBEAT on this stream, we sent ${s.heartbeats.length}`, 'master')
      return
    }
    if ((recs[1] as Ev | undefined)?.type === 'HEARTBEAT' && (ours[1]?.event as Ev | undefined)?.type !== 'HEARTBEAT') {
      this.report(s.label, `the first HEARTBEAT must follow SUBSCRIBED at once (ours: ${ours.slice(0, 3).map((r) => (r.event as Ev).type).join(', ')})`, 'master')
    }
    const interval = this.opts.heartbeatSec * 1000
    const hb = s.heartbeats
    for (let i = 1; i < hb.length; i++) {
      const ratio = (hb[i]! - hb[i - 1]!) / interval
      if (ratio < 0.8 || ratio > 1.3) this.report(s.label, `HEARTBEAT gap ${hb[i]! - hb[i - 1]!} ms is not the interval ${interval} ms (ratio ${ratio.toFixed(2)})`, 'master')
    }
    const end = s.stream.closedAt || Date.now()
    const lifetime = end - (ours[0]?.at ?? end)
    const want = Math.floor(lifetime / interval) + 1
    if (Math.abs(hb.length - want) > 1) this.report(s.label, `${hb.length} HEARTBEATs over ${lifetime} ms, expected about ${want} (one at once, then every ${interval} ms)`, 'master')
  }

  /** Our stream opened for a fixture step (undefined when that SUBSCRIBE failed). */
  stream(seq: number): Stream | undefined {
    return this.streams.get(seq)?.stream
  }
}
