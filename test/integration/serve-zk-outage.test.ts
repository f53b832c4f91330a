/**
 * `etcd-mesos serve` while its ZooKeeper is away for several session timeouts (issue 11 item 10), against the
 * REAL processes: real ZooKeeper (frozen with SIGSTOP, as an operator saw it), `etcd-mesos mesos-local`, real
 * etcd members launched by our executor, `serve` as a subprocess. While the Mesos master stays up the scheduler
 * keeps running and repairs a member killed during the outage; when ZooKeeper comes back (the old session
 * expired: serve reaches ZooKeeper through a proxy kept blackholed until then) it re-joins the election, stays
 * the leader and the persisted state catches up.
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-zk-outage.test.ts (needs dist/).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {describe, it} from 'node:test'
import type {ZkClient} from '../../src/lib/zk/client.js'
import {withZkClient} from '../helpers/zookeeper.js'
import {freeze} from '../helpers/zk-freeze.js'
import {stopTracked} from '../helpers/procs.js'
import {NetProxy} from '../resilience/netproxy.js'
import {
  ETCD_BIN,
  Logs,
  RUN_JS,
  etcdNames,
  etcdPids,
  getJson,
  killEtcd,
  killEtcdAndData,
  memberList,
  putKeys,
  readPrefix,
  sandboxLogs,
  scenario,
  serveSuite,
  startMesosLocal,
  startServe,
  until,
  waitHealthyMembers,
  type MemberView,
  type ServeProc,
} from '../helpers/serve.js'

const suite = serveSuite()
const cleanups = suite.cleanups

const zkRead = <T>(fn: (c: ZkClient) => Promise<T>): Promise<T> => withZkClient(suite.zk().url, fn)

/** Fails at once when serve has exited (instead of waiting out a timeout). */
function assertRunning(serve: ServeProc): void {
  if (serve.exited()) throw new Error(`serve exited during the ZooKeeper outage:\n${serve.log().slice(-3000)}`)
}

async function persistedTasks(base: string): Promise<string[] | null> {
  const d = await zkRead((c) => c.get(`${base}/state`)).catch(() => null)
  return d ? (JSON.parse(d.data.toString('utf8')) as {tasks: {taskId: string}[]}).tasks.map((t) => t.taskId) : null
}

/** Pids of processes whose command line or working directory names `taskId` (its sandbox: executors/<task id>/). */
function processesOf(taskId: string): number[] {
  const out: number[] = []
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8')
      const cwd = fs.readlinkSync(`/proc/${d}/cwd`)
      if (argv.includes(taskId) || cwd.includes(taskId)) out.push(Number(d))
    } catch {
      /* gone, or not ours */
    }
  }
  return out
}

/**
 * A TCP proxy between serve and ZooKeeper: blackholed during the outage and until ZooKeeper, thawed, has
 * expired serve's session (its election node gone). Without it, whether the session expires is a race: a
 * reconnect queued while the server was stopped may revalidate it before the server's expiry thread runs.
 */
async function zkProxy(): Promise<NetProxy> {
  const proxy = new NetProxy({listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: suite.zk().port})
  await proxy.start()
  cleanups.push(() => proxy.close())
  return proxy
}

function serveArgs(master: string, cluster: string, zkUrl = suite.zk().url): string[] {
  return [
    '--master',
    master,
    '--cluster-name',
    cluster,
    '--cluster-size',
    '3',
    '--health-interval',
    '1',
    '--bootstrap-wait',
    '3',
    '--reseed-timeout',
    '8',
    '--member-grace',
    '5',
    '--failover-timeout-seconds',
    '300',
    '--mesos-offer-refuse-seconds',
    '1',
    '--executor-bin',
    RUN_JS,
    '--etcd-bin',
    ETCD_BIN,
    '--zk-framework-persist',
    `${zkUrl}/etcd-mesos`,
  ]
}

describe('serve with ZooKeeper away for several session timeouts', {timeout: 480_000}, () => {
  it('keeps running, repairs a member killed during the outage, stays the leader and persists the state once ZooKeeper is back', {
    timeout: 420_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await startMesosLocal({}, logs)
      cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      const cluster = 'zkaway'
      const base = `/etcd-mesos/${cluster}`
      const proxy = await zkProxy()
      const serve = await startServe(serveArgs(mesos.hostPort, cluster, `zk://127.0.0.1:${proxy.port}`), logs)
      cleanups.push(() => serve.stop())
      const before = await waitHealthyMembers(serve.adminUrl, 3, 60_000)
      await until(
        'the 3 tasks persisted',
        async () => {
          const d = await zkRead((c) => c.get(`${base}/state`))
          const doc = d ? (JSON.parse(d.data.toString('utf8')) as {tasks: {taskId: string}[]}) : null
          return doc && before.every((m) => doc.tasks.some((t) => t.taskId === m.task_id))
        },
        20_000,
        200,
      )
      const candidatesBefore = await zkRead((c) => c.children(`${base}/election`))
      assert.equal(candidatesBefore.length, 1, 'one candidate: serve')

      // ZooKeeper away for more than three session timeouts (serve asks for 10 s), a member lost meanwhile.
      proxy.setMode({mode: 'blackhole'})
      const thaw = freeze(suite.zk())
      cleanups.push(async () => thaw())
      const frozenAt = Date.now()
      const victim = before[1]!
      await killEtcdAndData(victim.name)
      const repaired = await until(
        'the lost member replaced WHILE ZooKeeper is away',
        async () => {
          assertRunning(serve)
          const ms = await waitHealthyMembers(serve.adminUrl, 3, 1000).catch(() => null)
          return ms && !ms.some((m) => m.name === victim.name) ? ms : undefined
        },
        150_000,
        500,
      )
      const replacement = repaired.find((m) => !before.some((b) => b.name === m.name))
      assert.ok(replacement, 'a new member replaced the lost one')
      assert.equal(etcdPids(replacement.name).length, 1, 'its etcd runs')
      const list = await memberList(repaired.map((m) => m.client_url))
      assert.deepEqual(
        list.map((m) => m.name).sort(),
        repaired.map((m) => m.name).sort(),
        "etcd's member list: the lost member removed, the replacement a member",
      )
      await until(
        'three session timeouts of outage',
        () => {
          assertRunning(serve)
          return Date.now() - frozenAt >= 35_000
        },
        60_000,
        500,
      )
      thaw()
      await until(
        "ZooKeeper to expire serve's session (its election node gone)",
        async () => {
          assertRunning(serve)
          const ch = await zkRead((c) => c.children(`${base}/election`)).catch(() => null)
          return ch !== null && !ch.includes(candidatesBefore[0]!)
        },
        60_000,
        300,
      )
      proxy.setMode({mode: 'normal'})

      // Back: the old session expired; serve re-joins the election (a new candidate node), still leads, and
      // the persisted state catches up with what was done meanwhile.
      await until(
        'serve to re-join the election with a new session',
        async () => {
          assertRunning(serve)
          const ch = await zkRead((c) => c.children(`${base}/election`)).catch(() => null)
          return ch && ch.length === 1 && ch[0] !== candidatesBefore[0]
        },
        60_000,
        500,
      )
      const doc = await until(
        'the persisted state to list the replacement',
        async () => {
          assertRunning(serve)
          const d = await zkRead((c) => c.get(`${base}/state`)).catch(() => null)
          const parsed = d ? (JSON.parse(d.data.toString('utf8')) as {tasks: {taskId: string; memberName: string}[]}) : null
          return parsed && repaired.every((m) => parsed.tasks.some((t) => t.taskId === m.task_id)) ? parsed : undefined
        },
        60_000,
        500,
      )
      assert.ok(!doc.tasks.some((t) => t.taskId === victim.task_id), "the lost member's record is gone from the persisted state")
      type Fo = {subscribed: boolean; mode: string; scheduler: {leader: {admin_url: string | null} | null}}
      const fo = await until(
        'serve to show itself as the leader, subscribed',
        async () => {
          assertRunning(serve)
          const r = await getJson<Fo>(`${serve.adminUrl}/failover-status`)
          return r.status === 200 && r.body.subscribed && r.body.scheduler.leader?.admin_url === `${serve.adminUrl}/` ? r.body : undefined
        },
        30_000,
        300,
      )
      assert.equal(fo.mode, 'MUTABLE')
      const after: MemberView[] = await waitHealthyMembers(serve.adminUrl, 3, 30_000)
      assert.deepEqual(
        after.map((m) => m.task_id).sort(),
        repaired.map((m) => m.task_id).sort(),
        'nothing relaunched after ZooKeeper came back',
      )
      assertRunning(serve)
      assert.doesNotMatch(serve.log(), /stopping after a fatal error/)
    })
  })

  it('a crash while ZooKeeper is away: the task launched but not persisted is found by reconciliation, killed and replaced; nothing leaked or duplicated', {
    timeout: 420_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await startMesosLocal({}, logs)
      cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      const cluster = 'zkcrash'
      const base = `/etcd-mesos/${cluster}`
      const first = await startServe(serveArgs(mesos.hostPort, cluster), logs, 'serve#1')
      cleanups.push(() => first.stop())
      const before = await waitHealthyMembers(first.adminUrl, 3, 60_000)
      const written = await putKeys(before[0]!.client_url, 'crash/', 30)
      await until(
        'the 3 tasks persisted',
        async () => {
          const t = await persistedTasks(base)
          return t && before.every((m) => t.includes(m.task_id))
        },
        20_000,
        200,
      )

      const thaw = freeze(suite.zk())
      cleanups.push(async () => thaw())
      const victim = before[2]!
      await killEtcd(victim.name)
      const repaired = await until(
        'the lost member replaced while ZooKeeper is away',
        async () => {
          assertRunning(first)
          const ms = await waitHealthyMembers(first.adminUrl, 3, 1000).catch(() => null)
          return ms && !ms.some((m) => m.name === victim.name) ? ms : undefined
        },
        150_000,
        500,
      )
      const launched = repaired.find((m) => !before.some((b) => b.name === m.name))!
      // The scheduler crashes before ZooKeeper comes back: the replacement's record was never stored.
      await stopTracked(first.child, 'SIGKILL')
      thaw()
      const stored = await until('ZooKeeper back', () => persistedTasks(base), 30_000, 300)
      assert.ok(
        !stored.includes(launched.task_id),
        `the replacement ${launched.task_id} was launched but not persisted (stored: ${stored.join(', ')})`,
      )

      const second = await startServe(serveArgs(mesos.hostPort, cluster), logs, 'serve#2')
      cleanups.push(() => second.stop())
      // Reconciliation reports the unknown task: a stray, killed; its etcd member, unbacked, removed; a new member replaces it.
      const after = await until(
        '3 healthy members, the unpersisted task gone, every etcd process a member',
        async () => {
          assertRunning(second)
          const ms = await waitHealthyMembers(second.adminUrl, 3, 1000).catch(() => null)
          if (!ms || ms.some((m) => m.task_id === launched.task_id || m.name === victim.name)) return undefined
          const names = ms.map((m) => m.name).sort()
          const list = await memberList(ms.map((m) => m.client_url)).catch(() => null)
          const listed = list?.map((m) => m.name).sort() ?? []
          return JSON.stringify(etcdNames(cluster)) === JSON.stringify(names) && JSON.stringify(listed) === JSON.stringify(names)
            ? ms
            : undefined
        },
        180_000,
        500,
      )
      assert.equal(new Set(after.map((m) => m.agent_id)).size, 3, 'one member per agent')
      // (The stored member counter is older too: the new member may reuse the name, never the task id.)
      await until(
        'no process of the unpersisted task left (its executor and etcd)',
        () => processesOf(launched.task_id).length === 0,
        30_000,
        300,
      )
      for (const m of after) assert.equal(etcdPids(m.name).length, 1, `one etcd process runs ${m.name}`)
      const t = await until(
        'the persisted state to list the members',
        async () => {
          const ts = await persistedTasks(base)
          return ts && after.every((m) => ts.includes(m.task_id)) ? ts : undefined
        },
        30_000,
        300,
      )
      assert.ok(!t.includes(launched.task_id))
      const got = await readPrefix(
        after.map((m) => m.client_url),
        'crash/',
      )
      assert.equal(got.size, written.size, 'the keys written before survived')
      for (const [k, v] of written) assert.equal(got.get(k), v)
    })
  })

  it('ZooKeeper away from the leader only: the standby takes over, Mesos fails the old leader over and it exits 1 naming why (no fight)', {
    timeout: 300_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await startMesosLocal({}, logs)
      cleanups.push(() => mesos.stop())
      const cluster = 'zkfence'
      const proxy = await zkProxy()
      const a = await startServe(serveArgs(mesos.hostPort, cluster, `zk://127.0.0.1:${proxy.port}`), logs, 'serve A')
      cleanups.push(() => a.stop())
      const before = await waitHealthyMembers(a.adminUrl, 3, 60_000)
      await until(
        'the 3 tasks persisted',
        async () => {
          const t = await persistedTasks(`/etcd-mesos/${cluster}`)
          return t && before.every((m) => t.includes(m.task_id))
        },
        20_000,
        200,
      )
      const b = await startServe(serveArgs(mesos.hostPort, cluster), logs, 'serve B')
      cleanups.push(() => b.stop())
      type Fo = {framework_id: string | null; subscribed: boolean; mode: string}
      await until('B to stand by', async () => (await getJson<Fo>(`${b.adminUrl}/failover-status`)).body?.mode === 'STANDBY', 30_000, 200)
      const fid = (await getJson<Fo>(`${a.adminUrl}/failover-status`)).body.framework_id

      // A loses ZooKeeper (B does not): A's session expires, B leads and subscribes with the same framework id.
      proxy.setMode({mode: 'blackhole'})
      const code = await until('A to exit', async () => (a.exited() ? a.exit : undefined), 120_000, 300)
      assert.equal(code, 1, 'A exits 1')
      assert.match(a.log(), /stopping after a fatal error: another scheduler subscribed with framework id/, 'A logs why it stopped')
      const fo = await until(
        'B to lead, subscribed and reconciled',
        async () => {
          const r = await getJson<Fo>(`${b.adminUrl}/failover-status`)
          return r.status === 200 && r.body.subscribed && r.body.mode === 'MUTABLE' ? r.body : undefined
        },
        60_000,
        300,
      )
      assert.equal(fo.framework_id, fid, 'same framework')
      const after = await waitHealthyMembers(b.adminUrl, 3, 30_000)
      assert.deepEqual(after.map((m) => m.task_id).sort(), before.map((m) => m.task_id).sort(), 'no relaunch')
      assert.ok(!b.exited(), 'B keeps running (no fight)')
    })
  })
})
