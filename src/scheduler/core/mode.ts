/**
 * The scheduler's mode: stored in the state (`s.phase`, `s.episode`) and changed ONLY by `become`
 * below, which refuses a move its table does not list (it throws; `step` then drops the event with a
 * LOG error and keeps the state it had), the way etcd-io/raft's becomeFollower/becomeLeader set the
 * node's state in one place.
 *
 * Two orthogonal parts, because a cluster's episode (e.g. a re-seed, persisted) outlives a lost subscription:
 *
 * Phase (the session with Mesos; not persisted):
 *   LOADING            waiting for PersistedStateLoaded                     → DISCONNECTED, STOPPED
 *   DISCONNECTED       not subscribed (initially, after Disconnected/ERROR) → RECONCILING, FRAMEWORK_REMOVED, STOPPED
 *   RECONCILING        subscribed; until every persisted live task got an update in this run
 *                                                                          → READY, DISCONNECTED, FRAMEWORK_REMOVED, STOPPED
 *   READY              subscribed and reconciled: the episode decides       → RECONCILING (re-subscribed),
 *                                                                            DISCONNECTED, FRAMEWORK_REMOVED, STOPPED
 *   FRAMEWORK_REMOVED  the master said "Framework has been removed" (FATAL emitted; terminal: events ignored)
 *   STOPPED            another scheduler took over: it wrote the persisted state (StateConflict) or leads in
 *                      ZooKeeper after our session expired (LeadershipLost); FATAL emitted;
 *                      terminal: events ignored, nothing persisted)
 *
 * Episode (the cluster; RESEEDING is persisted through `s.reseed`, the rest is re-derived after a restart):
 *   MUTABLE              no episode: launches, kills, adds and removes members as needed
 *   QUORUM_LOST          no evidence of a quorum in the latest verdicts (the livelock timer of quorum.ts is
 *                        counting since `health.lostQuorumSince`; `health.livelocked` once it ran reseedTimeoutMs);
 *                        still mutating (restarts in place, the automatic re-seed once livelocked)
 *   RESTARTING_IN_PLACE  dead members restarted on their kept data (`s.inPlace`, inplace.ts); still mutating
 *   RESEEDING            a re-seed is in progress (`s.reseed`, reseed.ts): only its own kills and messages
 *   TOTAL_LOSS           bootstrapped, no live task, no unconfirmed lost task: launches nothing
 *   RESTORING            a restore resolves its backup plan or kills the old members (`s.restore` in phase resolving
 *                        or killing, restore.ts): only its own kills; then it leaves for MUTABLE and the normal
 *                        bootstrap launches the new cluster from the backup (`s.restore` phase bootstrapping)
 *   Moves: MUTABLE ⇄ QUORUM_LOST; MUTABLE/QUORUM_LOST ⇄ RESTARTING_IN_PLACE; MUTABLE/QUORUM_LOST/
 *   RESTARTING_IN_PLACE ⇄ TOTAL_LOSS; MUTABLE/QUORUM_LOST/RESTARTING_IN_PLACE → RESEEDING → MUTABLE/QUORUM_LOST;
 *   MUTABLE/QUORUM_LOST/RESTARTING_IN_PLACE/TOTAL_LOSS → RESTORING → MUTABLE/QUORUM_LOST/TOTAL_LOSS.
 *   ROLLING_OUT          a rollout relaunches members one at a time (`s.rollout` running, rollout.ts): only its own
 *                        kills, leader moves and in-place launches; entered from MUTABLE (a healthy cluster) only;
 *                        left for `baseEpisode` when it ends, pauses or fails (TOTAL_LOSS as anywhere)
 *   Leaving RESEEDING/TOTAL_LOSS/RESTARTING_IN_PLACE returns to `baseEpisode` (what the recorded facts say).
 *
 * Who moves what: the phase in reconcile.ts (load, Subscribed, reconciliation done, Disconnected, ERROR,
 *   StateConflict, LeadershipLost); the episode in plan.ts (MUTABLE ⇄ QUORUM_LOST from the livelock timer health.ts records;
 *   TOTAL_LOSS), reseed.ts (RESEEDING: start, done, failed, cancelled; reconcile.ts resumes it on load) and
 *   inplace.ts (RESTARTING_IN_PLACE: start, quorum back, given up) and restore.ts (RESTORING: start, plan failed,
 *   old members dead; reconcile.ts resumes it on load).
 *
 * The mode shown (`modeOf`, /stats and /failover-status `mode`) is the phase while it is not READY, else the
 * episode. Invariants: episode RESEEDING ⇔ `s.reseed` !== null; RESTORING ⇔ `s.restore` in phase resolving/killing; TOTAL_LOSS only while no re-seed runs;
 * RESTARTING_IN_PLACE ⇒ `s.inPlace` active and not given up; only `mayMutate` (READY and MUTABLE,
 * QUORUM_LOST or RESTARTING_IN_PLACE) launches, kills, adds or removes members (RESEEDING: its own steps);
 * never two members on one agent (or host with singleInstancePerHost); never more than clusterSize members
 * unless shrinking; one etcd membership change in flight at a time.
 */
/** The part of the state this module reads and writes (structural: state.ts imports this module's types). */
export interface ModeFacts {
  phase: Phase
  episode: Episode
  inPlace: {gaveUp: boolean} | null
  health: {lostQuorumSince: number | null}
}

export type Phase = 'LOADING' | 'DISCONNECTED' | 'RECONCILING' | 'READY' | 'FRAMEWORK_REMOVED' | 'STOPPED'
export type Episode = 'MUTABLE' | 'QUORUM_LOST' | 'RESTARTING_IN_PLACE' | 'RESEEDING' | 'TOTAL_LOSS' | 'RESTORING' | 'ROLLING_OUT'
export type Mode = Exclude<Phase, 'READY'> | Episode

export const PHASE_MOVES: Readonly<Record<Phase, readonly Phase[]>> = {
  LOADING: ['DISCONNECTED', 'STOPPED'],
  DISCONNECTED: ['RECONCILING', 'FRAMEWORK_REMOVED', 'STOPPED'],
  RECONCILING: ['READY', 'DISCONNECTED', 'FRAMEWORK_REMOVED', 'STOPPED'],
  READY: ['RECONCILING', 'DISCONNECTED', 'FRAMEWORK_REMOVED', 'STOPPED'],
  FRAMEWORK_REMOVED: [],
  STOPPED: [],
}

export const EPISODE_MOVES: Readonly<Record<Episode, readonly Episode[]>> = {
  MUTABLE: ['QUORUM_LOST', 'RESTARTING_IN_PLACE', 'RESEEDING', 'TOTAL_LOSS', 'RESTORING', 'ROLLING_OUT'],
  QUORUM_LOST: ['MUTABLE', 'RESTARTING_IN_PLACE', 'RESEEDING', 'TOTAL_LOSS', 'RESTORING'],
  RESTARTING_IN_PLACE: ['MUTABLE', 'QUORUM_LOST', 'RESEEDING', 'TOTAL_LOSS', 'RESTORING'],
  RESEEDING: ['MUTABLE', 'QUORUM_LOST'],
  TOTAL_LOSS: ['MUTABLE', 'QUORUM_LOST', 'RESTARTING_IN_PLACE', 'RESTORING'],
  RESTORING: ['MUTABLE', 'QUORUM_LOST', 'RESTARTING_IN_PLACE', 'TOTAL_LOSS'],
  ROLLING_OUT: ['MUTABLE', 'QUORUM_LOST', 'TOTAL_LOSS'],
}

const PHASES = new Set<string>(Object.keys(PHASE_MOVES))

/** The one function that changes the mode. Staying where one is is a no-op (a repeated Disconnected, a
 *  Subscribed while reconciling); a move the tables above do not list throws an Error naming from → to. */
export function become(s: ModeFacts, to: Phase | Episode): void {
  if (PHASES.has(to)) {
    const from = s.phase
    if (from === to) return
    if (!PHASE_MOVES[from].includes(to as Phase)) throw new Error(`invalid mode transition: phase ${from} → ${to}`)
    s.phase = to as Phase
    return
  }
  const from = s.episode
  if (from === to) return
  if (!EPISODE_MOVES[from].includes(to as Episode)) throw new Error(`invalid mode transition: episode ${from} → ${to}`)
  s.episode = to as Episode
}

/** The episode the recorded facts describe once RESEEDING, TOTAL_LOSS, RESTORING or RESTARTING_IN_PLACE is left. */
export function baseEpisode(s: ModeFacts): 'MUTABLE' | 'QUORUM_LOST' | 'RESTARTING_IN_PLACE' {
  if (s.inPlace !== null && !s.inPlace.gaveUp) return 'RESTARTING_IN_PLACE'
  return s.health.lostQuorumSince !== null ? 'QUORUM_LOST' : 'MUTABLE'
}

/** The mode shown to operators: the phase while not READY, else the episode. */
export function modeOf(s: ModeFacts): Mode {
  return s.phase === 'READY' ? s.episode : s.phase
}

/** The persisted state is loaded and the scheduler has not stopped (it handles events). */
export function running(s: ModeFacts): boolean {
  return s.phase !== 'LOADING' && s.phase !== 'FRAMEWORK_REMOVED' && s.phase !== 'STOPPED'
}
export function subscribed(s: ModeFacts): boolean {
  return s.phase === 'RECONCILING' || s.phase === 'READY'
}
export function ready(s: ModeFacts): boolean {
  return s.phase === 'READY'
}
/** Members may be launched, killed, added or removed (see the header). */
export function mayMutate(s: ModeFacts): boolean {
  return s.phase === 'READY' && (s.episode === 'MUTABLE' || s.episode === 'QUORUM_LOST' || s.episode === 'RESTARTING_IN_PLACE')
}
