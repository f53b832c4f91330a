/**
 * Restart in place: when quorum is lost because members' etcd processes died on agents that are still
 * there (their data kept on disk), relaunch the SAME members on their kept data, instead of waiting for
 * a member removal (impossible without quorum) and, after reseedTimeoutMs, a re-seed.
 *
 * Episode (`s.inPlace`, not persisted; planned while `mayMutate`; shown as RESTARTING_IN_PLACE, mode.ts):
 *   none     --a restartable dead task exists AND quorum is structurally lost (fewer voting members
 *              backed by a live task than a quorum of the voters) AND no fresh healthy verdict--> active
 *   active   --fresh healthy verdict (quorum back)--> none: the normal remove + replace applies to
 *              anything still dead (membership.ts, grow.ts)
 *   active   --reseedTimeoutMs/2 elapsed--> gave up (no more in-place launches; the re-seed after
 *              reseedTimeoutMs stays the fallback) --fresh healthy verdict / re-seed--> none
 * Restartable dead task: TASK_FAILED/KILLED/FINISHED from its executor or agent (no `lostAt`: not a
 *   master-made loss), not killed by us, not decommissioned, data dir known, agent not removed, its
 *   member still in the etcd membership (when known), no live task for the same member, no volume (with a
 *   role a member is relaunched on its volume instead: relaunch.ts), and not an
 *   in-place restart that failed again within IN_PLACE_MIN_INTERVAL_MS of its launch (`inPlaceGaveUp`).
 * Launch: an offer from the same agent with the same peer and client ports (the offer planner's want
 *   'in-place'; it REVIVEs offers declined while busy when none is held) → LAUNCH with a new task id
 *   (Mesos never reuses one), the same member name, initialClusterState 'existing', initialCluster = the
 *   etcd membership (names + first peer URL; else the task records), dataDir = the recorded absolute dir,
 *   requireData (the executor fails the task rather than start an empty member if the data is gone). The
 *   dead record is replaced by the new one; PERSIST precedes the ACCEPT, as for every launch.
 * Invariants: never while quorum is intact at the start of an episode (then: remove + replace); never
 *   on a removed agent; never two live tasks for one member.
 */
import type {InitialPeer, MemberConfig} from '../../lib/member-config.js'
import {validateMemberConfig} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {randomHex, taskIdFor} from './ids.js'
import {accept, launchOperation, tryMemberConfig} from './launch.js'
import type {OfferRound} from './offer-planner.js'
import {decideWant, launchFailed} from './offer-planner.js'
import {baseEpisode, become} from './mode.js'
import {quorumStructurallyLost} from './quorum.js'
import type {SchedulerState, TaskRecord} from './state.js'
import {allTasks, deadTasks, healthFresh, isDeadState, memberMatchesTask, memberOfTask, peerUrl} from './state.js'

/** A task restarted in place that fails again sooner than this after its launch is not restarted again. */
export const IN_PLACE_MIN_INTERVAL_MS = 60_000

const RESTARTABLE_STATES = new Set(['TASK_FAILED', 'TASK_KILLED', 'TASK_FINISHED'])

/** Dead tasks that may be restarted in place now (see the header); marks `inPlaceGaveUp` on repeat failures. */
export function restartable(ctx: Ctx): TaskRecord[] {
  const {s} = ctx
  const out: TaskRecord[] = []
  for (const t of deadTasks(s)) {
    if (t.inPlaceGaveUp) continue
    if (t.inPlaceLaunchedAt !== undefined && t.lastUpdateAt - t.inPlaceLaunchedAt < IN_PLACE_MIN_INTERVAL_MS) {
      t.inPlaceGaveUp = true
      emit(
        ctx,
        log('warn', 'a member restarted in place failed again: not restarting it in place again', {
          taskId: t.taskId,
          member: t.memberName,
          reason: t.reason ?? null,
        }),
      )
      continue
    }
    if (!RESTARTABLE_STATES.has(t.state) || t.lostAt !== undefined || t.killRequestedAt !== undefined || t.decommission) continue
    if (t.dataDir === undefined || s.removedAgents[t.agentId] !== undefined) continue
    if (t.volumeId !== undefined) continue // relaunched on its volume (relaunch.ts), quorum or not
    if (s.membership && memberOfTask(s, t) === null) continue
    if (allTasks(s).some((o) => o.taskId !== t.taskId && o.memberName === t.memberName && !isDeadState(o.state))) continue
    out.push(t)
  }
  return out
}

/** Plans restarts in place (MUTABLE only); returns true while an episode is active and not given up. */
export function planInPlace(ctx: Ctx, round: OfferRound): boolean {
  const {s, now} = ctx
  if (s.inPlace && healthFresh(s)) {
    emit(ctx, log('info', 'quorum is back: restart-in-place episode over', {sinceMs: now - s.inPlace.since}))
    s.inPlace = null
    if (s.episode === 'RESTARTING_IN_PLACE') become(s, baseEpisode(s))
  }
  const candidates = restartable(ctx)
  if (!s.inPlace) {
    if (candidates.length === 0 || !quorumStructurallyLost(s) || healthFresh(s)) return false
    s.inPlace = {since: now, gaveUp: false}
    become(s, 'RESTARTING_IN_PLACE')
    emit(
      ctx,
      log('warn', 'quorum lost with members whose data is kept on live agents: restarting them in place', {
        members: candidates.map((t) => t.memberName),
        tasks: candidates.map((t) => t.taskId),
      }),
    )
  }
  if (s.inPlace.gaveUp) return false
  if (now - s.inPlace.since >= Math.floor(s.config.reseedTimeoutMs / 2)) {
    s.inPlace.gaveUp = true
    become(s, baseEpisode(s))
    emit(
      ctx,
      log('warn', 'restart in place did not restore quorum in time: falling back to the re-seed after the timeout', {
        waitedMs: now - s.inPlace.since,
        waiting: candidates.map((t) => t.memberName),
      }),
    )
    return false
  }
  for (const t of candidates) launchInPlace(ctx, round, t)
  return true
}

/** Restarts `dead` in place on the offer the offer planner chose for it, if any (also rollout.ts). */
export function launchInPlace(ctx: Ctx, round: OfferRound, dead: TaskRecord): void {
  const {s, now} = ctx
  const d = decideWant(
    s,
    round,
    {kind: 'in-place', member: dead.memberName, agentId: dead.agentId, ports: {peer: dead.peerPort, client: dead.clientPort}},
    now,
  )
  if (d.type !== 'launch') return
  const m = d.matches[0]!
  const built = tryMemberConfig(ctx, dead.memberName, m, initialClusterFor(s, dead), 'existing')
  if (!built) return launchFailed(round, d, 'invalid member config')
  let cfg: MemberConfig
  try {
    cfg = validateMemberConfig({...built, dataDir: dead.dataDir!, requireData: true})
  } catch (err) {
    emit(ctx, log('error', 'cannot restart in place: invalid member config', {member: dead.memberName, error: (err as Error).message}))
    return launchFailed(round, d, 'invalid member config')
  }
  const taskId = taskIdFor(dead.memberName, randomHex(s, 8))
  const dataDir = dead.dataDir!
  delete s.tasks[dead.taskId]
  emit(
    ctx,
    log('warn', 'restarting etcd member in place on its kept data', {
      member: dead.memberName,
      deadTaskId: dead.taskId,
      taskId,
      agentId: dead.agentId,
      dataDir,
    }),
  )
  accept(ctx, m.offerId, launchOperation(ctx, m, dead.memberName, taskId, cfg, null))
  const rec = s.tasks[taskId]!
  rec.dataDir = dataDir
  rec.inPlaceLaunchedAt = now
}

/** The etcd membership (names + first peer URL), the restarted member included under its own name. */
export function initialClusterFor(s: SchedulerState, dead: TaskRecord): InitialPeer[] {
  const mine = peerUrl(s, dead)
  const out: InitialPeer[] = []
  if (s.membership) {
    for (const m of s.membership.members) {
      const isMine = memberMatchesTask(s, m, dead)
      const name = isMine ? dead.memberName : m.name || allTasks(s).find((t) => memberMatchesTask(s, m, t))?.memberName || ''
      const url = isMine ? mine : m.peerUrls[0]
      if (name && url && !out.some((p) => p.name === name)) out.push({name, peerUrl: url})
    }
  } else {
    for (const t of allTasks(s))
      if (!t.decommission && !out.some((p) => p.name === t.memberName)) out.push({name: t.memberName, peerUrl: peerUrl(s, t)})
  }
  if (!out.some((p) => p.name === dead.memberName)) out.push({name: dead.memberName, peerUrl: mine})
  return out
}
