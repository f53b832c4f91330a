/**
 * Quorum, in one place (like etcd-io/raft's quorum/ package); used by health (the livelock timer),
 * in-place healing (structural loss) and re-seed (is a quorum evident in a probe round?).
 *
 * quorumOf(n) = floor(n/2)+1 (defined once, in lib/etcd/verdict.ts, where the verdicts count votes).
 * Evident quorum (lib/etcd/verdict.ts): a quorum agrees on a leader, OR a linearizable read succeeded
 *   through some member. Livelock needs its ABSENCE: a read through a member this scheduler still reaches
 *   proves a quorum even if the rest is out of sight (never re-seed because of our own partition).
 * Livelock timer (`livelockStep`): no evident quorum while members run → `lostQuorumSince` (first such
 *   verdict); still none reseedTimeoutMs later → `livelocked` (once per episode: the caller counts it);
 *   an evident quorum → all cleared ('back' when it was livelocked). Without running members the timer
 *   neither starts nor ends.
 * Structural loss (`quorumStructurallyLost`): fewer voting members backed by a live task (or a lost task
 *   whose etcd answers) than a quorum of the voters: no member can be removed or added (membership
 *   unknown: counted over the task records' member names).
 */
import type {MemberProbe} from '../../lib/etcd/probe.js'
import {healthVerdict, quorumOf} from '../../lib/etcd/verdict.js'
import type {SchedulerState, TaskRecord} from './state.js'
import {allTasks, isDeadState, memberMatchesTask, verdictSize} from './state.js'

export {quorumOf}

export interface LivelockTimer {
  lostQuorumSince: number | null
  livelocked: boolean
  /** When the last automatic re-seed attempt ended without a seed (re-armed after reseedTimeoutMs). */
  lastReseedFailedAt: number | null
}

export type LivelockChange = 'livelocked' | 'back' | null

/** One verdict's effect on the livelock timer (mutates `t`); says whether a livelock began or ended. */
export function livelockStep(t: LivelockTimer, evident: boolean, membersRunning: boolean, now: number, timeoutMs: number): LivelockChange {
  if (evident) {
    const was = t.livelocked
    t.lostQuorumSince = null
    t.livelocked = false
    t.lastReseedFailedAt = null
    return was ? 'back' : null
  }
  if (!membersRunning) return null
  t.lostQuorumSince ??= now
  if (!t.livelocked && now - t.lostQuorumSince >= timeoutMs) {
    t.livelocked = true
    return 'livelocked'
  }
  return null
}

/** Does this probe round show a working quorum (verdict over the current verdict size)? */
export function quorumEvidentIn(s: SchedulerState, probes: MemberProbe[]): {evident: boolean; reason: string} {
  const v = healthVerdict(verdictSize(s), probes)
  return {evident: v.quorumEvident, reason: v.reason}
}

function aliveForEtcd(t: TaskRecord): boolean {
  return !isDeadState(t.state) || t.answering === true
}

/** Fewer voting members backed by a live task than a quorum: no member can be removed or added. */
export function quorumStructurallyLost(s: SchedulerState): boolean {
  const tasks = allTasks(s).filter((t) => !t.decommission)
  if (s.membership && s.membership.members.length > 0) {
    const voters = s.membership.members.filter((m) => !m.isLearner)
    if (voters.length === 0) return false
    const backed = voters.filter((m) => tasks.some((t) => aliveForEtcd(t) && memberMatchesTask(s, m, t))).length
    return backed < quorumOf(voters.length)
  }
  const names = new Set(tasks.map((t) => t.memberName))
  const alive = new Set(tasks.filter(aliveForEtcd).map((t) => t.memberName))
  return names.size > 0 && alive.size < quorumOf(names.size)
}
