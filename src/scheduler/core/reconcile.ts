/**
 * Start-up, subscription and reconciliation.
 *
 * Phases (mode.ts): LOADING → (PersistedStateLoaded) → DISCONNECTED → (Subscribed) → RECONCILING → READY;
 *   Disconnected / non-fatal ERROR → DISCONNECTED (immutable) and SUBSCRIBE again. A new subscription or
 *   none drops the offers of the old one and what was decided from them (`newSession`).
 *   The connection facts (`s.connection`: master, subscribedSince, disconnectedSince) are recorded here.
 * Reconciliation run (mesos-v1-api §1.8): on every Subscribed, one implicit RECONCILE plus an explicit
 *   one for every persisted task; explicit retries with doubling backoff (SET_TIMER 'reconcile') until
 *   every persisted task got an update in this run. Only then MUTABLE. Once mutable, implicit
 *   reconciliation every implicitReconcileIntervalMs on the same timer.
 * ERROR "Framework has been removed": the framework's tasks are gone (Mesos killed them). Decision: clear
 *   the persisted framework id AND task records (a restart registers a new framework and bootstraps a
 *   new cluster), LOG error and FATAL(EXIT_FRAMEWORK_REMOVED) with a message saying so.
 * ERROR "Framework failed over": another scheduler took our framework id: FATAL (two schedulers fight).
 * StateConflict (the driver's persister found the stored state written by another scheduler): LOG error,
 *   FATAL(EXIT_FATAL), terminal STOPPED (events ignored, nothing persisted any more).
 * LeadershipLost (serve's leader election: another scheduler leads in ZooKeeper after our session expired):
 *   the same stop, naming the new leader.
 */
import {EXIT_FATAL, EXIT_FRAMEWORK_REMOVED, log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {randomHex} from './ids.js'
import type {PersistedDoc} from './persist.js'
import {applyPersistedDoc, serializePersistedDoc, toPersistedDoc} from './persist.js'
import {baseEpisode, become, running} from './mode.js'
import type {Phase} from './mode.js'
import {allTasks} from './state.js'
import {planRestoreFrom} from './restore-triggers.js'

export function onLoaded(ctx: Ctx, doc: PersistedDoc | null): void {
  const {s, now} = ctx
  if (s.phase !== 'LOADING') {
    emit(ctx, log('warn', 'persisted state loaded twice; the second load is ignored'))
    return
  }
  if (doc && doc.clusterName !== s.config.clusterName) {
    emit(ctx, log('error', 'persisted state belongs to another cluster', {persisted: doc.clusterName, configured: s.config.clusterName}))
    emit(ctx, {
      type: 'FATAL',
      exitCode: EXIT_FATAL,
      message: `the persisted state is for cluster "${doc.clusterName}" but this scheduler runs "${s.config.clusterName}"; check --cluster / the ZooKeeper path`,
    })
    return
  }
  if (doc) applyPersistedDoc(s, doc)
  if (s.reseed) become(s, 'RESEEDING')
  if (s.restore && s.restore.phase !== 'bootstrapping') become(s, 'RESTORING')
  s.stats.stats_since ??= now
  become(s, 'DISCONNECTED')
  s.persistedJson = doc ? serializePersistedDoc(toPersistedDoc(s)) : null
  emit(
    ctx,
    log('info', doc ? 'loaded persisted state' : 'no persisted state: first start', {
      frameworkId: s.frameworkId,
      tasks: Object.keys(s.tasks).length,
      reseed: s.reseed?.op ?? null,
      restore: s.restore ? `${s.restore.op} (${s.restore.phase})` : null,
    }),
  )
  planRestoreFrom(ctx)
  emit(ctx, {type: 'SUBSCRIBE', frameworkId: s.frameworkId})
  emit(ctx, {type: 'SET_TIMER', name: 'health', atMs: now})
  s.timers.health = now
}

export function onSubscribed(ctx: Ctx, frameworkId: string, master?: string): void {
  const {s, now} = ctx
  if (s.phase === 'LOADING') {
    emit(ctx, log('warn', 'Subscribed before the persisted state was loaded; ignored'))
    return
  }
  if (s.frameworkId !== null && s.frameworkId !== frameworkId) {
    emit(
      ctx,
      log('warn', 'subscribed with a different framework id than persisted; old tasks will reconcile as lost', {
        persisted: s.frameworkId,
        got: frameworkId,
      }),
    )
  }
  s.frameworkId = frameworkId
  s.connection = {master: master ?? null, subscribedSince: now, disconnectedSince: null}
  newSession(ctx, 'RECONCILING')
  const tasks = allTasks(s)
  s.reconcile = {startedAt: now, attempt: 0, awaiting: tasks.map((t) => t.taskId), nextAt: now + s.config.reconcileBackoffMinMs}
  emit(ctx, log('info', 'subscribed; reconciling before any change', {frameworkId, tasks: tasks.length}))
  emit(ctx, {type: 'RECONCILE', tasks: []})
  if (tasks.length > 0) {
    emit(ctx, {type: 'RECONCILE', tasks: tasks.map((t) => ({taskId: t.taskId, agentId: t.agentId}))})
    setReconcileTimer(ctx, s.reconcile.nextAt)
  } else {
    finishReconcile(ctx)
  }
}

/** Enters a new session phase (a subscription or none): the old subscription's offers, and what was
 *  decided from them (SUPPRESS/REVIVE sent, bootstrap wait, the pending add's offer) are gone with it. */
function newSession(ctx: Ctx, phase: Phase): void {
  const {s} = ctx
  become(s, phase)
  s.reconcile = null
  s.offers = {}
  s.offersWanted = null
  s.bootstrapWaitStart = null
  if (s.pendingAdd) s.pendingAdd.offerId = null
}

function setReconcileTimer(ctx: Ctx, at: number): void {
  ctx.s.timers.reconcile = at
  emit(ctx, {type: 'SET_TIMER', name: 'reconcile', atMs: at})
}

function finishReconcile(ctx: Ctx): void {
  const {s, now} = ctx
  const run = s.reconcile
  s.reconcile = null
  become(s, 'READY')
  s.lastImplicitReconcileAt = now
  emit(ctx, log('info', 'reconciliation complete: every persisted task accounted for', {tookMs: run ? now - run.startedAt : 0}))
  setReconcileTimer(ctx, now + s.config.implicitReconcileIntervalMs)
}

/** Called for every status update: counts it toward the running reconciliation. */
export function accountReconcile(ctx: Ctx, taskId: string): void {
  const run = ctx.s.reconcile
  if (!run || ctx.s.phase !== 'RECONCILING') return
  const i = run.awaiting.indexOf(taskId)
  if (i >= 0) run.awaiting.splice(i, 1)
  if (run.awaiting.length === 0) finishReconcile(ctx)
}

export function onReconcileTimer(ctx: Ctx): void {
  const {s, now} = ctx
  if (s.phase !== 'RECONCILING' && s.phase !== 'READY') return
  const run = s.reconcile
  if (run) {
    if (now < run.nextAt) {
      setReconcileTimer(ctx, run.nextAt)
      return
    }
    // drop tasks we no longer have a record of (e.g. forgotten after their member was removed)
    run.awaiting = run.awaiting.filter((id) => s.tasks[id] !== undefined)
    if (run.awaiting.length === 0) return finishReconcile(ctx)
    run.attempt++
    const delay = Math.min(s.config.reconcileBackoffMaxMs, s.config.reconcileBackoffMinMs * 2 ** run.attempt)
    run.nextAt = now + delay
    emit(ctx, {type: 'RECONCILE', tasks: run.awaiting.map((id) => ({taskId: id, agentId: s.tasks[id]!.agentId}))})
    emit(
      ctx,
      log(run.attempt >= 3 ? 'warn' : 'info', 'explicit reconciliation retry: tasks not yet accounted for', {
        attempt: run.attempt,
        tasks: run.awaiting,
      }),
    )
    setReconcileTimer(ctx, run.nextAt)
    return
  }
  if (s.phase !== 'READY') return
  const due = (s.lastImplicitReconcileAt ?? 0) + s.config.implicitReconcileIntervalMs
  if (now >= due) {
    emit(ctx, {type: 'RECONCILE', tasks: []})
    s.lastImplicitReconcileAt = now
    setReconcileTimer(ctx, now + s.config.implicitReconcileIntervalMs)
  } else {
    setReconcileTimer(ctx, due)
  }
}

export function onDisconnected(ctx: Ctx, reason?: string): void {
  const {s} = ctx
  if (!running(s)) return
  const was = s.phase === 'RECONCILING' || s.phase === 'READY'
  newSession(ctx, 'DISCONNECTED')
  if (was)
    emit(
      ctx,
      log('warn', 'disconnected from the Mesos master: immutable until re-subscribed and reconciled (etcd keeps running)', {
        reason: reason ?? null,
      }),
    )
  emit(ctx, {type: 'SUBSCRIBE', frameworkId: s.frameworkId})
}

export function onFrameworkError(ctx: Ctx, message: string): void {
  const {s} = ctx
  if (/framework has been removed/i.test(message)) {
    const old = s.frameworkId
    become(s, 'FRAMEWORK_REMOVED')
    s.frameworkId = null
    s.tasks = {}
    s.strays = {}
    s.pendingAdd = null
    s.reseed = null
    s.restore = null
    if (s.episode === 'RESEEDING' || s.episode === 'RESTORING') become(s, baseEpisode(s))
    s.bootstrapped = false
    s.clusterToken = `${s.config.clusterName}-${randomHex(s, 12)}`
    const msg =
      `Mesos has removed framework ${old ?? '(unknown)'} (its failover timeout expired or it was torn down); ` +
      'Mesos killed its etcd tasks. The persisted framework id and task records were cleared: restarting the scheduler ' +
      'registers a NEW framework and bootstraps a NEW, EMPTY etcd cluster.'
    emit(ctx, log('error', msg, {frameworkId: old, error: message}))
    emit(ctx, {type: 'FATAL', message: msg, exitCode: EXIT_FRAMEWORK_REMOVED})
    return
  }
  if (/framework failed over/i.test(message)) {
    become(s, 'DISCONNECTED')
    const msg = `another scheduler subscribed with framework id ${s.frameworkId ?? '(unknown)'} ("${message}"); exiting so that two schedulers do not fight`
    emit(ctx, log('error', msg))
    emit(ctx, {type: 'FATAL', message: msg, exitCode: EXIT_FATAL})
    return
  }
  emit(ctx, log('error', 'Mesos ERROR event; re-subscribing', {error: message}))
  onDisconnected(ctx, `ERROR: ${message}`)
}

/** The persisted state was written by another scheduler (reported by the driver's persister): stop. */
export function onStateConflict(ctx: Ctx, message: string): void {
  const {s} = ctx
  become(s, 'STOPPED')
  emit(
    ctx,
    log('error', 'the persisted scheduler state was written by another scheduler: stopping so that two schedulers do not fight', {
      error: message,
    }),
  )
  emit(ctx, {type: 'FATAL', message, exitCode: EXIT_FATAL})
}

export function onLeadershipLost(ctx: Ctx, leader: string): void {
  const {s} = ctx
  become(s, 'STOPPED')
  const message = `another scheduler (${leader}) leads this cluster in ZooKeeper after our ZooKeeper session expired; stepping down`
  emit(ctx, log('error', 'ZooKeeper names another leader of this cluster: stopping so that two schedulers do not fight', {leader}))
  emit(ctx, {type: 'FATAL', message, exitCode: EXIT_FATAL})
}
