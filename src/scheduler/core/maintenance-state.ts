/**
 * The disk-space maintenance part of the scheduler state (`s.maintenance`): routine defragmentation (defrag.ts) and
 * recovery from etcd's NOSPACE alarm (nospace.ts), driven by maintenance.ts. Types and constructors only (state.ts
 * imports them; this module imports nothing of the core).
 *
 * Not persisted: a restarted scheduler forgets a call in flight and an episode under way, and starts again from
 * what the next probe shows (every step is idempotent: compacting an already compacted revision is treated as
 * done, defragmenting twice and disarming a disarmed alarm are harmless). The counters are in `s.stats`
 * (persisted); the last NOSPACE episode (`lastNospace`) is not.
 * Invariant: at most one maintenance call (COMPACT, DEFRAG, ALARM_DISARM) in flight (`call`).
 */

/** An alarm as a member's alarm list answered it (MemberProbe.alarms, H7's probe). */
export interface ProbeAlarm {
  memberId: string
  alarm: 'NOSPACE' | 'CORRUPT' | (string & {})
}

export type MaintenanceCallKind = 'COMPACT' | 'DEFRAG' | 'ALARM_DISARM'

/** The one maintenance call in flight. `deadline`: unanswered after it, it counts as failed. */
export interface MaintenanceCall {
  kind: MaintenanceCallKind
  clientUrl: string
  memberId: string
  sentAt: number
  deadline: number
  /** Part of the NOSPACE episode (else a routine defragmentation). */
  nospace: boolean
  /** DEFRAG: the member's db size when it was chosen (bytes; null: unknown). */
  dbSize?: number | null
}

export type NospaceStep = 'compact' | 'defrag' | 'disarm' | 'verify'

/** A NOSPACE recovery under way (nospace.ts). */
export interface NospaceEpisode {
  startedAt: number
  step: NospaceStep
  /** The revision compacted (the highest the probes reported when the episode started the compaction). */
  revision: number | null
  /** Members still to defragment, in order (followers first, the leader last). */
  defragQueue: {clientUrl: string; memberId: string}[]
  /** Member ids whose NOSPACE alarm is still to disarm. */
  disarmQueue: string[]
  /** What was done, in order, for /stats and the log (at most 40). */
  steps: string[]
  defragged: number
  failures: number
  /** Largest db size reported when the episode started (bytes). */
  dbSizeBefore: number | null
  /** verify: the health check answering after this seq decides. */
  verifyAfterSeq: number | null
}

export type NospaceOutcome = 'recovered' | 'still-full' | 'abandoned'

export interface NospaceRecord {
  startedAt: number
  endedAt: number
  outcome: NospaceOutcome
  message: string
  steps: string[]
}

export interface MaintenanceState {
  call: MaintenanceCall | null
  /** Member id → when its last defragmentation ended (success or failure). */
  lastDefragAt: Record<string, number>
  /** health.seq when the last routine defragmentation ended: the next one waits for a verdict of a check sent after it. */
  settleSeq: number
  nospace: NospaceEpisode | null
  lastNospace: NospaceRecord | null
  /** No NOSPACE episode starts before this (the backoff after the last one). */
  nospaceNotBefore: number | null
  /** Episodes in a row, each starting within 2 × nospaceBackoffMaxMs of the previous one's end (the backoff doubles). */
  nospaceStreak: number
  /** The last "waiting" reason logged (logged once per reason). */
  waiting: string | null
}

export function emptyMaintenance(): MaintenanceState {
  return {
    call: null,
    lastDefragAt: {},
    settleSeq: 0,
    nospace: null,
    lastNospace: null,
    nospaceNotBefore: null,
    nospaceStreak: 0,
    waiting: null,
  }
}

/** The alarms a probe carries (none when the probe does not report them). */
export function alarmsOf(p: {alarms?: ProbeAlarm[]}): ProbeAlarm[] {
  return Array.isArray(p.alarms) ? p.alarms : []
}
