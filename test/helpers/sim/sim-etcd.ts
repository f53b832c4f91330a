/**
 * The etcd side of the simulated world (sim.ts): an in-memory etcd 3.4 membership that answers the scheduler
 * core's etcd actions (HEALTH_CHECK, MEMBER_LIST, MEMBER_ADD, MEMBER_REMOVE, MEMBER_PROMOTE) with the events
 * the real driver (src/scheduler/etcd-actions.ts over src/lib/etcd/admin.ts) would produce. A test double:
 * it lives under test/, never in src/ (it does not ship in dist/).
 *
 * Quorum: more than half of the voters (non-learners) are started and alive; the leader is then the smallest
 * such member id. A one-member cluster always reads.
 *
 * Routing (`via`), as EtcdAdmin does it: the endpoints are tried in order; MEMBER_LIST moves on after any
 * failure, a mutation only after UNREACHABLE or LEARNER_REFUSED (certainly not applied). At each endpoint,
 * as etcd answers (reference/peers-and-anchors.md §5), with etcd's own texts, classified by the product's
 * classifier (src/lib/etcd/errors.ts), and turned into events by the driver's own mapping:
 *   - a blackholed URL (`hidden`) times out; no live member there: connection refused;
 *   - a member removed less than 1 s ago (its process has not stopped yet): "permanently removed";
 *   - a learner: "rpc not supported for learner" (it serves only Status and serializable reads);
 *   - MEMBER_ADD (--strict-reconfig-check): a voting add needs started voters ≥ quorum of the enlarged
 *     cluster ("not enough started members"); any add needs the receiving member connected to every other
 *     voter for the last 5 s (HealthInterval; "unhealthy cluster": a dead or unstarted voter, or peers that
 *     (re)connected < 5 s ago); then known peer URL, one learner at most;
 *   - MEMBER_REMOVE: a learner goes without checks; a voter needs the started voters left ≥ their quorum,
 *     and, unless it is down, the active peers minus it ≥ the quorum;
 *   - MEMBER_PROMOTE: in sync with the leader (started, alive, a quorum); started voters + 1 ≥ quorum.
 * An empty `via` is a contract breach by the core (the driver could not send it): it throws.
 * `World` extends this class and adds the Mesos side (agents, offers, tasks, executors, timers).
 * Pure: no I/O; time is `now`, advanced by World.
 */
import type {MemberProbe} from '../../../src/lib/etcd/probe.js'
import {EtcdError, toEtcdError, type EtcdErrorCode} from '../../../src/lib/etcd/errors.js'
import type {SchedulerAction} from '../../../src/scheduler/core/actions.js'
import type {SchedulerEvent} from '../../../src/scheduler/core/events.js'
import type {EtcdMember} from '../../../src/scheduler/core/state.js'
import {failureEvent, type MemberAction} from '../../../src/scheduler/etcd-actions.js'

export interface SimMember {
  id: string
  name: string
  peerUrl: string
  clientUrl: string
  isLearner: boolean
  started: boolean
  alive: boolean
  raftIndex: number
  /** Backend sizes (bytes) the probes report (1 when unset); defragmentation shrinks dbSize to dbSizeInUse. */
  dbSize?: number
  dbSizeInUse?: number
}

/** etcd's HealthInterval: a member must have been connected to every voter this long to accept an add. */
export const HEALTH_INTERVAL_MS = 5_000
/** A removed member's process stops this long after applying its removal (stopWithDelay 10×100 ms). */
export const REMOVED_STOP_MS = 1_000

export const ETCD_TEXT = {
  unreachable: (url: string) => `14 UNAVAILABLE: No connection established (connect ECONNREFUSED ${url.replace(/^https?:\/\//, '')})`,
  timeout: '4 DEADLINE_EXCEEDED: Deadline exceeded',
  learner: 'etcdserver: rpc not supported for learner',
  removed: 'etcdserver: the member has been permanently removed from the cluster',
  unhealthy: 'etcdserver: unhealthy cluster',
  notEnoughStarted: 'etcdserver: re-configuration failed due to not enough started members',
  notFound: 'etcdserver: member not found',
  notInSync: 'etcdserver: can only promote a learner member which is in sync with leader',
  tooManyLearners: 'etcdserver: too many learner members in cluster',
  peerExists: 'etcdserver: Peer URLs already exists',
  noLeader: 'etcdserver: no leader',
} as const

const quorum = (n: number): number => Math.floor(n / 2) + 1

export class SimEtcd {
  now = 0
  members: SimMember[] = []
  /** Members removed from the cluster, with when (their processes stop REMOVED_STOP_MS later). */
  readonly removed: {member: SimMember; at: number}[] = []
  /** Learners lag behind the leader (their promotion is refused as not in sync) while true. */
  learnersLag = false
  /** MEMBER_ADDs still to refuse with UNHEALTHY_CLUSTER (then they succeed). */
  addRefusals = 0
  /** Client URLs the scheduler cannot reach (its own partition) although the members are fine. */
  readonly hidden = new Set<string>()
  /** Since when each member (by id) has been up (started and alive): peers connect when both are up. */
  private readonly upSince = new Map<string, number>()
  /** Every refusal a member operation met on its way (endpoint by endpoint), for routing assertions. */
  readonly refusals: {type: MemberAction['type']; url: string; code: EtcdErrorCode; message: string; at: number}[] = []
  private nextMemberId = 100
  /** The cluster's alarm list (every member answers it whole). */
  alarms: {memberId: string; alarm: 'NOSPACE' | 'CORRUPT'}[] = []
  /** Bytes in use after a compaction (each member's dbSizeInUse drops to it); null: compaction frees nothing. */
  compactTo: number | null = null
  /** The data fills the quota: a disarmed NOSPACE alarm is raised again at once. */
  quotaFull = false
  /** Record maintenance actions (COMPACT, DEFRAG, ALARM_DISARM) without answering; `answerHeld` answers them. */
  holdMaintenance = false
  readonly heldMaintenance: SchedulerAction[] = []

  /** Records members that came up or went down since the last look (tests flip `alive` directly). */
  observeUp(): void {
    const up = new Set(this.members.filter((m) => m.started && m.alive).map((m) => m.id))
    for (const id of up) if (!this.upSince.has(id)) this.upSince.set(id, this.now)
    for (const id of [...this.upSince.keys()]) if (!up.has(id)) this.upSince.delete(id)
  }

  hasQuorum(): boolean {
    const voters = this.members.filter((m) => !m.isLearner)
    return voters.filter((m) => m.started && m.alive).length >= quorum(voters.length)
  }

  /** A member id made leader by a leadership transfer (kept while it is up): else the smallest id is the leader. */
  preferredLeader: string | null = null

  protected leaderId(): string {
    if (!this.hasQuorum()) return '0'
    const p = this.members.find((m) => m.id === this.preferredLeader && !m.isLearner && m.started && m.alive)
    if (p) return p.id
    return (
      this.members
        .filter((m) => !m.isLearner && m.started && m.alive)
        .map((m) => m.id)
        .sort()[0] ?? '0'
    )
  }

  toEtcd(m: SimMember): EtcdMember {
    return {
      id: m.id,
      name: m.started ? m.name : '',
      peerUrls: [m.peerUrl],
      clientUrls: m.started ? [m.clientUrl] : [],
      isLearner: m.isLearner,
    }
  }

  probe(url: string): MemberProbe {
    if (this.hidden.has(url)) return {clientUrl: url, reachable: false, readOk: false, error: 'status: timed out', tookMs: 5000}
    const m = this.members.find((x) => x.clientUrl === url && x.started && x.alive)
    if (!m) return {clientUrl: url, reachable: false, readOk: false, error: 'connection refused', tookMs: 1}
    const leader = this.leaderId()
    const alone = this.members.length === 1
    return {
      alarms: this.alarms.map((x) => ({...x})), // the cluster's alarm list as this member answers it ([] when none)
      clientUrl: url,
      reachable: true,
      readOk: leader !== '0' || alone,
      tookMs: 1,
      status: {
        endpoint: url,
        memberId: m.id,
        leader: alone ? m.id : leader,
        raftIndex: m.raftIndex,
        raftTerm: 2,
        raftAppliedIndex: m.raftIndex,
        revision: m.raftIndex,
        dbSize: m.dbSize ?? 1,
        dbSizeInUse: m.dbSizeInUse ?? m.dbSize ?? 1,
        isLearner: m.isLearner,
        errors: leader === '0' && !alone ? [ETCD_TEXT.noLeader] : [],
        version: '3.4.23',
      },
    }
  }

  /** Adds a member that is not started yet (as `member add` or a new cluster's initial list does). */
  protected addMember(peerUrl: string, name: string, isLearner: boolean): SimMember {
    const m: SimMember = {
      id: String(this.nextMemberId++),
      name,
      peerUrl,
      clientUrl: '',
      isLearner,
      started: false,
      alive: true,
      raftIndex: 0,
    }
    this.members.push(m)
    return m
  }

  /** Whether `m` has been connected to every other voter for the last HEALTH_INTERVAL_MS (isConnectedFullySince). */
  private connectedFully(m: SimMember): boolean {
    return this.members.filter((v) => !v.isLearner && v.id !== m.id).every((v) => this.connectedSince(m, v))
  }

  /** The member a call sent to `url` is served by, or the raw error text the client gets there. */
  private landing(url: string): SimMember | string {
    if (this.hidden.has(url)) return ETCD_TEXT.timeout
    const m = this.members.find((x) => x.clientUrl === url && x.started && x.alive)
    if (!m) {
      const gone = this.removed.find((r) => r.member.clientUrl === url && r.member.alive && this.now - r.at < REMOVED_STOP_MS)
      return gone ? ETCD_TEXT.removed : ETCD_TEXT.unreachable(url)
    }
    return m.isLearner ? ETCD_TEXT.learner : m
  }

  /** EtcdAdmin.failover: the first endpoint that serves the call; the aggregated error when none does. */
  private route(a: MemberAction, what: string, serve: (at: SimMember) => string | SchedulerEvent): SchedulerEvent {
    if (a.via.length === 0)
      throw new Error(`sim: the core sent ${a.type} with an empty via (the driver cannot send it anywhere): ${JSON.stringify(a)}`)
    const errors: EtcdError[] = []
    for (const url of a.via) {
      const at = this.landing(url)
      const r = typeof at === 'string' ? at : serve(at)
      if (typeof r !== 'string') return r
      const e = toEtcdError(new Error(r), url, what)
      errors.push(e)
      this.refusals.push({type: a.type, url, code: e.code, message: e.message, at: this.now})
      if (a.type !== 'MEMBER_LIST' && e.code !== 'UNREACHABLE' && e.code !== 'LEARNER_REFUSED') break
    }
    if (errors.length === 1) return failureEvent(a, errors[0])
    const code = errors.every((e) => e.code === errors[0]!.code)
      ? errors[0]!.code
      : errors.some((e) => e.code === 'TIMEOUT')
        ? 'TIMEOUT'
        : 'UNREACHABLE'
    return failureEvent(a, new EtcdError(code, `${what} failed on every endpoint: ${errors.map((e) => e.message).join('; ')}`))
  }

  /** The cluster's answer to one of the core's etcd actions; undefined for any other action. */
  protected answerEtcd(a: SchedulerAction): SchedulerEvent | undefined {
    this.observeUp()
    switch (a.type) {
      case 'HEALTH_CHECK':
        return {type: 'HealthObserved', probes: a.clientUrls.map((u) => this.probe(u)), seq: a.seq}
      case 'MEMBER_LIST':
        return this.route(a, 'member list', () => ({type: 'MemberListObserved', members: this.members.map((m) => this.toEtcd(m))}))
      case 'MEMBER_ADD':
        return this.route(a, 'member add', (at) => this.add(a, at))
      case 'MEMBER_REMOVE':
        return this.route(a, 'member remove', (at) => this.remove(a.memberId, at))
      case 'MEMBER_PROMOTE':
        return this.route(a, 'member promote', () => this.promote(a.memberId))
      case 'COMPACT':
      case 'DEFRAG':
      case 'ALARM_DISARM':
        if (this.holdMaintenance) {
          this.heldMaintenance.push(a)
          return undefined
        }
        return this.maintain(a)
      default:
        return undefined
    }
  }

  /** Answers the maintenance actions held so far (holdMaintenance), in order. */
  answerHeld(): SchedulerEvent[] {
    return this.heldMaintenance
      .splice(0)
      .map((a) => this.maintain(a as Extract<SchedulerAction, {type: 'COMPACT' | 'DEFRAG' | 'ALARM_DISARM'}>))
  }

  private maintain(a: Extract<SchedulerAction, {type: 'COMPACT' | 'DEFRAG' | 'ALARM_DISARM'}>): SchedulerEvent {
    const at = this.members.find((m) => m.clientUrl === a.clientUrl && m.started && m.alive)
    const down = at ? null : ETCD_TEXT.unreachable(a.clientUrl)
    if (a.type === 'COMPACT') {
      if (down || !this.hasQuorum())
        return {type: 'CompactFailed', clientUrl: a.clientUrl, revision: a.revision, message: down ?? ETCD_TEXT.noLeader}
      if (this.compactTo !== null) for (const m of this.members) m.dbSizeInUse = Math.min(m.dbSizeInUse ?? m.dbSize ?? 1, this.compactTo)
      return {type: 'Compacted', clientUrl: a.clientUrl, revision: a.revision}
    }
    if (a.type === 'DEFRAG') {
      if (down) return {type: 'DefragFailed', clientUrl: a.clientUrl, memberId: a.memberId, message: down}
      at!.dbSize = at!.dbSizeInUse ?? at!.dbSize
      return {type: 'Defragmented', clientUrl: a.clientUrl, memberId: a.memberId}
    }
    if (down || !this.hasQuorum())
      return {type: 'AlarmDisarmFailed', memberId: a.memberId, alarm: a.alarm, message: down ?? ETCD_TEXT.noLeader}
    if (!this.quotaFull) this.alarms = this.alarms.filter((x) => !(x.memberId === a.memberId && x.alarm === a.alarm))
    return {type: 'AlarmDisarmed', memberId: a.memberId, alarm: a.alarm}
  }

  private add(a: Extract<SchedulerAction, {type: 'MEMBER_ADD'}>, at: SimMember): string | SchedulerEvent {
    const url = a.peerUrls[0]!
    const voters = this.members.filter((m) => !m.isLearner)
    if (!a.learner && voters.filter((m) => m.started).length < quorum(voters.length + 1)) return ETCD_TEXT.notEnoughStarted
    if (!this.connectedFully(at)) return ETCD_TEXT.unhealthy
    if (!this.hasQuorum()) return ETCD_TEXT.noLeader
    if (this.members.some((m) => m.peerUrl === url)) return ETCD_TEXT.peerExists
    if (a.learner && this.members.some((m) => m.isLearner)) return ETCD_TEXT.tooManyLearners
    if (this.addRefusals > 0) {
      this.addRefusals--
      return ETCD_TEXT.unhealthy
    }
    const m = this.addMember(url, '', a.learner)
    return {type: 'MemberAdded', peerUrl: url, member: this.toEtcd(m), members: this.members.map((x) => this.toEtcd(x))}
  }

  private remove(id: string, at: SimMember): string | SchedulerEvent {
    const target = this.members.find((m) => m.id === id)
    if (!target) return ETCD_TEXT.notFound
    if (!target.isLearner) {
      const voters = this.members.filter((m) => !m.isLearner)
      const startedLeft = voters.filter((m) => m.started && m.id !== id).length
      if (startedLeft < quorum(voters.length - 1)) return ETCD_TEXT.notEnoughStarted
      const down = id !== at.id && !this.upSince.has(id)
      if (!down) {
        const active = 1 + voters.filter((v) => v.id !== at.id && this.connectedSince(at, v)).length
        if (active - 1 < quorum(voters.length)) return ETCD_TEXT.unhealthy
      }
    }
    if (!this.hasQuorum()) return ETCD_TEXT.unhealthy
    this.members = this.members.filter((m) => m.id !== id)
    this.removed.push({member: target, at: this.now})
    return {type: 'MemberRemoved', memberId: id}
  }

  private promote(id: string): string | SchedulerEvent {
    const m = this.members.find((x) => x.id === id)
    if (!m) return ETCD_TEXT.notFound
    if (!m.isLearner) return {type: 'MemberPromoted', memberId: id} // EtcdAdmin.memberPromote: already a voter resolves
    if (!this.hasQuorum()) return ETCD_TEXT.noLeader
    if (!m.started || !m.alive || this.learnersLag) return ETCD_TEXT.notInSync
    const voters = this.members.filter((x) => !x.isLearner)
    if (voters.filter((x) => x.started).length + 1 < quorum(voters.length + 1)) return ETCD_TEXT.notEnoughStarted
    m.isLearner = false
    return {type: 'MemberPromoted', memberId: id}
  }

  /** numConnectedSince for one peer: both up for the last HEALTH_INTERVAL_MS. */
  private connectedSince(a: SimMember, b: SimMember): boolean {
    const x = this.upSince.get(a.id)
    const y = this.upSince.get(b.id)
    return x !== undefined && y !== undefined && this.now - Math.max(x, y) >= HEALTH_INTERVAL_MS
  }
}
