/**
 * The checker's data rules, PURE (unit-tested on synthetic write logs and readings: test/unit/resilience-checker.test.ts).
 * Inputs are what the harness measured itself, never what the product reports: the writer's acknowledged
 * writes (writer.ts) and the observer's readings of every member's status and member list, straight from
 * etcd (observer.ts).
 *
 * Re-seed episodes (detectReseeds): a member whose own member list shows more than one voter, then only
 * itself as a voter, was forced into a new one-member cluster (`--force-new-cluster`; no normal membership
 * change removes live voters down to one). Its last reading with the old membership is taken during the quorum
 * loss (it must show no leader: otherwise its revision is no reliable bound) and gives
 *   - the bound: the seed's revision (and raft index) before the re-seed,
 *   - the epoch boundary: that reading's time. A write acknowledged after it belongs to the new history.
 * The survivors are the other members that answered in the 5 s before that reading up to the re-seed; their
 * last reading before it must show no leader, a revision and raft index not above the seed's
 * (checkSeedChoice): the seed must be the most up-to-date survivor.
 *
 * Acknowledged writes (checkWrites), split into histories by the episodes' boundaries (ack time):
 *   - a write of the last history must be present with its value;
 *   - a write of an earlier history must be present when its revision is not above every later seed's revision;
 *     above: "lost by re-seed" (acknowledged by a quorum that no longer exists), reported apart;
 *   - within one history revisions only grow (one writer, one put at a time): a regression is a failure
 *     (a history was lost with no re-seed observed).
 */
import type {Ack} from './writer.js'

/** One poll of one member, straight from etcd (maintenance/status + its member list). */
export interface Reading {
  at: number
  url: string
  memberId: string
  revision: number
  raftIndex: number
  /** The leader this member knows ('0': none). */
  leader: string
  /** Voting member ids in this member's own member list; null when the list call failed. */
  voters: string[] | null
}

export interface SurvivorState {
  memberId: string
  url: string
  revision: number
  raftIndex: number
  leader: string
  at: number
}

export interface ReseedEpisode {
  seed: string
  seedUrl: string
  /** Time of the seed's last reading with the old membership: writes acknowledged after it are of the new history. */
  epochAt: number
  /** First reading of the seed serving alone. */
  completedAt: number
  seedRevision: number
  seedRaftIndex: number
  /** Leader the seed knew in that last reading ('0': none, as it must be). */
  seedLeader: string
  survivors: SurvivorState[]
}

const SURVIVOR_WINDOW_MS = 5000

const oldMembership = (r: Reading): boolean => r.voters !== null && r.voters.length > 1
const servingAlone = (r: Reading): boolean => r.voters !== null && r.voters.length === 1 && r.voters[0] === r.memberId
const noLeader = (leader: string): boolean => leader === '' || leader === '0'

export function detectReseeds(readings: Reading[]): ReseedEpisode[] {
  const sorted = [...readings].sort((a, b) => a.at - b.at)
  const byMember = new Map<string, Reading[]>()
  for (const r of sorted) byMember.set(r.memberId, [...(byMember.get(r.memberId) ?? []), r])
  const out: ReseedEpisode[] = []
  for (const [id, rs] of byMember) {
    let lastOld: Reading | null = null
    for (const r of rs) {
      if (oldMembership(r)) lastOld = r
      else if (servingAlone(r) && lastOld) {
        const p = lastOld
        const survivors: SurvivorState[] = []
        for (const [other, ors] of byMember) {
          if (other === id) continue
          const inWindow = ors.filter((o) => o.at >= p.at - SURVIVOR_WINDOW_MS && o.at < r.at && oldMembership(o))
          const last = inWindow.at(-1)
          if (last)
            survivors.push({
              memberId: other,
              url: last.url,
              revision: last.revision,
              raftIndex: last.raftIndex,
              leader: last.leader,
              at: last.at,
            })
        }
        out.push({
          seed: id,
          seedUrl: r.url,
          epochAt: p.at,
          completedAt: r.at,
          seedRevision: p.revision,
          seedRaftIndex: p.raftIndex,
          seedLeader: p.leader,
          survivors,
        })
        lastOld = null
      }
    }
  }
  return out.sort((a, b) => a.epochAt - b.epochAt)
}

/** Failures of one episode: the seed's bound unreliable, a survivor ahead of the seed, a survivor still led. */
export function checkSeedChoice(ep: ReseedEpisode): string[] {
  const f: string[] = []
  const seed = `seed ${ep.seedUrl} (member ${ep.seed}, revision ${ep.seedRevision}, raft index ${ep.seedRaftIndex})`
  if (!noLeader(ep.seedLeader))
    f.push(`${seed}: its last reading before the re-seed still showed leader ${ep.seedLeader}, so its revision is no measured bound`)
  for (const s of ep.survivors) {
    const who = `survivor ${s.url} (member ${s.memberId}, revision ${s.revision}, raft index ${s.raftIndex})`
    if (s.revision > ep.seedRevision || s.raftIndex > ep.seedRaftIndex)
      f.push(`the re-seed did not pick the most up-to-date survivor: ${seed}, ${who}`)
    if (!noLeader(s.leader)) f.push(`${who} still knew leader ${s.leader} just before the re-seed from ${seed}: a quorum may have existed`)
  }
  return f
}

/** Failures across episodes: two histories forced at once (the second starts before the first one completed). */
export function checkEpisodes(eps: ReseedEpisode[]): string[] {
  const f: string[] = []
  for (let i = 1; i < eps.length; i++) {
    const a = eps[i - 1]!
    const b = eps[i]!
    if (b.epochAt < a.completedAt) f.push(`two members forced new clusters at once: ${a.seedUrl} and ${b.seedUrl}`)
  }
  return f
}

export interface Regression {
  ack: Ack
  previous: Ack
}

export interface DataCheck {
  present: number
  lost: Ack[]
  lostByReseed: Ack[]
  /** Present with another value than acknowledged. */
  wrong: Ack[]
  /** Revision not above the previous acknowledgement's within one history. */
  regressions: Regression[]
}

/** Index of the history `at` falls in: the number of episode boundaries before it. */
function historyOf(at: number, eps: ReseedEpisode[]): number {
  let k = 0
  while (k < eps.length && eps[k]!.epochAt < at) k++
  return k
}

export function checkWrites(acked: Ack[], kv: Map<string, string>, episodes: ReseedEpisode[]): DataCheck {
  const eps = [...episodes].sort((a, b) => a.epochAt - b.epochAt)
  // minLater[k]: the lowest seed revision of the re-seeds after history k (Infinity for the last history).
  const minLater: number[] = new Array(eps.length + 1).fill(Infinity)
  for (let k = eps.length - 1; k >= 0; k--) minLater[k] = Math.min(minLater[k + 1]!, eps[k]!.seedRevision)
  const out: DataCheck = {present: 0, lost: [], lostByReseed: [], wrong: [], regressions: []}
  let prev: {ack: Ack; history: number} | null = null
  for (const a of acked) {
    const h = historyOf(a.at, eps)
    if (prev && prev.history === h && a.revision <= prev.ack.revision) out.regressions.push({ack: a, previous: prev.ack})
    prev = {ack: a, history: h}
    const got = kv.get(a.key)
    if (got === a.value) out.present++
    else if (got !== undefined) out.wrong.push(a)
    else if (a.revision > minLater[h]!) out.lostByReseed.push(a)
    else out.lost.push(a)
  }
  return out
}
