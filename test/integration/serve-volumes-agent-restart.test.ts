/**
 * `serve --framework-role` on an in-process local Mesos (issue 14): an agent restarts on its work dir.
 *  - with its executors alive (the agent process alone crashed): nothing is relaunched, the member keeps its task;
 *  - with its executors and etcd gone too (the host's processes died, its disk kept): the agent comes back with the
 *    same id, its reservations and volumes (checkpointed under its work dir) are listed by the master again, and
 *    the member is relaunched on that agent from its volume: the same etcd member id, its data (keys written
 *    before are in its own store), no replacement, nothing leaked.
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-volumes-agent-restart.test.ts (needs dist/ current).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, it} from 'node:test'
import {waitFor} from '../helpers/ports.js'
import {assertRelaunchedInPlace, startRoleCluster, type VolumeMember, volumeDir, waitRelaunched} from '../helpers/serve-volumes.js'
import {Logs, localCount, putKeys, readPrefix, scenario, serveSuite, stats, sweep, until, waitHealthyMembers} from '../helpers/serve.js'
import {reservationLeaks} from '../resilience/leaks.js'

const suite = serveSuite()
const ROLE = 'etcd-pv-restart'

describe('serve with a role: an agent restarts on its work dir', {timeout: 400_000}, () => {
  it('its volumes and reservations survive; a member whose processes died with it comes back on its volume, same member id, its data', {
    timeout: 360_000,
  }, async () => {
    const logs = new Logs()
    const cluster = 'pvrestart'
    await scenario(logs, async () => {
      // 4 agents: a replacement elsewhere would be possible. The master removes an agent after 3 x 3 s unpinged.
      const {rm, serve, members: before} = await startRoleCluster(suite, logs, {cluster, role: ROLE, agents: 4, pingTimeoutMs: 3000})
      const reservedBefore = await rm.reserved(ROLE)
      assert.deepEqual(
        reservedBefore.flatMap((r) => r.volumes).sort(),
        before.map((m) => m.volume!.persistence_id).sort(),
        'each member has its volume, listed by the master',
      )
      const written = await putKeys(before[0]!.client_url, 'ar/', 20)
      const followers = before.filter((m) => !m.leader)
      assert.ok(followers.length >= 2)

      // 1. the agent process alone crashes and restarts: its executor and etcd keep running, nothing is relaunched
      const calm = followers[0]!
      const ci = rm.agentIndexOf(calm)
      await rm.mesos.stopAgent(ci, 'kill')
      await rm.mesos.startAgent(ci)
      assert.equal(rm.mesos.agents[ci]!.id, calm.agent_id, 'the same agent id after the restart')
      await until(
        'the master to list the restarted agent with its reservation and volume',
        async () => (await rm.reserved(ROLE)).find((r) => r.agentId === calm.agent_id)?.volumes.includes(calm.volume!.persistence_id),
        30_000,
        300,
      )
      const calmNow = ((await waitHealthyMembers(serve.adminUrl, 3, 60_000)) as VolumeMember[]).find((m) => m.name === calm.name)
      assert.equal(calmNow?.task_id, calm.task_id, 'the same task: nothing relaunched')

      // 2. the agent and every process on it die (its disk kept), it restarts on its work dir before the master removes it
      const victim = followers[1]!
      await waitFor('the victim to hold the keys', async () => (await localCount(victim.client_url, 'ar/')) === 20, 20_000, 100)
      const vi = rm.agentIndexOf(victim)
      await rm.mesos.stopAgent(vi, 'kill')
      await sweep(rm.agentDir(vi))
      await rm.mesos.startAgent(vi)
      assert.equal(rm.mesos.agents[vi]!.id, victim.agent_id, 'the same agent id after the restart')
      const dir = volumeDir(rm.agentDir(vi), ROLE, victim.volume!.persistence_id)
      assert.ok(dir && fs.existsSync(path.join(dir, 'member')), `the volume directory kept the member's data (${dir})`)

      const back = await waitRelaunched(serve.adminUrl, victim, 150_000)
      await assertRelaunchedInPlace(back, victim, before)
      assert.equal(await localCount(back.m.client_url, 'ar/'), 20, 'its own store holds the keys written before')
      const got = await readPrefix([back.m.client_url], 'ar/')
      for (const [k, v] of written) assert.equal(got.get(k), v)

      // the master's view: the same volumes on the same agents, nothing leaked
      const reservedAfter = await rm.reserved(ROLE)
      assert.deepEqual(
        reservedAfter.map((r) => `${r.agentId}:${r.volumes.join(',')}`).sort(),
        reservedBefore.map((r) => `${r.agentId}:${r.volumes.join(',')}`).sort(),
      )
      assert.deepEqual(reservationLeaks(reservedAfter, back.ms), [])
      const st = await stats(serve.adminUrl)
      assert.equal(st.volumes_released, 0)
      assert.equal(st.leftovers_cleaned, 0)
      assert.match(serve.log(), /relaunching etcd member on its persistent volume/)
    })
  })
})
