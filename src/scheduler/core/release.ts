/**
 * Releasing reservations and volumes (with a role): which of our reservations in an offer may be destroyed and
 * unreserved, and when. Called for every offer about to be declined (launch.ts finishOffers).
 *
 * A member's reservation and volume in an offer (volumes.ts ourReservations: our role, our cluster label, a
 * persistence id naming our cluster and that member) are released (one ACCEPT: DESTROY the volume, then
 * UNRESERVE everything, the volume as plain reserved disk) when:
 *   retired   its volume record is retired (relaunch.ts retireVolumes: no task record uses it and etcd no
 *             longer lists the member): at once; counted in stats.volumes_released; the record is dropped.
 *   leftover  no volume record names the member (a crash between the ACCEPT and its PERSIST): once seen for
 *             leftoverGraceMs (sightings in `leftovers`, not persisted; forgotten when not seen again for
 *             leftoverGraceMs plus two refuse periods, e.g. its agent went away); counted in stats.leftovers_cleaned.
 * Never: while the member is in use (a task record, the pending add, or etcd (maybe) listing it: memberInUse),
 *   a group holding a volume not proven ours, or while the scheduler may not mutate (mode.ts mayMutate).
 */
import type {Offer, OfferOperation} from '../../lib/mesos/types.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {mayMutate} from './mode.js'
import {memberInUse, ourReservations, releaseOperations, volumeRole} from './volumes.js'

/** The DESTROY + UNRESERVE operations for `offer`, or null (then it is declined). */
export function releaseFor(ctx: Ctx, offer: Offer): OfferOperation[] | null {
  const {s, now} = ctx
  if (!volumeRole(s.config) || !mayMutate(s)) return null
  const ops: OfferOperation[] = []
  for (const [member, g] of ourReservations(s, offer)) {
    if (g.foreign || memberInUse(s, member)) continue
    const records = Object.values(s.volumes).filter((v) => v.memberName === member)
    if (records.some((v) => v.retiredAt === undefined)) continue
    const key = `${offer.agent_id.value}/${member}`
    const retired = records.length > 0
    if (!retired) {
      const seen = s.leftovers[key] ?? {first: now, last: now}
      seen.last = now
      s.leftovers[key] = seen
      if (now - seen.first < s.config.leftoverGraceMs) continue
    }
    ops.push(...(releaseOperations(g.volumes, g.rest) as OfferOperation[]))
    delete s.leftovers[key]
    for (const v of records) delete s.volumes[v.persistenceId]
    if (retired) s.stats.volumes_released++
    else s.stats.leftovers_cleaned++
    emit(
      ctx,
      log(
        retired ? 'info' : 'warn',
        retired ? 'releasing the volume and reservation of a removed member' : 'releasing a leftover reservation unknown to the records',
        {
          member,
          agentId: offer.agent_id.value,
          volumes: g.volumes.map((v) => v.disk?.persistence?.id),
        },
      ),
    )
  }
  return ops.length > 0 ? ops : null
}
