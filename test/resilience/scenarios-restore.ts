/**
 * Backup and restore scenarios (issue 15). serve backs up to a file:// target in the scenario's work dir (outside
 * every agent's dir, so it survives the agents): a full backup every 15 s, deltas flushed every 2 s. The checker
 * (restore-check.ts) requires every acknowledged write at or below the restored revision, none above it, and
 * reports the recovery point: seconds of acknowledged writes before the loss that are not in the backup.
 */
import {execFile} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {promisify} from 'node:util'
import {etcdPids, RUN_JS} from '../helpers/serve.js'
import {sleep, waitUntil, type Ctx, type ScenarioDef} from './harness.js'

const execFileP = promisify(execFile)
const FULL_EVERY = '15s'
const DELTA_EVERY = '2s'

const targetDir = (ctx: Ctx): string => path.join(ctx.workDir, 'backups')

async function backupArgs(ctx: Ctx, auto: boolean): Promise<string[]> {
  await fs.promises.mkdir(targetDir(ctx), {recursive: true})
  return [
    '--backup-target',
    `file://${targetDir(ctx)}`,
    '--backup-interval',
    FULL_EVERY,
    '--backup-delta-interval',
    DELTA_EVERY,
    ...(auto ? ['--auto-restore'] : []),
  ]
}

/** Waits until `fulls` full backups were taken and a delta was flushed after the writer's latest acknowledgement now. */
async function backupsFlowing(ctx: Ctx, fulls = 1): Promise<void> {
  const rev = ctx.writer.lastAck()?.revision ?? 0
  await waitUntil(
    `${fulls} full backup(s) and a delta past revision ${rev}`,
    async () => {
      const b = (await ctx.stats()).backup
      return !!b && b.backups_taken >= fulls && (b.deltas.revision ?? 0) > rev
    },
    90_000,
    200,
  )
}

/** Loses every member's agent (and data) at a random point of a delta interval (so that the recovery point measured
 *  is a typical one, not the best case right after a flush); records when the old cluster was gone. */
async function loseEverything(ctx: Ctx): Promise<void> {
  await sleep(Math.random() * 2000)
  const ms = await ctx.members()
  for (const m of ms) await ctx.loseAgent(ctx.agentIndexOf(m))
  ctx.lostAt = Date.now()
  ctx.killedTasks = ms.length
}

/** The restore is over (nothing running) and the last one succeeded (`op`: that one). */
const restored =
  (op?: () => string | null) =>
  (ctx: Ctx, st: {restore?: {op: string | null; last: {op: string; status: string} | null}}): boolean =>
    ctx.restoreSeen !== null &&
    st.restore?.op === null &&
    st.restore.last?.status === 'succeeded' &&
    (op === undefined || st.restore.last.op === op())

export const RESTORE_SCENARIOS: ScenarioDef[] = [
  {
    name: 'lose-everything-auto-restore',
    description:
      'backups to a file:// target (full every 15 s, deltas every 2 s); the agents of all 3 members gone with their data (3 spare agents): --auto-restore rebuilds the cluster from the latest backup',
    expect: {reseed: false, livelocks: 'any', restore: true, launchedAtMost: 6},
    agents: 6,
    serveArgsFor: (ctx) => backupArgs(ctx, true),
    recovered: restored(),
    recoveryTimeoutMs: 240_000,
    async inject(ctx) {
      await backupsFlowing(ctx)
      await loseEverything(ctx)
    },
  },
  {
    name: 'kill-scheduler-mid-restore',
    description:
      'as lose-everything-auto-restore, and serve SIGKILLed as the restore starts building the new cluster: the restarted scheduler finishes it',
    expect: {reseed: false, livelocks: 'any', restore: true, launchedAtMost: 9},
    agents: 6,
    serveArgsFor: (ctx) => backupArgs(ctx, true),
    recovered: (ctx, st) => ctx.serveGen >= 2 && restored()(ctx, st),
    recoveryTimeoutMs: 240_000,
    async inject(ctx) {
      await backupsFlowing(ctx)
      const killed = ctx.killServeOn(/restore: every old member is dead/, 120_000)
      await loseEverything(ctx)
      const line = await killed
      ctx.note(`serve SIGKILLed at: ${line.replace(/^\S+ /, '').slice(0, 160)}`)
      await ctx.serve.exit
      await ctx.startServe()
    },
  },
  {
    name: 'restore-skips-corrupt-backup',
    description:
      'two full backups taken, the newest one corrupted on the target (a byte flipped), then total loss: the restore refuses it and uses the older one with its deltas',
    expect: {reseed: false, livelocks: 'any', restore: true, launchedAtMost: 6},
    agents: 6,
    serveArgsFor: (ctx) => backupArgs(ctx, true),
    recovered: (ctx, st) => restored()(ctx, st),
    recoveryTimeoutMs: 240_000,
    async inject(ctx) {
      await backupsFlowing(ctx, 2)
      const fulls = (await fs.promises.readdir(targetDir(ctx))).filter((n) => n.endsWith('.snapshot.db')).sort()
      const newest = fulls.at(-1)!
      const file = path.join(targetDir(ctx), newest)
      const fd = await fs.promises.open(file, 'r+')
      try {
        const {size} = await fd.stat()
        const at = Math.floor(size / 2)
        const b = Buffer.alloc(1)
        await fd.read(b, 0, 1, at)
        b[0] = b[0]! ^ 0xff
        await fd.write(b, 0, 1, at)
      } finally {
        await fd.close()
      }
      ctx.note(`corrupted ${newest} (one byte flipped) of ${fulls.length} full backups`)
      await loseEverything(ctx)
      await waitUntil('the restore to resolve', async () => ctx.restoreSeen !== null, 120_000, 200)
      if (`${ctx.restoreSeen!.backup}.snapshot.db` === newest) throw new Error(`the restore used the corrupted backup ${newest}`)
    },
  },
  (() => {
    let op: string | null = null
    return {
      name: 'manual-restore-to-revision',
      description:
        'a healthy cluster restored by POST /restore {from: latest, toRevision: R, force: true} to a revision R written after the last full backup: writes up to R back, none after',
      expect: {reseed: false, livelocks: 'any', restore: true, launchedAtMost: 6},
      serveArgsFor: (ctx) => backupArgs(ctx, false),
      recovered: restored(() => op),
      recoveryTimeoutMs: 240_000,
      async inject(ctx) {
        await backupsFlowing(ctx)
        const toRevision = ctx.writer.lastAck()!.revision
        await backupsFlowing(ctx) // R is in a flushed delta, and writes after R exist
        const old = (await ctx.members()).map((m) => m.name)
        const res = await fetch(`${ctx.adminUrl}/restore`, {
          method: 'POST',
          body: JSON.stringify({from: 'latest', toRevision, force: true}),
          headers: {'content-type': 'application/json'},
          signal: AbortSignal.timeout(10_000),
        })
        const body = (await res.json()) as {op?: string; error?: string}
        if (res.status !== 202 || !body.op) throw new Error(`POST /restore: HTTP ${res.status} ${JSON.stringify(body)}`)
        op = body.op
        ctx.note(`POST /restore to revision ${toRevision}: op ${op}`)
        await waitUntil('every old member gone', async () => old.every((n) => etcdPids(n).length === 0), 120_000, 50)
        ctx.lostAt = Date.now()
        ctx.killedTasks = old.length
      },
    } satisfies ScenarioDef
  })(),
  {
    name: 'backup-target-gone',
    description:
      'the backup target directory disappears (moved away) for a while: backups fail loudly (/stats, stats --check exit 8), the cluster is unaffected; back, backups succeed again',
    expect: {reseed: false, livelocks: 'none', launched: 0},
    serveArgsFor: (ctx) => backupArgs(ctx, false),
    recoveryTimeoutMs: 120_000,
    async inject(ctx) {
      await backupsFlowing(ctx)
      const away = `${targetDir(ctx)}.away`
      await fs.promises.rename(targetDir(ctx), away)
      const before = (await ctx.stats()).backup!.failures_total
      await waitUntil(
        'backups to fail loudly',
        async () => {
          await fetch(`${ctx.adminUrl}/backups`, {method: 'POST', signal: AbortSignal.timeout(10_000)}).catch(() => undefined)
          const b = (await ctx.stats()).backup!
          return b.failures_total > before && b.failing !== null
        },
        120_000,
        2000,
      )
      const check = await execFileP(process.execPath, [RUN_JS, 'stats', '--check', '--admin-url', ctx.adminUrl]).then(
        () => 0,
        (err: {code?: number}) => err.code ?? -1,
      )
      const st = await ctx.stats()
      ctx.note(`target gone: ${st.backup!.failures_total - before} failure(s), stats --check exit ${check}, failing: ${st.backup!.failing}`)
      if (check !== 8) throw new Error(`stats --check exited ${check} with backups failing (expected 8)`)
      if (st.healthy !== 1) throw new Error('the cluster is unhealthy while only the backup target is gone')
      await fs.promises.rename(away, targetDir(ctx))
      await waitUntil(
        'a backup to succeed again',
        async () => {
          await fetch(`${ctx.adminUrl}/backups`, {method: 'POST', signal: AbortSignal.timeout(10_000)}).catch(() => undefined)
          return (await ctx.stats()).backup!.consecutive_failures === 0
        },
        120_000,
        2000,
      )
    },
  },
]
