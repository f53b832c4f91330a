/**
 * `serve --framework-role` on an in-process local Mesos (issue 14): a member is lost with its agent (the agent and
 * every process on it stopped, the master removes the agent: TASK_LOST) → it is replaced elsewhere (a new member
 * with a volume of its own); when the agent comes back on the same work dir (its checkpointed reservations and the
 * stale volume with it), the stale volume is destroyed and its reservation released: the master's /master/slaves
 * then lists exactly the running members' volumes and nothing reserved on the returned agent (test/resilience/leaks.ts),
 * and the volume's directory is gone from the agent's work dir.
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-volumes-agent-lost.test.ts (needs dist/ current).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {startRoleCluster, type VolumeMember, volumeDir, waitReplaced} from '../helpers/serve-volumes.js'
import {Logs, memberList, readPrefix, putKeys, scenario, serveSuite, stats, sweep, until, waitHealthyMembers} from '../helpers/serve.js'
import {reservationLeaks} from '../resilience/leaks.js'

const suite = serveSuite()
const ROLE = 'etcd-pv-lost'

describe('serve with a role: a member lost with its agent', {timeout: 400_000}, () => {
  it('is replaced elsewhere; when the agent returns, its stale volume is destroyed and its reservation released', {
    timeout: 360_000,
  }, async () => {
    const logs = new Logs()
    const cluster = 'pvlost'
    await scenario(logs, async () => {
      // 4 agents (one to replace on); the master removes an agent after 3 x 1 s unpinged.
      const {rm, serve, members: before} = await startRoleCluster(suite, logs, {cluster, role: ROLE, agents: 4, pingTimeoutMs: 1000})
      const written = await putKeys(before[0]!.client_url, 'al/', 10)
      const victim = before.find((m) => !m.leader)!
      const stale = victim.volume!.persistence_id
      const vi = rm.agentIndexOf(victim)

      // the agent is gone, with every process on it (its work dir kept)
      await rm.mesos.stopAgent(vi, 'kill')
      await sweep(rm.agentDir(vi))
      const after = await waitReplaced(serve.adminUrl, 'a replacement member on another agent', victim, 180_000)
      const replacement = after.find((m) => !before.some((b) => b.name === m.name))!
      assert.notEqual(replacement.agent_id, victim.agent_id)
      assert.ok(replacement.volume && replacement.volume.persistence_id !== stale, 'the replacement has a volume of its own')
      assert.ok(!(await memberList(after.map((m) => m.client_url))).some((m) => m.id === victim.member_id), 'the lost member left etcd')
      assert.ok(volumeDir(rm.agentDir(vi), ROLE, stale), 'the stale volume is still on the stopped agent')

      // the agent returns on its work dir, with its checkpointed reservation and the stale volume
      await rm.mesos.startAgent(vi)
      const returned = () => rm.mesos.agents[vi]!.id
      await until('the returned agent to register', () => returned() !== '', 30_000, 100)
      const reserved = await until(
        'the stale volume destroyed and its reservation released',
        async () => {
          const r = await rm.reserved(ROLE)
          const leftover = r.some((x) => x.volumes.includes(stale) || x.agentId === returned())
          return leftover || reservationLeaks(r, after).length > 0 ? undefined : r
        },
        120_000,
        500,
      )
      assert.deepEqual(reserved.flatMap((r) => r.volumes).sort(), after.map((m) => m.volume!.persistence_id).sort())
      assert.equal(volumeDir(rm.agentDir(vi), ROLE, stale), null, "the volume's directory is removed from the agent")
      assert.ok((await stats(serve.adminUrl)).volumes_released >= 1)
      // healthy, with the data
      const now = (await waitHealthyMembers(serve.adminUrl, 3, 60_000)) as VolumeMember[]
      const got = await readPrefix(
        now.map((m) => m.client_url),
        'al/',
      )
      assert.equal(got.size, written.size)
    })
  })
})
