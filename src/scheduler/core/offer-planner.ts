/**
 * The offer planner: every decision about a held offer, in one place. Pure: no Ctx, no actions.
 * The planners that need a member launched state what they want as plain values (`LaunchWant`);
 * `decideWant` picks held offers for each want and records the decision in the step's `OfferRound`;
 * `settleOffers` then decides every offer still held (hold, with why, or decline, with why) and
 * REVIVE/SUPPRESS. The core turns the decisions into actions (launch.ts: ACCEPT, DECLINE, REVIVE,
 * SUPPRESS; grow.ts and inplace.ts: what a launch needs besides its offer).
 *
 * Wants, asked in this order each step (plan.ts): in-place (inplace.ts), then one of the pending add,
 * the bootstrap or a new add (grow.ts).
 *   in-place   restart a dead member on its kept data: only ITS agent and ITS two ports (held offers
 *              by id); an offer held for the pending add or for another want is never taken;
 *              none → missing.
 *   adding     the pending add before etcd accepted the member: HOLD its offer; offerHoldMs after the
 *              add started → give up (grow.ts abandons the add).
 *   added      the member is in etcd: launch on the SAME agent with the SAME ports, its held offer
 *              first, then any held offer (by id); none → keep holding its offer; memberGraceMs after
 *              the add started → give up.
 *   bootstrap  first launch (never bootstrapped, no live task): usable offers from distinct agents
 *              (and hosts, with singleInstancePerHost), oldest first. `size` of them → launch that many;
 *              fewer → HOLD them while gathering, until bootstrapWaitMs after the first was seen → launch
 *              the oldest alone (the rest join one at a time).
 *   add        a new member: the oldest usable offer → HOLD it while etcd adds the member (grow.ts sends
 *              MEMBER_ADD); none → missing.
 *   relaunch   (with a role) a dead member on its volume: only the offer from ITS agent holding ITS volume,
 *              using only the resources reserved for it (volumes.ts matchRelaunch); none → missing.
 * With a role, every other want matches only the UNRESERVED part of an offer (volumes.ts matchNew): a new
 *   member reserves its own resources, and never takes another member's reservation.
 * Every want keeps "never two members on one agent" (singleInstancePerAgent; a stray's agent counts) and,
 * with singleInstancePerHost, one per host.
 * Every other held offer is declined at the end of the step, with a reason: 'no member wanted' (not
 *   mutable, or the cluster has its members), the matcher's reason (offers.ts: 'agent X already hosts a
 *   member', 'insufficient resources: cpus …'), or, for a usable offer while a member is wanted (a
 *   removal in flight, a verdict awaited…), 'usable, but no launch is ready this step' (`declinedWanted`).
 * REVIVE/SUPPRESS (only while subscribed): REVIVE when offers become wanted (mutable and a member
 *   missing, or the pending add lost its offer, or a retired volume or a leftover reservation waits to be
 *   released), SUPPRESS when they stop being wanted. While wanted:
 *   once a usable offer was declined (its agent is then filtered for refuse_seconds), the next step
 *   whose add or in-place want finds nothing (`missing`) REVIVEs again (clears the filters) instead of
 *   waiting refuse_seconds.
 */
import type {OfferConstraints, OfferMatch, ResourceRequest} from './offers.js'
import type {SchedulerState, VolumeRecord} from './state.js'
import {matchNew, matchRelaunch, releasePending} from './volumes.js'
import {answeringTasks, liveTasks} from './state.js'
import {mayMutate, subscribed} from './mode.js'

export type Match = Extract<OfferMatch, {ok: true}>
export interface Ports {
  peer: number
  client: number
}

export type LaunchWant =
  | {kind: 'in-place'; member: string; agentId: string; ports: Ports}
  | {kind: 'adding'; member: string; offerId: string | null; since: number; holdMs: number}
  | {kind: 'added'; member: string; agentId: string; ports: Ports; offerId: string | null; since: number; graceMs: number}
  | {kind: 'bootstrap'; size: number; waitingSince: number | null; waitMs: number}
  | {kind: 'add'}
  /** With a role: a dead member relaunched on the offer holding its volume and reservation (relaunch.ts). */
  | {kind: 'relaunch'; member: string; volume: VolumeRecord}

/** A held offer a want looked at and could not use, and why. */
export interface Rejection {
  offerId: string
  agentId: string
  reason: string
}
/** An offer kept past this step, and why. */
export interface Hold {
  offerId: string
  reason: string
}

export type WantDecision =
  /** Accept these offers, one member each, in order (`holds`: still kept for the want). */
  | {type: 'launch'; matches: Match[]; holds: Hold[]; rejected: Rejection[]}
  /** Keep these offers past this step (`match`: the offer chosen for a new member). */
  | {type: 'hold'; holds: Hold[]; match?: Match; rejected: Rejection[]}
  /** Nothing usable yet; keep waiting (no REVIVE for it). */
  | {type: 'wait'; reason: string; holds: Hold[]; rejected: Rejection[]}
  /** Nothing usable for a want that is ready now (REVIVE if a usable offer was declined while busy). */
  | {type: 'missing'; reason: string; rejected: Rejection[]}
  /** Waited too long: the want is given up. */
  | {type: 'give-up'; reason: string; rejected: Rejection[]}
  /** The chosen launch could not be built (e.g. an invalid member config): nothing accepted or held. */
  | {type: 'failed'; reason: string; rejected: Rejection[]}

/** The wants of one step and what was decided for them. */
export interface OfferRound {
  readonly records: {want: LaunchWant; decision: WantDecision}[]
}

/** What happens to each offer still held at the end of the step, and to REVIVE/SUPPRESS. */
export interface Settlement {
  offers: {offerId: string; decision: 'hold' | 'decline'; reason: string}[]
  offersWanted: boolean | null
  declinedWanted: boolean
  signal: 'REVIVE' | 'SUPPRESS' | null
  /** The REVIVE is for usable offers declined while busy (the want is ready now). */
  afterBusy: boolean
}

export function newOfferRound(): OfferRound {
  return {records: []}
}

export function request(s: SchedulerState): ResourceRequest {
  const c = s.config
  return {cpus: c.cpus, mem: c.mem, disk: c.disk, executorCpus: c.executorCpus, executorMem: c.executorMem}
}

/** Agents (and hosts, with singleInstancePerHost) that already run a member, plus `extra`. */
export function constraintsFor(s: SchedulerState, extra: OfferConstraints = {}): OfferConstraints {
  const busyAgents = new Set<string>()
  const busyHosts = new Set<string>()
  for (const t of liveTasks(s)) {
    if (s.config.singleInstancePerAgent) busyAgents.add(t.agentId)
    if (s.config.singleInstancePerHost) busyHosts.add(t.hostname)
  }
  for (const st of Object.values(s.strays)) if (st.agentId && s.config.singleInstancePerAgent) busyAgents.add(st.agentId)
  return {busyAgents, busyHosts, ...extra}
}

/** Mutable and a member missing, or the pending add lost its offer, or (with a role) a volume or leftover
 *  reservation waits for an offer to be released in (release.ts: only offers carry them). */
export function offersWanted(s: SchedulerState): boolean {
  // A rollout relaunching a member in place (rollout.ts) wants its agent's offer while ROLLING_OUT.
  if (s.phase === 'READY' && s.episode === 'ROLLING_OUT' && s.rollout?.state === 'running' && s.rollout.step === 'launching') return true
  if (!mayMutate(s)) return false
  const live = liveTasks(s).filter((t) => !t.decommission).length + answeringTasks(s).length
  return live < s.config.clusterSize || (s.pendingAdd !== null && s.pendingAdd.offerId === null) || releasePending(s)
}

/** Decides which held offers serve `want` (see the header) and records it in the round. */
export function decideWant(s: SchedulerState, round: OfferRound, want: LaunchWant, now: number): WantDecision {
  const decision = decide(s, round, want, now)
  round.records.push({want, decision})
  return decision
}

/** The launch chosen by `decision` could not be built: an in-place restart counts as missing its offer. */
export function launchFailed(round: OfferRound, decision: WantDecision, reason: string): void {
  const r = round.records.find((x) => x.decision === decision)
  if (r) r.decision = {type: r.want.kind === 'in-place' ? 'missing' : 'failed', reason, rejected: decision.rejected}
}

export function settleOffers(s: SchedulerState, round: OfferRound): Settlement {
  const wanted = offersWanted(s)
  const holds = heldBy(round)
  const free = constraintsFor(s)
  const req = request(s)
  let declinedWanted = s.declinedWanted
  const offers: Settlement['offers'] = []
  for (const id of Object.keys(s.offers).sort()) {
    const why = holds.get(id)
    if (why !== undefined) {
      offers.push({offerId: id, decision: 'hold', reason: why})
      continue
    }
    // Matched only while a member is wanted (the reason says why it is declined); otherwise the reason is
    // 'no member wanted' whatever the offer holds, and an offer storm is not matched 10,000 times for nothing.
    const m = wanted ? matchNew(s, s.offers[id]!.offer, req, free) : null
    if (m?.ok) declinedWanted = true
    offers.push({
      offerId: id,
      decision: 'decline',
      reason: m === null ? 'no member wanted' : m.ok ? 'usable, but no launch is ready this step' : m.reason,
    })
  }
  const none = {offers, offersWanted: s.offersWanted, declinedWanted, signal: null, afterBusy: false}
  if (!subscribed(s)) return none
  if (wanted === s.offersWanted) {
    const missing = round.records.some((r) => r.decision.type === 'missing')
    return wanted && missing && declinedWanted ? {...none, declinedWanted: false, signal: 'REVIVE', afterBusy: true} : none
  }
  return {offers, offersWanted: wanted, declinedWanted: false, signal: wanted ? 'REVIVE' : 'SUPPRESS', afterBusy: false}
}

/** The offers the round's wants keep past this step. */
export function heldOffers(round: OfferRound): ReadonlySet<string> {
  return new Set(heldBy(round).keys())
}

function heldBy(round: OfferRound): Map<string, string> {
  const out = new Map<string, string>()
  for (const {decision: d} of round.records) {
    if (d.type === 'launch' || d.type === 'hold' || d.type === 'wait')
      for (const h of d.holds) if (!out.has(h.offerId)) out.set(h.offerId, h.reason)
  }
  return out
}

function decide(s: SchedulerState, round: OfferRound, want: LaunchWant, now: number): WantDecision {
  switch (want.kind) {
    case 'in-place':
      return inPlace(s, round, want)
    case 'adding':
      return adding(want, now)
    case 'added':
      return added(s, want, now)
    case 'bootstrap':
      return bootstrap(s, want, now)
    case 'add':
      return add(s)
    case 'relaunch':
      return relaunch(s, round, want)
  }
}

/** The offer holding the member's volume and reservation (never one held for another want or the pending add). */
function relaunch(s: SchedulerState, round: OfferRound, want: Extract<LaunchWant, {kind: 'relaunch'}>): WantDecision {
  const taken = new Set(heldBy(round).keys())
  if (s.pendingAdd?.offerId) taken.add(s.pendingAdd.offerId)
  const rejected: Rejection[] = []
  for (const id of Object.keys(s.offers).sort()) {
    if (taken.has(id)) continue
    const m = matchRelaunch(s, s.offers[id]!.offer, want.volume, request(s))
    if (m.ok) return {type: 'launch', matches: [m], holds: [], rejected}
    if (m.agentId === want.volume.agentId) rejected.push(rejection(m))
  }
  return {type: 'missing', reason: `no offer from agent ${want.volume.agentId} holding volume ${want.volume.persistenceId}`, rejected}
}

function rejection(m: Extract<OfferMatch, {ok: false}>): Rejection {
  return {offerId: m.offerId, agentId: m.agentId, reason: m.reason}
}

/** Held offers, oldest first (ties by id). */
function oldestFirst(s: SchedulerState): string[] {
  return Object.values(s.offers)
    .sort((a, b) => a.receivedAt - b.receivedAt || (a.offer.id.value < b.offer.id.value ? -1 : 1))
    .map((o) => o.offer.id.value)
}

function inPlace(s: SchedulerState, round: OfferRound, want: Extract<LaunchWant, {kind: 'in-place'}>): WantDecision {
  const c = constraintsFor(s, {agentId: want.agentId, ports: want.ports})
  const taken = new Set(heldBy(round).keys())
  if (s.pendingAdd?.offerId) taken.add(s.pendingAdd.offerId)
  const rejected: Rejection[] = []
  for (const id of Object.keys(s.offers).sort()) {
    if (taken.has(id)) continue
    const m = matchNew(s, s.offers[id]!.offer, request(s), c)
    if (m.ok) return {type: 'launch', matches: [m], holds: [], rejected}
    rejected.push(rejection(m))
  }
  return {type: 'missing', reason: `no offer from agent ${want.agentId} with ports ${want.ports.peer}/${want.ports.client}`, rejected}
}

function adding(want: Extract<LaunchWant, {kind: 'adding'}>, now: number): WantDecision {
  if (now - want.since >= want.holdMs)
    return {type: 'give-up', reason: `the member add did not succeed within ${want.holdMs} ms`, rejected: []}
  if (want.offerId === null)
    return {type: 'wait', reason: `the offer for ${want.member} was rescinded; etcd is adding it`, holds: [], rejected: []}
  return {type: 'hold', holds: [{offerId: want.offerId, reason: `held for ${want.member} while etcd adds it`}], rejected: []}
}

function added(s: SchedulerState, want: Extract<LaunchWant, {kind: 'added'}>, now: number): WantDecision {
  const c = constraintsFor(s, {agentId: want.agentId, ports: want.ports})
  const ids = [
    want.offerId,
    ...Object.keys(s.offers)
      .filter((id) => id !== want.offerId)
      .sort(),
  ].filter((x): x is string => x !== null)
  const holds: Hold[] = want.offerId === null ? [] : [{offerId: want.offerId, reason: `held for ${want.member}, added to etcd`}]
  const rejected: Rejection[] = []
  for (const id of ids) {
    const m = matchNew(s, s.offers[id]!.offer, request(s), c)
    if (m.ok) return {type: 'launch', matches: [m], holds: holds.filter((h) => h.offerId !== m.offerId), rejected}
    rejected.push(rejection(m))
  }
  const where = `agent ${want.agentId} with ports ${want.ports.peer}/${want.ports.client}`
  if (now - want.since >= want.graceMs) return {type: 'give-up', reason: `no offer from ${where} within ${want.graceMs} ms`, rejected}
  return {type: 'wait', reason: `waiting for an offer from ${where}`, holds, rejected}
}

function bootstrap(s: SchedulerState, want: Extract<LaunchWant, {kind: 'bootstrap'}>, now: number): WantDecision {
  const c = constraintsFor(s)
  const agents = new Set(c.busyAgents)
  const hosts = new Set(c.busyHosts)
  const matches: Match[] = []
  const rejected: Rejection[] = []
  for (const id of oldestFirst(s)) {
    const m = matchNew(s, s.offers[id]!.offer, request(s), {busyAgents: agents, busyHosts: hosts})
    if (!m.ok) {
      rejected.push(rejection(m))
      continue
    }
    matches.push(m)
    if (s.config.singleInstancePerAgent) agents.add(m.agentId)
    if (s.config.singleInstancePerHost) hosts.add(m.hostname)
  }
  if (matches.length === 0) return {type: 'wait', reason: 'bootstrap: no usable offer yet', holds: [], rejected}
  const since = want.waitingSince ?? now
  if (matches.length < want.size && now - since < want.waitMs) {
    const reason = `bootstrap: gathering agents (${matches.length} of ${want.size}) until ${since + want.waitMs}`
    return {type: 'hold', holds: matches.map((m) => ({offerId: m.offerId, reason})), rejected}
  }
  return {type: 'launch', matches: matches.length >= want.size ? matches.slice(0, want.size) : matches.slice(0, 1), holds: [], rejected}
}

function add(s: SchedulerState): WantDecision {
  const c = constraintsFor(s)
  const rejected: Rejection[] = []
  for (const id of oldestFirst(s)) {
    const m = matchNew(s, s.offers[id]!.offer, request(s), c)
    if (!m.ok) {
      rejected.push(rejection(m))
      continue
    }
    return {type: 'hold', holds: [{offerId: m.offerId, reason: 'held for a new member while etcd adds it'}], match: m, rejected}
  }
  return {type: 'missing', reason: 'no usable offer for a new member', rejected}
}
