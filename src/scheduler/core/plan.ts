/**
 * The planner: runs after every event and decides what to do from the facts in the state
 * (level-triggered, like a controller loop), so every handler only records facts and stale timers
 * are harmless. Order: a new probe answer for the re-seed (ranking, proof) → QUORUM_LOST ⇄ MUTABLE →
 * total-loss detection → kill strays → launch timeouts → automatic re-seed →
 * restore progress (restore.ts: first, before an unbootstrapped cluster's dead tasks are dropped; the automatic
 * restore after reseedTimeoutMs in TOTAL_LOSS) → rollout (rollout.ts: starts, drives or ends it; ROLLING_OUT) → re-seed progress (RESEEDING) or retiring volumes and relaunches on volumes (relaunch.ts), restarts in place
 * (inplace.ts), membership changes, then growth
 * (`mayMutate`) → a health check when a task became RUNNING or a membership change completed (observe.ts) → member-list refresh →
 * offers (offer-planner.ts: decline what no launch want holds, REVIVE/SUPPRESS) → next 'wake' timer.
 * The episode (mode.ts) is changed here, in reseed.ts and in inplace.ts, only through `become`.
 * Total loss (bootstrapped, no live task, no dead member waiting for a relaunch on its volume (relaunch.ts),
 *   and no task the master reported lost is unconfirmed: each was
 *   probed after its loss and did not answer): TOTAL_LOSS, LOG error, launch nothing; left when a task
 *   comes back (TASK_RUNNING, any reason) or a lost task's etcd member answers again. While a lost task is
 *   unconfirmed, a HEALTH_CHECK including it is requested at once (health.ts judges the answer).
 * Tasks in TASK_LOST/UNREACHABLE/UNKNOWN (TOTAL_LOSS included) are reconciled explicitly again with
 *   backoff reconcileBackoffMinMs..MaxMs (not only every implicitReconcileIntervalMs).
 */
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {planGrowth} from './grow.js'
import {planInPlace} from './inplace.js'
import {maintenanceWakes, planMaintenance} from './maintenance.js'
import {awaitingRelaunch, nextRelaunchDeadline, planRelaunch, retireVolumes} from './relaunch.js'
import {nextSweepChange, updateSweep} from './volumes.js'
import {randomHex} from './ids.js'
import {finishOffers} from './launch.js'
import {newOfferRound} from './offer-planner.js'
import {planMemberOps} from './membership.js'
import {memberListDue, sendMemberList} from './observe.js'
import {planReseed, planReseedProbes, startReseed} from './reseed.js'
import {planRestore} from './restore.js'
import {nextRolloutWake, planRollout} from './rollout.js'
import {nextAutoRestore, planAutoRestore} from './restore-triggers.js'
import {checkOnChange, sendHealthCheck} from './observe.js'
import {baseEpisode, become, mayMutate, ready, running} from './mode.js'
import {allTasks, deadTasks, isDeadState, isNonFinalDead, liveTasks, membershipFresh, runningTasks, unconfirmedLost} from './state.js'

export function plan(ctx: Ctx): void {
  const {s, now} = ctx
  if (!running(s)) return
  const offers = newOfferRound() // this step's launch wants and the offer planner's decisions
  if (s.health.probesUnplanned) {
    s.health.probesUnplanned = false
    planReseedProbes(ctx)
  }
  if (s.episode === 'MUTABLE' && s.health.lostQuorumSince !== null) become(s, 'QUORUM_LOST')
  else if (s.episode === 'QUORUM_LOST' && s.health.lostQuorumSince === null) become(s, 'MUTABLE')
  s.stats.running_servers = runningTasks(s).length
  if (s.restore) planRestore(ctx)
  if (!s.bootstrapped) for (const t of deadTasks(s)) delete s.tasks[t.taskId] // no cluster yet: nothing to remove
  if (ready(s)) {
    const live = liveTasks(s)
    const unconfirmed = unconfirmedLost(s)
    const onVolumes = awaitingRelaunch(s).length // dead with their data on a volume: relaunched, not a total loss
    if (
      !s.reseed &&
      !s.restore &&
      s.bootstrapped &&
      live.length === 0 &&
      unconfirmed.length === 0 &&
      onVolumes === 0 &&
      s.episode !== 'TOTAL_LOSS'
    ) {
      become(s, 'TOTAL_LOSS')
      s.stats.healthy = 0
      emit(
        ctx,
        log(
          'error',
          "TOTAL CLUSTER LOSS: no etcd member task is alive and no lost member's etcd answers. Launching nothing: a new member cannot recover the data. " +
            (s.config.backupTarget === undefined
              ? "Recover the data from a lost member's sandbox (etcd_data) if possible, then start a new cluster."
              : s.config.autoRestore
                ? `The latest backup is restored automatically in ${s.config.reseedTimeoutMs / 1000} s unless a member comes back.`
                : 'Restore a backup with `etcd-mesos restore --from latest` (README: "We lost everything: what now").'),
          {deadTasks: deadTasks(s).map((t) => `${t.taskId} ${t.state}${t.reason ? ` (${t.reason})` : ''}`)},
        ),
      )
    } else if (s.episode === 'TOTAL_LOSS' && (live.length > 0 || unconfirmed.length > 0 || onVolumes > 0)) {
      become(s, baseEpisode(s))
      emit(
        ctx,
        log('warn', 'a member task is alive again: leaving the total-loss state', {tasks: [...live, ...unconfirmed].map((t) => t.taskId)}),
      )
    }
    planAutoRestore(ctx)
    if (unconfirmed.some((t) => !t.answering)) requestLossProbe(ctx)
    planLostReconcile(ctx)
    if (mayMutate(s) || s.episode === 'RESEEDING' || s.episode === 'RESTORING' || s.episode === 'ROLLING_OUT') killStrays(ctx)
    if (mayMutate(s)) {
      launchTimeouts(ctx)
      const h = s.health
      if (
        h.livelocked &&
        s.config.autoReseed &&
        !s.restore &&
        runningTasks(s).length > 0 &&
        (h.lastReseedFailedAt === null || now - h.lastReseedFailedAt >= s.config.reseedTimeoutMs)
      ) {
        startReseed(ctx, `auto-${randomHex(s, 8)}`, false)
      }
    }
    planRollout(ctx, offers)
    if (s.episode === 'RESEEDING') {
      s.inPlace = null
      planReseed(ctx)
    } else if (mayMutate(s)) {
      retireVolumes(ctx)
      planRelaunch(ctx, offers)
      planInPlace(ctx, offers)
      planGrowth(ctx, planMemberOps(ctx), offers)
    }
  }
  if (!ready(s)) s.lostReconcile = null
  planMaintenance(ctx)
  checkOnChange(ctx)
  refreshMemberList(ctx)
  updateSweep(s, now)
  finishOffers(ctx, offers)
}

/** Probes the members of tasks the master reported lost (once the in-flight check, if any, is answered). */
function requestLossProbe(ctx: Ctx): void {
  const {s, now} = ctx
  const req = s.health.checkReq
  if (req !== null && now - req.sentAt < s.config.memberOpTimeoutMs) return
  emit(
    ctx,
    log('info', 'tasks reported lost by the Mesos master: probing their etcd members before believing it', {
      tasks: unconfirmedLost(s).map((t) => t.taskId),
    }),
  )
  sendHealthCheck(ctx)
}

/** Explicit reconciliation, with backoff, of tasks in a dead state Mesos may take back. */
function planLostReconcile(ctx: Ctx): void {
  const {s, now} = ctx
  const c = s.config
  const lost = allTasks(s).filter((t) => isNonFinalDead(t.state))
  if (lost.length === 0) {
    s.lostReconcile = null
    return
  }
  if (s.lostReconcile === null) {
    s.lostReconcile = {attempt: 0, nextAt: now + c.reconcileBackoffMinMs}
    return
  }
  if (now < s.lostReconcile.nextAt) return
  const attempt = ++s.lostReconcile.attempt
  s.lostReconcile.nextAt = now + Math.min(c.reconcileBackoffMaxMs, c.reconcileBackoffMinMs * 2 ** attempt)
  emit(ctx, {type: 'RECONCILE', tasks: lost.map((t) => ({taskId: t.taskId, agentId: t.agentId}))})
  emit(
    ctx,
    log(attempt === 1 ? 'info' : 'debug', 'reconciling tasks Mesos reports lost or unreachable (they may come back)', {
      attempt,
      tasks: lost.map((t) => t.taskId),
    }),
  )
}

function killStrays(ctx: Ctx): void {
  const {s, now} = ctx
  for (const [taskId, st] of Object.entries(s.strays).sort()) {
    if (st.killSentAt !== null && now - st.killSentAt < s.config.memberOpTimeoutMs) continue
    st.killSentAt = now
    emit(ctx, st.agentId ? {type: 'KILL', taskId, agentId: st.agentId} : {type: 'KILL', taskId})
  }
}

function launchTimeouts(ctx: Ctx): void {
  const {s, now} = ctx
  for (const t of liveTasks(s)) {
    if (t.state !== 'TASK_STAGING' && t.state !== 'TASK_STARTING') continue
    if (now - t.launchedAt < s.config.launchTimeoutMs) continue
    if (t.killRequestedAt !== undefined && now - t.killRequestedAt < s.config.memberOpTimeoutMs) continue
    t.killRequestedAt = now
    emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
    emit(
      ctx,
      log('warn', 'task did not start in time: killing it', {
        taskId: t.taskId,
        member: t.memberName,
        state: t.state,
        launchTimeoutMs: s.config.launchTimeoutMs,
      }),
    )
  }
}

function refreshMemberList(ctx: Ctx): void {
  const {s, now} = ctx
  if (runningTasks(s).length === 0) return
  if (membershipFresh(s)) return
  if (!memberListDue(s, now)) return
  sendMemberList(ctx)
}

/** Earliest future deadline the planner cares about (for the 'wake' timer). */
export function nextWake(ctx: Ctx): number | null {
  const {s, now} = ctx
  const c = s.config
  const t: number[] = []
  if (s.memberOp) t.push(s.memberOp.sentAt + c.memberOpTimeoutMs)
  t.push(s.memberOpRetryAt)
  if (s.pendingAdd) t.push(s.pendingAdd.startedAt + c.offerHoldMs, s.pendingAdd.startedAt + c.memberGraceMs)
  for (const since of Object.values(s.unbackedSince)) t.push(since + c.memberGraceMs)
  for (const task of allTasks(s)) {
    if (isDeadState(task.state)) continue
    if (task.state === 'TASK_STAGING' || task.state === 'TASK_STARTING') t.push(task.launchedAt + c.launchTimeoutMs)
    if (task.killRequestedAt !== undefined) t.push(task.killRequestedAt + c.memberOpTimeoutMs)
  }
  for (const st of Object.values(s.strays)) if (st.killSentAt !== null) t.push(st.killSentAt + c.memberOpTimeoutMs)
  if (s.bootstrapWaitStart !== null) t.push(s.bootstrapWaitStart + c.bootstrapWaitMs)
  if (s.reseed?.deadline != null) t.push(s.reseed.deadline)
  if (s.restore?.deadline != null) t.push(s.restore.deadline)
  const autoRestore = nextAutoRestore(s)
  if (autoRestore !== null) t.push(autoRestore)
  if (s.health.livelocked && s.health.lastReseedFailedAt !== null) t.push(s.health.lastReseedFailedAt + c.reseedTimeoutMs)
  if (s.persistRetryAt !== null) t.push(s.persistRetryAt)
  if (s.inPlace !== null && !s.inPlace.gaveUp) t.push(s.inPlace.since + Math.floor(c.reseedTimeoutMs / 2))
  if (s.lostReconcile !== null) t.push(s.lostReconcile.nextAt)
  const rolloutBy = nextRolloutWake(s)
  if (rolloutBy !== null) t.push(rolloutBy)
  const relaunchBy = nextRelaunchDeadline(s)
  if (relaunchBy !== null) t.push(relaunchBy)
  t.push(...maintenanceWakes(s))
  const sweep = nextSweepChange(s)
  if (sweep !== null) t.push(sweep)
  if (s.memberListReq !== null) t.push(s.memberListReq.retryAt ?? s.memberListReq.sentAt + c.memberOpTimeoutMs)
  if (s.health.checkReq !== null) t.push(s.health.checkReq.sentAt + c.memberOpTimeoutMs)
  for (const o of Object.values(s.offers)) t.push(o.receivedAt + c.offerHoldMs)
  const future = t.filter((x) => x > now)
  return future.length > 0 ? Math.min(...future) : null
}
