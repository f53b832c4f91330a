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
import {fetchSlaves, reservationLeaks, reservedTo} from '../resilience/leaks.js'
import {
  ETCD_BIN,
  Logs,
  RUN_JS,
  killEtcd,
  memberList,
  putKeys,
  readPrefix,
  sandboxLogs,
  scenario,
  serveSuite,
  startMesosLocal,
  startServe,
  stats,
  until,
  waitHealthyMembers,
  type MemberView,
} from '../helpers/serve.js'

const suite = serveSuite()
const cleanups = suite.cleanups

interface VolumeMember extends MemberView {
  volume?: {persistence_id: string; size_mb: number; container_path: string} | null
  reservation?: {role: string; principal: string | null; agent_id: string; ports: number[]} | null
}

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

/** The number of keys under `prefix` in the member's OWN store (a serializable read answers locally). */
async function localCount(clientUrl: string, prefix: string): Promise<number> {
  const end = Buffer.from(prefix)
  end[end.length - 1]++
  const res = await fetch(`${clientUrl}/v3/kv/range`, {
    method: 'POST',
    signal: AbortSignal.timeout(2000),
    body: JSON.stringify({
      key: Buffer.from(prefix).toString('base64'),
      range_end: end.toString('base64'),
      count_only: true,
      serializable: true,
    }),
  })
  const body = (await res.json()) as {count?: string}
  return Number(body.count ?? 0)
}

/** serve's flags for a cluster of `size` (3) with role etcd-pv and principal it-pv (fast timers). */
function roleArgs(cluster: string, master: string, size = 3): string[] {
  return [
    '--cluster-name',
    cluster,
    '--cluster-size',
    String(size),
    '--health-interval',
    '1',
    '--bootstrap-wait',
    '3',
    '--member-grace',
    '5',
    '--executor-bin',
    RUN_JS,
    '--etcd-bin',
    ETCD_BIN,
    '--zk-framework-persist',
    `${suite.zk().url}/etcd-mesos`,
    '--master',
    master,
    '--framework-role',
    'etcd-pv',
    '--mesos-authentication-principal',
    'it-pv',
  ]
}

describe('serve with a role: persistent volumes on the local Mesos', {timeout: 300_000}, () => {
  it("bootstrap with volumes; SIGKILL of a member's etcd: back on the same agent, same member id, its data read back", {
    timeout: 240_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await startMesosLocal({}, logs)
      cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      const cluster = 'vol'
      const serve = await startServe(roleArgs(cluster, mesos.hostPort), logs)
      cleanups.push(() => serve.stop())
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

      const back = await until(
        `${victim.name} relaunched`,
        async () => {
          const ms = (await waitHealthyMembers(serve.adminUrl, 3, 1000).catch(() => null)) as VolumeMember[] | null
          const m = ms?.find((x) => x.name === victim.name && x.task_id !== victim.task_id && x.state === 'TASK_RUNNING')
          return m && ms ? {m, ms} : undefined
        },
        120_000,
        300,
      )
      assert.deepEqual(back.ms.map((m) => m.name).sort(), before.map((m) => m.name).sort(), 'the same members: no replacement')
      assert.equal(back.m.agent_id, victim.agent_id, 'the same agent')
      assert.equal(back.m.client_url, victim.client_url, 'the same ports')
      assert.equal(back.m.member_id, victim.member_id, 'the same etcd member id')
      assert.equal(back.m.volume?.persistence_id, victim.volume?.persistence_id, 'the same volume')
      const list = await memberList(back.ms.map((m) => m.client_url))
      assert.equal(list.length, 3)
      assert.ok(list.some((m) => m.id === victim.member_id && m.name === victim.name))
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
      const mesos = await startMesosLocal({}, logs)
      cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      const serve = await startServe(roleArgs('volgone', mesos.hostPort), logs)
      cleanups.push(() => serve.stop())
      const before = (await waitHealthyMembers(serve.adminUrl, 3, 90_000)) as VolumeMember[]
      const written = await putKeys(before[0]!.client_url, 'gone/', 10)
      const victim = before[1]!
      const oldVolume = victim.volume!.persistence_id
      // the volume's data is lost, then its etcd dies: the relaunch on it is refused (no data), so it is replaced
      const dir = findDir(mesos.workDir, oldVolume)
      assert.ok(dir, `volume directory of ${oldVolume}`)
      fs.rmSync(path.join(dir, 'member'), {recursive: true, force: true})
      await killEtcd(victim.name)
      const after = await until(
        'a replacement member',
        async () => {
          const ms = (await waitHealthyMembers(serve.adminUrl, 3, 1000).catch(() => null)) as VolumeMember[] | null
          return ms && !ms.some((m) => m.name === victim.name) ? ms : undefined
        },
        150_000,
        300,
      )
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
      const mesos = await startMesosLocal({agents: 5}, logs)
      cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      const five = await startServe(roleArgs('volshrink', mesos.hostPort, 5), logs, 'serve (5)')
      cleanups.push(() => five.stop())
      const before = (await waitHealthyMembers(five.adminUrl, 5, 120_000)) as VolumeMember[]
      const master = `http://${mesos.hostPort}`
      assert.equal(reservedTo(await fetchSlaves(master), 'etcd-pv').flatMap((r) => r.volumes).length, 5)
      const written = await putKeys(before[0]!.client_url, 'shrink/', 10)
      await five.stop()
      const three = await startServe(roleArgs('volshrink', mesos.hostPort, 3), logs, 'serve (3)')
      cleanups.push(() => three.stop())
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
