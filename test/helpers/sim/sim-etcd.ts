/**
 * The etcd side of the simulated world (sim.ts, a test double: it lives under test/, not src/, so it never ships in dist/): an in-memory membership with quorum rules that answers
 * the scheduler core's etcd actions (HEALTH_CHECK, MEMBER_LIST, MEMBER_ADD, MEMBER_REMOVE, MEMBER_PROMOTE)
 * with the events a real cluster would produce. Quorum: more than half of the voters (non-learners) are
 * started and alive; the leader is then the smallest such member id. A one-member cluster always reads.
 * `World` extends this class and adds the Mesos side (agents, offers, tasks, executors, timers).
 * Pure: no I/O, no clock.
 */
import type {MemberProbe} from '../../../src/lib/etcd/probe.js'
import type {SchedulerAction} from '../../../src/scheduler/core/actions.js'
import type {SchedulerEvent} from '../../../src/scheduler/core/events.js'
import type {EtcdMember} from '../../../src/scheduler/core/state.js'

export interface SimMember { id: string; name: string; peerUrl: string; clientUrl: string; isLearner: boolean; started: boolean; alive: boolean; raftIndex: number }

export class SimEtcd {
  members: SimMember[] = []
  /** MEMBER_ADDs still to refuse with UNHEALTHY_CLUSTER (then they succeed). */
  addRefusals = 0
  /** Client URLs the scheduler cannot reach (its own partition) although the members are fine. */
  readonly hidden = new Set<string>()
  private nextMemberId = 100

  hasQuorum(): boolean {
    const voters = this.members.filter((m) => !m.isLearner)
    return voters.filter((m) => m.started && m.alive).length >= Math.floor(voters.length / 2) + 1
  }

  private leaderId(): string {
    if (!this.hasQuorum()) return '0'
    return this.members.filter((m) => !m.isLearner && m.started && m.alive).map((m) => m.id).sort()[0] ?? '0'
  }

  toEtcd(m: SimMember): EtcdMember {
    return {id: m.id, name: m.started ? m.name : '', peerUrls: [m.peerUrl], clientUrls: m.started ? [m.clientUrl] : [], isLearner: m.isLearner}
  }

  probe(url: string): MemberProbe {
    if (this.hidden.has(url)) return {clientUrl: url, reachable: false, readOk: false, error: 'status: timed out', tookMs: 5000}
    const m = this.members.find((x) => x.clientUrl === url && x.started && x.alive)
    if (!m) return {clientUrl: url, reachable: false, readOk: false, error: 'connection refused', tookMs: 1}
    const leader = this.leaderId()
    const alone = this.members.length === 1
    return {
      clientUrl: url, reachable: true, readOk: leader !== '0' || alone, tookMs: 1,
      status: {endpoint: url, memberId: m.id, leader: alone ? m.id : leader, raftIndex: m.raftIndex, raftTerm: 2, raftAppliedIndex: m.raftIndex,
        revision: m.raftIndex, dbSize: 1, isLearner: m.isLearner, errors: leader === '0' && !alone ? ['etcdserver: no leader'] : [], version: '3.4.23'},
    }
  }

  /** Adds a member that is not started yet (as `member add` or a new cluster's initial list does). */
  protected addMember(peerUrl: string, name: string, isLearner: boolean): SimMember {
    const m: SimMember = {id: String(this.nextMemberId++), name, peerUrl, clientUrl: '', isLearner, started: false, alive: true, raftIndex: 0}
    this.members.push(m)
    return m
  }

  /** The cluster's answer to one of the core's etcd actions; undefined for any other action. */
  protected answerEtcd(a: SchedulerAction): SchedulerEvent | undefined {
    switch (a.type) {
      case 'HEALTH_CHECK': return {type: 'HealthObserved', probes: a.clientUrls.map((u) => this.probe(u)), seq: a.seq}
      case 'MEMBER_LIST': {
        const ok = a.via.some((u) => !this.hidden.has(u) && this.members.some((m) => m.clientUrl === u && m.started && m.alive))
        return ok ? {type: 'MemberListObserved', members: this.members.map((m) => this.toEtcd(m))} : {type: 'MemberListFailed', message: 'unreachable'}
      }
      case 'MEMBER_ADD': {
        const url = a.peerUrls[0]!
        if (!this.hasQuorum()) return {type: 'MemberAddFailed', peerUrl: url, code: 'NO_LEADER', retryable: true, message: 'etcdserver: no leader'}
        if (this.addRefusals > 0) {
          this.addRefusals--
          return {type: 'MemberAddFailed', peerUrl: url, code: 'UNHEALTHY_CLUSTER', retryable: true, message: 'etcdserver: unhealthy cluster'}
        }
        const m = this.addMember(url, '', a.learner)
        return {type: 'MemberAdded', peerUrl: url, member: this.toEtcd(m), members: this.members.map((x) => this.toEtcd(x))}
      }
      case 'MEMBER_REMOVE': {
        if (!this.members.some((m) => m.id === a.memberId)) return {type: 'MemberRemoveFailed', memberId: a.memberId, code: 'MEMBER_NOT_FOUND', retryable: false, message: 'member not found'}
        if (!this.hasQuorum()) return {type: 'MemberRemoveFailed', memberId: a.memberId, code: 'UNHEALTHY_CLUSTER', retryable: true, message: 'unhealthy cluster'}
        this.members = this.members.filter((m) => m.id !== a.memberId)
        return {type: 'MemberRemoved', memberId: a.memberId}
      }
      case 'MEMBER_PROMOTE': {
        const m = this.members.find((x) => x.id === a.memberId)
        if (m && this.hasQuorum()) {
          m.isLearner = false
          return {type: 'MemberPromoted', memberId: a.memberId}
        }
        return {type: 'MemberPromoteFailed', memberId: a.memberId, code: 'LEARNER_NOT_READY', retryable: true, message: 'not in sync'}
      }
      default: return undefined
    }
  }
}
