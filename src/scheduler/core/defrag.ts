/**
 * Routine defragmentation policy (PURE: no clock, no I/O). etcd keeps the pages freed by compaction inside its db
 * file; only a defragmentation (which blocks the member while it rewrites the file) gives them back.
 *
 * A member is a candidate when its latest probe answered status with dbSize ≥ defragMinBytes (64 MiB) and
 *   (dbSize − dbSizeInUse) / dbSize ≥ defragThreshold (0.5: half of the file is free), and it was not
 *   defragmented in the last defragIntervalMs. defragThreshold 0: routine defragmentation off.
 * Order: followers first (most bytes to free first, then client URL), the leader last.
 * One at a time: one maintenance call in flight at most, and after each defragmentation the next waits for a
 *   health verdict from a check sent after it ended (`settleSeq`), so that the cluster is seen healthy between two.
 * Never while (`defragBlocker`): not READY, the episode is not MUTABLE (quorum lost, restart in place, re-seed, total
 *   loss, restore), a re-seed, restore or rollout (`s.rollout`, when present) is recorded, a membership change is in
 *   flight, the latest verdict is unhealthy, or a running member did not answer the latest probe.
 * Evaluated after every event (the planner), so in practice on each health probe answer (every --health-interval).
 */
import type {MemberProbe} from '../../lib/etcd/probe.js'
import {clientUrl, runningTasks, type SchedulerState} from './state.js'

export interface DefragCandidate {
  clientUrl: string
  memberId: string
  dbSize: number
  dbSizeInUse: number
  leader: boolean
}

/** Why no routine defragmentation may start now (null: it may). */
export function defragBlocker(s: SchedulerState): string | null {
  if (s.phase !== 'READY') return `the scheduler is ${s.phase}`
  const busy = maintenanceBlocker(s)
  if (busy !== null) return busy
  if (s.episode !== 'MUTABLE') return `the cluster is ${s.episode}`
  if (s.memberOp !== null || s.pendingAdd !== null) return 'a membership change is in progress'
  const v = s.health.verdict
  if (v === null) return 'no health verdict yet'
  if (!v.healthy) return `the cluster is unhealthy (${v.reason})`
  const probes = s.health.probes
  const down = runningTasks(s).filter((t) => {
    const p = probes.find((x) => x.clientUrl === clientUrl(s, t))
    return !p?.reachable || !p.status
  })
  if (down.length > 0) return `member(s) ${down.map((t) => t.memberName).join(', ')} did not answer the latest probe`
  return null
}

/** A re-seed, restore or rollout in progress (every maintenance, NOSPACE recovery included, waits for them). */
export function maintenanceBlocker(s: SchedulerState): string | null {
  if (s.reseed !== null) return 'a re-seed is in progress'
  if (s.restore !== null) return 'a restore is in progress'
  if (s.inPlace !== null) return 'members are being restarted in place'
  // structural: rollout.ts (H9) keeps the current or last rollout; running or paused is in progress
  const rollout = (s as {rollout?: {state?: string} | null}).rollout
  if (rollout && (rollout.state === undefined || rollout.state === 'running' || rollout.state === 'paused'))
    return `a rollout is in progress (${rollout.state ?? 'running'})`
  return null
}

/** The members due for a defragmentation, in the order they are to be done (followers first, the leader last). */
export function defragCandidates(s: SchedulerState, now: number): DefragCandidate[] {
  const c = s.config
  if (c.defragThreshold <= 0) return []
  const leader = s.health.verdict?.leader ?? null
  const out: DefragCandidate[] = []
  const seen = new Set<string>()
  for (const p of s.health.probes) {
    const st = p.status
    if (!p.reachable || !st || seen.has(st.memberId)) continue
    seen.add(st.memberId)
    if (st.isLearner) continue
    const inUse = st.dbSizeInUse
    if (inUse === undefined || !(st.dbSize >= c.defragMinBytes) || st.dbSize <= 0) continue
    if ((st.dbSize - inUse) / st.dbSize < c.defragThreshold) continue
    const last = s.maintenance.lastDefragAt[st.memberId]
    if (last !== undefined && now - last < c.defragIntervalMs) continue
    out.push({clientUrl: p.clientUrl, memberId: st.memberId, dbSize: st.dbSize, dbSizeInUse: inUse, leader: st.memberId === leader})
  }
  return orderDefrag(out)
}

/** Followers first (most bytes to free first, then client URL), the leader last. */
export function orderDefrag<T extends {clientUrl: string; leader: boolean; dbSize?: number; dbSizeInUse?: number}>(list: T[]): T[] {
  const free = (x: T): number => (x.dbSize ?? 0) - (x.dbSizeInUse ?? 0)
  return [...list].sort(
    (a, b) =>
      Number(a.leader) - Number(b.leader) || free(b) - free(a) || (a.clientUrl < b.clientUrl ? -1 : a.clientUrl > b.clientUrl ? 1 : 0),
  )
}

/** Every member that answered the probes (one per member id), followers first and the leader last: what a NOSPACE
 *  recovery defragments. */
export function allMembersInOrder(probes: MemberProbe[], leader: string | null): {clientUrl: string; memberId: string}[] {
  const seen = new Set<string>()
  const list: {clientUrl: string; memberId: string; leader: boolean}[] = []
  for (const p of probes) {
    const st = p.status
    if (!p.reachable || !st || seen.has(st.memberId)) continue
    seen.add(st.memberId)
    list.push({clientUrl: p.clientUrl, memberId: st.memberId, leader: st.memberId === leader})
  }
  return orderDefrag(list).map(({clientUrl, memberId}) => ({clientUrl, memberId}))
}
