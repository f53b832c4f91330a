/**
 * The offer planner's decisions, one row per rule (src/scheduler/core/offer-planner.ts): which held offer
 * serves which launch want, what is held and why, what is declined and why, and REVIVE/SUPPRESS.
 * States are reached through the core's own events (sim World), then offers are placed in the state and
 * the planner is asked directly.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {Offer} from '../../src/lib/mesos/types.js'
import type {SchedulerConfigInput} from '../../src/scheduler/core/config.js'
import type {LaunchWant, OfferRound, Settlement, WantDecision} from '../../src/scheduler/core/offer-planner.js'
import {decideWant, launchFailed, newOfferRound, settleOffers} from '../../src/scheduler/core/offer-planner.js'
import type {SchedulerState} from '../../src/scheduler/core/state.js'
import {liveTasks} from '../../src/scheduler/core/state.js'
import {simOffer, World} from '../helpers/sim/sim.js'

const CFG: SchedulerConfigInput = {
  clusterName: 'etcd',
  clusterSize: 3,
  executorCommand: {value: './etcd-mesos-executor', arguments: ['executor']},
  healthIntervalMs: 5_000,
  bootstrapWaitMs: 2_000,
  memberGraceMs: 30_000,
  reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000,
  refuseSeconds: 15,
  memberOpRetryMs: 3_000,
  offerHoldMs: 20_000,
}

/** Subscribed and reconciled, nothing launched (4 agents). */
function fresh(cfg: SchedulerConfigInput = CFG, agents = 4): World {
  const w = new World(cfg, agents)
  w.start()
  return w
}
/** A healthy 3-member cluster on S1..S3 (S4, S5 free), no offer held. */
function running(cfg: SchedulerConfigInput = CFG): World {
  const w = new World(cfg, 5)
  w.start()
  w.offerAll()
  w.advance(10_000, {offers: false})
  assert.deepEqual(
    liveTasks(w.state)
      .map((t) => t.agentId)
      .sort(),
    ['S1', 'S2', 'S3'],
  )
  assert.deepEqual(Object.keys(w.state.offers), [])
  return w
}
/** The cluster with S3's member failed and removed: a member is wanted (REVIVE already sent). */
function degraded(): World {
  const w = running()
  w.failTask(liveTasks(w.state).find((t) => t.agentId === 'S3')!.taskId)
  w.advance(1_000, {offers: false})
  assert.equal(liveTasks(w.state).length, 2)
  assert.equal(w.state.offersWanted, true)
  return w
}

/** Places an offer from `agentId` (its sim ports unless given) in the held offers, received at `at`. */
function hold(w: World, id: string, agentId: string, opts: {at?: number; ports?: [number, number][]; cpus?: number} = {}): Offer {
  const a = w.agents.get(agentId)!
  const o = simOffer(id, {...a, ports: opts.ports ?? a.ports})
  if (opts.cpus !== undefined) o.resources[0]!.scalar = {value: opts.cpus}
  w.state.offers[id] = {offer: o, receivedAt: opts.at ?? w.now}
  return o
}
function ask(s: SchedulerState, want: LaunchWant, now: number, round: OfferRound = newOfferRound()): WantDecision {
  return decideWant(s, round, want, now)
}
const launched = (d: WantDecision): string[] => (d.type === 'launch' ? d.matches.map((m) => m.offerId) : [])
const held = (d: WantDecision): string[] => ('holds' in d ? d.holds.map((h) => h.offerId) : [])
const verdict = (st: Settlement, id: string) => st.offers.find((o) => o.offerId === id)
const portsOf = (w: World, agentId: string): {peer: number; client: number} => {
  const t = liveTasks(w.state).find((x) => x.agentId === agentId)!
  return {peer: t.peerPort, client: t.clientPort}
}

interface Row {
  rule: string
  check: () => void
}

const ROWS: Row[] = [
  {
    rule: 'offer from an agent that already runs a member → decline, reason "agent … already hosts a member"',
    check: () => {
      const w = degraded()
      hold(w, 'A', 'S1')
      const st = settleOffers(w.state, newOfferRound())
      assert.deepEqual(verdict(st, 'A'), {offerId: 'A', decision: 'decline', reason: 'agent S1 already hosts a member'})
    },
  },
  {
    rule: "offer too small while a member is wanted → decline with the matcher's reason (insufficient cpus)",
    check: () => {
      const w = degraded()
      hold(w, 'A', 'S4', {cpus: 0.5})
      const st = settleOffers(w.state, newOfferRound())
      assert.equal(verdict(st, 'A')?.decision, 'decline')
      assert.match(verdict(st, 'A')!.reason, /^insufficient resources: cpus: need 1\.\d+, offered 0\.5/)
      assert.equal(st.declinedWanted, false, 'an unusable offer is not "declined while wanted"')
    },
  },
  {
    rule: 'nothing wanted (the cluster has its members) → decline, reason "no member wanted", and SUPPRESS',
    check: () => {
      const w = running()
      hold(w, 'A', 'S4')
      w.state.offersWanted = true
      const st = settleOffers(w.state, newOfferRound())
      assert.deepEqual(verdict(st, 'A'), {offerId: 'A', decision: 'decline', reason: 'no member wanted'})
      assert.equal(st.signal, 'SUPPRESS')
      assert.equal(st.offersWanted, false)
      assert.equal(st.declinedWanted, false)
    },
  },
  {
    rule: 'a member missing and offers not yet wanted → REVIVE',
    check: () => {
      const w = degraded()
      w.state.offersWanted = false
      const st = settleOffers(w.state, newOfferRound())
      assert.equal(st.signal, 'REVIVE')
      assert.equal(st.afterBusy, false)
      assert.equal(st.offersWanted, true)
    },
  },
  {
    rule: 'not subscribed → no REVIVE/SUPPRESS, offers still declined',
    check: () => {
      const w = degraded()
      w.respond = false // no re-subscription
      w.feed({type: 'Disconnected', reason: 'test'})
      hold(w, 'A', 'S4')
      w.state.offersWanted = true
      const st = settleOffers(w.state, newOfferRound())
      assert.equal(st.signal, null)
      assert.equal(st.offersWanted, true, 'unchanged')
      assert.deepEqual(verdict(st, 'A'), {offerId: 'A', decision: 'decline', reason: 'no member wanted'})
    },
  },
  {
    rule: 'usable offer while wanted but no launch ready (busy) → decline, reason "usable, but no launch is ready", declinedWanted',
    check: () => {
      const w = degraded()
      hold(w, 'A', 'S4')
      const st = settleOffers(w.state, newOfferRound())
      assert.deepEqual(verdict(st, 'A'), {offerId: 'A', decision: 'decline', reason: 'usable, but no launch is ready this step'})
      assert.equal(st.declinedWanted, true)
      assert.equal(st.signal, null, 'no REVIVE while no want is ready')
    },
  },
  {
    rule: 'usable offer declined while busy, then a want is ready and finds no offer → REVIVE after busy',
    check: () => {
      const w = degraded()
      w.state.declinedWanted = true
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'add'}, w.now, round)
      assert.equal(d.type, 'missing')
      const st = settleOffers(w.state, round)
      assert.equal(st.signal, 'REVIVE')
      assert.equal(st.afterBusy, true)
      assert.equal(st.declinedWanted, false)
    },
  },
  {
    rule: 'a want finds no offer but nothing usable was declined while wanted → no REVIVE',
    check: () => {
      const w = degraded()
      const round = newOfferRound()
      assert.equal(ask(w.state, {kind: 'add'}, w.now, round).type, 'missing')
      const st = settleOffers(w.state, round)
      assert.equal(st.signal, null)
    },
  },
  {
    rule: "a pending add waiting for its agent's offer is not a REVIVE reason (it waits)",
    check: () => {
      const w = degraded()
      w.state.declinedWanted = true
      const round = newOfferRound()
      const d = ask(
        w.state,
        {kind: 'added', member: 'etcd-4', agentId: 'S4', ports: {peer: 31300, client: 31301}, offerId: null, since: w.now, graceMs: 30_000},
        w.now,
        round,
      )
      assert.equal(d.type, 'wait')
      assert.equal(settleOffers(w.state, round).signal, null)
    },
  },
  {
    rule: 'bootstrap gathering: fewer than clusterSize agents → hold them until bootstrapWaitMs',
    check: () => {
      const w = fresh()
      hold(w, 'A', 'S1', {at: w.now - 10})
      hold(w, 'B', 'S2')
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: null, waitMs: 2_000}, w.now, round)
      assert.equal(d.type, 'hold')
      assert.deepEqual(held(d), ['A', 'B'])
      const st = settleOffers(w.state, round)
      assert.deepEqual(
        st.offers.map((o) => o.decision),
        ['hold', 'hold'],
      )
      assert.match(st.offers[0]!.reason, /^bootstrap: gathering agents \(2 of 3\)/)
      assert.equal(ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: w.now - 1_999, waitMs: 2_000}, w.now).type, 'hold')
    },
  },
  {
    rule: 'bootstrap: bootstrapWaitMs elapsed with fewer agents → launch the oldest offer alone',
    check: () => {
      const w = fresh()
      hold(w, 'B', 'S2', {at: w.now - 10})
      hold(w, 'A', 'S1')
      const d = ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: w.now - 2_000, waitMs: 2_000}, w.now)
      assert.deepEqual(launched(d), ['B'])
    },
  },
  {
    rule: 'bootstrap: clusterSize distinct agents → launch that many at once, oldest first; the rest declined',
    check: () => {
      const w = fresh()
      hold(w, 'D', 'S4', {at: w.now})
      hold(w, 'C', 'S3', {at: w.now - 1})
      hold(w, 'B', 'S2', {at: w.now - 2})
      hold(w, 'A', 'S1', {at: w.now - 3})
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: null, waitMs: 2_000}, w.now, round)
      assert.deepEqual(launched(d), ['A', 'B', 'C'])
      for (const id of launched(d)) delete w.state.offers[id]
      assert.equal(verdict(settleOffers(w.state, round), 'D')?.decision, 'decline')
    },
  },
  {
    rule: 'bootstrap: two offers from one agent count once (one member per agent)',
    check: () => {
      const w = fresh()
      hold(w, 'A1', 'S1', {at: w.now - 2})
      hold(w, 'A2', 'S1', {at: w.now - 1})
      hold(w, 'B', 'S2')
      const d = ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: null, waitMs: 2_000}, w.now)
      assert.deepEqual(held(d), ['A1', 'B'])
      assert.deepEqual(d.rejected, [{offerId: 'A2', agentId: 'S1', reason: 'agent S1 already hosts a member'}])
    },
  },
  {
    rule: 'singleInstancePerHost: a second agent on a host that already runs a member is not used',
    check: () => {
      const w = new World({...CFG, singleInstancePerHost: true}, [
        {agentId: 'S1', hostname: 'h1.test', ports: [[31000, 31010]], up: true},
        {agentId: 'S2', hostname: 'h1.test', ports: [[31100, 31110]], up: true},
        {agentId: 'S3', hostname: 'h2.test', ports: [[31200, 31210]], up: true},
      ])
      w.start()
      hold(w, 'A', 'S1', {at: w.now - 2})
      hold(w, 'B', 'S2', {at: w.now - 1})
      hold(w, 'C', 'S3')
      const d = ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: null, waitMs: 2_000}, w.now)
      assert.deepEqual(held(d), ['A', 'C'])
      assert.deepEqual(d.rejected, [{offerId: 'B', agentId: 'S2', reason: 'host h1.test already hosts a member'}])
    },
  },
  {
    rule: 'add: the oldest usable offer is held for the new member (unusable ones before it reported)',
    check: () => {
      const w = degraded()
      hold(w, 'A', 'S1', {at: w.now - 3})
      hold(w, 'B', 'S5', {at: w.now - 1})
      hold(w, 'C', 'S4', {at: w.now - 2})
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'add'}, w.now, round)
      assert.equal(d.type, 'hold')
      assert.equal(d.type === 'hold' && d.match?.agentId, 'S4')
      assert.deepEqual(held(d), ['C'])
      assert.deepEqual(
        d.rejected.map((r) => r.offerId),
        ['A'],
      )
      const st = settleOffers(w.state, round)
      assert.deepEqual(
        st.offers.map((o) => [o.offerId, o.decision]),
        [
          ['A', 'decline'],
          ['B', 'decline'],
          ['C', 'hold'],
        ],
      )
    },
  },
  {
    rule: 'pending add (etcd adding the member): hold its offer',
    check: () => {
      const w = degraded()
      hold(w, 'P', 'S4')
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'adding', member: 'etcd-4', offerId: 'P', since: w.now - 1_000, holdMs: 20_000}, w.now, round)
      assert.equal(d.type, 'hold')
      assert.deepEqual(verdict(settleOffers(w.state, round), 'P'), {
        offerId: 'P',
        decision: 'hold',
        reason: 'held for etcd-4 while etcd adds it',
      })
    },
  },
  {
    rule: 'pending add: etcd did not add the member within offerHoldMs → give up, its offer no longer held',
    check: () => {
      const w = degraded()
      hold(w, 'P', 'S4')
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'adding', member: 'etcd-4', offerId: 'P', since: w.now - 20_000, holdMs: 20_000}, w.now, round)
      assert.equal(d.type, 'give-up')
      assert.equal(verdict(settleOffers(w.state, round), 'P')?.decision, 'decline')
    },
  },
  {
    rule: 'added member: launch only on its agent with its two ports, its held offer first',
    check: () => {
      const w = degraded()
      hold(w, 'OTHER', 'S5')
      hold(w, 'WRONG', 'S4', {ports: [[32000, 32010]]})
      hold(w, 'RIGHT', 'S4')
      hold(w, 'Z-HELD', 'S4')
      const want: LaunchWant = {
        kind: 'added',
        member: 'etcd-4',
        agentId: 'S4',
        ports: {peer: 31300, client: 31301},
        offerId: 'Z-HELD',
        since: w.now,
        graceMs: 30_000,
      }
      assert.deepEqual(launched(ask(w.state, want, w.now)), ['Z-HELD'])
      delete w.state.offers['Z-HELD']
      const d = ask(w.state, {...want, offerId: null}, w.now)
      assert.deepEqual(launched(d), ['RIGHT'])
      assert.deepEqual(
        d.rejected.map((r) => r.offerId),
        ['OTHER'],
      )
      delete w.state.offers.RIGHT
      assert.equal(ask(w.state, {...want, offerId: null}, w.now).type, 'wait', 'another agent or other ports will not do')
    },
  },
  {
    rule: 'added member without a matching offer: keep holding its offer; after memberGraceMs give up',
    check: () => {
      const w = degraded()
      hold(w, 'HELD', 'S4', {ports: [[32000, 32010]]})
      const want: LaunchWant = {
        kind: 'added',
        member: 'etcd-4',
        agentId: 'S4',
        ports: {peer: 31300, client: 31301},
        offerId: 'HELD',
        since: w.now - 29_999,
        graceMs: 30_000,
      }
      const round = newOfferRound()
      const d = ask(w.state, want, w.now, round)
      assert.equal(d.type, 'wait')
      assert.equal(verdict(settleOffers(w.state, round), 'HELD')?.decision, 'hold')
      const late = newOfferRound()
      assert.equal(ask(w.state, {...want, since: w.now - 30_000}, w.now, late).type, 'give-up')
      assert.equal(verdict(settleOffers(w.state, late), 'HELD')?.decision, 'decline')
    },
  },
  {
    rule: 'in-place: only the same agent and the same ports',
    check: () => {
      const w = running()
      const ports = portsOf(w, 'S2')
      hold(w, 'A', 'S4')
      hold(w, 'B', 'S2', {ports: [[ports.peer + 5, ports.peer + 9]]})
      const want: LaunchWant = {kind: 'in-place', member: 'etcd-2', agentId: 'S2', ports}
      // S2 still runs its member here; the want's agent is only excluded by "busy" when another member runs there
      w.state.tasks[liveTasks(w.state).find((t) => t.agentId === 'S2')!.taskId]!.state = 'TASK_FAILED'
      const d = ask(w.state, want, w.now)
      assert.equal(d.type, 'missing')
      assert.deepEqual(
        d.rejected.map((r) => r.reason),
        ['waiting for an offer from agent S2', `insufficient resources: ports: need ${ports.peer} and ${ports.client}, not both offered`],
      )
      hold(w, 'C', 'S2')
      assert.deepEqual(launched(ask(w.state, want, w.now)), ['C'])
    },
  },
  {
    rule: 'in-place never takes the offer held for the pending add',
    check: () => {
      const w = running()
      const t = liveTasks(w.state).find((x) => x.agentId === 'S2')!
      t.state = 'TASK_FAILED'
      hold(w, 'P', 'S2')
      w.state.pendingAdd = {
        memberName: 'etcd-4',
        taskId: 'etcd-4.x',
        agentId: 'S2',
        hostname: 'agent2.test',
        peerPort: 1,
        clientPort: 2,
        offerId: 'P',
        phase: 'adding',
        startedAt: w.now,
        attempts: 1,
      }
      const d = ask(
        w.state,
        {kind: 'in-place', member: t.memberName, agentId: 'S2', ports: {peer: t.peerPort, client: t.clientPort}},
        w.now,
      )
      assert.equal(d.type, 'missing')
    },
  },
  {
    rule: 'in-place launch that cannot be built counts as missing its offer (REVIVE after busy)',
    check: () => {
      const w = degraded()
      w.state.declinedWanted = true
      hold(w, 'C', 'S4')
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'in-place', member: 'etcd-9', agentId: 'S4', ports: {peer: 31300, client: 31301}}, w.now, round)
      assert.deepEqual(launched(d), ['C'])
      launchFailed(round, d, 'invalid member config')
      const st = settleOffers(w.state, round)
      assert.equal(verdict(st, 'C')?.decision, 'decline')
      assert.equal(st.signal, 'REVIVE')
    },
  },
  {
    rule: 'a bootstrap that cannot be built holds nothing and is no REVIVE reason',
    check: () => {
      const w = fresh()
      hold(w, 'A', 'S1')
      w.state.declinedWanted = true
      const round = newOfferRound()
      const d = ask(w.state, {kind: 'bootstrap', size: 3, waitingSince: w.now - 2_000, waitMs: 2_000}, w.now, round)
      launchFailed(round, d, 'invalid member config')
      const st = settleOffers(w.state, round)
      assert.equal(verdict(st, 'A')?.decision, 'decline')
      assert.equal(st.signal, null)
    },
  },
]

describe('offer planner: one row per decision', () => {
  for (const r of ROWS) it(r.rule, r.check)
})
