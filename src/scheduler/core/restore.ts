/**
 * Restore: build a NEW cluster (new cluster token, new member ids) whose members all start from the same backup.
 *
 * Phases (persisted in `s.restore`, so a restarted scheduler finishes the job; reconcile.ts resumes it on load):
 *   resolving      RESOLVE_RESTORE{op, target, from, toRevision}: the driver turns 'latest' or an id into a plan
 *                  (the backup library's planRestore) → RestoreResolved{plan} / RestoreResolveFailed{message}.
 *                  Nothing is killed before a plan exists; a failure ends the restore (failed), nothing changed.
 *                  After a restart the RESOLVE_RESTORE is sent again.
 *   killing        KILL every live task (again every memberOpTimeoutMs, and after a restart) and wait until all
 *                  are dead. Then: the dead task records are forgotten (their volumes, with a role, are retired
 *                  and released like any removed member's: relaunch.ts retireVolumes, release.ts), `bootstrapped`
 *                  = false, cluster token `<cluster>-<op>`, the member list and health verdicts dropped.
 *   bootstrapping  the episode is MUTABLE again and the normal first bootstrap (launch.ts planBootstrap) launches
 *                  the members; every member launched with initialClusterState 'new' carries the MemberRestore
 *                  (launch.ts buildMemberConfig), members added later get the data from raft. Done when the cluster
 *                  is healthy at clusterSize (operation succeeded). A member launched with the restore that fails
 *                  saying restore/backup (the executor could not fetch, verify or restore it) fails the restore:
 *                  the others are killed, `bootstrapped` is set so that no EMPTY cluster is bootstrapped, and the
 *                  cluster ends in TOTAL_LOSS (the next restore, manual or automatic, may pick another backup).
 * Episode (mode.ts): RESTORING in resolving and killing (immutable but for its own kills); MUTABLE in bootstrapping.
 * Requests: RestoreRequested{op, from, toRevision?, force} — refused (operation 'refused', with the reason) without a
 *   backup target, while another restore or a re-seed runs, while not subscribed and reconciled, and while the
 *   cluster is healthy or has a working quorum unless force.
 * Automatic (config.autoRestore, with a backup target): TOTAL_LOSS for reseedTimeoutMs → a restore from 'latest'
 *   (restore-triggers.ts); cancelled (failed, nothing killed) when a member task is alive again before its plan is
 *   resolved. serve --restore-from (config.restoreFrom, restore-triggers.ts): on a first start a restore from there.
 * What /stats shows: restore-view.ts.
 * Recovery point: seconds between the loss (auto: when TOTAL_LOSS was declared — after a scheduler restart, when it
 *   was declared again, so it may be over-estimated; otherwise when the plan was resolved, just before the old members
 *   are killed) and the plan's dataUntil: writes of that window are not in the backup (logged, /stats).
 */
import type {MemberRestore} from '../../lib/member-config.js'
import {EXIT_FATAL, log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {recordOperation} from './operations.js'
import {baseEpisode, become, modeOf, ready} from './mode.js'
import type {OperationRecord, RestorePlanRec, RestoreProgress, SchedulerState} from './state.js'
import {bumpTopology, deadTasks, liveTasks, runningTasks, unconfirmedLost} from './state.js'

const OP_RE = /^[A-Za-z0-9_-]{1,128}$/

function recordOp(ctx: Ctx, op: string, status: OperationRecord['status'], message: string): void {
  recordOperation(ctx, 'restore', op, status, message)
}

export function onRestoreRequested(ctx: Ctx, op: string, from: string, toRevision: number | undefined, force: boolean): void {
  const {s} = ctx
  if (typeof op !== 'string' || !OP_RE.test(op)) {
    emit(ctx, log('warn', 'restore request with an invalid operation id ignored'))
    return
  }
  if (s.operations.some((o) => o.op === op)) {
    emit(ctx, log('info', 'restore request repeated; already recorded', {op}))
    return
  }
  const refuse = (why: string): void => {
    recordOp(ctx, op, 'refused', why)
    emit(ctx, log('warn', `restore refused: ${why}`, {op}))
  }
  if (typeof from !== 'string' || from === '') return refuse('from must be "latest" or a backup id')
  if (toRevision !== undefined && !(Number.isInteger(toRevision) && toRevision > 0)) return refuse('toRevision must be a positive integer')
  const target = s.config.backupTarget
  if (target === undefined) return refuse('no backup target is configured (serve --backup-target)')
  if (s.restore) return refuse(`restore ${s.restore.op} is already running`)
  if (s.reseed) return refuse(`re-seed ${s.reseed.op} is running; retry once it is over`)
  const mode = modeOf(s)
  if (!ready(s)) return refuse(`the scheduler is ${mode}; retry once it is subscribed and reconciled`)
  if (s.health.verdict?.healthy && !force) return refuse('the cluster is healthy; use force to replace its data with the backup anyway')
  if (s.health.verdict?.quorumEvident && !force && liveTasks(s).length > 0)
    return refuse(`the cluster has a working quorum (${s.health.verdict.reason}); use force to replace its data with the backup anyway`)
  startRestore(ctx, {op, reason: 'manual', from, target, toRevision: toRevision ?? null, force})
}

/** Starts a restore in phase resolving (episode RESTORING). */
export function startRestore(
  ctx: Ctx,
  o: {op: string; reason: RestoreProgress['reason']; from: string; target: string; toRevision: number | null; force?: boolean},
): void {
  const {s, now} = ctx
  const lossAt = o.reason === 'auto' ? s.totalLossSince : null
  s.restore = {
    op: o.op,
    reason: o.reason,
    from: o.from,
    target: o.target,
    toRevision: o.toRevision,
    ...(o.force ? {force: true} : {}),
    phase: 'resolving',
    plan: null,
    startedAt: now,
    lossAt,
    recoveryPointSeconds: null,
    deadline: null,
    launched: [],
  }
  s.inPlace = null
  become(s, 'RESTORING')
  recordOp(ctx, o.op, 'running', `resolving backup ${o.from} on ${o.target}`)
  emit(
    ctx,
    log('warn', `starting ${o.reason === 'auto' ? 'an automatic' : o.reason === 'manual' ? 'a manual' : 'a --restore-from'} restore`, {
      op: o.op,
      from: o.from,
      target: o.target,
      toRevision: o.toRevision,
    }),
  )
  askResolve(ctx)
}

/** An automatic restore is for a total loss only: a member task alive again (or a lost one unconfirmed) ends it. */
function memberBack(s: SchedulerState, r: RestoreProgress): boolean {
  return r.reason === 'auto' && ready(s) && (liveTasks(s).length > 0 || unconfirmedLost(s).length > 0)
}

function askResolve(ctx: Ctx): void {
  const r = ctx.s.restore!
  emit(ctx, {type: 'RESOLVE_RESTORE', op: r.op, target: r.target, from: r.from, toRevision: r.toRevision})
}

/** Ends the restore as failed; `bootstrapped` is kept set so that nothing empty is bootstrapped after a kill. */
function fail(ctx: Ctx, why: string): void {
  const {s} = ctx
  const r = s.restore!
  recordOp(ctx, r.op, 'failed', why)
  emit(ctx, log('error', `restore failed: ${why}`, {op: r.op}))
  s.restore = null
  if (s.episode === 'RESTORING') become(s, baseEpisode(s))
  s.totalLossSince = null // the automatic restore waits reseedTimeoutMs again
}

export function onRestoreResolved(ctx: Ctx, op: string, plan: RestorePlanRec, skipped?: {id: string; problem: string}[]): void {
  const {s, now} = ctx
  const r = s.restore
  if (!r || r.op !== op || r.phase !== 'resolving') {
    emit(ctx, log('info', 'stale restore plan ignored', {op}))
    return
  }
  r.plan = {fullId: plan.fullId, deltaIds: [...plan.deltaIds], toRevision: plan.toRevision, dataUntil: plan.dataUntil}
  if (skipped && skipped.length > 0) r.skipped = skipped.map((k) => ({id: k.id, problem: k.problem}))
  r.lossAt ??= now
  const until = Date.parse(plan.dataUntil)
  r.recoveryPointSeconds = Number.isFinite(until) ? Math.max(0, (r.lossAt - until) / 1000) : null
  const rp = r.recoveryPointSeconds === null ? 'unknown' : `${r.recoveryPointSeconds} s`
  emit(
    ctx,
    log('warn', `restoring backup ${plan.fullId} to revision ${plan.toRevision}: ${rp} of writes before the loss are not in it`, {
      op,
      backup: plan.fullId,
      deltas: plan.deltaIds.length,
      toRevision: plan.toRevision,
      dataUntil: plan.dataUntil,
      recoveryPointSeconds: r.recoveryPointSeconds,
      skipped: r.skipped ?? [],
    }),
  )
  r.phase = 'killing'
  r.deadline = now + s.config.memberOpTimeoutMs
  recordOp(ctx, op, 'running', `backup ${plan.fullId} (revision ${plan.toRevision}); killing every member`)
  if (ready(s)) killAll(ctx)
  if (ready(s) || Object.keys(s.tasks).length === 0) planKilling(ctx)
}

export function onRestoreResolveFailed(ctx: Ctx, op: string, message: string): void {
  const r = ctx.s.restore
  if (!r || r.op !== op || r.phase !== 'resolving') {
    emit(ctx, log('info', 'stale restore plan failure ignored', {op}))
    return
  }
  if (r.reason === 'restore-from') {
    // A cluster asked to start from a backup must not start empty: stop, loudly; a restarted serve tries again.
    fail(ctx, `no usable backup (${message}); nothing was started`)
    const msg = `--restore-from ${r.from} (${r.target}): no usable backup (${message}); nothing was started`
    emit(ctx, {type: 'FATAL', message: msg, exitCode: EXIT_FATAL})
    return
  }
  fail(ctx, `no usable backup (${message}); nothing was killed`)
}

function killAll(ctx: Ctx): void {
  const {s, now} = ctx
  for (const t of liveTasks(s)) {
    t.killRequestedAt = now
    emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
  }
}

/** Killing: once every task is dead, forget the old cluster and bootstrap the new one. */
function planKilling(ctx: Ctx): void {
  const {s, now} = ctx
  const r = s.restore!
  if (liveTasks(s).length > 0) {
    if (r.deadline !== null && now >= r.deadline) {
      r.deadline = now + s.config.memberOpTimeoutMs
      killAll(ctx)
    }
    return
  }
  for (const t of deadTasks(s)) delete s.tasks[t.taskId]
  s.bootstrapped = false
  s.clusterToken = `${s.config.clusterName}-${r.op}`
  s.membership = null
  s.memberListReq = null
  s.pendingAdd = null
  s.memberOp = null
  s.unbackedSince = {}
  s.bootstrapWaitStart = null
  s.health.verdict = null
  s.health.lostQuorumSince = null
  s.health.livelocked = false
  s.stats.healthy = 0
  s.totalLossSince = null
  bumpTopology(s)
  r.phase = 'bootstrapping'
  r.deadline = null
  become(s, baseEpisode(s))
  recordOp(ctx, r.op, 'running', `old members gone; bootstrapping a new cluster from backup ${r.plan!.fullId}`)
  emit(
    ctx,
    log('warn', 'restore: every old member is dead; bootstrapping a new cluster from the backup', {op: r.op, token: s.clusterToken}),
  )
}

/** The MemberRestore for a member launched with initialClusterState 'new' during the bootstrapping phase, else null. */
export function memberRestore(s: SchedulerState): MemberRestore | null {
  const r = s.restore
  if (r?.phase !== 'bootstrapping' || !r.plan) return null
  return {
    op: r.op,
    target: r.target,
    ...(s.config.s3 ? {s3: structuredClone(s.config.s3)} : {}),
    fullId: r.plan.fullId,
    deltaIds: [...r.plan.deltaIds],
    toRevision: r.plan.toRevision,
  }
}

/** Called by plan.ts on every step while `s.restore` is set (before dead tasks of an unbootstrapped cluster are dropped). */
export function planRestore(ctx: Ctx): void {
  const {s} = ctx
  const r = s.restore!
  if (r.resumed) {
    r.resumed = false
    emit(ctx, log('warn', 'resuming the restore that was in progress', {op: r.op, phase: r.phase}))
    if (r.phase === 'resolving') return askResolve(ctx)
    if (r.phase === 'killing') r.deadline = ctx.now // killed again as soon as reconciled
  }
  if (r.phase === 'resolving' && memberBack(s, r)) return fail(ctx, 'cancelled: a member task is alive again; nothing was killed')
  if (r.phase === 'killing') {
    if (ready(s) || Object.keys(s.tasks).length === 0) planKilling(ctx)
    return
  }
  if (r.phase !== 'bootstrapping') return
  for (const id of r.launched) {
    const t = s.tasks[id]
    if (t && t.state === 'TASK_FAILED' && /restor|backup/i.test(t.reason ?? '')) {
      for (const x of liveTasks(s)) {
        x.killRequestedAt = ctx.now
        emit(ctx, {type: 'KILL', taskId: x.taskId, agentId: x.agentId})
      }
      s.bootstrapped = true // no empty cluster: with every member dead this is a TOTAL_LOSS
      return fail(ctx, `member ${t.memberName} could not restore the backup: ${t.reason}`)
    }
  }
  const healthy = s.health.verdict?.healthy === true && s.health.gen === s.topologyGen
  if (s.bootstrapped && healthy && runningTasks(s).length >= s.config.clusterSize) {
    const rp = r.recoveryPointSeconds === null ? '' : `; ${r.recoveryPointSeconds} s of writes before the loss are not in it`
    const sk = r.skipped?.length ? `; newer backups skipped: ${r.skipped.map((k) => `${k.id} (${k.problem})`).join(', ')}` : ''
    recordOp(
      ctx,
      r.op,
      'succeeded',
      `cluster restored from backup ${r.plan!.fullId} (revision ${r.plan!.toRevision}) with ${runningTasks(s).length} members${rp}${sk}`,
    )
    emit(ctx, log('warn', 'restore done: the new cluster is healthy', {op: r.op, backup: r.plan!.fullId, toRevision: r.plan!.toRevision}))
    s.restore = null
  }
}

/** Records a launch made with `memberRestore` (launch.ts). */
export function noteRestoreLaunch(s: SchedulerState, taskId: string): void {
  if (s.restore?.phase === 'bootstrapping') s.restore.launched.push(taskId)
}
