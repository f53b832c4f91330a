/**
 * Resilience scenarios with real network faults: every member runs behind the TCP proxies of
 * etcd-wrapper.ts (`etcdBin: netEtcdBin`), and the fault switches one member's peer proxy (blackhole,
 * delay) or the client proxies (an answer lost after etcd applied the request). Same contract as
 * scenarios.ts: `inject` performs the fault (and lifts it for timed faults); the harness then waits for
 * recovery (plus `recovered`) and runs the checker.
 */
import type {MemberView, StatsView} from '../helpers/serve.js'
import {killEtcdAndData} from '../helpers/serve.js'
import {replaced, sleep, waitUntil, type Ctx, type ScenarioDef} from './harness.js'
import {netEtcdBin, resetNet, setClientMode, setPeerMode, waitTriggered, wrappedMembers} from './netfaults.js'

/** Recovered with every one of `keep` still a member (nothing replaced). */
const kept =
  (keep: () => string[]) =>
  (_ctx: Ctx, _st: StatsView, ms: MemberView[]): boolean =>
    keep().every((n) => ms.some((m) => m.name === n))

/** Wait for a write acknowledged after `since` (the writer fails over to the members that still work). */
async function ackAfter(ctx: Ctx, since: number, timeoutMs: number): Promise<number> {
  return waitUntil(
    `a write acknowledged after +${((since - ctx.faultAt) / 1000).toFixed(1)} s`,
    async () => {
      const a = ctx.writer.lastAck()
      return a && a.at > since ? a.at : null
    },
    timeoutMs,
    50,
  )
}

function blackholeFollowerPeer(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'blackhole-follower-peer',
    description:
      "a follower's peer port blackholed for 8 s by a TCP proxy (connections kept, no byte forwarded either way), then restored: no replacement",
    expect: {reseed: false, livelocks: 'none', launched: 0},
    etcdBin: netEtcdBin,
    recovered: kept(() => v),
    async inject(ctx) {
      v.length = 0
      const f = (await ctx.followers())[0]!
      v.push(f.name)
      await setPeerMode(ctx, f.name, {mode: 'blackhole'})
      const t = Date.now()
      await ackAfter(ctx, t + 1500, 6000) // the other two keep a quorum
      await sleep(Math.max(0, 8000 - (Date.now() - t)))
      const seen = (await ctx.members()).find((m) => m.name === f.name)
      ctx.note(`after 8 s cut: ${f.name} healthy=${seen?.healthy ?? '?'} in the scheduler's view`)
      await setPeerMode(ctx, f.name, {mode: 'normal'})
    },
  }
}

function blackholeLeaderPeer(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'blackhole-leader-peer',
    description:
      "the leader's peer port blackholed for 8 s: a new leader is elected among the other two and writes continue; after the restore the old leader rejoins as a follower, no replacement",
    expect: {reseed: false, livelocks: 'none', launched: 0},
    etcdBin: netEtcdBin,
    recovered: kept(() => v),
    async inject(ctx) {
      v.length = 0
      const l = await ctx.leader()
      v.push(l.name)
      await setPeerMode(ctx, l.name, {mode: 'blackhole'})
      const t = Date.now()
      try {
        // The new leader is elected within ~1-2 s, but /members shows it later: a probe round answers once its
        // slowest member did, and the read through the cut-off old leader runs into the 5 s probe timeout (kept
        // long on purpose: a shorter one would call an overloaded, healthy cluster lost). So: election + ~5 s.
        const nl = await waitUntil(
          `a new leader other than ${l.name}`,
          async () => (await ctx.members()).find((m) => m.leader && m.name !== l.name),
          15_000,
          100,
        )
        const electedAt = Date.now()
        ctx.note(`new leader ${nl.name} seen ${electedAt - t} ms after the cut`)
        const ack = await ackAfter(ctx, electedAt, Math.max(500, 8000 - (Date.now() - t)))
        ctx.note(`write acknowledged ${ack - t} ms after the cut (through the new majority)`)
        await sleep(Math.max(0, 8000 - (Date.now() - t)))
      } finally {
        await setPeerMode(ctx, l.name, {mode: 'normal'})
      }
    },
  }
}

function delayFollowerPeer(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'delay-follower-peer',
    description:
      "a follower's peer traffic delayed 200 ± 50 ms each way (order kept) for 12 s by a TCP proxy: no replacement, no quorum loss",
    expect: {reseed: false, livelocks: 'none', launched: 0},
    etcdBin: netEtcdBin,
    recovered: kept(() => v),
    async inject(ctx) {
      v.length = 0
      const f = (await ctx.followers())[0]!
      v.push(f.name)
      await setPeerMode(ctx, f.name, {mode: 'delay', ms: 200, jitterMs: 50})
      try {
        await sleep(12_000)
      } finally {
        await setPeerMode(ctx, f.name, {mode: 'normal'})
      }
    },
  }
}

/**
 * The member add of a replacement is applied by etcd but its answer is lost: every member's client proxy
 * is armed with drop-responses-after "http://" (of the scheduler's requests, only a MemberAdd body carries a
 * URL), so the proxy the add goes through drops its answer from the very first byte; the other client
 * proxies then drop their answers too, for 7 s in all (longer than the scheduler's 5 s etcd op timeout).
 */
function memberAddTimeoutButApplied(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'member-add-timeout-but-applied',
    description:
      "a follower is lost with its data; the answer of the replacement's member add is lost after etcd applied it (every client proxy drops answers for 7 s from the add, the scheduler's call times out after 5 s): exactly one new member, no duplicate",
    expect: {reseed: false, livelocks: 'none', launched: 1},
    etcdBin: netEtcdBin,
    recovered: replaced(() => v),
    recoveryTimeoutMs: 150_000,
    async inject(ctx) {
      v.length = 0
      const f = (await ctx.followers())[0]!
      v.push(f.name)
      const others = wrappedMembers(ctx).filter((n) => n !== f.name)
      for (const m of others) await setClientMode(ctx, m, {mode: 'drop-responses-after', match: 'http://'})
      try {
        await killEtcdAndData(f.name)
        ctx.killedTasks = 1
        const hit = await waitTriggered(ctx, 'client', 60_000)
        ctx.note(`the member add went through ${hit.member}: its answer dropped from +${((hit.at - ctx.faultAt) / 1000).toFixed(1)} s`)
        await setClientMode(ctx, 'all', {mode: 'drop-responses'})
        const line = /adding etcd member before launching it[^\n]*/.exec(ctx.serveLogs())?.[0]
        ctx.note(`serve: ${line?.slice(0, 160) ?? '(no "adding etcd member" line yet)'}`)
        await sleep(Math.max(0, hit.at + 7000 - Date.now()))
      } finally {
        await resetNet(ctx)
      }
      const after = [
        ...ctx.serveLogs().matchAll(/^.*(?:member add[^\n]*(?:timed out|TIMEOUT)|giving up on adding|MemberAddFailed|unbacked)[^\n]*$/gm),
      ].map((m) => m[0].slice(0, 200))
      ctx.note(`serve after the lost answer: ${after.slice(0, 3).join(' / ') || '(no timeout/give-up line logged)'}`)
    },
  }
}

/**
 * Every member's client port blackholed for 30 s (twice the 15 s --reseed-timeout) while the peers still talk:
 * etcd keeps its quorum but the scheduler (and the writer, and the executors' own checks) reach no member.
 * A scheduler that cannot see etcd must not act on what it cannot see: it counts a lost-quorum episode (it
 * cannot tell the difference) and starts an automatic re-seed, which finds no member to rank and ends
 * without asking or killing anything; no replacement.
 */
function schedulerPartitionedFromEtcd(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'scheduler-partitioned-from-etcd',
    description:
      "every member's client port blackholed for 30 s (twice --reseed-timeout) while the members still reach each other: the scheduler sees no member; its automatic re-seed finds nothing to rank and ends without asking or killing anything; nothing replaced; healthy again after",
    expect: {reseed: 'no-seed', livelocks: 'some', launched: 0},
    etcdBin: netEtcdBin,
    recovered: kept(() => v),
    async inject(ctx) {
      v.length = 0
      v.push(...(await ctx.members()).map((m) => m.name))
      await setClientMode(ctx, 'all', {mode: 'blackhole'})
      try {
        await sleep(30_000)
        const st = await ctx.stats()
        ctx.note(
          `after 30 s without reaching etcd: mode ${st.mode}, healthy=${st.healthy}, +${st.cluster_livelocks - ctx.baseline.cluster_livelocks} livelock(s), +${st.launched_servers - ctx.baseline.launched_servers} launched`,
        )
      } finally {
        await resetNet(ctx)
      }
    },
  }
}

/**
 * The client ports of two members (the leader and a follower) blackholed for 30 s: the scheduler reaches only
 * one member, which still serves linearizable reads through the healthy majority. That read proves a quorum:
 * no livelock, no re-seed (which would force a new cluster out of a healthy one), nothing replaced.
 */
function schedulerSeesOneMember(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'scheduler-sees-one-member',
    description:
      'the client ports of the leader and a follower blackholed for 30 s: the scheduler reaches one member only, whose linearizable read proves the quorum it cannot see: unhealthy in its view, but no livelock, no re-seed, nothing replaced',
    expect: {reseed: false, livelocks: 'none', launched: 0},
    etcdBin: netEtcdBin,
    recovered: kept(() => v),
    async inject(ctx) {
      v.length = 0
      v.push(...(await ctx.members()).map((m) => m.name))
      const hidden = [(await ctx.leader()).name, (await ctx.followers())[0]!.name]
      for (const m of hidden) await setClientMode(ctx, m, {mode: 'blackhole'})
      try {
        await sleep(30_000)
        const st = await ctx.stats()
        ctx.note(
          `after 30 s seeing one member: mode ${st.mode}, healthy=${st.healthy}, +${st.cluster_livelocks - ctx.baseline.cluster_livelocks} livelock(s), +${st.cluster_reseeds - ctx.baseline.cluster_reseeds} re-seed(s)`,
        )
      } finally {
        await resetNet(ctx)
      }
    },
  }
}

export const NET_SCENARIOS: ScenarioDef[] = [
  blackholeFollowerPeer(),
  blackholeLeaderPeer(),
  delayFollowerPeer(),
  memberAddTimeoutButApplied(),
  schedulerPartitionedFromEtcd(),
  schedulerSeesOneMember(),
]
