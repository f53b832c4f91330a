/**
 * PURE verdicts over probe results (no I/O, no clock); used by the scheduler core.
 *
 * healthVerdict: healthy ⇔ some leader id (≠ '0') is reported by at least quorum = floor(n/2)+1 of the
 *   cluster's n members (counting only members that answered status themselves), AND at least one
 *   linearizable read succeeded. The reason names what is missing.
 *   quorumEvident ⇔ a quorum agrees on a leader, OR a linearizable read succeeded through any member (etcd
 *   answers one only after the leader confirmed its leadership with a quorum): what livelock detection
 *   must use. A scheduler that reaches only some members (its own partition) sees no agreeing quorum, but
 *   a read through a member of the healthy majority proves the cluster is not livelocked — re-seeding it
 *   would be destructive and needless.
 * rankReseedCandidates: the members that answered status themselves, best first: committed raftIndex
 *   desc, raftTerm desc, revision desc, then clientUrl asc (deterministic). `--force-new-cluster`
 *   discards entries above the commit index, so the committed index is what matters.
 */
import type {MemberProbe} from './probe.js'

export interface HealthVerdict {
  healthy: boolean
  leader: string | null
  quorum: number
  /** Members agreeing on `leader` (the most-reported leader when unhealthy). */
  agreeing: number
  /** The cluster demonstrably has a working quorum (see the header), even when not all of it is visible. */
  quorumEvident: boolean
  reason: string
}

export function quorumOf(clusterSize: number): number {
  return Math.floor(clusterSize / 2) + 1
}

export function healthVerdict(clusterSize: number, probes: MemberProbe[]): HealthVerdict {
  const size = Number.isInteger(clusterSize) && clusterSize > 0 ? clusterSize : probes.length
  const quorum = quorumOf(size)
  if (size === 0) return {healthy: false, leader: null, quorum, agreeing: 0, quorumEvident: false, reason: 'no members to probe'}
  const votes = new Map<string, number>()
  const seen = new Set<string>()
  for (const p of probes) {
    const s = p.status
    if (!p.reachable || !s) continue
    if (seen.has(s.memberId)) continue // one vote per member, even if probed twice
    seen.add(s.memberId)
    if (s.leader === '0' || s.leader === '') continue
    votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1)
  }
  let leader: string | null = null
  let agreeing = 0
  for (const [id, n] of [...votes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (n > agreeing) {
      leader = id
      agreeing = n
    }
  }
  const reads = probes.filter((p) => p.readOk).length
  const answered = seen.size
  const quorumEvident = agreeing >= quorum || reads > 0
  const proof = reads > 0 ? `; but ${reads} linearizable read(s) succeeded: the cluster has a quorum this scheduler cannot fully see` : ''
  if (leader === null) {
    return {
      healthy: false,
      leader: null,
      quorum,
      agreeing: 0,
      quorumEvident,
      reason: `no leader: ${answered} of ${size} members answered status, none reports a leader${proof}`,
    }
  }
  if (agreeing < quorum) {
    return {
      healthy: false,
      leader,
      quorum,
      agreeing,
      quorumEvident,
      reason: `only ${agreeing} of ${size} members agree on leader ${leader} (quorum ${quorum})${proof}`,
    }
  }
  if (reads === 0) {
    return {
      healthy: false,
      leader,
      quorum,
      agreeing,
      quorumEvident,
      reason: `leader ${leader} agreed by ${agreeing} of ${size} members but no linearizable read succeeded`,
    }
  }
  return {
    healthy: true,
    leader,
    quorum,
    agreeing,
    quorumEvident,
    reason: `leader ${leader} agreed by ${agreeing} of ${size} members; ${reads} quorum read(s) ok`,
  }
}

export interface ReseedCandidate {
  clientUrl: string
  memberId: string
  raftIndex: number
  raftTerm: number
  revision: number
}

export function rankReseedCandidates(probes: MemberProbe[]): ReseedCandidate[] {
  const out: ReseedCandidate[] = []
  for (const p of probes) {
    const s = p.status
    if (!p.reachable || !s) continue
    out.push({clientUrl: p.clientUrl, memberId: s.memberId, raftIndex: s.raftIndex, raftTerm: s.raftTerm, revision: s.revision})
  }
  return out.sort(
    (a, b) =>
      b.raftIndex - a.raftIndex ||
      b.raftTerm - a.raftTerm ||
      b.revision - a.revision ||
      (a.clientUrl < b.clientUrl ? -1 : a.clientUrl > b.clientUrl ? 1 : 0),
  )
}
