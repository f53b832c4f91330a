/**
 * Actions `step` asks the driver to perform, IN ORDER. Ids in our own fields are plain strings
 * (wrap them as {value} for Mesos); TaskInfo/OfferOperation/Filters are Mesos JSON form.
 *
 * Driver contract:
 * - PERSIST (always first in a batch when present) is handed to the background persister (persister.ts):
 *   the rest of the batch runs without waiting for ZooKeeper; ACKNOWLEDGE actions wait for the save a
 *   short bounded time, and not at all while persistence is behind (reconciliation recovers a crash).
 *   The driver no longer feeds PersistFailed; the core still accepts it.
 * - SET_TIMER replaces any earlier timer of the same name; when it fires feed TimerFired{name}.
 * - RESOLVE_RESTORE → RestoreResolved / RestoreResolveFailed.
 * - HEALTH_CHECK → HealthObserved; MEMBER_LIST → MemberListObserved/Failed; MEMBER_ADD/REMOVE/PROMOTE →
 *   their *ed / *Failed events (a MEMBER_REMOVE answered MEMBER_NOT_FOUND may be reported as MemberRemoved).
 * - FATAL: log `message`, stop, exit with `exitCode`.
 */
import type {MemberTlsContent} from '../../lib/member-config.js'
import type {Filters, OfferOperation} from '../../lib/mesos/types.js'
import type {PersistedDoc} from './persist.js'
import type {TimerName} from './events.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export type SchedulerAction =
  /** (Re-)subscribe with this framework id (none: register a new framework). Driver applies its own backoff. */
  | {type: 'SUBSCRIBE'; frameworkId: string | null}
  | {type: 'ACCEPT'; offerIds: string[]; operations: OfferOperation[]; filters: Filters}
  | {type: 'DECLINE'; offerIds: string[]; filters: Filters}
  | {type: 'REVIVE'}
  | {type: 'SUPPRESS'}
  | {type: 'KILL'; taskId: string; agentId?: string}
  | {type: 'ACKNOWLEDGE'; agentId: string; taskId: string; uuid: string}
  /** Empty `tasks` = implicit reconciliation. */
  | {type: 'RECONCILE'; tasks: {taskId: string; agentId?: string}[]}
  /** Framework message to an executor; `data` is base64 (encodeFrameworkMessage). */
  | {type: 'MESSAGE'; agentId: string; executorId: string; data: string}
  | {type: 'PERSIST'; doc: PersistedDoc}
  /** `via`: client URLs of members to send the request to (try in order). */
  | {type: 'MEMBER_ADD'; peerUrls: string[]; learner: boolean; via: string[]}
  | {type: 'MEMBER_REMOVE'; memberId: string; via: string[]}
  | {type: 'MEMBER_PROMOTE'; memberId: string; via: string[]}
  | {type: 'MEMBER_LIST'; via: string[]}
  /** `seq` is echoed in the HealthObserved answer. */
  | {type: 'HEALTH_CHECK'; clientUrls: string[]; seq: number}
  | {type: 'SET_TIMER'; name: TimerName; atMs: number}
  /** Resolve `from` ('latest' or a backup id) on the backup target into a plan (restore-runner.ts) →
   *  RestoreResolved / RestoreResolveFailed. */
  | {type: 'RESOLVE_RESTORE'; op: string; target: string; from: string; toRevision: number | null}
  /** Read every member's GET /version (rollout-runner.ts) → RolloutVersionsObserved. */
  | {
      type: 'ROLLOUT_VERSIONS'
      op: string
      clientUrls: string[]
      /** With shipped certificates: the distinct public TLS files the members run with and the target's, for the
       *  trust check of a certificate rotation (lib/etcd/tls-trust.ts rotationProblem). */
      tls?: {running: MemberTlsContent[]; target: MemberTlsContent}
    }
  /** Take a full backup before a rollout (the backup service) → RolloutBackupDone. */
  | {type: 'ROLLOUT_BACKUP'; op: string}
  /** etcd MoveLeader: POST /v3/maintenance/transfer-leadership {targetID} on the leader `via` → LeaderMoved. */
  | {type: 'MOVE_LEADER'; op: string; via: string; targetId: string}
  /** Disk-space maintenance (maintenance-runner.ts, one at a time: maintenance.ts): COMPACT → Compacted/CompactFailed
   *  (physical: wait until the compaction is applied); DEFRAG (one member) → Defragmented/DefragFailed;
   *  ALARM_DISARM (sent to `clientUrl`, disarms `memberId`'s alarm) → AlarmDisarmed/AlarmDisarmFailed. */
  | {type: 'COMPACT'; clientUrl: string; revision: number; physical: boolean}
  | {type: 'DEFRAG'; clientUrl: string; memberId: string}
  | {type: 'ALARM_DISARM'; clientUrl: string; memberId: string; alarm: 'NOSPACE'}
  | {type: 'LOG'; level: LogLevel; msg: string; fields?: Record<string, unknown>}
  | {type: 'FATAL'; message: string; exitCode: number}

/** Exit code of FATAL when the master removed the framework (restart creates a new framework). */
export const EXIT_FRAMEWORK_REMOVED = 7
/** Exit code of FATAL when another scheduler took over the framework, or the persisted doc is unusable. */
export const EXIT_FATAL = 1

export function log(level: LogLevel, msg: string, fields?: Record<string, unknown>): SchedulerAction {
  return fields ? {type: 'LOG', level, msg, fields} : {type: 'LOG', level, msg}
}
