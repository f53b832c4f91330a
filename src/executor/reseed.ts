/**
 * The re-seed procedure on THIS member (the scheduler picked it as the most up-to-date survivor and
 * sent a `reseed` framework message). First, with etcd still running: the data dir must exist, the oldest
 * pre-re-seed copies are removed so that `backupsKeep` remain with the new one (reseed-backup.ts), and the
 * copy must fit in the free space of the data dir's file system (statfs); otherwise 'failed', etcd untouched.
 * Then the steps, each reported through `report` before it starts:
 *   stopping          stop the running etcd (`current.stop(graceMs)`)
 *   backup            check the room again, copy the data dir to `<dataDir>.pre-reseed-<UTC timestamp>`
 *                     (a failed copy is removed at once)
 *   force-new-cluster start etcd with `--force-new-cluster` (same data, initial-cluster = self), a temporary
 *                     one-member process with short raft timings (FORCED_RUN_ARGS, below): it elects itself fast
 *   serving-alone     reported once it serves as a ONE-member cluster with its data
 *                     (memberList length 1 and a linearizable read ok); carries the revision
 *   restarting        stop it, start normally (no flag, the member's own flags) with initial-cluster = self only
 *   done              reported once healthy again (member list of 1, read ok); carries the revision
 * Any failure → report('failed', reason), any etcd started here is stopped, and a ReseedError is thrown. A failure
 * before --force-new-cluster (stopping, backup) first brings etcd back exactly as it was: `current.start()` again,
 * same data dir, same flags, a normal member of its cluster; the reason says so (or why that failed too). The
 * caller finds that etcd running (`current.pid`) and keeps it; the scheduler can choose another candidate.
 * Before a non-forced re-seed the driver calls `checkMemberQuorum(cfg)` (below) and the core refuses when it
 * succeeds (see core.ts); reseedMember itself does not check.
 * On success returns the supervisor now running the member; the caller keeps it, and should use
 * `reseededConfig(cfg)` (etcd-args.ts) for later restarts.
 *
 * Usage from an executor driver:
 *   const sup = await reseedMember({cfg, sandbox, graceMs: 10_000, current: supervisor,
 *     createSupervisor: (spec) => attachListeners(new EtcdSupervisor(spec)),
 *     report: (step, message, extra) => sendFrameworkMessage({type: 'reseed-progress', op, step, message, ...extra})})
 */
import {stat} from 'node:fs/promises'
import {clientUrlOf, type MemberConfig, type ReseedStep} from '../lib/member-config.js'
import {EtcdAdmin} from '../lib/etcd/admin.js'
import {adminTlsOf, buildEtcdArgs, reseededConfig, resolveDataDir} from './etcd-args.js'
import {EtcdSupervisor, type SupervisorOptions} from './supervisor.js'
import {
  backupDirName,
  checkRoom,
  copyDataDir,
  DEFAULT_RESEED_BACKUPS_KEEP,
  pruneBackups,
  statfsFreeBytes,
  type FreeBytes,
} from './reseed-backup.js'

export {backupDirName, DEFAULT_RESEED_BACKUPS_KEEP} from './reseed-backup.js'

export interface ReseedContext {
  cfg: MemberConfig
  /** Absolute path of the Mesos sandbox. */
  sandbox: string
  /** SIGTERM → SIGKILL grace when stopping etcd. */
  graceMs: number
  /** The supervisor running this member now, if any; it is stopped first. */
  current?: EtcdSupervisor
  /** Builds each new supervisor (attach listeners here). Default: `new EtcdSupervisor(spec)`. */
  createSupervisor?: (spec: SupervisorOptions) => EtcdSupervisor
  report: (step: ReseedStep, message?: string, extra?: {revision?: number}) => void
  /** Bound on each wait for etcd to serve (default 60 s). */
  stepTimeoutMs?: number
  /** Clock for the backup name (default Date.now). */
  now?: () => number
  /** Pre-re-seed copies kept per data dir, the new one included (≥ 1; default DEFAULT_RESEED_BACKUPS_KEEP). */
  backupsKeep?: number
  /** Bytes available on a directory's file system (default: statfs). */
  freeBytes?: FreeBytes
}

export class ReseedError extends Error {
  constructor(
    readonly step: ReseedStep,
    message: string,
  ) {
    super(`reseed failed at ${step}: ${message}`)
    this.name = 'ReseedError'
  }
}

export async function reseedMember(ctx: ReseedContext): Promise<EtcdSupervisor> {
  const {cfg, sandbox, graceMs, report} = ctx
  const clientUrl = clientUrlOf(cfg)
  const tls = adminTlsOf(cfg)
  const stepTimeoutMs = ctx.stepTimeoutMs ?? 60_000
  const create = ctx.createSupervisor ?? ((spec: SupervisorOptions) => new EtcdSupervisor(spec))
  const started: EtcdSupervisor[] = []
  let step: ReseedStep = 'stopping'
  const enter = (s: ReseedStep, message?: string, extra?: {revision?: number}) => {
    step = s
    report(s, message, extra)
  }
  const launch = async (forceNewCluster: boolean, config: MemberConfig): Promise<EtcdSupervisor> => {
    const built = buildEtcdArgs(config, sandbox, {forceNewCluster})
    const args = forceNewCluster ? [...built.args, ...FORCED_RUN_ARGS] : built.args
    const sup = create({bin: built.bin, args, sandbox, clientUrl, ...(tls ? {tls} : {})})
    started.push(sup)
    await sup.start()
    return sup
  }
  const freeBytes = ctx.freeBytes ?? statfsFreeBytes
  const keep = Math.max(1, Math.floor(ctx.backupsKeep ?? DEFAULT_RESEED_BACKUPS_KEEP))
  let stopped = false
  try {
    // Before anything is stopped: is there data, and room for its copy? (reported as 'backup' if not)
    step = 'backup'
    const dataDir = resolveDataDir(cfg, sandbox)
    const st = await stat(dataDir).catch(() => undefined)
    if (!st?.isDirectory()) throw new Error(`data dir ${dataDir} does not exist: nothing to re-seed from`)
    const pruned = await pruneBackups(dataDir, keep - 1)
    await checkRoom(dataDir, freeBytes, ctx.current?.pid !== undefined)

    enter('stopping')
    stopped = ctx.current !== undefined
    if (ctx.current) await ctx.current.stop(graceMs)

    enter(
      'backup',
      pruned.length > 0
        ? `removed ${pruned.length} older pre-re-seed cop${pruned.length === 1 ? 'y' : 'ies'} (keeping ${keep})`
        : undefined,
    )
    await checkRoom(dataDir, freeBytes) // etcd's files are final now
    const backup = backupDirName(dataDir, (ctx.now ?? Date.now)())
    await copyDataDir(dataDir, backup)

    enter('force-new-cluster', `backup in ${backup}`)
    const forced = await launch(true, cfg)
    const alone = await waitAlone(forced, clientUrl, tls, stepTimeoutMs)
    enter('serving-alone', `one-member cluster at revision ${alone.revision}`, {revision: alone.revision})

    enter('restarting')
    await forced.stop(graceMs)
    const normal = await launch(false, reseededConfig(cfg))
    const done = await waitAlone(normal, clientUrl, tls, stepTimeoutMs)
    enter('done', `serving alone at revision ${done.revision}`, {revision: done.revision})
    return normal
  } catch (err) {
    let reason = err instanceof Error ? err.message : String(err)
    await Promise.all(started.map((s) => s.stop(graceMs).catch(() => undefined)))
    if (ctx.current && (step === 'stopping' || step === 'backup')) reason += await restore(ctx.current, stopped)
    report('failed', `${step}: ${reason}`)
    throw new ReseedError(step, reason)
  }
}

/** Before --force-new-cluster nothing was changed: the member's own etcd starts again as it was. */
async function restore(current: EtcdSupervisor, stopped: boolean): Promise<string> {
  if (!stopped) return current.pid !== undefined ? '; etcd was not stopped' : ''
  if (current.pid !== undefined) return '; etcd is still running'
  try {
    await current.start()
    return '; etcd restarted as it was (same data dir and flags, a normal member of its cluster)'
  } catch (err) {
    return `; restarting etcd as it was failed too: ${err instanceof Error ? err.message : String(err)}`
  }
}

/**
 * The executor's own quorum check before a non-forced re-seed: one linearizable read through this member's
 * client URL, bounded by `timeoutMs` (default 2 s). ok ⇔ the read succeeded, i.e. the member's cluster has a
 * working quorum. Never throws: a failure (no leader, timeout, refused) is `{ok: false, detail}`.
 */
export async function checkMemberQuorum(cfg: MemberConfig, timeoutMs = 2000): Promise<{ok: boolean; detail: string}> {
  const clientUrl = clientUrlOf(cfg)
  const tls = adminTlsOf(cfg)
  const admin = new EtcdAdmin([clientUrl], {timeoutMs, ...(tls ? {tls} : {})})
  try {
    await admin.linearizableRead(clientUrl)
    return {ok: true, detail: `a linearizable read through ${clientUrl} succeeded`}
  } catch (err) {
    return {ok: false, detail: `a linearizable read through ${clientUrl} failed: ${err instanceof Error ? err.message : String(err)}`}
  } finally {
    await admin.close().catch(() => undefined)
  }
}

/**
 * Extra flags of the --force-new-cluster run only (after the member's extraArgs, so they win there; the restart runs
 * with the member's own flags): short raft timings, 20 ms ticks and a 100 ms election timeout (etcd's minimum ratio
 * of 5). That etcd is a temporary one-member cluster, stopped once it proved it serves alone: it has no peer to miss
 * a heartbeat from, and a restarted multi-member data dir (the forced one) gets no election-tick fast-forward from
 * etcd, so with the member's timings it waits a full randomized election timeout (1-2 s with etcd's defaults)
 * before electing itself; with these, 0.1-0.2 s.
 * Not `--snapshot-count=1` (which would let the restart recover a one-member cluster from a snapshot and elect itself
 * sooner too): a learner joining a leader whose log starts at a snapshot then served its client URL only after
 * ~7 s (etcd's publish timeout), measured, which costs more than it saves.
 */
const FORCED_RUN_ARGS = ['--heartbeat-interval=20', '--election-timeout=100']

/** Pacing of waitAlone's checks (each is one status call on loopback until the member leads). */
const WAIT_ALONE_POLL_MS = 50

/** Waits until the member serves as a one-member cluster (leads, member list of 1, linearizable read). */
async function waitAlone(
  sup: EtcdSupervisor,
  clientUrl: string,
  tls: ReturnType<typeof adminTlsOf>,
  timeoutMs: number,
): Promise<{revision: number}> {
  const admin = new EtcdAdmin([clientUrl], {timeoutMs: 2000, ...(tls ? {tls} : {})})
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  try {
    for (;;) {
      if (sup.pid === undefined) throw new Error(`etcd exited while waiting for it to serve:\n${sup.logTail()}`)
      try {
        // Status first: it answers at once, while a read sent before the election waits for it and then fails
        // ("leader changed"). The proof itself is unchanged: member list of 1, then a linearizable read.
        const st = await admin.status(clientUrl)
        if (st.leader !== st.memberId) last = `not leading yet (leader ${st.leader})`
        else {
          const members = await admin.memberList()
          if (members.length === 1) {
            await admin.linearizableRead(clientUrl)
            const s = await admin.status(clientUrl)
            return {revision: s.revision}
          }
          last = `member list has ${members.length} members`
        }
      } catch (err) {
        last = (err as Error).message
      }
      if (Date.now() > deadline) throw new Error(`${clientUrl} did not serve as a one-member cluster within ${timeoutMs} ms (${last})`)
      await new Promise((r) => setTimeout(r, WAIT_ALONE_POLL_MS))
    }
  } finally {
    await admin.close()
  }
}
