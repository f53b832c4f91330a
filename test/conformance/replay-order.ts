/**
 * Order and timing checks of the replayer for one of our stream records, once it is paired with a real record:
 *   (a) segment — which request/hook steps it came between — against the steps that bear on it (for a task
 *       update: steps naming the task; for an offer: steps about its agent, or framework-wide calls, sent at
 *       least one real allocation interval before the real offer); a record the barrier gave up on is "late";
 *   (c) for timer-driven records (re-offers after refuse filters, update resends) our delay after the step
 *       before it must be at least half the scaled real one (for an offer: of the part beyond one allocation
 *       interval, since when the next allocation comes is chance).
 * (Check (b), fixture order among the updates of one task, lives with the pairing in replay-streams.ts.)
 */
import type {Json} from './fixtures.js'
import {taskOf, type Ev, type Owner} from './records.js'
import type {Entry} from './replay-timeline.js'
import {stepLabel, type Expected, type ReplayContext, type StreamState} from './replay-types.js'

/** Scaled delays from which the "not much sooner than real Mesos" ratio check applies (ms). */
const MIN_RATIO_CHECKED_MS = 250

/** --allocation_interval of the recorded masters (the Mesos default). */
const REAL_ALLOCATION_INTERVAL_MS = 1000

/** Reports a record that came late, too early (before a step that bears on it), or too soon after a timer start. */
export function checkTiming(ctx: ReplayContext, s: StreamState, e: Expected, where: string, owner: Owner): void {
  const tl = ctx.timeline
  if (e.missing) ctx.report(where, `arrived late (after ${tl.stepBefore()})`, owner)
  else if (tl.executed < e.seg && relevantStepBetween(ctx, e.rec, tl.executed, e.seg)) {
    ctx.report(
      where,
      `arrived too early: before ${stepLabel(tl.boundaries[tl.executed]!.step)}, real Mesos sent it after ${stepLabel(tl.boundaries[e.seg - 1]!.step)}`,
      owner,
    )
  } else if (tl.executed === e.seg && e.seg > 0 && tl.boundaries[e.seg - 1]!.kind === 'send' && timerDriven(s, e)) {
    // Ratio check for records whose delay is a Mesos timer (refuse filters → re-offers, status update
    // resends): ours must not come in less than half the scaled delay. Delays that are process start-up
    // speed (task launch, agent restart) are not checked.
    // An offer waits for the next allocation, whose phase is chance (0 to one interval): only the part of the
    // real delay beyond one allocation interval is a timer (a refuse filter) that ours must honour.
    const scale = ctx.opts.scale
    const real = (e.at - tl.boundaries[e.seg - 1]!.at) * scale
    const timed = real - ((e.rec as Ev).type === 'OFFERS' ? REAL_ALLOCATION_INTERVAL_MS * scale : 0)
    const ours = Date.now() - (tl.boundaryWall[e.seg - 1] ?? Date.now())
    if (timed >= MIN_RATIO_CHECKED_MS && ours < timed / 2) {
      ctx.report(
        where,
        `came ${ours} ms after ${stepLabel(tl.boundaries[e.seg - 1]!.step)}; real Mesos took ${Math.round(real / scale)} ms (${Math.round(real)} ms scaled)`,
        owner,
      )
    }
  }
}

/** OFFERS, or a resend of a status update (same uuid as an earlier real record). */
function timerDriven(s: StreamState, e: Expected): boolean {
  const ev = e.rec as Ev
  if (ev.type === 'OFFERS') return true
  const uuid = ev.update?.status?.uuid
  return typeof uuid === 'string' && s.expected.some((x) => x.i < e.i && (x.rec as Ev).update?.status?.uuid === uuid)
}

/**
 * Does a step in boundaries[from, to) bear on this record? For a task update only steps naming the task do
 * (updates of different tasks race freely); for anything else every step does.
 */
function relevantStepBetween(ctx: ReplayContext, rec: Json, from: number, to: number): boolean {
  const steps = ctx.timeline.boundaries.slice(from, to)
  const text = (b: Entry): string => JSON.stringify(b.step.request?.bodyJson ?? b.step.request?.body ?? '')
  const task = taskOf(rec)
  if (task !== undefined) return steps.some((b) => b.kind === 'hook' || text(b).includes(`"${task}"`))
  const e = rec as Ev
  if (e.type === 'OFFERS') {
    // Offers of an agent depend on calls about that agent's offers/tasks and on framework-wide calls. Offers are
    // made by a periodic allocator, so an offer may trail its cause by up to one allocation interval (1 s in
    // the recordings): only steps sent at least that long before the real offer count.
    const agent = String(e.offers.offers[0].agent_id.value)
    const offerIds = offerIdsOf(ctx, agent)
    const realAt = offerAt(ctx, rec)
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

/** The real offer units over all streams. */
const realOffers = (ctx: ReplayContext): Expected[] =>
  [...ctx.streams.values()].flatMap((s) => s.expected.filter((x) => x.offer !== undefined))

/** When real Mesos sent the offer in `rec` (a one-offer OFFERS unit). */
function offerAt(ctx: ReplayContext, rec: Json): number {
  const id = String((rec as Ev).offers.offers[0].id.value)
  return realOffers(ctx).find((u) => (u.rec as Ev).offers.offers[0].id.value === id)?.at ?? Number.POSITIVE_INFINITY
}

/** Real offer ids made for a (real) agent id, over all streams. */
function offerIdsOf(ctx: ReplayContext, agent: string): string[] {
  return realOffers(ctx)
    .map((x) => (x.rec as Ev).offers.offers[0])
    .filter((o) => o.agent_id.value === agent)
    .map((o) => String(o.id.value))
}
