/**
 * `serve --framework-role` on an in-process local Mesos (issue 14): leftovers of a crash are released.
 *  1. A reservation + persistent volume of the cluster that its records do not know, as a scheduler killed between
 *     its RESERVE/CREATE and storing them leaves it (the same labels, principal and persistence-id shape as
 *     ours; made here through the master's operator API: RESERVE_RESOURCES + CREATE_VOLUMES), for the member name a
 *     restarted scheduler gives again (the member counter was not stored either): serve with a short
 *     --leftover-grace destroys and unreserves it, counts it in /stats leftovers_cleaned and /metrics.
 *  2. The real thing: serve SIGKILLed right after its first ACCEPT with RESERVE/CREATE (its log at -v 1), then
 *     restarted: healthy, and no reservation or volume leaked once the grace period passed.
 * One local Mesos for the file; each test its own cluster name and role (the leak check counts by role).
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-volumes-leftovers.test.ts (needs dist/ current).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {Resource} from '../../src/lib/mesos/types.js'
import {metricsText, metricValue, type RoleMesos, roleArgs, startRoleMesos, type VolumeMember, volumeDir} from '../helpers/serve-volumes.js'
import {operator} from '../helpers/raw-scheduler.js'
import {NetProxy} from '../resilience/netproxy.js'
import type {ZkClient} from '../../src/lib/zk/client.js'
import {withZkClient} from '../helpers/zookeeper.js'
import {
  Logs,
  putKeys,
  readPrefix,
  sandboxLogs,
  scenario,
  serveSuite,
  startServe,
  stats,
  sweepCluster,
  until,
  waitHealthyMembers,
  type ServeProc,
} from '../helpers/serve.js'
import {reservationLeaks} from '../resilience/leaks.js'

const suite = serveSuite()
const fileLogs = new Logs()
let rm: RoleMesos

const zkRead = <T>(fn: (c: ZkClient) => Promise<T>): Promise<T> => withZkClient(suite.zk().url, fn)

/** Whether any local agent's checkpointed total holds a resource reserved to `role` (the master applied a RESERVE). */
function anyReserved(role: string): boolean {
  return rm.mesos.agents.some((a) => a.running && a.port.totalResources().some((r) => (r.reservations ?? []).some((x) => x.role === role)))
}

/**
 * SIGKILLs serve's process group right after its first ACCEPT with a RESERVE reached the master: once its log (-v 1)
 * shows `action ACCEPT`, the local agents' totals are polled every 2 ms and serve is killed the moment one holds a
 * reservation of `role`. Resolves with serve's log line.
 */
function killAfterReserve(serve: ServeProc, role: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    let poll: NodeJS.Timeout | undefined
    const onData = (d: Buffer): void => {
      buf = (buf + d.toString('utf8')).slice(-20_000)
      const m = /action ACCEPT/.exec(buf)
      if (!m || poll) return
      const line = buf.slice(buf.lastIndexOf('\n', m.index) + 1).split('\n')[0] ?? m[0]
      poll = setInterval(() => {
        if (!anyReserved(role)) return
        try {
          process.kill(-serve.child.pid!, 'SIGKILL')
        } catch {
          /* gone */
        }
        done()
        resolve(line)
      }, 2)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`serve's ACCEPT never reserved anything within ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      clearInterval(poll)
      serve.child.stdout?.off('data', onData)
      serve.child.stderr?.off('data', onData)
    }
    serve.child.stdout?.on('data', onData)
    serve.child.stderr?.on('data', onData)
  })
}

/** Everything reserved to `role` is the running members' (one volume each, nothing where none runs). */
async function noLeak(role: string, adminUrl: string, n: number, timeoutMs: number): Promise<VolumeMember[]> {
  let last = ''
  try {
    return await until(
      `no reservation or volume of ${role} leaked`,
      async () => {
        const ms = (await waitHealthyMembers(adminUrl, n, 1000).catch(() => null)) as VolumeMember[] | null
        if (!ms) return undefined
        const r = await rm.reserved(role)
        const leaks = reservationLeaks(r, ms)
        const vols = r.flatMap((x) => x.volumes).sort()
        const mine = ms.map((m) => m.volume?.persistence_id ?? '').sort()
        last = JSON.stringify({leaks, reserved: r, members: mine})
        return leaks.length === 0 && JSON.stringify(vols) === JSON.stringify(mine) ? ms : undefined
      },
      timeoutMs,
      500,
    )
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${last}`)
  }
}

describe('serve with a role: leftovers of a crash', {timeout: 600_000}, () => {
  before(async () => {
    // Room for three clusters' reservations per agent: the earlier tests' stay (their serves stop, their volumes do not).
    rm = await startRoleMesos(fileLogs, {agents: 4, pingTimeoutMs: 3000, cpus: 8, mem: 16_384, disk: 40_000})
    fileLogs.add('executor sandboxes', () => sandboxLogs(rm.workDir))
  })
  after(async () => {
    await rm?.stop()
  })

  it('an unknown reservation and volume of the cluster (operator API) is released after --leftover-grace, counted in /stats and /metrics', {
    timeout: 240_000,
  }, async () => {
    const cluster = 'pvleft'
    const role = 'etcd-pv-left'
    const logs = new Logs()
    logs.add('file', () => fileLogs.dump())
    await scenario(logs, async () => {
      suite.cleanups.push(() => sweepCluster(cluster))
      const agent = rm.mesos.agents[3]!
      await until('agent 4 registered', () => agent.id !== '', 10_000, 50)
      const member = `${cluster}-1`
      const pid = `etcd-mesos.${cluster}.${member}.0123abcd`
      const reservation = {
        type: 'DYNAMIC',
        role,
        principal: 'it-pv',
        labels: {
          labels: [
            {key: 'etcd-mesos/cluster', value: cluster},
            {key: 'etcd-mesos/member', value: member},
          ],
        },
      }
      const [lo] = rm.portRange
      const res = (name: string, extra: Partial<Resource>): Resource =>
        ({name, reservations: [reservation], ...extra}) as unknown as Resource
      const reserve = [
        res('cpus', {type: 'SCALAR', scalar: {value: 1.1}}),
        res('mem', {type: 'SCALAR', scalar: {value: 512}}),
        res('disk', {type: 'SCALAR', scalar: {value: 1000}}),
        res('ports', {type: 'RANGES', ranges: {range: [{begin: lo + 198, end: lo + 199}]}}),
      ]
      let r = await operator(rm.url, {type: 'RESERVE_RESOURCES', reserve_resources: {agent_id: {value: agent.id}, resources: reserve}})
      assert.equal(r.status, 202, r.body)
      const volume = res('disk', {
        type: 'SCALAR',
        scalar: {value: 1000},
        disk: {persistence: {id: pid, principal: 'it-pv'}, volume: {mode: 'RW', container_path: 'etcd-data'}},
      })
      r = await operator(rm.url, {type: 'CREATE_VOLUMES', create_volumes: {agent_id: {value: agent.id}, volumes: [volume]}})
      assert.equal(r.status, 202, r.body)
      assert.deepEqual(
        (await rm.reserved(role)).flatMap((x) => x.volumes),
        [pid],
        'the master lists the leftover volume',
      )
      assert.ok(volumeDir(rm.agentDir(3), role, pid), 'the leftover volume directory exists')

      const serve = await startServe(
        roleArgs({cluster, master: rm.hostPort, role, zk: suite.zk().url, extra: ['--leftover-grace', '3']}),
        logs,
      )
      suite.cleanups.push(() => serve.stop())
      const ms = await noLeak(role, serve.adminUrl, 3, 120_000)
      assert.ok(!ms.some((m) => m.volume?.persistence_id === pid))
      assert.equal(volumeDir(rm.agentDir(3), role, pid), null, "the leftover volume's directory is removed")
      const st = await stats(serve.adminUrl)
      assert.ok(st.leftovers_cleaned >= 1, `leftovers_cleaned ${st.leftovers_cleaned}`)
      assert.ok((metricValue(await metricsText(serve.adminUrl), 'etcd_mesos_leftover_reservations_cleaned_total') ?? 0) >= 1)
      assert.match(serve.log(), /releasing a leftover reservation unknown to the records/)
    })
  })

  it('serve SIGKILLed right after its first ACCEPT with RESERVE/CREATE, restarted: healthy, no leak after the grace period', {
    timeout: 300_000,
  }, async () => {
    const cluster = 'pvkill'
    const role = 'etcd-pv-kill'
    const logs = new Logs()
    logs.add('file', () => fileLogs.dump())
    await scenario(logs, async () => {
      suite.cleanups.push(() => sweepCluster(cluster))
      const args = roleArgs({cluster, master: rm.hostPort, role, zk: suite.zk().url, extra: ['--leftover-grace', '3']})
      const first = await startServe([...args, '-v', '1'], logs, 'serve (killed)')
      suite.cleanups.push(() => first.stop())
      const line = await killAfterReserve(first, role, 120_000)
      await first.exit
      logs.add('killed at', () => line)
      const reservedAtKill = await rm.reserved(role)
      const serve = await startServe(args, logs, 'serve (restarted)')
      suite.cleanups.push(() => serve.stop())
      const ms = await noLeak(role, serve.adminUrl, 3, 180_000)
      const written = await putKeys(ms[0]!.client_url, 'k/', 5)
      const got = await readPrefix(
        ms.map((m) => m.client_url),
        'k/',
      )
      assert.equal(got.size, written.size)
      process.stderr.write(
        `# killed at: ${line.slice(0, 200)}\n# reserved at the kill: ${JSON.stringify(reservedAtKill)}\n# stats: ${JSON.stringify(await stats(serve.adminUrl))}\n`,
      )
    })
  })

  it('serve SIGKILLed after its ACCEPT while cut off from ZooKeeper (its records never stored), restarted: the leftovers are released, no leak', {
    timeout: 300_000,
  }, async () => {
    const cluster = 'pvlost'
    const role = 'etcd-pv-nozk'
    const logs = new Logs()
    logs.add('file', () => fileLogs.dump())
    await scenario(logs, async () => {
      suite.cleanups.push(() => sweepCluster(cluster))
      const args = roleArgs({cluster, master: rm.hostPort, role, zk: suite.zk().url, extra: ['--leftover-grace', '3']})
      // Every agent's free cpus reserved to another role first: the first serve subscribes and stores its framework id
      // (so the restarted serve is the same framework: it kills the killed one's tasks it does not know, and their
      // reservations are offered again) but cannot launch; its ZooKeeper is cut off, then the cpus are freed.
      const blocked = rm.mesos.agents.map((a) => ({
        agent_id: {value: a.id},
        resources: [
          {
            name: 'cpus',
            type: 'SCALAR',
            scalar: {
              value: a.port
                .totalResources()
                .filter((r) => r.name === 'cpus' && (r.reservations ?? []).length === 0)
                .reduce((n, r) => n + (r.scalar?.value ?? 0), 0),
            },
            reservations: [{type: 'DYNAMIC', role: 'blocker'}],
          },
        ],
      }))
      for (const b of blocked) {
        const r = await operator(rm.url, {type: 'RESERVE_RESOURCES', reserve_resources: b})
        assert.equal(r.status, 202, r.body)
      }
      // the first serve reaches ZooKeeper through a proxy that is switched to a black hole before its launches
      const proxy = new NetProxy({listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: suite.zk().port})
      await proxy.start()
      suite.cleanups.push(async () => proxy.close())
      const firstArgs = roleArgs({cluster, master: rm.hostPort, role, zk: `zk://127.0.0.1:${proxy.port}`, extra: ['-v', '1']})
      const first = await startServe(firstArgs, logs, 'serve (killed)')
      suite.cleanups.push(() => first.stop())
      await until(
        'the first serve to store its framework id',
        async () => {
          const d = await zkRead((c) => c.get(`/etcd-mesos/${cluster}/state`)).catch(() => null)
          return d ? (JSON.parse(d.data.toString('utf8')) as {frameworkId?: string | null}).frameworkId : undefined
        },
        60_000,
        20,
      )
      assert.doesNotMatch(first.log(), /action ACCEPT/, 'nothing launched while the cpus are reserved to another role')
      // its records of the launches (PERSIST is not awaited before the ACCEPT) never reach ZooKeeper
      proxy.setMode({mode: 'blackhole'})
      for (const b of blocked) {
        const r = await operator(rm.url, {type: 'UNRESERVE_RESOURCES', unreserve_resources: b})
        assert.equal(r.status, 202, r.body)
      }
      const line = await killAfterReserve(first, role, 120_000)
      await first.exit
      logs.add('killed at', () => line)
      const reservedAtKill = await rm.reserved(role)
      assert.ok(reservedAtKill.length >= 1, 'a reservation was made before the kill')
      const serve = await startServe(args, logs, 'serve (restarted)')
      suite.cleanups.push(() => serve.stop())
      const ms = await noLeak(role, serve.adminUrl, 3, 180_000)
      const killedVolumes = reservedAtKill.flatMap((r) => r.volumes)
      assert.ok(!ms.some((m) => killedVolumes.includes(m.volume?.persistence_id ?? '')), 'the members have volumes of their own')
      assert.ok((await stats(serve.adminUrl)).leftovers_cleaned >= 1)
      const written = await putKeys(ms[0]!.client_url, 'k/', 5)
      const got = await readPrefix(
        ms.map((m) => m.client_url),
        'k/',
      )
      assert.equal(got.size, written.size)
    })
  })
})
