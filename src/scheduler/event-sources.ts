/**
 * The event log's facts from outside the core (issue 18), attached by serve.ts to the leader's EventRecorder:
 * ZooKeeper session changes (zookeeper), leader-election news while leading (leadership), and the end of each full
 * backup (backup). The core's own transitions are derived in core/step-events.ts.
 */
import type {EventEmitter} from 'node:events'
import type {EventRecorder} from './event-recorder.js'

/** The election's candidate as leadership.ts reads it. */
interface CandidateLike {
  id: string
  data: Record<string, unknown>
}

/** Records ZooKeeper's session states; returns a function that stops. */
export function recordZkStates(zk: EventEmitter, events: EventRecorder): () => void {
  const onState = (s: string): void => {
    if (s === 'connected') events.record('zookeeper', 'ZooKeeper connected')
    else if (s === 'disconnected')
      events.record('zookeeper', 'ZooKeeper connection lost; reconnecting (the scheduler keeps running and repairing meanwhile)')
    else if (s === 'expired') events.record('zookeeper', 'ZooKeeper session expired; a new session is opened and the election re-joined')
  }
  zk.on('state', onState)
  return () => void zk.off('state', onState)
}

/** Records the election's news while this scheduler leads; returns a function that stops. */
export function recordElection(election: EventEmitter & {readonly id: string}, events: EventRecorder): () => void {
  const onStandby = (leader: CandidateLike | null): void => {
    if (leader === null || leader.id === election.id)
      events.record('leadership', 'our ZooKeeper election node is gone (session expired): state persistence paused until we lead again')
    else {
      const url = typeof leader.data.adminUrl === 'string' ? leader.data.adminUrl : leader.id
      events.record('leadership', `another scheduler leads this cluster now (${url})`)
    }
  }
  const onLeader = (): void => events.record('leadership', 'leading again in ZooKeeper with a new session; state persistence resumed')
  election.on('standby', onStandby).on('leader', onLeader)
  return () => {
    election.off('standby', onStandby).off('leader', onLeader)
  }
}

/** The end of one full backup (backup-service.ts BackupOp), as an event. */
export function recordBackupEnded(
  events: EventRecorder,
  b: {op: string; status: string; message: string | null; manifest: {id: string; revision: number; size?: number} | null},
): void {
  if (b.status === 'succeeded' && b.manifest)
    events.record('backup', `backup ${b.manifest.id} taken at revision ${b.manifest.revision} (operation ${b.op})`)
  else if (b.status === 'failed') events.record('backup', `backup failed (operation ${b.op}): ${b.message ?? 'no reason given'}`)
}

/**
 * The leader's event log: the persisted history continued (bounded wait: ZooKeeper answered the state's load a moment
 * ago), the first line saying who leads, and the outside facts followed. `stop` ends the streams and saves.
 */
export async function startEventLog(o: {
  log: import('./logger.js').Logger
  store: import('./state-store.js').StateStore | null
  zk: EventEmitter | null
  election: (EventEmitter & {readonly id: string}) | null
  who: string
}): Promise<{events: EventRecorder; stop: () => Promise<void>}> {
  const {EventRecorder} = await import('./event-recorder.js')
  const events = new EventRecorder({log: o.log, store: o.store})
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 15_000)
    timer.unref?.()
  })
  await Promise.race([events.load(), limit])
  clearTimeout(timer)
  events.record('leadership', `${o.who} leads this cluster`)
  const stops = [o.zk ? recordZkStates(o.zk, events) : null, o.election ? recordElection(o.election, events) : null]
  return {
    events,
    stop: async () => {
      for (const s of stops) s?.()
      await events.stop()
    },
  }
}
