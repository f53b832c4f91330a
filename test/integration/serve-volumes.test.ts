/**
 * `serve --framework-role` on the REAL local Mesos (mesos-local subprocess), real ZooKeeper and real etcd (issue 14):
 * each member's resources are reserved to the role and its data dir is a persistent volume; a member whose etcd
 * is SIGKILLed comes back on the same agent, as the same etcd member (same member id), on its own data (a key
 * written before is read back from it, serializably, i.e. from its own store).
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-volumes.test.ts (needs dist/ current).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, it} from 'node:test'
import {waitFor} from '../helpers/ports.js'
import {assertRelaunchedInPlace, roleArgs, type VolumeMember, waitRelaunched, waitReplaced} from '../helpers/serve-volumes.js'
import {fetchSlaves, reservationLeaks, reservedTo} from '../resilience/leaks.js'
import {
  Logs,
  localCount,
  killEtcd,
  memberList,
  type MesosLocalOptions,
  type MesosLocalProc,
  putKeys,
  readPrefix,
  sandboxLogs,
  scenario,
  serveSuite,
  type ServeProc,
  startMesosLocal,
  startServe,
  stats,
  until,
  waitHealthyMembers,
} from '../helpers/serve.js'

const suite = serveSuite()
const cleanups = suite.cleanups

/** The directory named `name` under `root` (depth-first, symlinks not followed), or null. */
function findDir(root: string, name: string, depth = 8): string | null {
  if (depth === 0) return null
  for (const e of fs.readdirSync(root, {withFileTypes: true})) {
    if (!e.isDirectory()) continue
    const p = path.join(root, e.name)
    if (e.name === name) return p
    const found = findDir(p, name, depth - 1)
    if (found) return found
  }
  return null
}

/** The mesos-local subprocess for this test (stopped after it), its executor sandboxes in the logs. */
async function localMesos(logs: Logs, opts: MesosLocalOptions = {}): Promise<MesosLocalProc> {
  const mesos = await startMesosLocal(opts, logs)
  cleanups.push(() => mesos.stop())
  logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
  return mesos
}

/** serve for `cluster` of `size` with role etcd-pv (serve's own refuse period and failover timeout), stopped after the test. */
async function serveRole(logs: Logs, mesos: MesosLocalProc, cluster: string, size = 3, label?: string): Promise<ServeProc> {
  const args = roleArgs({cluster, master: mesos.hostPort, role: 'etcd-pv', zk: suite.zk().url, size, refuseSec: null, failoverSec: null})
  const serve = await startServe(args, logs, label)
  cleanups.push(() => serve.stop())
  return serve
}

describe('serve with a role: persistent volumes on the local Mesos', {timeout: 300_000}, () => {
  it("bootstrap with volumes; SIGKILL of a member's etcd: back on the same agent, same member id, its data read back", {
    timeout: 240_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await localMesos(logs)
      const cluster = 'vol'
      const serve = await serveRole(logs, mesos, cluster)
      const before = (await waitHealthyMembers(serve.adminUrl, 3, 90_000)) as VolumeMember[]
      assert.match(serve.log(), /framework role 'etcd-pv'/)
      for (const m of before) {
        assert.match(
          m.volume?.persistence_id ?? '',
          new RegExp(`^etcd-mesos\\.${cluster}\\.${m.name}\\.[0-9a-f]+$`),
          `${m.name} has a volume`,
        )
        assert.equal(m.volume?.container_path, 'etcd-data')
        assert.equal(m.reservation?.role, 'etcd-pv')
        assert.equal(m.reservation?.principal, 'it-pv')
        assert.equal(m.reservation?.agent_id, m.agent_id)
      }
      // each volume is a directory under its agent's work dir holding the member's etcd data
      for (const m of before) {
        const dir = findDir(mesos.workDir, m.volume!.persistence_id)
        assert.ok(dir && fs.existsSync(path.join(dir, 'member')), `volume ${m.volume!.persistence_id} holds etcd data (${dir})`)
      }
      const written = await putKeys(before[0]!.client_url, 'pv/', 20)
      const victim = before[1]!
      await waitFor('the victim to hold the keys', async () => (await localCount(victim.client_url, 'pv/')) === 20, 20_000, 100)
      await killEtcd(victim.name)

      const back = await waitRelaunched(serve.adminUrl, victim, 120_000)
      await assertRelaunchedInPlace(back, victim, before)
      // its own store holds the keys written before (serializable: answered from its data), and a quorum read through it
      assert.equal(await localCount(back.m.client_url, 'pv/'), 20)
      const got = await readPrefix([back.m.client_url], 'pv/')
      for (const [k, v] of written) assert.equal(got.get(k), v)
      const st = await stats(serve.adminUrl)
      assert.equal(st.launched_servers, 4, 'three members and one relaunch')
      assert.ok(/relaunching etcd member on its persistent volume/.test(serve.log()))
    })
  })

  it('a member whose volume lost its data is replaced; its old volume is destroyed and its reservation released (seen by the master)', {
    timeout: 240_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await localMesos(logs)
      const serve = await serveRole(logs, mesos, 'volgone')
      const before = (await waitHealthyMembers(serve.adminUrl, 3, 90_000)) as VolumeMember[]
      const written = await putKeys(before[0]!.client_url, 'gone/', 10)
      const victim = before[1]!
      const oldVolume = victim.volume!.persistence_id
      // the volume's data is lost, then its etcd dies: the relaunch on it is refused (no data), so it is replaced
      const dir = findDir(mesos.workDir, oldVolume)
      assert.ok(dir, `volume directory of ${oldVolume}`)
      fs.rmSync(path.join(dir, 'member'), {recursive: true, force: true})
      await killEtcd(victim.name)
      const after = await waitReplaced(serve.adminUrl, 'a replacement member', victim, 150_000)
      const replacement = after.find((m) => !before.some((b) => b.name === m.name))!
      assert.ok(replacement.volume && replacement.volume.persistence_id !== oldVolume, 'the replacement has a volume of its own')
      const list = await memberList(after.map((m) => m.client_url))
      assert.ok(!list.some((m) => m.id === victim.member_id), 'the lost member is gone from etcd')
      // the master's own view: exactly the running members' volumes, nothing reserved where no member runs
      const master = `http://${mesos.hostPort}`
      const reserved = await until(
        'the old volume destroyed and unreserved',
        async () => {
          const r = reservedTo(await fetchSlaves(master), 'etcd-pv')
          return r.some((x) => x.volumes.includes(oldVolume)) ? undefined : r
        },
        60_000,
        500,
      )
      assert.deepEqual(reserved.flatMap((r) => r.volumes).sort(), after.map((m) => m.volume!.persistence_id).sort())
      assert.deepEqual(reservationLeaks(reserved, after), [])
      assert.ok((await stats(serve.adminUrl)).volumes_released >= 1)
      const got = await readPrefix(
        after.map((m) => m.client_url),
        'gone/',
      )
      assert.equal(got.size, written.size)
    })
  })

  it("scale 5 -> 3: the two removed members' volumes are destroyed and their reservations released (seen by the master)", {
    timeout: 240_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await localMesos(logs, {agents: 5})
      const five = await serveRole(logs, mesos, 'volshrink', 5, 'serve (5)')
      const before = (await waitHealthyMembers(five.adminUrl, 5, 120_000)) as VolumeMember[]
      const master = `http://${mesos.hostPort}`
      assert.equal(reservedTo(await fetchSlaves(master), 'etcd-pv').flatMap((r) => r.volumes).length, 5)
      const written = await putKeys(before[0]!.client_url, 'shrink/', 10)
      await five.stop()
      const three = await serveRole(logs, mesos, 'volshrink', 3, 'serve (3)')
      const after = await until(
        'three members',
        async () => {
          const ms = (await waitHealthyMembers(three.adminUrl, 3, 1000).catch(() => null)) as VolumeMember[] | null
          return ms && ms.length === 3 ? ms : undefined
        },
        120_000,
        300,
      )
      const removed = before.filter((b) => !after.some((a) => a.name === b.name))
      assert.equal(removed.length, 2)
      const reserved = await until(
        "the removed members' volumes destroyed and unreserved",
        async () => {
          const r = reservedTo(await fetchSlaves(master), 'etcd-pv')
          const vols = r.flatMap((x) => x.volumes)
          return removed.some((m) => vols.includes(m.volume!.persistence_id)) || reservationLeaks(r, after).length > 0 ? undefined : r
        },
        90_000,
        500,
      )
      assert.deepEqual(reserved.flatMap((r) => r.volumes).sort(), after.map((m) => m.volume!.persistence_id).sort())
      assert.ok((await stats(three.adminUrl)).volumes_released >= 2)
      const got = await readPrefix(
        after.map((m) => m.client_url),
        'shrink/',
      )
      assert.equal(got.size, written.size)
    })
  })
})
