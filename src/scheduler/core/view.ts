/**
 * Read-only views of the state for the admin API (/stats, /members, operation status). Pure.
 */
import type {Mode, OperationRecord, ReseedProgress, SchedulerState, Stats} from './state.js'
import {allTasks, clientUrl, isDeadState, modeOf, peerUrl} from './state.js'

export interface MemberView {
  name: string
  taskId: string
  agentId: string
  host: string
  peerPort: number
  clientPort: number
  peerUrl: string
  clientUrl: string
  state: string
  live: boolean
  healthy: boolean | null
  etcdMemberId: string | null
  learner: boolean
}

export interface SchedulerView {
  mode: Mode
  clusterName: string
  clusterSize: number
  frameworkId: string | null
  bootstrapped: boolean
  livelocked: boolean
  healthReason: string | null
  members: MemberView[]
  reseed: ReseedProgress | null
  operations: OperationRecord[]
  stats: Stats
}

export function describe(s: SchedulerState): SchedulerView {
  const members = allTasks(s).map((t): MemberView => {
    const m = s.membership?.members.find((x) => x.name === t.memberName || x.peerUrls.includes(peerUrl(s, t)))
    return {
      name: t.memberName,
      taskId: t.taskId,
      agentId: t.agentId,
      host: t.hostname,
      peerPort: t.peerPort,
      clientPort: t.clientPort,
      peerUrl: peerUrl(s, t),
      clientUrl: clientUrl(s, t),
      state: t.state,
      live: !isDeadState(t.state),
      healthy: t.healthy ?? null,
      etcdMemberId: m?.id ?? null,
      learner: m?.isLearner ?? false,
    }
  })
  return {
    mode: modeOf(s),
    clusterName: s.config.clusterName,
    clusterSize: s.config.clusterSize,
    frameworkId: s.frameworkId,
    bootstrapped: s.bootstrapped,
    livelocked: s.health.livelocked,
    healthReason: s.health.verdict?.reason ?? null,
    members,
    reseed: s.reseed,
    operations: s.operations,
    stats: s.stats,
  }
}
