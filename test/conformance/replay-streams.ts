/**
 * Stream records of the replayer: when a request opens an event stream, the real records of that step become
 * `Expected` units (heartbeats aside; an OFFERS event becomes one unit per offer), and each record of ours is
 * paired with the real record of the same identity (records.ts `identities`: type, task id, state, reason; a
 * resend only with a resend of the same uuid), checked for order/timing (replay-order.ts, and fixture order
 * among the updates of one task here) and compared field by field (matcher.ts). Offers are matched one by one
 * and resource by resource, since a periodic allocator may split one real offer into two of ours or merge two.
 * HEARTBEAT arrival times are collected for replay-stream-ends.ts. Extra records are reported here.
 */
import type {Resource} from '../../src/lib/mesos/types.js'
import {containsResources, isEmptyResources, subtractResources} from '../../src/mesos-local/resources.js'
import type {FixtureStep, Json} from './fixtures.js'
import type {Stream, StreamRecord} from './http.js'
import {compare, short} from './matcher.js'
import {eventSummary, identities, omit, oneOffer, ownerOfRecord, taskOf, type Ev, type Owner} from './records.js'
import {checkTiming} from './replay-order.js'
import {stepLabel, type Expected, type ReplayContext, type StreamState} from './replay-types.js'

/** Registers our stream for a fixture step and feeds it every record so far and from now on. */
export function attachStream(ctx: ReplayContext, step: FixtureStep, stream: Stream): void {
  const res = step.response!
  const recs = res.records ?? []
  const at = res.record_at_ms ?? []
  const s: StreamState = {
    step,
    label: `stream ${stepLabel(step)}`,
    stream,
    heartbeats: [],
    lastIndexByTask: new Map(),
    expected: recs.flatMap((rec, i): Expected[] => {
      const base = {i, at: at[i] ?? 0, seg: ctx.timeline.segmentOf(at[i] ?? 0, step), matched: false, missing: false}
      const ev = rec as Ev
      if (ev.type === 'HEARTBEAT') return []
      if (ev.type === 'OFFERS') return (ev.offers?.offers ?? []).map((o: Json, j: number) => ({...base, rec: oneOffer(o), offer: j}))
      return [{...base, rec}]
    }),
  }
  ctx.streams.set(step.seq, s)
  const onRecord = (r: StreamRecord): void => onStreamRecord(ctx, s, r)
  for (const r of stream.records) onRecord(r)
  stream.onRecord = onRecord
}

function onStreamRecord(ctx: ReplayContext, s: StreamState, r: StreamRecord): void {
  const ev = r.event as Ev
  if (ev.type === 'HEARTBEAT') {
    s.heartbeats.push(r.at)
    return
  }
  if (ev.type === 'OFFERS') {
    for (const o of ev.offers?.offers ?? []) onOffer(ctx, s, o as Ev)
    return
  }
  onUnit(ctx, s, r.event)
}

const reportAll = (ctx: ReplayContext, where: string, diffs: {where: string; what: string}[], owner: Owner): void => {
  for (const d of diffs) ctx.report(where, `${d.where || '.'}: ${d.what}`, owner)
}

/**
 * An offer of ours. Offers are made by a periodic allocator, so which resources of an agent end up in which
 * offer depends on when the allocation ran: ours may split one real offer in two, or merge two. So an offer is
 * matched against the real offers of its agent in order, resource by resource: it may cover part of a real
 * offer (the rest must follow) or a real offer and part of the next. Everything but the quantities (and
 * executor_ids, which follow the same timing) is compared on every piece; whole matches compare all.
 */
function onOffer(ctx: ReplayContext, s: StreamState, o: Ev): void {
  let left = (o.resources ?? []) as Resource[]
  let first = true
  while (!isEmptyResources(left)) {
    const e = pick(ctx, s, oneOffer(o as Json))
    if (!e) {
      const what = first ? '' : ' (the rest of an offer that covered real offers)'
      ctx.report(
        s.label,
        `unexpected ${eventSummary(oneOffer(o as Json))}${what} (arrived after ${ctx.timeline.stepBefore()}): ${short(o, 400)}`,
        'master',
      )
      return
    }
    const real = (e.rec as Ev).offers.offers[0] as Ev
    const remaining = e.remaining ?? (real.resources as Resource[])
    const where = `${s.label} R${e.i}.offers[${e.offer}] OFFERS`
    let part: Resource[]
    if (containsResources(remaining, left)) part = left
    else if (containsResources(left, remaining)) part = remaining
    else {
      ctx.report(where, `resources ${short(left)} do not fit the real offer's ${short(remaining)}`, 'master')
      part = left
    }
    const whole = e.remaining === undefined && first && part === left && containsResources(part, remaining)
    const realId = String(real.id.value)
    const ourId = String(o.id.value)
    const sameId = (e.pieces ?? 0) === 0 && first
    if ((e.pieces ?? 0) > 0) ctx.offerPieces.set(realId, [...(ctx.offerPieces.get(realId) ?? []), ourId])
    else if (!first) ctx.offerPieces.set(realId, [ourId])
    e.pieces = (e.pieces ?? 0) + 1
    e.remaining = subtractResources(remaining, part)
    if (isEmptyResources(e.remaining) || (part === left && !containsResources(remaining, left))) e.matched = true
    if (first) checkTiming(ctx, s, e, where, 'master')
    const strip = (x: Ev): Ev => omit(x, sameId ? ['resources', 'executor_ids'] : ['resources', 'executor_ids', 'id'])
    reportAll(
      ctx,
      where,
      whole ? compare(real, o, ctx.bindings, '', ctx.opts.compare) : compare(strip(real), strip(o), ctx.bindings, '', ctx.opts.compare),
      'master',
    )
    if (!whole) {
      // Structure of the resources (names, types, roles, allocation_info) is still compared piece by piece.
      for (const r of part) {
        const twin = (real.resources as Resource[]).find((x) => x.name === r.name)
        const shape = (x: Resource): Record<string, unknown> => omit(x as unknown as Ev, ['scalar', 'ranges', 'set'])
        reportAll(ctx, where, compare(twin ? shape(twin) : undefined, shape(r), ctx.bindings, `.resources[${r.name}]`), 'master')
      }
    }
    left = part === left ? [] : subtractResources(left, part)
    first = false
  }
}

/** Picks the real record our record corresponds to (see `identities`; resends are told apart by uuid). */
function pick(ctx: ReplayContext, s: StreamState, ev: Json): Expected | undefined {
  const open = s.expected.filter((e) => !e.matched)
  const e = ev as Ev
  const b = ctx.bindings
  if (e.type === 'OFFERS') {
    const ourAgent = String(e.offers.offers[0].agent_id.value)
    const fx = b.reverse('id', ourAgent)
    const agentOf = (x: Expected): string => String((x.rec as Ev).offers.offers[0].agent_id.value)
    return fx !== undefined
      ? open.find((x) => x.offer !== undefined && agentOf(x) === fx)
      : open.find((x) => x.offer !== undefined && b.get('id', agentOf(x)) === undefined)
  }
  const [exact, loose] = identities(ev)
  let pool = open
  const uuid = e.type === 'UPDATE' ? e.update?.status?.uuid : undefined
  if (typeof uuid === 'string') {
    // A uuid we saw before is a resend: it can only stand for a real record with the same (bound) uuid.
    const fxUuid = b.reverse('b64', uuid)
    pool = open.filter((x) => {
      const xu = (x.rec as Ev).update?.status?.uuid
      return fxUuid !== undefined ? xu === fxUuid : xu === undefined || b.get('b64', xu) === undefined
    })
  }
  return pool.find((x) => identities(x.rec)[0] === exact) ?? pool.find((x) => identities(x.rec)[1] === loose)
}

/** A record of ours other than HEARTBEAT and OFFERS. */
function onUnit(ctx: ReplayContext, s: StreamState, ev: Json): void {
  const e = pick(ctx, s, ev)
  if (!e) {
    const uuid = (ev as Ev).update?.status?.uuid
    const resend =
      typeof uuid === 'string' && ctx.bindings.reverse('b64', uuid) !== undefined ? ' (a resend of an update already received)' : ''
    ctx.report(
      s.label,
      `unexpected ${eventSummary(ev)}${resend} (arrived after ${ctx.timeline.stepBefore()}): ${short(ev, 400)}`,
      ownerOfRecord(ev),
    )
    return
  }
  e.matched = true
  const where = `${s.label} R${e.i} ${eventSummary(e.rec)}`
  const owner = ownerOfRecord(e.rec)
  checkTiming(ctx, s, e, where, owner)
  const task = taskOf(e.rec)
  if (task !== undefined) {
    const last = s.lastIndexByTask.get(task) ?? -1
    if (e.i < last) ctx.report(where, `out of order: came after R${last} of the same task`, owner)
    s.lastIndexByTask.set(task, Math.max(last, e.i))
  }
  reportAll(ctx, where, compare(e.rec, ev, ctx.bindings, '', ctx.opts.compare), owner)
}
