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
 * reaction and runs at once; whenever we run late (slow process start), the schedule is re-anchored. While we
 * wait for the record a reaction follows and until the reaction is answered, our masters' allocation is held
 * (holdForReaction): real Mesos could not allocate in that instant, ours would in our slower reaction.
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
 *
 * Parts: replay-timeline.ts (entries, segments, pacing), replay-requests.ts (routing, sending, replies),
 * replay-streams.ts (pairing stream records), replay-order.ts (order/timing checks), replay-stream-ends.ts
 * (stream ends, chunking, heartbeats), replay-types.ts (shared shapes). This module runs the timeline and the
 * barrier and is the test-facing API.
 */
import type {FixtureStep, Fixture} from './fixtures.js'
import type {Reply, Stream} from './http.js'
import {Bindings} from './matcher.js'
import {eventSummary, ownerOfRecord, type Mismatch, type Owner} from './records.js'
import {route, sendStep} from './replay-requests.js'
import {closeStream, finishStreams} from './replay-stream-ends.js'
import {type Entry, Timeline} from './replay-timeline.js'
import {
  sleep,
  stepLabel,
  type Expected,
  type ReplayContext,
  type ReplayEnv,
  type ReplayOptions,
  type ResolvedOptions,
  type StreamState,
} from './replay-types.js'

export {compareHeaders, eventSummary, mismatchText, ownerOfRecord, type Mismatch, type Owner} from './records.js'
export type {ReplayEnv, ReplayOptions, StreamState} from './replay-types.js'

/** A request sent this soon (fixture ms) after the last record before it was a reaction to that record. */
const EVENT_TRIGGERED_MS = 20

export class Replayer {
  readonly bindings = new Bindings()
  readonly mismatches: Mismatch[] = []
  readonly streams = new Map<number, StreamState>()
  /** Replies by step seq. */
  readonly replies = new Map<number, Reply>()
  private readonly opts: ResolvedOptions
  private readonly timeline: Timeline
  /** What the replayer's parts (replay-*.ts) work on. */
  private readonly ctx: ReplayContext

  constructor(
    readonly fixture: Fixture,
    readonly env: ReplayEnv,
    opts: ReplayOptions,
  ) {
    // 30 s: a record that comes returns the wait at once; only a missing one waits it out (a loaded machine
    // may take seconds to start a task's process).
    this.opts = {barrierTimeoutMs: 30_000, ...opts}
    this.timeline = new Timeline(this.opts.scale)
    this.ctx = {
      bindings: this.bindings,
      env,
      opts: this.opts,
      timeline: this.timeline,
      streams: this.streams,
      replies: this.replies,
      offerPieces: new Map(),
      report: (where, what, owner) => this.report(where, what, owner),
      log: (line) => this.log(line),
    }
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
    return stepLabel(step)
  }

  /** Runs the whole scenario. */
  async run(): Promise<void> {
    const tl = this.timeline
    tl.start(this.fixture)
    // Holds of consecutive reactions overlap (the next is taken before the previous is released): a record the
    // next request reacts to may already have come while the previous one was being answered.
    let release = (): void => {}
    try {
      for (const entry of tl.entries) {
        const next = this.holdForReaction(entry)
        release()
        release = next
        await this.runEntry(entry)
      }
    } finally {
      release()
    }
    await this.barrier(Number.POSITIVE_INFINITY, 'at the end of the scenario')
    await finishStreams(this.ctx)
  }

  private async runEntry(entry: Entry): Promise<void> {
    const tl = this.timeline
    await this.barrier(entry.at, `before ${stepLabel(entry.step)}`)
    await tl.pace(entry.at)
    tl.enter(entry)
    if (entry.kind === 'send') await sendStep(this.ctx, entry.step)
    else if (entry.kind === 'close') closeStream(this.ctx, entry.step)
    else if (this.opts.hook) await this.opts.hook(entry.step, this)
    else this.report(stepLabel(entry.step), 'no hook for this step', 'master')
    tl.reanchor(entry.at)
  }

  /**
   * A request the real client sent within EVENT_TRIGGERED_MS of a record was a reaction to it: real Mesos had no
   * time to run an allocation between that record and the request, and its allocator allocates only on its
   * periodic batch (resources freed by the record, e.g. an exited executor's, wait for it). Ours may: our reaction
   * takes longer, most of all on a loaded machine, and an allocation cycle in between offers the freed resources
   * on their own, after which the request (an ACCEPT with a long refuse filter) can leave the rest filtered, so
   * the real next offer never comes (fixture 06). So from waiting for that record until the request is answered,
   * our masters' allocation is held (a cycle due meanwhile runs at the release) — unless real Mesos made an offer
   * meanwhile (an offer still expected by then), which needs the allocator.
   */
  private holdForReaction(entry: Entry): () => void {
    const none = (): void => {}
    if (entry.kind !== 'send' || !this.env.holdAllocations) return none
    const units = [...this.streams.values()].flatMap((s) => s.expected)
    const lastAt = Math.max(Number.NEGATIVE_INFINITY, ...units.filter((e) => e.at <= entry.at).map((e) => e.at))
    if (entry.at - lastAt > EVENT_TRIGGERED_MS) return none
    if (units.some((e) => e.offer !== undefined && !e.matched && !e.missing && e.at <= entry.at)) return none
    return this.env.holdAllocations()
  }

  /** Waits until every real record with record_at_ms ≤ t has a counterpart on our side. */
  private async barrier(t: number, when: string): Promise<void> {
    const due = (): {s: StreamState; e: Expected}[] =>
      [...this.streams.values()].flatMap((s) => s.expected.filter((e) => !e.matched && !e.missing && e.at <= t).map((e) => ({s, e})))
    if (due().length === 0) return
    const maxAt = Math.max(...due().map((d) => d.e.at))
    // Wait from the (scaled) time real Mesos sent the last of them, plus the timeout.
    const predicted = Number.isFinite(maxAt) ? this.timeline.wallOf(maxAt) : 0
    const deadline = Math.max(Date.now(), predicted) + this.opts.barrierTimeoutMs
    while (due().length > 0 && Date.now() < deadline) await sleep(5)
    for (const {s, e} of due()) {
      e.missing = true
      this.report(
        `${s.label} R${e.i}`,
        `missing ${eventSummary(e.rec)} (real Mesos sent it ${when}; waited ${this.opts.barrierTimeoutMs} ms)`,
        ownerOfRecord(e.rec),
      )
    }
    if (!Number.isFinite(maxAt)) return
    // A step sent right after a record (within EVENT_TRIGGERED_MS) was triggered by it: run it now, not on the clock.
    if (t - maxAt <= EVENT_TRIGGERED_MS) this.timeline.anchorNow(maxAt)
    else this.timeline.reanchor(maxAt)
  }

  /** Where a step's request goes: fixed route, else the port binding of its Host header, else the leader. */
  route(step: FixtureStep): string {
    return route(this.ctx, step)
  }

  /** Our stream opened for a fixture step (undefined when that SUBSCRIBE failed). */
  stream(seq: number): Stream | undefined {
    return this.streams.get(seq)?.stream
  }
}
