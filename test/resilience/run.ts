/**
 * Runs one resilience scenario end to end (harness.ts holds the contract and the context): setup, the writer,
 * the fault, the wait for recovery, then the checker (checker.ts): every acknowledged write present (bounded
 * by the seed's revision after a re-seed), the same KV hash on every member, the member count, the etcd
 * processes, and /stats consistent with the fault. Never throws: a harness failure is a failed row naming it.
 * Everything the scenario started is stopped and its work dir swept, also on failure; the logs of a failed
 * scenario are written to a file named in its notes. teardownActive() stops the running ones (signals).
 */
import fs from 'node:fs'
import path from 'node:path'
import {etcdNames, getJson, sandboxLogs} from '../helpers/serve.js'
import {checkHashes, checkMembership, checkWrites, readAll, seedRevisionFromSteps, type SeedBound} from './checker.js'
import {Ctx, sleep, waitUntil, type ScenarioDef, type ScenarioResult, type Shared} from './harness.js'
import type {WriterReport} from './writer.js'

let counter = 0
/** Scenarios being run (for teardownActive on SIGINT/SIGTERM). */
const active = new Set<Ctx>()

/** Tears down every running scenario (its serve, local Mesos, executors and etcd): for a runner interrupted by a signal. */
export async function teardownActive(): Promise<void> {
  await Promise.all([...active].map((c) => c.teardown().catch(() => undefined)))
}

/** Background poll of /stats and /members: refreshes the writer's endpoints and records the modes seen. */
function monitor(ctx: Ctx): {stop(): Promise<void>; modes: Set<string>; reseedOps: Set<string>} {
  const modes = new Set<string>()
  const reseedOps = new Set<string>()
  let on = true
  const loop = (async () => {
    while (on) {
      await ctx.refreshEndpoints()
      const st = await ctx.stats().catch(() => null)
      if (st) modes.add(st.mode)
      for (const m of ctx.serveLogs().matchAll(/starting (?:automatic|manual) re-seed.*?\bop=([\w-]+)/g)) reseedOps.add(m[1]!)
      await sleep(300)
    }
  })()
  return {modes, reseedOps, async stop() {
    on = false
    await loop
  }}
}

async function reseedBound(ctx: Ctx, ops: Set<string>, report: WriterReport): Promise<SeedBound | null> {
  for (const op of ops) {
    const r = await getJson<{steps?: {step: string; message?: string}[]; seed?: string | null}>(`${ctx.adminUrl}/reseed/${op}`).catch(() => null)
    const rev = r?.status === 200 ? seedRevisionFromSteps(r.body.steps ?? []) : null
    if (rev !== null) return {revision: rev, source: `the seed's revision reported by its executor (/reseed/${op} steps)`}
  }
  // A restarted scheduler does not have the steps of the previous one: the seed's executor logs them too.
  for (const m of sandboxLogs(ctx.workDir).matchAll(/reseed (\S+): serving-alone \(one-member cluster at revision (\d+)\)/g)) {
    return {revision: Number(m[2]), source: `the seed's revision in its executor's log (re-seed ${m[1]}, step serving-alone)`}
  }
  const first = report.acked.find((a) => a.epoch === 1)
  if (first) return {revision: first.revision - 1, source: 'the first revision acknowledged after the re-seed minus 1 (the /reseed/<op> steps were not available); an upper bound of the seed revision, i.e. the stricter check'}
  return null
}

/** Runs one scenario end to end; never throws (a harness failure is a failed row naming it). */
export async function runScenario(def: ScenarioDef, shared: Shared): Promise<ScenarioResult> {
  const t0 = Date.now()
  const cluster = `r${(Date.now() % 100000).toString(36)}${(counter++).toString(36)}`
  const ctx = new Ctx(def, cluster, shared)
  active.add(ctx)
  const failures: string[] = []
  let recoveryMs: number | null = null
  let report: WriterReport = {acked: [], attempts: 0, failures: 0, longestGapMs: 0, longestGapFrom: null, epochs: 1}
  let lost = 0
  let lostByReseed = 0
  let mon: ReturnType<typeof monitor> | null = null
  try {
    await ctx.setup()
    mon = monitor(ctx)
    ctx.writer.start()
    await waitUntil('the writer to get 150 acknowledgements', async () => ctx.writer.acked.length >= 150, 30_000, 50)
    const st0 = await ctx.stats()
    ctx.baseline = st0
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
      if (st.launched_servers !== st0.launched_servers) failures.push(`launched ${st.launched_servers - st0.launched_servers} task(s) blindly after total loss`)
      if (!/TOTAL CLUSTER LOSS/.test(ctx.serveLogs())) failures.push('serve did not log TOTAL CLUSTER LOSS')
      if (etcdNames(cluster).length !== 0) failures.push(`etcd processes running after total loss: ${etcdNames(cluster).join(', ')}`)
      report = await ctx.writer.stop()
      ctx.note('every member and its data destroyed: acknowledged writes cannot survive (not counted as lost)')
    } else {
      // Recovered = healthy with `size` voting members, the scenario's own condition, a write acknowledged after both.
      const timeout = def.recoveryTimeoutMs ?? 120_000
      const healthyAt = await waitUntil('recovery (healthy, all members, scenario condition)', async () => {
        const h = await ctx.isHealthy()
        if (!h) return null
        if (def.recovered && !def.recovered(ctx, h.st, h.ms)) return null
        return Date.now()
      }, timeout).catch(async (err: Error) => {
        throw new Error(`${err.message}; ${await ctx.lastSeen()}`)
      })
      await waitUntil('a write acknowledged after recovery', async () => (ctx.writer.lastAck()?.at ?? 0) > healthyAt, 20_000, 50)
      recoveryMs = Math.max(0, ctx.writer.lastAck()!.at - ctx.faultAt)
      await sleep(1500)
      report = await ctx.writer.stop()
      await mon.stop()
      mon = null

      // Checker.
      await ctx.refreshEndpoints()
      const ms = await ctx.waitHealthy(30_000)
      const urls = ms.map((m) => m.client_url)
      const st = await ctx.stats()
      const reseeds = st.cluster_reseeds - st0.cluster_reseeds
      const opsSeen = new Set<string>([...ctx.serveLogs().matchAll(/starting (?:automatic|manual) re-seed.*?\bop=([\w-]+)/g)].map((m) => m[1]!))
      const bound = reseeds > 0 || report.epochs > 1 ? await reseedBound(ctx, opsSeen, report) : null
      if (bound) ctx.note(`re-seed bound: revision ${bound.revision} from ${bound.source}`)
      const kv = await readAll(urls, ctx.writer.keyPrefix)
      const data = checkWrites(report, kv, bound)
      lost = data.lost.length + data.wrong.length
      lostByReseed = data.lostByReseed.length
      if (data.lost.length > 0) failures.push(`${data.lost.length} acknowledged write(s) LOST, e.g. ${JSON.stringify(data.lost.slice(0, 3))}`)
      if (data.wrong.length > 0) failures.push(`${data.wrong.length} write(s) with another value, e.g. ${JSON.stringify(data.wrong.slice(0, 3))}`)
      if (lostByReseed > 0) ctx.note(`${lostByReseed} write(s) lost by re-seed (expected: acknowledged by a quorum that no longer exists; revisions ${data.lostByReseed[0]!.revision}..${data.lostByReseed.at(-1)!.revision} > seed ${bound!.revision})`)
      if ((reseeds > 0 || report.epochs > 1) && !bound) ctx.note('re-seeded but no seed revision was found: every acknowledged write was required (the strictest check)')
      const hash = await checkHashes(urls)
      if (!hash.ok) failures.push(`KV hash: ${hash.message}`)
      const mem = await checkMembership(urls, ctx.size)
      if (!mem.ok) failures.push(`membership: ${mem.message}`)
      const running = etcdNames(cluster)
      if (running.length !== ctx.size) failures.push(`${running.length} etcd processes of the cluster run (${running.join(', ')}), expected ${ctx.size}`)
      // /stats tells the truth.
      if (def.expect.reseed === true && reseeds < 1) failures.push('expected a re-seed; cluster_reseeds did not grow')
      if (def.expect.reseed === false && reseeds !== 0) failures.push(`re-seeded ${reseeds} time(s) where healing needs no re-seed`)
      if (def.expect.reseed === 'no-seed' && /asking a member to become the re-seed/.test(ctx.serveLogs())) failures.push('a member was asked to become a re-seed where none may be')
      const ll = st.cluster_livelocks - st0.cluster_livelocks
      if (def.expect.livelocks === 'none' && ll !== 0) failures.push(`cluster_livelocks grew by ${ll} without a quorum loss`)
      if (def.expect.livelocks === 'some' && ll < 1) failures.push('quorum was lost but cluster_livelocks did not grow')
      const failed = st.failed_servers - st0.failed_servers
      if (failed < ctx.killedTasks) failures.push(`failed_servers grew by ${failed} < ${ctx.killedTasks} tasks ended by the fault`)
      const launched = st.launched_servers - st0.launched_servers
      if (def.expect.launched !== undefined && launched !== def.expect.launched) failures.push(`launched ${launched} task(s), expected ${def.expect.launched}`)
      if (def.expect.launchedAtMost !== undefined && launched > def.expect.launchedAtMost) failures.push(`launched ${launched} task(s), at most ${def.expect.launchedAtMost} expected`)
      if (st.running_servers !== ctx.size) failures.push(`running_servers ${st.running_servers}`)
      ctx.note(`stats: +${failed} failed, +${launched} launched, +${reseeds} re-seeds, +${ll} livelocks; ${hash.message}; ${mem.message}`)
    }
  } catch (err) {
    failures.push(`harness: ${(err as Error).message.split('\n').slice(0, 4).join(' | ')}`)
    if (ctx.writer) report = await ctx.writer.stop().catch(() => report)
  } finally {
    await mon?.stop().catch(() => undefined)
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
    scenario: def.name, ok: failures.length === 0, recoveryMs, writesAcked: report.acked.length, writesLost: lost, lostByReseed,
    longestUnavailableMs: report.longestGapMs, failures, notes: ctx.notes, durationMs: Date.now() - t0,
  }
}
