/**
 * Relaunch on the member's own volume (with a role): a member whose etcd died on an agent that is still there
 * is relaunched on that agent, from the offer holding its volume and reservation, as the same member on its
 * own data (LAUNCH only), instead of being removed and replaced elsewhere. Planned while `mayMutate`, first
 * among the launch wants (plan.ts).
 *
 * Waiting task (`awaitingRelaunch`): dead with a volume record that is not retired, TASK_FAILED/KILLED/FINISHED
 *   from its executor or agent (no `lostAt`: not a master-made loss), not killed by us, not decommissioned, agent
 *   not removed, its member still in the etcd membership (when known), no live task for the same member, and not
 *   given up (`relaunchGaveUp`). While waiting, its member is not removed (membership.ts classifyMember) and no
 *   replacement is added (grow.ts).
 * Given up (`relaunchGaveUp`, then removed and replaced as before): no offer with its volume volumeWaitMs after
 *   its death, or it was itself a relaunch that failed again within IN_PLACE_MIN_INTERVAL_MS.
 * Launch: a new task id, the same member name, agent, ports and reserved resources plus the volume;
 *   initialClusterState 'existing', initialCluster = the membership, dataDir = the volume's container path,
 *   requireData (the executor fails rather than start an empty member). The dead record is replaced.
 * Retiring (`retireVolumes`): a volume record no task record uses, whose member etcd does not list (volumes.ts
 *   memberInUse), gets `retiredAt`; release.ts then destroys and unreserves it when an offer holds it.
 */
import {validateMemberConfig} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {randomHex, taskIdFor} from './ids.js'
import {IN_PLACE_MIN_INTERVAL_MS, initialClusterFor} from './inplace.js'
import {accept, launchOperation, tryMemberConfig} from './launch.js'
import type {OfferRound} from './offer-planner.js'
import {decideWant, launchFailed} from './offer-planner.js'
import type {SchedulerState, TaskRecord} from './state.js'
import {awaitingRelaunch, memberInUse} from './volumes.js'

export {awaitingRelaunch} from './volumes.js'

/** When the next waiting task gives up (for the wake timer), or null. */
export function nextRelaunchDeadline(s: SchedulerState): number | null {
  const ts = awaitingRelaunch(s).map((t) => t.lastUpdateAt + s.config.volumeWaitMs)
  return ts.length > 0 ? Math.min(...ts) : null
}

/** Gives up on waiting tasks past their time, then relaunches those whose offer is held. */
export function planRelaunch(ctx: Ctx, round: OfferRound): void {
  const {s, now} = ctx
  for (const t of awaitingRelaunch(s)) {
    const tooSoon = t.inPlaceLaunchedAt !== undefined && t.lastUpdateAt - t.inPlaceLaunchedAt < IN_PLACE_MIN_INTERVAL_MS
    if (tooSoon || now - t.lastUpdateAt >= s.config.volumeWaitMs) {
      t.relaunchGaveUp = true
      emit(
        ctx,
        log(
          'warn',
          tooSoon
            ? 'a member relaunched on its volume failed again: replacing it'
            : "no offer with the member's volume in time: replacing it",
          {
            member: t.memberName,
            taskId: t.taskId,
            agentId: t.agentId,
            volume: t.volumeId,
            waitedMs: now - t.lastUpdateAt,
          },
        ),
      )
      continue
    }
    relaunch(ctx, round, t)
  }
}

/** Relaunches `dead` on its volume from the offer holding it, if any (also rollout.ts). */
export function relaunch(ctx: Ctx, round: OfferRound, dead: TaskRecord): void {
  const {s, now} = ctx
  const vol = s.volumes[dead.volumeId!]!
  const d = decideWant(s, round, {kind: 'relaunch', member: dead.memberName, volume: vol}, now)
  if (d.type !== 'launch') return
  const m = d.matches[0]!
  const built = tryMemberConfig(ctx, dead.memberName, m, initialClusterFor(s, dead), 'existing')
  if (!built) return launchFailed(round, d, 'invalid member config')
  const cfg = validateMemberConfig({...built, dataDir: vol.containerPath, requireData: true})
  const taskId = taskIdFor(dead.memberName, randomHex(s, 8))
  delete s.tasks[dead.taskId]
  emit(
    ctx,
    log('warn', 'relaunching etcd member on its persistent volume', {
      member: dead.memberName,
      deadTaskId: dead.taskId,
      taskId,
      agentId: dead.agentId,
      volume: vol.persistenceId,
    }),
  )
  accept(ctx, m.offerId, launchOperation(ctx, m, dead.memberName, taskId, cfg, vol))
  s.tasks[taskId]!.inPlaceLaunchedAt = now
}

/** Marks volume records no task uses and whose member etcd does not list as retired (release.ts frees them). */
export function retireVolumes(ctx: Ctx): void {
  const {s, now} = ctx
  for (const v of Object.values(s.volumes)) {
    if (v.retiredAt !== undefined) continue
    if (Object.values(s.tasks).some((t) => t.volumeId === v.persistenceId) || memberInUse(s, v.memberName)) continue
    v.retiredAt = now
    emit(
      ctx,
      log('info', 'member removed for good: its volume and reservation will be released', {
        member: v.memberName,
        volume: v.persistenceId,
        agentId: v.agentId,
      }),
    )
  }
}
