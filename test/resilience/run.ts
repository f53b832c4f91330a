/**
 * Runs one resilience scenario end to end (harness.ts holds the contract and the context): setup, the writer,
 * the fault, the wait for recovery, then the checker (checker.ts, rules.ts): every acknowledged write present
 * (after a re-seed the harness observed itself (observer.ts): those of the old history up to the seed's revision
 * as the harness read it, every later one), the seed the most up-to-date survivor, no revision regression without
 * a re-seed, the same KV hash on every member, the member count, the etcd processes, and /stats consistent
 * with the fault. Never throws: a harness failure is a failed row naming it.
 * Everything the scenario started is stopped and its work dir swept, also on failure; the logs of a failed
 * scenario are written to a file named in its notes. teardownActive() stops the running ones (signals).
 */
import fs from 'node:fs'
import path from 'node:path'
import {etcdNames} from '../helpers/serve.js'
import {checkHashes, checkMembership, readAll} from './checker.js'
import {Ctx, sleep, waitUntil, type ScenarioDef, type ScenarioResult, type Shared} from './harness.js'
import {fetchSlaves, reservationLeaks, reservedTo} from './leaks.js'
import {ClusterObserver} from './observer.js'
import {checkEpisodes, checkSeedChoice, checkWrites, detectReseeds, type ReseedEpisode} from './rules.js'
import {checkRestoredWrites} from './restore-check.js'
import type {WriterReport} from './writer.js'

let counter = 0
/** Scenarios being run (for teardownActive on SIGINT/SIGTERM). */
const active = new Set<Ctx>()

/** Tears down every running scenario (its serve, local Mesos, executors and etcd): for a runner interrupted by a signal. */
export async function teardownActive(): Promise<void> {
  await Promise.all([...active].map((c) => c.teardown().catch(() => undefined)))
}

/** Background poll of /stats and /members: refreshes the writer's endpoints and records the modes seen. */
function monitor(ctx: Ctx): {stop(): Promise<void>; modes: Set<string>} {
  const modes = new Set<string>()
  let on = true
  const loop = (async () => {
    while (on) {
      await ctx.refreshEndpoints()
      const st = await ctx.stats().catch(() => null)
      if (st) modes.add(st.mode)
      const r = st?.restore
      if (r?.backup && r.to_revision !== null && r.to_revision !== undefined)
        ctx.restoreSeen = {
          backup: r.backup,
          toRevision: r.to_revision,
          recoveryPointSeconds: r.recovery_point_seconds,
          dataUntil: r.data_until,
        }
      await sleep(300)
    }
  })()
  return {
    modes,
    async stop() {
      on = false
      await loop
    },
  }
}

/** What the harness saw of a re-seed, for the notes. */
function describeEpisode(ctx: Ctx, e: ReseedEpisode): string {
  const rel = (t: number): string => `+${((t - ctx.faultAt) / 1000).toFixed(1)} s`
  const surv = e.survivors.map((x) => `${x.url} revision ${x.revision} raft index ${x.raftIndex}`).join(', ') || 'none'
  return `re-seed seen by the harness: ${e.seedUrl} at revision ${e.seedRevision} (raft index ${e.seedRaftIndex}) at ${rel(e.epochAt)}, serving alone at ${rel(e.completedAt)}; other survivors: ${surv}; every write acknowledged after ${rel(e.epochAt)} required`
}

/** Restore scenarios: the writes against the restored revision (restore-check.ts), with notes for the report. */
function checkRestore(
  ctx: Ctx,
  report: WriterReport,
  kv: Map<string, string>,
): {failures: string[]; lost: number; recoveryPointMs: number | null} {
  const rs = ctx.restoreSeen
  if (!rs) return {failures: ['/stats never showed the restore with its backup resolved'], lost: 0, recoveryPointMs: null}
  if (ctx.lostAt === 0)
    return {failures: ['harness: the scenario did not record when the old cluster was gone'], lost: 0, recoveryPointMs: null}
  const w = checkRestoredWrites(report.acked, kv, ctx.lostAt, rs.toRevision)
  const failures: string[] = []
  const eg = (xs: unknown[]): string => JSON.stringify(xs.slice(0, 3))
  if (w.lost.length > 0)
    failures.push(`${w.lost.length} acknowledged write(s) at or below the restored revision ${rs.toRevision} LOST, e.g. ${eg(w.lost)}`)
  if (w.beyond.length > 0)
    failures.push(`${w.beyond.length} write(s) above the restored revision ${rs.toRevision} present, e.g. ${eg(w.beyond)}`)
  if (w.lostAfter.length > 0)
    failures.push(`${w.lostAfter.length} write(s) acknowledged by the restored cluster LOST, e.g. ${eg(w.lostAfter)}`)
  if (w.regressions.length > 0) failures.push(`${w.regressions.length} revision(s) went back after the restore, e.g. ${eg(w.regressions)}`)
  const rp = w.recoveryPointMs === null ? 'no write before the loss' : `${(w.recoveryPointMs / 1000).toFixed(1)} s`
  ctx.note(
    `restored backup ${rs.backup} to revision ${rs.toRevision}: ${w.notInBackup.length} acknowledged write(s) not in it, recovery point ${rp} as the harness measured it (serve said ${rs.recoveryPointSeconds ?? '–'} s, data until ${rs.dataUntil ?? '–'})`,
  )
  return {failures, lost: w.lost.length + w.lostAfter.length, recoveryPointMs: w.recoveryPointMs}
}

/** Runs one scenario end to end; never throws (a harness failure is a failed row naming it). */
export async function runScenario(def: ScenarioDef, shared: Shared): Promise<ScenarioResult> {
  const t0 = Date.now()
  const cluster = `r${(Date.now() % 100000).toString(36)}${(counter++).toString(36)}`
  const ctx = new Ctx(def, cluster, shared, def.size ?? 3)
  active.add(ctx)
  const failures: string[] = []
  let recoveryMs: number | null = null
  let report: WriterReport = {acked: [], attempts: 0, failures: 0, longestGapMs: 0, longestGapFrom: null}
  let lost = 0
  let lostByReseed = 0
  let leaks: number | undefined
  let recoveryPointMs: number | null | undefined
  let mon: ReturnType<typeof monitor> | null = null
  let obs: ClusterObserver | null = null
  try {
    await ctx.setup()
    mon = monitor(ctx)
    obs = new ClusterObserver(() => ctx.clientUrls())
    obs.start()
    ctx.writer.start()
    await waitUntil('the writer to get 150 acknowledgements', async () => ctx.writer.acked.length >= 150, 30_000, 50)
    const st0 = await ctx.stats()
    ctx.baseline = st0
    ctx.baselineMembers = await ctx.members()
    ctx.faultAt = Date.now()
    await def.inject(ctx)

    if (def.expect.totalLoss) {
      await waitUntil('TOTAL_LOSS mode', async () => (await ctx.stats()).mode === 'TOTAL_LOSS', 60_000)
      const seenAt = Date.now()
      await sleep(8000)
      const st = await ctx.stats()
      recoveryMs = null
      ctx.note(`TOTAL_LOSS reported ${seenAt - ctx.faultAt} ms after the fault`)
      if (st.mode !== 'TOTAL_LOSS') failures.push(`mode ${st.mode} 8 s after TOTAL_LOSS`)
      if (st.launched_servers !== st0.launched_servers)
        failures.push(`launched ${st.launched_servers - st0.launched_servers} task(s) blindly after total loss`)
      if (!/TOTAL CLUSTER LOSS/.test(ctx.serveLogs())) failures.push('serve did not log TOTAL CLUSTER LOSS')
      if (etcdNames(cluster).length !== 0) failures.push(`etcd processes running after total loss: ${etcdNames(cluster).join(', ')}`)
      report = await ctx.writer.stop()
      ctx.note('every member and its data destroyed: acknowledged writes cannot survive (not counted as lost)')
    } else {
      // Recovered = healthy with `size` voting members, the scenario's own condition, a write acknowledged after both.
      const timeout = def.recoveryTimeoutMs ?? 120_000
      const healthyAt = await waitUntil(
        'recovery (healthy, all members, scenario condition)',
        async () => {
          const h = await ctx.isHealthy()
          if (!h) return null
          if (def.recovered && !def.recovered(ctx, h.st, h.ms)) return null
          return Date.now()
        },
        timeout,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}; ${await ctx.lastSeen()}`)
      })
      await waitUntil('a write acknowledged after recovery', async () => (ctx.writer.lastAck()?.at ?? 0) > healthyAt, 20_000, 50)
      recoveryMs = Math.max(0, ctx.writer.lastAck()!.at - ctx.faultAt)
      await sleep(1500)
      report = await ctx.writer.stop()
      await mon.stop()
      mon = null
      const readings = await obs.stop()
      obs = null

      // Checker.
      await ctx.refreshEndpoints()
      const ms = await ctx.waitHealthy(30_000)
      const urls = ms.map((m) => m.client_url)
      const st = await ctx.stats()
      const reseeds = st.cluster_reseeds - st0.cluster_reseeds
      if (def.expect.restore) {
        const w = checkRestore(ctx, report, await readAll(urls, ctx.writer.keyPrefix))
        failures.push(...w.failures)
        lost = w.lost
        recoveryPointMs = w.recoveryPointMs
      } else {
        // Re-seeds as the harness saw them (its own readings of every member), never as the product reports them.
        const episodes = detectReseeds(readings)
        for (const e of episodes) {
          ctx.note(describeEpisode(ctx, e))
          failures.push(...checkSeedChoice(e))
        }
        failures.push(...checkEpisodes(episodes))
        if (def.expect.reseed === true && episodes.length === 0)
          failures.push('expected a re-seed; the harness never saw a member forced into a new one-member cluster')
        if (def.expect.reseed !== true && episodes.length > 0)
          failures.push(`the harness saw ${episodes.length} member(s) forced into a new cluster where no re-seed may complete`)
        const kv = await readAll(urls, ctx.writer.keyPrefix)
        const data = checkWrites(report.acked, kv, episodes)
        lost = data.lost.length + data.wrong.length
        lostByReseed = data.lostByReseed.length
        if (data.lost.length > 0)
          failures.push(`${data.lost.length} acknowledged write(s) LOST, e.g. ${JSON.stringify(data.lost.slice(0, 3))}`)
        if (data.wrong.length > 0)
          failures.push(`${data.wrong.length} write(s) with another value, e.g. ${JSON.stringify(data.wrong.slice(0, 3))}`)
        if (data.regressions.length > 0) {
          const r = data.regressions[0]!
          failures.push(
            `${data.regressions.length} acknowledged revision(s) went back with no re-seed seen in between (a history was lost), e.g. ${r.ack.revision} after ${r.previous.revision} at +${((r.ack.at - ctx.faultAt) / 1000).toFixed(1)} s`,
          )
        }
        if (lostByReseed > 0)
          ctx.note(
            `${lostByReseed} write(s) lost by re-seed (acknowledged before it by a quorum that no longer exists; revisions ${data.lostByReseed[0]!.revision}..${data.lostByReseed.at(-1)!.revision} above the seed's)`,
          )
      }
      const hash = await checkHashes(urls)
      if (!hash.ok) failures.push(`KV hash: ${hash.message}`)
      const mem = await checkMembership(urls, ctx.size)
      if (!mem.ok) failures.push(`membership: ${mem.message}`)
      const running = etcdNames(cluster)
      if (running.length !== ctx.size)
        failures.push(`${running.length} etcd processes of the cluster run (${running.join(', ')}), expected ${ctx.size}`)
      // /stats tells the truth.
      if (def.expect.reseed === true && reseeds < 1) failures.push('expected a re-seed; cluster_reseeds did not grow')
      if (def.expect.reseed === false && reseeds !== 0) failures.push(`re-seeded ${reseeds} time(s) where healing needs no re-seed`)
      if (def.expect.reseed === 'no-seed' && /asking a member to become the re-seed/.test(ctx.serveLogs()))
        failures.push('a member was asked to become a re-seed where none may be')
      const ll = st.cluster_livelocks - st0.cluster_livelocks
      if (def.expect.livelocks === 'none' && ll !== 0) failures.push(`cluster_livelocks grew by ${ll} without a quorum loss`)
      if (def.expect.livelocks === 'some' && ll < 1) failures.push('quorum was lost but cluster_livelocks did not grow')
      const failed = st.failed_servers - st0.failed_servers
      if (failed < ctx.killedTasks) failures.push(`failed_servers grew by ${failed} < ${ctx.killedTasks} tasks ended by the fault`)
      const launched = st.launched_servers - st0.launched_servers
      // With a role, a member whose etcd died on a live agent is first relaunched on its volume; if its data is gone
      // its executor refuses to start an empty member, and only then is it replaced: one more launch per such task.
      const extraLaunches = shared.role ? ctx.killedTasks : 0
      if (def.expect.launched !== undefined && (launched < def.expect.launched || launched > def.expect.launched + extraLaunches))
        failures.push(
          `launched ${launched} task(s), expected ${def.expect.launched}${extraLaunches > 0 ? ` to ${def.expect.launched + extraLaunches}` : ''}`,
        )
      if (def.expect.launchedAtMost !== undefined && launched > def.expect.launchedAtMost + extraLaunches)
        failures.push(`launched ${launched} task(s), at most ${def.expect.launchedAtMost + extraLaunches} expected`)
      if (st.running_servers !== ctx.size) failures.push(`running_servers ${st.running_servers}`)
      ctx.note(`stats: +${failed} failed, +${launched} launched, +${reseeds} re-seeds, +${ll} livelocks; ${hash.message}; ${mem.message}`)
      if (shared.role) {
        // Leftovers are released when their offers come back (a removed member's volume after its task ended, a
        // crash's leftovers after the scheduler's grace period): give them a bounded time, then count what is left.
        let left: string[] = []
        await waitUntil(
          'no leaked reservation or volume',
          async () => {
            left = reservationLeaks(reservedTo(await fetchSlaves(ctx.mesos.masterUrl), shared.role!), await ctx.members())
            return left.length === 0
          },
          90_000,
          1000,
        ).catch(() => undefined)
        leaks = left.length
        if (leaks > 0) failures.push(`${leaks} leaked reservation(s)/volume(s): ${left.slice(0, 3).join('; ')}`)
        else ctx.note(`role ${shared.role}: no leaked reservation or volume`)
      }
    }
  } catch (err) {
    failures.push(`harness: ${(err as Error).message.split('\n').slice(0, 4).join(' | ')}`)
    if (ctx.writer) report = await ctx.writer.stop().catch(() => report)
  } finally {
    await mon?.stop().catch(() => undefined)
    await obs?.stop().catch(() => undefined)
  }
  if (failures.length > 0) {
    const file = path.join(shared.logDir, `${def.name}-${cluster}.log`)
    try {
      fs.mkdirSync(shared.logDir, {recursive: true})
      fs.writeFileSync(file, `${failures.join('\n')}\n\nnotes:\n${ctx.notes.join('\n')}\n\n${ctx.logs.dump(400_000)}`)
      ctx.note(`logs: ${file}`)
    } catch {
      /* best effort */
    }
  }
  await ctx.teardown().catch(() => undefined)
  active.delete(ctx)
  return {
    scenario: def.name,
    ok: failures.length === 0,
    recoveryMs,
    writesAcked: report.acked.length,
    writesLost: lost,
    lostByReseed,
    longestUnavailableMs: report.longestGapMs,
    failures,
    notes: ctx.notes,
    durationMs: Date.now() - t0,
    ...(leaks !== undefined ? {leaks} : {}),
    ...(recoveryPointMs !== undefined ? {recoveryPointMs} : {}),
  }
}
