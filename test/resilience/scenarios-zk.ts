/**
 * Resilience scenarios with ZooKeeper away (issue 11 item 10): the scenarios' shared ZooKeeper is frozen
 * (SIGSTOP of its java process: connections accepted, nothing answered) for more than three of serve's
 * 10 s session timeouts, then thawed (its sessions found expired). While the Mesos master stays up the
 * scheduler must keep running and repairing; afterwards exactly one scheduler leads and the persisted state
 * catches up. Same contract as scenarios.ts: `inject` performs the fault and lifts it; the harness then waits
 * for recovery and runs the checker.
 */
import fs from 'node:fs'
import {ZkClient} from '../../src/lib/zk/client.js'
import {freeze} from '../helpers/zk-freeze.js'
import {getJson, killEtcd, startServe, type ServeProc} from '../helpers/serve.js'
import {freePort} from '../helpers/ports.js'
import {replaced, waitUntil, type Ctx, type ScenarioDef} from './harness.js'

/** Longer than three session timeouts (serve asks ZooKeeper for 10 s). */
const OUTAGE_MS = 35_000

async function zkRead<T>(ctx: Ctx, fn: (c: ZkClient) => Promise<T>): Promise<T> {
  const c = await ZkClient.connect(ctx.shared.zk.url, {connectTimeoutMs: 5000})
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}

const base = (ctx: Ctx): string => `/resilience/${ctx.cluster}`

function alive(s: ServeProc, what: string): void {
  if (s.exited())
    throw new Error(
      `${what} exited during the ZooKeeper outage: ${s
        .log()
        .split('\n')
        .filter((l) => /ERROR|fatal/.test(l))
        .slice(-3)
        .join(' | ')}`,
    )
}

/**
 * Freezes ZooKeeper, runs `during` (faults and checks while it is away), keeps it frozen for OUTAGE_MS in
 * all, thaws it (every serve in `watch` must stay up meanwhile, those in `watchAfter` also after it); then
 * waits until the old sessions' election nodes are gone and a candidate is listed again (or 20 s passed
 * with a session kept); returns the candidates listed before the outage.
 */
async function outage(ctx: Ctx, watch: ServeProc[], during: () => Promise<void>, watchAfter = watch): Promise<string[]> {
  const before = await zkRead(ctx, (c) => c.children(`${base(ctx)}/election`))
  const thaw = freeze(ctx.shared.zk)
  const t0 = Date.now()
  try {
    await during()
    await waitUntil(
      `${OUTAGE_MS / 1000} s of ZooKeeper outage`,
      async () => {
        for (const s of watch) alive(s, 'serve')
        return Date.now() - t0 >= OUTAGE_MS
      },
      OUTAGE_MS + 180_000,
      250,
    )
  } finally {
    thaw()
  }
  ctx.note(`ZooKeeper frozen for ${((Date.now() - t0) / 1000).toFixed(1)} s (SIGSTOP)`)
  // Whether a session expires is a race after a SIGCONT: a reconnect queued while the server was stopped may
  // revalidate it before the server's expiry thread runs. Both outcomes are fine; which one happened is noted.
  const thawed = Date.now()
  const fate = await waitUntil(
    'the old sessions expired (their election nodes gone, a candidate listed again) or kept',
    async () => {
      for (const s of watchAfter) alive(s, 'serve')
      const ch = await zkRead(ctx, (c) => c.children(`${base(ctx)}/election`)).catch(() => null)
      if (ch && ch.length > 0 && !ch.some((n) => before.includes(n))) return 'expired'
      return ch && Date.now() - thawed > 20_000 ? 'kept' : null
    },
    90_000,
    500,
  )
  ctx.note(
    fate === 'expired'
      ? 'the sessions expired; the schedulers re-joined the election'
      : 'a session survived the outage (revalidated on reconnect)',
  )
  return before
}

/** The persisted document lists every task /members shows (the state caught up after the outage). */
async function persistedCaughtUp(ctx: Ctx): Promise<void> {
  let last = ''
  await waitUntil(
    'the persisted state to list every running task',
    async () => {
      const ms = await ctx.members().catch(() => null)
      const d = await zkRead(ctx, (c) => c.get(`${base(ctx)}/state`)).catch(() => null)
      if (!ms || !d) return false
      const tasks = (JSON.parse(d.data.toString('utf8')) as {tasks: {taskId: string}[]}).tasks.map((t) => t.taskId)
      last = `persisted ${tasks.join(',')}; running ${ms.map((m) => m.task_id).join(',')}`
      return ms.length === ctx.size && ms.every((m) => tasks.includes(m.task_id))
    },
    60_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; ${last}`)
  })
}

/** serve's own arguments (read from /proc), without the admin address and port startServe appends. */
function serveArgs(s: ServeProc): string[] {
  const argv = fs
    .readFileSync(`/proc/${s.child.pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '')
  return argv.slice(argv.indexOf('serve') + 1, argv.indexOf('--admin-address'))
}

function zkAway(): ScenarioDef {
  return {
    name: 'zk-away',
    description: `ZooKeeper frozen (SIGSTOP) for ${OUTAGE_MS / 1000} s, more than three session timeouts: serve keeps running, re-joins the election, the persisted state catches up; nothing relaunched`,
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      await outage(ctx, [ctx.serve], async () => undefined)
      await persistedCaughtUp(ctx)
      alive(ctx.serve, 'serve')
      if (ctx.serveGen !== 1) throw new Error(`serve was restarted (generation ${ctx.serveGen})`)
    },
  }
}

function zkAwayKillFollower(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'zk-away-kill-follower',
    description: `ZooKeeper frozen for ${OUTAGE_MS / 1000} s; a follower's etcd SIGKILLed during the outage must be replaced DURING it; then the persisted state lists the replacement`,
    expect: {reseed: false, livelocks: 'none', launched: 1},
    recovered: replaced(() => v),
    async inject(ctx) {
      v.length = 0
      await outage(ctx, [ctx.serve], async () => {
        const f = (await ctx.followers())[0]!
        v.push(f.name)
        await killEtcd(f.name)
        ctx.killedTasks = 1
        await waitUntil(
          'the follower replaced while ZooKeeper is away',
          async () => {
            alive(ctx.serve, 'serve')
            const h = await ctx.isHealthy()
            return h !== null && replaced(() => v)(ctx, h.st, h.ms)
          },
          150_000,
          500,
        )
        ctx.note('replaced while ZooKeeper was away')
      })
      await persistedCaughtUp(ctx)
      alive(ctx.serve, 'serve')
    },
  }
}

function zkAwayWithStandby(): ScenarioDef {
  const v: string[] = []
  return {
    name: 'zk-away-with-standby',
    description:
      `a standby serve runs; ZooKeeper frozen for ${OUTAGE_MS / 1000} s and a follower's etcd killed during the outage (replaced during it); ` +
      'afterwards exactly one scheduler leads (the old leader, or the standby, the old one stepping down with its reason logged) and the persisted state catches up',
    // If the standby takes over from the stored state, the replacement launched during the outage is unknown
    // to it: a stray, killed and replaced again (2 launches).
    expect: {reseed: false, livelocks: 'none', launchedAtMost: 2},
    recovered: replaced(() => v),
    recoveryTimeoutMs: 180_000,
    async inject(ctx) {
      v.length = 0
      const leader = ctx.serve
      const standby = await startServe(serveArgs(leader), ctx.logs, 'standby serve', {adminPort: await freePort()})
      try {
        await waitUntil(
          'the standby to stand by',
          async () => {
            const r = await getJson<{mode: string}>(`${standby.adminUrl}/failover-status`).catch(() => null)
            return r?.status === 200 && r.body.mode === 'STANDBY'
          },
          30_000,
        )
        await outage(
          ctx,
          [leader, standby],
          async () => {
            const f = (await ctx.followers())[0]!
            v.push(f.name)
            await killEtcd(f.name)
            ctx.killedTasks = 1
            await waitUntil(
              'the follower replaced while ZooKeeper is away',
              async () => {
                alive(leader, 'the leading serve')
                const h = await ctx.isHealthy()
                return h !== null && replaced(() => v)(ctx, h.st, h.ms)
              },
              150_000,
              500,
            )
          },
          [],
        )
        // Exactly one leader: the old one still leading with the standby standing by, or the standby leading and
        // the old one gone, having logged why.
        const winner = await waitUntil(
          'exactly one scheduler to lead',
          async () => {
            const fo = async (s: ServeProc): Promise<{subscribed: boolean; mode: string} | null> =>
              s.exited()
                ? null
                : ((await getJson<{subscribed: boolean; mode: string}>(`${s.adminUrl}/failover-status`).catch(() => null))?.body ?? null)
            const [a, b] = [await fo(leader), await fo(standby)]
            if (a?.subscribed && b?.mode === 'STANDBY') return leader
            if (b?.subscribed && leader.exited()) return standby
            return null
          },
          90_000,
          500,
        )
        if (winner === standby) {
          const why = leader
            .log()
            .split('\n')
            .find((l) => /stopping after a fatal error: \S/.test(l))
          if (!why) throw new Error('the old leader exited without logging its reason')
          ctx.note(
            `the standby took over; the old leader exited with code ${String(await leader.exit)}: ${why.replace(/^\S+ /, '').slice(0, 200)}`,
          )
          ctx.serve = standby
          ctx.adminPort = standby.adminPort
        } else {
          ctx.note('the old leader kept the leadership; the standby stood by')
        }
        await persistedCaughtUp(ctx)
      } finally {
        if (ctx.serve !== standby) await standby.stop()
      }
    },
  }
}

export const ZK_SCENARIOS: ScenarioDef[] = [zkAway(), zkAwayKillFollower(), zkAwayWithStandby()]
