/**
 * What the leading `serve` does with the news of its ZooKeeper leader election (issue 11 item 10).
 *
 * While the Mesos master is up, ZooKeeper is not what fences a second scheduler: Mesos is (a scheduler
 * subscribing with our framework id fails us over; the driver steps down on that ERROR), and the persisted
 * node is written with compare-and-set versions. So ZooKeeper away, even for longer than the session
 * timeout, does not stop this scheduler or its repairs. Transitions:
 *   leading --'standby' (null): our session expired or our node vanished--> leading, persistence PAUSED
 *       (keeps running and repairing; the election re-joins with a new session; a scheduler that took over
 *       meanwhile must not find its fresh state overwritten by us);
 *   paused  --'leader': re-joined and first in line again--> leading, persistence resumed (newest state saved);
 *   any     --'standby' (another candidate): our old session is confirmed expired AND another scheduler
 *       holds the leadership--> the core's LeadershipLost event: it steps down (STOPPED, FATAL exit 1, naming
 *       the new leader; nothing persisted after that).
 */
import type {Candidate, LeaderElection} from '../lib/zk/election.js'
import type {SchedulerDriver} from './driver.js'
import type {Logger} from './logger.js'

/** Follows `election` for a running `driver`; returns a function that stops following. */
export function followLeadership(election: LeaderElection, driver: SchedulerDriver, log: Logger): () => void {
  const onStandby = (leader: Candidate | null): void => {
    if (leader === null || leader.id === election.id) {
      log.warn(
        'ZooKeeper session expired (or our election node vanished): still running and repairing while the Mesos master is up; ' +
          'the state is persisted again once this scheduler leads again in ZooKeeper',
        {candidate: election.id},
      )
      driver.pausePersistence('our ZooKeeper session expired; re-joining the leader election')
      return
    }
    const url = typeof leader.data.adminUrl === 'string' ? leader.data.adminUrl : leader.id
    driver.dispatch({type: 'LeadershipLost', leader: url})
  }
  const onLeader = (): void => {
    log.info('leading again in ZooKeeper with a new session', {candidate: election.id})
    driver.resumePersistence()
  }
  election.on('standby', onStandby).on('leader', onLeader)
  return () => {
    election.off('standby', onStandby).off('leader', onLeader)
  }
}
