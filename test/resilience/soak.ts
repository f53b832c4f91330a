/**
 * Soak mode: ONE cluster, the writer running for `durationMs`, random faults from the survivable list
 * injected one after another (each waits for recovery — healthy with clusterSize voting members and a write
 * acknowledged — before the next), then the full checker once at the end. Reports faults injected,
 * survived (recovered within the limit), writes acknowledged, writes lost (must be 0) and the longest
 * unavailability. Faults that need a fresh topology (losing agents for good, total loss, re-seeds) are left
 * to the matrix: a soak on 5 agents runs out of spare agents after two agent losses.
 */
import {sleep, waitUntil, type Ctx, type ScenarioDef, type ScenarioResult, type Shared} from './harness.js'
import {runScenario} from './run.js'
import {flap, killEtcd, killExecutor, pause} from './faults.js'
import {netEtcdBin, setPeerMode} from './netfaults.js'

type Fault = {name: string; run(ctx: Ctx): Promise<void>}

const FAULTS: Fault[] = [
  {
    name: 'kill-follower',
    async run(ctx) {
      await killEtcd((await ctx.followers())[0]!.name)
    },
  },
  {
    name: 'kill-leader',
    async run(ctx) {
      await killEtcd((await ctx.leader()).name)
    },
  },
  {
    name: 'pause-follower',
    async run(ctx) {
      await pause((await ctx.followers())[0]!.name, 4000)
    },
  },
  {
    name: 'pause-leader',
    async run(ctx) {
      await pause((await ctx.leader()).name, 4000)
    },
  },
  {
    name: 'delay-follower-traffic',
    async run(ctx) {
      await flap((await ctx.followers())[0]!.name, 6000, 200, 200)
    },
  },
  {
    name: 'blackhole-follower-peer',
    async run(ctx) {
      const f = (await ctx.followers())[0]!.name
      await setPeerMode(ctx, f, {mode: 'blackhole'})
      try {
        await sleep(5000)
      } finally {
        await setPeerMode(ctx, f, {mode: 'normal'})
      }
    },
  },
  {
    name: 'delay-follower-peer',
    async run(ctx) {
      const f = (await ctx.followers())[0]!.name
      await setPeerMode(ctx, f, {mode: 'delay', ms: 200, jitterMs: 50})
      try {
        await sleep(6000)
      } finally {
        await setPeerMode(ctx, f, {mode: 'normal'})
      }
    },
  },
  {
    name: 'executor-killed',
    async run(ctx) {
      killExecutor((await ctx.followers())[0]!.name)
    },
  },
  {
    name: 'agent-restarted',
    async run(ctx) {
      const i = ctx.agentIndexOf((await ctx.followers())[0]!)
      await ctx.mesos.stopAgent(i, 'kill')
      await sleep(2000)
      await ctx.mesos.startAgent(i)
    },
  },
  {
    name: 'kill-scheduler-idle',
    async run(ctx) {
      await ctx.killServe()
      await ctx.startServe()
    },
  },
  {
    name: 'zookeeper-down-and-back',
    async run(ctx) {
      await ctx.shared.zk.stop()
      try {
        await sleep(5000)
      } finally {
        await ctx.shared.zk.start()
      }
    },
  },
]

/** The faults a soak draws from, by name (for the report). */
export const SOAK_FAULTS: readonly string[] = FAULTS.map((f) => f.name)

export interface SoakReport extends ScenarioResult {
  faultsInjected: number
  faultsSurvived: number
  faultLog: {fault: string; recoveredMs: number | null}[]
}

/** Runs the soak as one "scenario" whose inject() is the fault loop; the harness does setup, writer and checker. */
export async function runSoak(durationMs: number, shared: Shared, rng: () => number = Math.random): Promise<SoakReport> {
  const faultLog: {fault: string; recoveredMs: number | null}[] = []
  const def: ScenarioDef = {
    name: 'soak',
    description: `random faults for ${Math.round(durationMs / 1000)} s`,
    expect: {reseed: false, livelocks: 'any'},
    recoveryTimeoutMs: 120_000,
    // Every member behind the TCP proxies, for the peer-traffic faults.
    etcdBin: netEtcdBin,
    async inject(ctx) {
      const end = Date.now() + durationMs
      while (Date.now() < end) {
        const f = FAULTS[Math.floor(rng() * FAULTS.length)]!
        const t0 = Date.now()
        const entry: {fault: string; recoveredMs: number | null} = {fault: f.name, recoveredMs: null}
        faultLog.push(entry)
        try {
          const before = await ctx.stats()
          await f.run(ctx)
          // Recovered: healthy again; for faults that end a task, its replacement launched too.
          const endsTask = ['kill-follower', 'kill-leader', 'executor-killed'].includes(f.name)
          const at = await waitUntil(
            `recovery from ${f.name}`,
            async () => {
              const h = await ctx.isHealthy()
              if (!h) return null
              if (endsTask && h.st.launched_servers <= before.launched_servers) return null
              return Date.now()
            },
            120_000,
          ).catch(async (err: Error) => {
            throw new Error(`${err.message}; ${await ctx.lastSeen()}`)
          })
          await waitUntil('a write acknowledged after recovery', async () => (ctx.writer.lastAck()?.at ?? 0) > at, 20_000, 50)
          entry.recoveredMs = Date.now() - t0
          if (endsTask) ctx.killedTasks++
        } catch (err) {
          ctx.note(`fault ${f.name} not survived: ${(err as Error).message.split('\n')[0]}`)
          throw err
        }
        await sleep(1000 + Math.floor(rng() * 2000))
      }
    },
  }
  const r = await runScenario(def, shared)
  const survived = faultLog.filter((f) => f.recoveredMs !== null).length
  return {...r, faultsInjected: faultLog.length, faultsSurvived: survived, faultLog}
}
