/**
 * Re-seed scenarios where the choice of the seed matters: the survivors hold different revisions, and the
 * product must seed from the most up-to-date one. The harness reads every survivor's revision and raft index
 * itself before the re-seed (observer.ts) and the checker fails a seed that is not the highest (rules.ts).
 */
import {execFileSync} from 'node:child_process'
import {etcdPids, killEtcdAndData, type MemberView} from '../helpers/serve.js'
import {readMember} from './observer.js'
import {replaced, waitUntil, type ScenarioDef} from './harness.js'

function signal(member: string, sig: 'SIGSTOP' | 'SIGCONT'): void {
  for (const p of etcdPids(member)) {
    try {
      process.kill(p, sig)
    } catch {
      /* gone */
    }
  }
}

/**
 * Destroys (`ss -K`, root) every established TCP connection of member `m`'s etcd: those its process holds
 * and those on its peer port (accepted or still in the accept queue). A stopped member would otherwise read,
 * once resumed, every raft message buffered for it in the kernel and catch up with a leader that is gone.
 * Returns how many connections were destroyed.
 */
function dropPeerConnections(m: MemberView): number {
  const peer = new URL(m.peer_url)
  const pids = etcdPids(m.name)
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], {encoding: 'utf8'})
  const tuples: [string, string][] = []
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/)
    // Recv-Q Send-Q Local Peer [Process]
    if (f.length < 4) continue
    const [local, remote] = [f[2]!, f[3]!]
    const own = pids.some((p) => line.includes(`pid=${p},`))
    if (own || local === `${peer.hostname}:${peer.port}` || remote === `${peer.hostname}:${peer.port}`) tuples.push([local, remote])
  }
  for (const [local, remote] of tuples) {
    const [lip, lport] = [local.slice(0, local.lastIndexOf(':')), local.slice(local.lastIndexOf(':') + 1)]
    const [rip, rport] = [remote.slice(0, remote.lastIndexOf(':')), remote.slice(remote.lastIndexOf(':') + 1)]
    execFileSync('ss', ['-K', 'src', lip, 'sport', '=', `:${lport}`, 'dst', rip, 'dport', '=', `:${rport}`], {stdio: 'ignore'})
  }
  return tuples.length
}

function survivorsAtDifferentRevisions(): ScenarioDef {
  const victims: string[] = []
  return {
    name: 'reseed-survivors-differ',
    description:
      'a 5-member cluster: one follower stopped (SIGSTOP, its TCP connections destroyed) while ~100 writes go on, so it falls behind; then 3 other members (leader included) killed with their data and the stopped one resumed: 2 survivors at different revisions, no quorum; the re-seed must start from the survivor with the highest revision and raft index (both read by the harness before the re-seed), the other one is replaced',
    size: 5,
    expect: {reseed: true, livelocks: 'some'},
    recovered: replaced(() => victims),
    recoveryTimeoutMs: 240_000,
    async inject(ctx) {
      victims.length = 0
      const l = await ctx.leader()
      const fs = await ctx.followers()
      if (fs.length !== 4) throw new Error(`expected 4 followers, /members shows ${fs.length}`)
      const [behind, ahead, ...rest] = fs as [MemberView, MemberView, MemberView, MemberView]
      const lost = [...rest, l]
      signal(behind.name, 'SIGSTOP')
      try {
        // Cut off like a partition (messages dropped, not queued): its connections destroyed while it is stopped,
        // and again once the leader is gone (what the leader sent meanwhile waits in new connections' buffers).
        const cut = dropPeerConnections(behind)
        const n0 = ctx.writer.acked.length
        await waitUntil(
          `100 writes acknowledged while ${behind.name} is stopped`,
          async () => ctx.writer.acked.length >= n0 + 100,
          30_000,
          50,
        )
        for (const m of lost) await killEtcdAndData(m.name)
        ctx.note(
          `${behind.name} stopped and its ${cut} + ${dropPeerConnections(behind)} connections destroyed while ${ctx.writer.acked.length - n0} writes were acknowledged and ${lost.map((m) => m.name).join(', ')} were killed with their data`,
        )
      } finally {
        signal(behind.name, 'SIGCONT')
      }
      ctx.killedTasks = lost.length
      victims.push(...lost.map((m) => m.name), behind.name)
      // Both survivors without a leader, their states no longer moving: read straight from etcd.
      let prev = ''
      const [b, a] = await waitUntil(
        'both survivors leaderless with settled states',
        async () => {
          const rs = await Promise.all([behind, ahead].map((m) => readMember(m.client_url)))
          if (rs.some((r) => r?.reading.leader !== '0')) return null
          const key = JSON.stringify(rs.map((r) => [r!.reading.revision, r!.reading.raftIndex]))
          const settled = key === prev
          prev = key
          return settled ? rs.map((r) => r!.reading) : null
        },
        30_000,
        500,
      )
      ctx.note(
        `survivors before the re-seed: ${behind.name} revision ${b!.revision} raft index ${b!.raftIndex}; ${ahead.name} revision ${a!.revision} raft index ${a!.raftIndex}`,
      )
      if (!(b!.revision < a!.revision && b!.raftIndex < a!.raftIndex)) {
        throw new Error(
          `the stopped survivor ${behind.name} did not fall behind ${ahead.name} (revisions ${b!.revision} / ${a!.revision}): the scenario tests nothing`,
        )
      }
    },
  }
}

export const RESEED_SCENARIOS: ScenarioDef[] = [survivorsAtDifferentRevisions()]
