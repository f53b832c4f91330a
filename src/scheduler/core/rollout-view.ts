/**
 * What GET /rollout, /stats' `rollout` object and /metrics show of the rollout (rollout.ts). Pure.
 */
import type {RolloutStats} from '../../lib/stats.js'
import {desiredSpec, describeSpec, specDiff} from './rollout-spec.js'
import type {SchedulerState} from './state.js'
import {runningTasks} from './state.js'

export type RolloutView = RolloutStats

export function rolloutView(s: SchedulerState): RolloutView | null {
  const r = s.rollout
  if (!r) return null
  const current = r.current?.member ?? null
  return {
    op: r.op,
    state: r.state,
    reason: r.reason,
    step: r.step,
    message: r.message,
    target: describeSpec(r.target),
    members: {done: [...r.done], pending: r.members.filter((m) => !r.done.includes(m) && m !== current), current},
    currentStep: r.current?.step ?? null,
    versions: {...r.versions},
    clusterVersion: r.clusterVersion,
    pauseRequested: r.pauseRequested === true,
    abortRequested: r.abortRequested === true,
    startedAt: new Date(r.startedAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  }
}

/** GET /rollout: the rollout (or null), and which running members differ from the desired spec now. */
export function rolloutStatus(s: SchedulerState): {
  rollout: RolloutView | null
  desired: string
  differing: {member: string; differs: string[]}[]
} {
  const target = desiredSpec(s.config)
  return {
    rollout: rolloutView(s),
    desired: describeSpec(target),
    differing: runningTasks(s)
      .map((t) => ({member: t.memberName, differs: t.spec ? specDiff(t.spec, target) : ['unknown (launched before specs were recorded)']}))
      .filter((d) => d.differs.length > 0),
  }
}
