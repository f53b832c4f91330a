/**
 * Start-up, subscription and reconciliation.
 *
 * States: LOADING → (PersistedStateLoaded) → DISCONNECTED → (Subscribed) → RECONCILING → MUTABLE;
 *   Disconnected / non-fatal ERROR → DISCONNECTED (immutable) and SUBSCRIBE again.
 * Reconciliation run (mesos-v1-api §1.8): on every Subscribed, one implicit RECONCILE plus an explicit
 *   one for every persisted task; explicit retries with doubling backoff (SET_TIMER 'reconcile') until
 *   every persisted task got an update in this run. Only then MUTABLE. Once mutable, implicit
 *   reconciliation every implicitReconcileIntervalMs on the same timer.
 * ERROR "Framework has been removed": the framework's tasks are gone (Mesos killed them). Decision: clear
 *   the persisted framework id AND task records (a restart registers a new framework and bootstraps a
 *   new cluster), LOG error and FATAL(EXIT_FRAMEWORK_REMOVED) with a message saying so.
 * ERROR "Framework failed over": another scheduler took our framework id: FATAL (two schedulers fight).
 */
import {EXIT_FATAL, EXIT_FRAMEWORK_REMOVED, log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {randomHex} from './ids.js'
import type {PersistedDoc} from './persist.js'
import {applyPersistedDoc, serializePersistedDoc, toPersistedDoc} from './persist.js'
import {allTasks} from './state.js'

export function onLoaded(ctx: Ctx, doc: PersistedDoc | null): void {
  const {s, now} = ctx
  if (s.loaded) {
    emit(ctx, log('warn', 'persisted state loaded twice; the second load is ignored'))
    return
  }
  if (doc && doc.clusterName !== s.config.clusterName) {
    emit(ctx, log('error', 'persisted state belongs to another cluster', {persisted: doc.clusterName, configured: s.config.clusterName}))
    emit(ctx, {type: 'FATAL', exitCode: EXIT_FATAL, message: `the persisted state is for cluster "${doc.clusterName}" but this scheduler runs "${s.config.clusterName}"; check --cluster / the ZooKeeper path`})
    return
  }
  if (doc) applyPersistedDoc(s, doc)
  s.stats.stats_since ??= now
  s.loaded = true
  s.persistedJson = doc ? serializePersistedDoc(toPersistedDoc(s)) : null
  emit(ctx, log('info', doc ? 'loaded persisted state' : 'no persisted state: first start', {
    frameworkId: s.frameworkId, tasks: Object.keys(s.tasks).length, reseed: s.reseed?.op ?? null,
  }))
  emit(ctx, {type: 'SUBSCRIBE', frameworkId: s.frameworkId})
  emit(ctx, {type: 'SET_TIMER', name: 'health', atMs: now})
  s.timers.health = now
}

export function onSubscribed(ctx: Ctx, frameworkId: string): void {
  const {s, now} = ctx
  if (!s.loaded) {
    emit(ctx, log('warn', 'Subscribed before the persisted state was loaded; ignored'))
    return
  }
  if (s.frameworkId !== null && s.frameworkId !== frameworkId) {
    emit(ctx, log('warn', 'subscribed with a different framework id than persisted; old tasks will reconcile as lost', {persisted: s.frameworkId, got: frameworkId}))
  }
  s.frameworkId = frameworkId
  s.connected = true
  s.reconciled = false
  s.offers = {}
  s.offersWanted = null
  s.bootstrapWaitStart = null
  if (s.pendingAdd) s.pendingAdd.offerId = null
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

function setReconcileTimer(ctx: Ctx, at: number): void {
  ctx.s.timers.reconcile = at
  emit(ctx, {type: 'SET_TIMER', name: 'reconcile', atMs: at})
}

function finishReconcile(ctx: Ctx): void {
  const {s, now} = ctx
  const run = s.reconcile
  s.reconcile = null
  s.reconciled = true
  s.lastImplicitReconcileAt = now
  emit(ctx, log('info', 'reconciliation complete: every persisted task accounted for', {tookMs: run ? now - run.startedAt : 0}))
  setReconcileTimer(ctx, now + s.config.implicitReconcileIntervalMs)
}

/** Called for every status update: counts it toward the running reconciliation. */
export function accountReconcile(ctx: Ctx, taskId: string): void {
  const run = ctx.s.reconcile
  if (!run || !ctx.s.connected) return
  const i = run.awaiting.indexOf(taskId)
  if (i >= 0) run.awaiting.splice(i, 1)
  if (run.awaiting.length === 0) finishReconcile(ctx)
}

export function onReconcileTimer(ctx: Ctx): void {
  const {s, now} = ctx
  if (!s.connected) return
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
    emit(ctx, log(run.attempt >= 3 ? 'warn' : 'info', 'explicit reconciliation retry: tasks not yet accounted for', {attempt: run.attempt, tasks: run.awaiting}))
    setReconcileTimer(ctx, run.nextAt)
    return
  }
  if (!s.reconciled) return
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
  if (!s.loaded || s.removed) return
  const was = s.connected
  s.connected = false
  s.reconciled = false
  s.reconcile = null
  s.offers = {}
  s.offersWanted = null
  s.bootstrapWaitStart = null
  if (s.pendingAdd) s.pendingAdd.offerId = null
  if (was) emit(ctx, log('warn', 'disconnected from the Mesos master: immutable until re-subscribed and reconciled (etcd keeps running)', {reason: reason ?? null}))
  emit(ctx, {type: 'SUBSCRIBE', frameworkId: s.frameworkId})
}

export function onFrameworkError(ctx: Ctx, message: string): void {
  const {s} = ctx
  if (/framework has been removed/i.test(message)) {
    const old = s.frameworkId
    s.removed = true
    s.connected = false
    s.reconciled = false
    s.frameworkId = null
    s.tasks = {}
    s.strays = {}
    s.pendingAdd = null
    s.reseed = null
    s.bootstrapped = false
    s.clusterToken = `${s.config.clusterName}-${randomHex(s, 12)}`
    const msg = `Mesos has removed framework ${old ?? '(unknown)'} (its failover timeout expired or it was torn down); ` +
      'Mesos killed its etcd tasks. The persisted framework id and task records were cleared: restarting the scheduler ' +
      'registers a NEW framework and bootstraps a NEW, EMPTY etcd cluster.'
    emit(ctx, log('error', msg, {frameworkId: old, error: message}))
    emit(ctx, {type: 'FATAL', message: msg, exitCode: EXIT_FRAMEWORK_REMOVED})
    return
  }
  if (/framework failed over/i.test(message)) {
    s.connected = false
    s.reconciled = false
    const msg = `another scheduler subscribed with framework id ${s.frameworkId ?? '(unknown)'} ("${message}"); exiting so that two schedulers do not fight`
    emit(ctx, log('error', msg))
    emit(ctx, {type: 'FATAL', message: msg, exitCode: EXIT_FATAL})
    return
  }
  emit(ctx, log('error', 'Mesos ERROR event; re-subscribing', {error: message}))
  onDisconnected(ctx, `ERROR: ${message}`)
}
