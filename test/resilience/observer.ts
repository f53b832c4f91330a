/**
 * The harness's own view of the cluster, independent of the code under test: every ~250 ms each member's
 * `maintenance/status` (member id, revision, raft index, leader) and its own member list (voters), read
 * straight from etcd's JSON gateway. Members are found from the given URLs (the writer's endpoints) and from
 * the member lists seen. The readings feed rules.ts: re-seed episodes (who was forced into a new cluster, when,
 * from which revision) and the survivors' states just before.
 */
import type {Reading} from './rules.js'

async function post<T>(url: string, p: string, timeoutMs: number): Promise<T> {
  const res = await fetch(`${url}${p}`, {method: 'POST', body: '{}', signal: AbortSignal.timeout(timeoutMs)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`POST ${url}${p}: HTTP ${res.status}`)
  return JSON.parse(text) as T
}

interface StatusBody {
  header?: {member_id?: string; revision?: string}
  leader?: string
  raftIndex?: string
}
interface MemberListBody {
  members?: {ID?: string; clientURLs?: string[]; isLearner?: boolean}[]
}

/** One member's reading, or null when it does not answer its status within `timeoutMs`. */
export async function readMember(url: string, timeoutMs = 1000): Promise<{reading: Reading; clientUrls: string[]} | null> {
  const [st, ml] = await Promise.allSettled([
    post<StatusBody>(url, '/v3/maintenance/status', timeoutMs),
    post<MemberListBody>(url, '/v3/cluster/member/list', timeoutMs),
  ])
  if (st.status !== 'fulfilled' || !st.value.header?.member_id) return null
  const members = ml.status === 'fulfilled' ? (ml.value.members ?? []) : null
  return {
    reading: {
      at: Date.now(),
      url,
      memberId: st.value.header.member_id,
      revision: Number(st.value.header.revision ?? 0),
      raftIndex: Number(st.value.raftIndex ?? 0),
      leader: st.value.leader ?? '0',
      voters: members === null ? null : members.filter((m) => !m.isLearner && m.ID).map((m) => m.ID!),
    },
    clientUrls: (members ?? []).flatMap((m) => m.clientURLs ?? []),
  }
}

export class ClusterObserver {
  readonly readings: Reading[] = []
  private on = false
  private loop: Promise<void> | null = null
  private listed = new Set<string>()

  constructor(
    private readonly urls: () => string[],
    private readonly everyMs = 250,
  ) {}

  start(): void {
    if (this.on) return
    this.on = true
    this.loop = this.run()
  }

  async stop(): Promise<Reading[]> {
    this.on = false
    await this.loop
    return this.readings
  }

  private async run(): Promise<void> {
    while (this.on) {
      const t0 = Date.now()
      const targets = new Set([...this.urls(), ...this.listed])
      const answers = await Promise.all([...targets].map((u) => readMember(u).catch(() => null)))
      const listed = new Set<string>()
      for (const a of answers) {
        if (!a) continue
        this.readings.push(a.reading)
        for (const u of a.clientUrls) listed.add(u)
      }
      // Members nobody lists any more (removed, replaced) are no longer polled.
      if (listed.size > 0) this.listed = listed
      await new Promise((r) => setTimeout(r, Math.max(1, this.everyMs - (Date.now() - t0))))
    }
  }
}
