/**
 * Events the driver feeds into `step`. Ids in our own fields are plain strings; Mesos structures
 * (Offer, TaskStatus, MasterInfo) are in Mesos' JSON form as received.
 */
import type {MemberTlsContent} from '../../lib/member-config.js'
import type {MasterInfo, Offer, TaskStatus} from '../../lib/mesos/types.js'
import type {MemberProbe} from '../../lib/etcd/probe.js'
import type {EtcdErrorCode} from '../../lib/etcd/errors.js'
import type {EtcdMember, RestorePlanRec} from './state.js'
import type {PersistedDoc} from './persist.js'

export type TimerName = 'reconcile' | 'health' | 'wake'

export type SchedulerEvent =
  /** The persisted document was read (null: none yet — first start). Must come first. */
  | {type: 'PersistedStateLoaded'; doc: PersistedDoc | null}
  /** `master`: "host:port" of the master the subscription is with (recorded in `s.connection`). */
  | {type: 'Subscribed'; frameworkId: string; masterInfo?: MasterInfo; heartbeatIntervalSeconds?: number; master?: string}
  /** Subscription lost (stream closed, heartbeats missed, master failover…). */
  | {type: 'Disconnected'; reason?: string}
  | {type: 'Offers'; offers: Offer[]}
  | {type: 'Rescind'; offerId: string}
  | {type: 'Update'; status: TaskStatus}
  /** Mesos FAILURE: agent removed (no executorId) or executor terminated. */
  | {type: 'Failure'; agentId?: string; executorId?: string; status?: number}
  /** Mesos MESSAGE from an executor (data = base64, see decodeFrameworkMessage). */
  | {type: 'FrameworkMessage'; agentId: string; executorId: string; data: string}
  /** Mesos ERROR event (the subscription is over). */
  | {type: 'FrameworkError'; message: string}
  /** A SET_TIMER fired. */
  | {type: 'TimerFired'; name: TimerName}
  /** Optional periodic nudge (re-evaluates deadlines); harmless at any rate. */
  | {type: 'Tick'}
  | {type: 'MemberListObserved'; members: EtcdMember[]}
  | {type: 'MemberListFailed'; message: string}
  /** MEMBER_ADD succeeded: the new member (and, if known, the full list returned by etcd). */
  | {type: 'MemberAdded'; peerUrl: string; member: EtcdMember; members?: EtcdMember[]}
  | {type: 'MemberAddFailed'; peerUrl: string; code: EtcdErrorCode; retryable: boolean; message: string}
  | {type: 'MemberRemoved'; memberId: string}
  | {type: 'MemberRemoveFailed'; memberId: string; code: EtcdErrorCode; retryable: boolean; message: string}
  | {type: 'MemberPromoted'; memberId: string}
  | {type: 'MemberPromoteFailed'; memberId: string; code: EtcdErrorCode; retryable: boolean; message: string}
  /** Result of HEALTH_CHECK: one probe per requested client URL; `seq` is the request's (absent: the latest). */
  | {type: 'HealthObserved'; probes: MemberProbe[]; seq?: number}
  /** Operator asked for a re-seed (admin API). `op` is the operation id to report progress under. */
  | {type: 'ReseedRequested'; op: string; force: boolean}
  /** Operator asked for a restore (admin API): `from` 'latest' or a backup id; refused while healthy unless force. */
  | {type: 'RestoreRequested'; op: string; from: string; toRevision?: number; force: boolean}
  /** RESOLVE_RESTORE answered: the backups the restore uses. */
  | {type: 'RestoreResolved'; op: string; plan: RestorePlanRec; skipped?: {id: string; problem: string}[]}
  | {type: 'RestoreResolveFailed'; op: string; message: string}
  /** Operator asked for a rollout to the desired spec (admin API POST /rollout); `op` its id. `tls`: serve re-read the
   *  TLS files and they changed (already checked for trust): the desired spec takes them unless a rollout is active. */
  | {type: 'RolloutRequested'; op: string; tls?: {content: MemberTlsContent; certs: MemberTlsContent; digest: string}}
  /** Operator paused, resumed or aborted the rollout (POST /rollout/pause|resume|abort). */
  | {type: 'RolloutControl'; action: 'pause' | 'resume' | 'abort'}
  /** ROLLOUT_VERSIONS answered: each member's /version (server, cluster; or the error). */
  | {
      type: 'RolloutVersionsObserved'
      op: string
      versions: {clientUrl: string; server?: string; cluster?: string | null; error?: string}[]
      /** ROLLOUT_VERSIONS carried TLS files and rolling to them would break trust: why (tls-trust.ts). */
      tlsProblem?: string
    }
  /** ROLLOUT_BACKUP answered: the full backup taken before a rollout (or why none could be). */
  | {type: 'RolloutBackupDone'; op: string; ok: boolean; message: string}
  /** MOVE_LEADER answered (ok: etcd accepted the transfer; the probes show the new leader). */
  | {type: 'LeaderMoved'; op: string; ok: boolean; message: string}
  /** Answers of the disk-space maintenance actions (COMPACT, DEFRAG, ALARM_DISARM; maintenance.ts). */
  | {type: 'Compacted'; clientUrl: string; revision: number}
  | {type: 'CompactFailed'; clientUrl: string; revision: number; message: string}
  | {type: 'Defragmented'; clientUrl: string; memberId: string}
  | {type: 'DefragFailed'; clientUrl: string; memberId: string; message: string}
  | {type: 'AlarmDisarmed'; memberId: string; alarm: string}
  | {type: 'AlarmDisarmFailed'; memberId: string; alarm: string; message: string}
  /** Writing the PERSIST document failed (ZK down, version conflict…). */
  | {type: 'PersistFailed'; message: string}
  /** The persisted state was written by another scheduler: the core stops (FATAL EXIT_FATAL, mode STOPPED). */
  | {type: 'StateConflict'; message: string}
  /** Another scheduler leads this cluster in ZooKeeper after our session expired (`leader`: its admin URL or id):
   *  the core stops like on a StateConflict. */
  | {type: 'LeadershipLost'; leader: string}

export type SchedulerEventType = SchedulerEvent['type']
