/**
 * The reducer: `step(state, event, now) → {state, actions}`. Pure: the input state is never mutated
 * (a structured clone is worked on), no I/O, no clock, no Math.random. Dispatches the event to a
 * handler that records facts, then runs the planner (plan.ts), then finalises the batch:
 *   [PERSIST (if the persisted document changed)] + actions + ACKNOWLEDGEs + [FATAL last].
 * An exception inside a handler never escapes: the input state is returned unchanged with a LOG error
 * (so does a mode transition `become` refuses, see mode.ts).
 * Terminal phases (FRAMEWORK_REMOVED, STOPPED) ignore every event; STOPPED persists nothing either.
 */
import type {SchedulerAction} from './actions.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import type {SchedulerEvent} from './events.js'
import {onFailure, onUpdate} from './updates.js'
import {onHealthObserved, onHealthTimer} from './health.js'
import {onMaintenanceEvent} from './maintenance.js'
import {onOffers, onRescind} from './launch.js'
import {
  onMemberAdded,
  onMemberAddFailed,
  onMemberList,
  onMemberListFailed,
  onMemberPromoted,
  onMemberPromoteFailed,
  onMemberRemoved,
  onMemberRemoveFailed,
} from './membership.js'
import {serializePersistedDoc, toPersistedDoc} from './persist.js'
import {nextWake, plan} from './plan.js'
import {onDisconnected, onFrameworkError, onLeadershipLost, onLoaded, onReconcileTimer, onStateConflict, onSubscribed} from './reconcile.js'
import {onFrameworkMessage, onReseedRequested} from './reseed.js'
import {onRestoreRequested, onRestoreResolved, onRestoreResolveFailed} from './restore.js'
import {onLeaderMoved, onRolloutBackupDone, onRolloutVersions} from './rollout.js'
import {onRolloutControl, onRolloutRequested} from './rollout-start.js'
import type {SchedulerState} from './state.js'

export interface StepResult {
  state: SchedulerState
  actions: SchedulerAction[]
}

export function step(state: SchedulerState, event: SchedulerEvent, now: number): StepResult {
  const ctx: Ctx = {s: structuredClone(state), now, out: [], acks: []}
  try {
    dispatch(ctx, event)
    plan(ctx)
    return {state: ctx.s, actions: finalize(ctx)}
  } catch (err) {
    const e = err as Error
    return {
      state,
      actions: [
        log('error', `internal error in the scheduler core while handling ${event?.type ?? 'an event'}: ${e?.message ?? String(err)}`, {
          stack: e?.stack ?? null,
        }),
      ],
    }
  }
}

function dispatch(ctx: Ctx, ev: SchedulerEvent): void {
  const {s} = ctx
  if (s.phase === 'FRAMEWORK_REMOVED' || s.phase === 'STOPPED') return
  if (ev.type === 'StateConflict') return onStateConflict(ctx, ev.message)
  if (ev.type === 'LeadershipLost') return onLeadershipLost(ctx, ev.leader)
  if (s.phase === 'LOADING' && ev.type !== 'PersistedStateLoaded') {
    if (ev.type === 'Offers')
      for (const o of ev.offers) ctx.out.push({type: 'DECLINE', offerIds: [o.id.value], filters: {refuse_seconds: s.config.refuseSeconds}})
    return
  }
  switch (ev.type) {
    case 'PersistedStateLoaded':
      return onLoaded(ctx, ev.doc)
    case 'Subscribed':
      return onSubscribed(ctx, ev.frameworkId, ev.master)
    case 'Disconnected':
      s.connection.subscribedSince = null
      s.connection.disconnectedSince ??= ctx.now
      return onDisconnected(ctx, ev.reason)
    case 'FrameworkError':
      return onFrameworkError(ctx, ev.message)
    case 'Offers':
      return onOffers(ctx, ev.offers)
    case 'Rescind':
      return onRescind(ctx, ev.offerId)
    case 'Update':
      return onUpdate(ctx, ev.status)
    case 'Failure':
      return onFailure(ctx, ev.agentId, ev.executorId, ev.status)
    case 'FrameworkMessage':
      return onFrameworkMessage(ctx, ev.executorId, ev.data)
    case 'TimerFired':
      if (ev.name === 'reconcile') return onReconcileTimer(ctx)
      if (ev.name === 'health') return onHealthTimer(ctx)
      if (ev.name === 'wake') delete s.timers.wake
      return
    case 'Tick':
      return
    case 'MemberListObserved':
      return onMemberList(ctx, ev.members)
    case 'MemberListFailed':
      return onMemberListFailed(ctx, ev.message)
    case 'MemberAdded':
      return onMemberAdded(ctx, ev.peerUrl, ev.member, ev.members)
    case 'MemberAddFailed':
      return onMemberAddFailed(ctx, ev.peerUrl, ev.code, ev.retryable, ev.message)
    case 'MemberRemoved':
      return onMemberRemoved(ctx, ev.memberId)
    case 'MemberRemoveFailed':
      return onMemberRemoveFailed(ctx, ev.memberId, ev.code, ev.retryable, ev.message)
    case 'MemberPromoted':
      return onMemberPromoted(ctx, ev.memberId)
    case 'MemberPromoteFailed':
      return onMemberPromoteFailed(ctx, ev.memberId, ev.code, ev.message)
    case 'HealthObserved':
      return onHealthObserved(ctx, ev.probes, ev.seq)
    case 'ReseedRequested':
      return onReseedRequested(ctx, ev.op, ev.force)
    case 'RestoreRequested':
      return onRestoreRequested(ctx, ev.op, ev.from, ev.toRevision, ev.force)
    case 'RestoreResolved':
      return onRestoreResolved(ctx, ev.op, ev.plan, ev.skipped)
    case 'RestoreResolveFailed':
      return onRestoreResolveFailed(ctx, ev.op, ev.message)
    case 'Compacted':
    case 'CompactFailed':
    case 'Defragmented':
    case 'DefragFailed':
    case 'AlarmDisarmed':
    case 'AlarmDisarmFailed':
      return onMaintenanceEvent(ctx, ev)
    case 'RolloutRequested':
      return onRolloutRequested(ctx, ev.op, ev.tls)
    case 'RolloutControl':
      return onRolloutControl(ctx, ev.action)
    case 'RolloutVersionsObserved':
      return onRolloutVersions(ctx, ev.op, ev.versions, ev.tlsProblem)
    case 'RolloutBackupDone':
      return onRolloutBackupDone(ctx, ev.op, ev.ok, ev.message)
    case 'LeaderMoved':
      return onLeaderMoved(ctx, ev.op, ev.ok, ev.message)
    case 'PersistFailed':
      s.persistedJson = null
      s.persistRetryAt = ctx.now + s.config.memberOpRetryMs
      ctx.out.push(log('warn', 'persisting scheduler state failed; will retry (the cluster keeps running)', {error: ev.message}))
      return
    default:
      ctx.out.push(log('warn', 'unknown event ignored', {type: (ev as {type?: unknown}).type ?? null}))
  }
}

function finalize(ctx: Ctx): SchedulerAction[] {
  const {s, now} = ctx
  const actions: SchedulerAction[] = []
  if (s.phase !== 'LOADING' && s.phase !== 'STOPPED') {
    const json = serializePersistedDoc(toPersistedDoc(s))
    const urgent =
      ctx.acks.length > 0 || ctx.out.some((a) => a.type === 'ACCEPT' || a.type === 'FATAL' || a.type === 'MESSAGE' || a.type === 'KILL')
    if (json !== s.persistedJson && (s.persistRetryAt === null || now >= s.persistRetryAt || urgent)) {
      actions.push({type: 'PERSIST', doc: toPersistedDoc(s)})
      s.persistedJson = json
      s.persistRetryAt = null
    }
    const wake = nextWake(ctx)
    if (wake !== null && s.timers.wake !== wake) {
      s.timers.wake = wake
      ctx.out.push({type: 'SET_TIMER', name: 'wake', atMs: wake})
    }
  }
  const fatal = ctx.out.filter((a) => a.type === 'FATAL')
  actions.push(...ctx.out.filter((a) => a.type !== 'FATAL'), ...ctx.acks, ...fatal)
  return actions
}
