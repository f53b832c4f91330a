/**
 * End-to-end tests of `etcd-mesos serve` against the REAL processes (issue 4's "Done when" list):
 * `etcd-mesos mesos-local` (master + 3 agents, a subprocess; in-process for the master-loss scenario),
 * real ZooKeeper (one for the whole file), real etcd started by our executor on the local agents, and
 * `serve` as a subprocess. Each scenario has its own cluster name, mesos-local and agent port range;
 * every process is stopped in afterEach (and the work dirs swept), even when an assertion failed,
 * and the serve/mesos-local/executor logs are printed when a scenario fails.
 * Run: node --import tsx --test test/integration/serve.test.ts   (needs a current build: dist/).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'
import {ZkClient} from '../../src/lib/zk/client.js'
import {randomPortRange, waitFor} from '../helpers/ports.js'
import {stopTracked} from '../helpers/procs.js'
import {
  ETCD_BIN,
  Logs,
  RUN_JS,
  etcdPids,
  getJson,
  killEtcd,
  killEtcdAndData,
  localCount,
  memberList,
  sandboxLogs,
  putKeys,
  readPrefix,
  scenario,
  until,
  serveSuite,
  startMesosLocal,
  startServe,
  stats,
  sweep,
  waitHealthyMembers,
  waitStats,
  type MemberView,
  type ServeProc,
} from '../helpers/serve.js'

const suite = serveSuite()
const cleanups = suite.cleanups

/** Flags every scenario passes (fast timers; double-dash style). */
function fastFlags(cluster: string, persistBase = '/etcd-mesos'): string[] {
  return [
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
    '--executor-bin',
    RUN_JS,
    '--etcd-bin',
    ETCD_BIN,
    '--zk-framework-persist',
    `${suite.zk().url}${persistBase}`,
    // e.g. IT_SERVE_ARGS="--mesos-offer-refuse-seconds 1" to take the decline filters out of the timings
    ...(process.env.IT_SERVE_ARGS ?? '').split(/\s+/).filter((a) => a !== ''),
  ]
}

async function mesosFor(logs: Logs, opts: Parameters<typeof startMesosLocal>[0] = {}) {
  const mesos = await startMesosLocal(opts, logs)
  cleanups.push(() => mesos.stop())
  logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
  return mesos
}

async function serveFor(args: string[], logs: Logs, label = 'serve', opts: {adminPort?: number} = {}): Promise<ServeProc> {
  const s = await startServe(args, logs, label, opts)
  cleanups.push(() => s.stop())
  return s
}

async function zkState(cluster: string, base = '/etcd-mesos'): Promise<{frameworkId: string | null; tasks: {taskId: string}[]}> {
  const c = await ZkClient.connect(`${suite.zk().url}${base}`)
  try {
    const node = await c.get(`${base}/${cluster}/state`)
    assert.ok(node, `ZooKeeper node ${base}/${cluster}/state exists`)
    return JSON.parse(node.data.toString('utf8')) as {frameworkId: string | null; tasks: {taskId: string}[]}
  } finally {
    await c.close()
  }
}

const clientUrls = (ms: MemberView[]): string[] => ms.map((m) => m.client_url)
const taskIds = (ms: MemberView[]): string[] => ms.map((m) => m.task_id).sort()

/** Waits until every member's own (serializable) view holds `n` keys under `prefix`: all caught up. */
async function waitReplicated(urls: string[], prefix: string, n: number): Promise<void> {
  await waitFor(
    `every member to hold the ${n} keys`,
    async () => {
      for (const u of urls) if ((await localCount(u, prefix)) !== n) return false
      return true
    },
    15_000,
    100,
  )
}

async function assertKeys(urls: string[], prefix: string, written: Map<string, string>): Promise<void> {
  const got = await waitFor('a linearizable read of the keys', () => readPrefix(urls, prefix), 15_000, 200)
  assert.equal(got.size, written.size, `all ${written.size} keys written before are readable`)
  for (const [k, v] of written) assert.equal(got.get(k), v, `key ${k} kept its value`)
}

describe('etcd-mesos serve against real mesos-local, ZooKeeper and etcd', {timeout: 480_000}, () => {
  it("1. the operators' invocation (Go-style flags) runs 3 healthy members and persists the framework id", {timeout: 60_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await mesosFor(logs)
      const logDir = await mkdtemp(path.join(os.tmpdir(), 'it-logdir-'))
      const serve = await serveFor(
        [
          `-log_dir=${logDir}`,
          `-master=${mesos.hostPort}`,
          '-cluster-name=mycluster',
          '-cluster-size=3',
          `-executor-bin=${RUN_JS}`,
          `-etcd-bin=${ETCD_BIN}`,
          `-zk-framework-persist=${suite.zk().url}/etcd-mesos`,
          '-health-interval=1',
          '-bootstrap-wait=3',
          '-reseed-timeout=8',
          '-member_grace=5',
          '-failover-timeout-seconds=300',
        ],
        logs,
      )
      const ms = await waitHealthyMembers(serve.adminUrl, 3, 40_000)
      assert.deepEqual(
        ms.map((m) => m.name),
        ['mycluster-1', 'mycluster-2', 'mycluster-3'],
      )
      assert.equal(new Set(ms.map((m) => m.agent_id)).size, 3, 'one member per agent')

      const list = await memberList(clientUrls(ms))
      assert.deepEqual(list.map((m) => m.name).sort(), ['mycluster-1', 'mycluster-2', 'mycluster-3'])
      assert.ok(
        list.every((m) => !m.isLearner),
        'all voters',
      )

      const fo = await getJson<{framework_id: string | null; subscribed: boolean; mode: string}>(`${serve.adminUrl}/failover-status`)
      assert.equal(fo.status, 200)
      assert.match(fo.body.framework_id ?? '', /-0000$/)
      assert.equal(fo.body.subscribed, true)
      const doc = await until(
        'the framework id persisted in ZooKeeper',
        async () => {
          const d = await zkState('mycluster')
          return d.frameworkId !== null && d.tasks.length === 3 ? d : undefined
        },
        10_000,
      )
      assert.equal(doc.frameworkId, fo.body.framework_id)

      const hz = await getJson(`${serve.adminUrl}/healthz`)
      assert.equal(hz.status, 200)
      const metrics = await fetch(`${serve.adminUrl}/metrics`).then((r) => r.text())
      assert.match(metrics, /^etcd_mesos_healthy\{cluster="mycluster"\} 1$/m)
      assert.match(metrics, /^etcd_mesos_running_servers\{cluster="mycluster"\} 3$/m)

      const logFile = path.join(logDir, 'etcd-mesos-scheduler.log')
      assert.ok(fs.existsSync(logFile), `log file ${logFile} exists`)
      assert.match(fs.readFileSync(logFile, 'utf8'), /subscribed/)
    })
  })

  it("2. SIGKILL of one member's etcd: replaced, removed from the member list, keys kept", {timeout: 90_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await mesosFor(logs)
      const serve = await serveFor([...fastFlags('replace'), '--master', mesos.hostPort], logs)
      const before = await waitHealthyMembers(serve.adminUrl, 3, 40_000)
      const written = await putKeys(before[0]!.client_url, 'k2/', 40)
      await waitReplicated(clientUrls(before), 'k2/', 40)
      const victim = before[1]!
      await killEtcd(victim.name)

      const afterMs = await until(
        'a replacement member',
        async () => {
          const ms = await waitHealthyMembers(serve.adminUrl, 3, 1000).catch(() => null)
          return ms && !ms.some((m) => m.name === victim.name) ? ms : undefined
        },
        60_000,
        300,
      )
      const replacement = afterMs.find((m) => !before.some((b) => b.name === m.name))
      assert.ok(replacement, 'a new member name appears')
      assert.equal(replacement.host, victim.host, 'the replacement runs on the freed agent')
      assert.equal(etcdPids(replacement.name).length, 1, 'its etcd process runs')

      const list = await memberList(clientUrls(afterMs))
      assert.equal(list.length, 3)
      assert.ok(!list.some((m) => m.name === victim.name || m.id === victim.member_id), 'the dead member is gone from the member list')
      assert.ok(
        list.some((m) => m.name === replacement.name && !m.isLearner),
        'the replacement is a voting member',
      )
      await assertKeys(clientUrls(afterMs), 'k2/', written)
      const st = await stats(serve.adminUrl)
      assert.ok(st.failed_servers >= 1, `failed_servers ${st.failed_servers} >= 1`)
      assert.equal(st.launched_servers, 4)
    })
  })

  it('3. scheduler SIGKILL + restart: same framework id, nothing relaunched, healthy', {timeout: 90_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await mesosFor(logs)
      const flags = [...fastFlags('restart'), '--master', mesos.hostPort]
      const first = await serveFor(flags, logs, 'serve#1')
      const before = await waitHealthyMembers(first.adminUrl, 3, 40_000)
      const st0 = await stats(first.adminUrl)
      const fo0 = (await getJson<{framework_id: string}>(`${first.adminUrl}/failover-status`)).body
      await waitFor('the 3 running tasks persisted', async () => (await zkState('restart')).tasks.length === 3, 10_000)

      await stopTracked(first.child, 'SIGKILL')
      const second = await serveFor(flags, logs, 'serve#2')
      // The dead scheduler's election node lives until its ZooKeeper session expires (10 s).
      const fo = await until(
        'the restarted scheduler to subscribe and reconcile',
        async () => {
          const r = await getJson<{framework_id: string; subscribed: boolean; mode: string; reconciliation: {state: string}}>(
            `${second.adminUrl}/failover-status`,
          )
          return r.status === 200 && r.body.subscribed && r.body.mode === 'MUTABLE' ? r.body : undefined
        },
        40_000,
        200,
      )
      assert.equal(fo.framework_id, fo0.framework_id, 'the same framework id (from /failover-status)')
      assert.equal(fo.reconciliation.state, 'done')
      assert.equal((await zkState('restart')).frameworkId, fo0.framework_id, 'the same framework id in ZooKeeper')
      const after = await waitHealthyMembers(second.adminUrl, 3, 20_000)
      assert.deepEqual(taskIds(after), taskIds(before), 'the same tasks')
      const st = await stats(second.adminUrl)
      assert.equal(st.launched_servers, st0.launched_servers, 'nothing relaunched')
      assert.equal(st.failed_servers, 0)
      assert.match(mesos.log(), /./) // the master kept running
    })
  })

  /** Bootstraps cluster `name`, writes keys, loses two members with their data; returns what is needed after. */
  async function loseQuorum(serve: ServeProc, prefix: string) {
    const before = await waitHealthyMembers(serve.adminUrl, 3, 40_000)
    const written = await putKeys(before[0]!.client_url, prefix, 50)
    await waitReplicated(clientUrls(before), prefix, 50)
    await killEtcdAndData(before[0]!.name)
    await killEtcdAndData(before[1]!.name)
    return {before, written, survivor: before[2]!}
  }

  it('4. two of three etcds killed with their data: livelock counted, automatic re-seed, 3 healthy members with the keys', {
    timeout: 120_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await mesosFor(logs)
      const serve = await serveFor([...fastFlags('reseed'), '--master', mesos.hostPort], logs)
      const {written} = await loseQuorum(serve, 'k4/')
      const ll = await waitStats(serve.adminUrl, 'the livelock to be counted', (s) => s.cluster_livelocks >= 1, 30_000)
      assert.equal(ll.cluster_livelocks, 1, 'one episode')
      await waitStats(serve.adminUrl, 'an automatic re-seed', (s) => s.cluster_reseeds >= 1, 30_000)
      const ms = await waitHealthyMembers(serve.adminUrl, 3, 60_000)
      await assertKeys(clientUrls(ms), 'k4/', written)
      const list = await memberList(clientUrls(ms))
      assert.equal(list.length, 3)
      assert.ok(list.every((m) => !m.isLearner))
      const st = await stats(serve.adminUrl)
      assert.equal(st.cluster_livelocks, 1, 'still one episode')
      assert.equal(st.livelocked, false)
    })
  })

  it('5. -auto-reseed=false: stays livelocked, POST /reseed re-seeds, 3 healthy members with the keys', {timeout: 120_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await mesosFor(logs)
      const serve = await serveFor([...fastFlags('manual'), '-auto-reseed=false', '--master', mesos.hostPort], logs)
      await waitHealthyMembers(serve.adminUrl, 3, 40_000)
      const refused = await getJson<{error?: string}>(`${serve.adminUrl}/reseed`, {
        method: 'POST',
        body: JSON.stringify({force: false}),
        headers: {'content-type': 'application/json'},
      })
      assert.equal(refused.status, 409, `a re-seed of a healthy cluster without force is refused: ${refused.text}`)

      const {written} = await loseQuorum(serve, 'k5/')
      const ll = await waitStats(serve.adminUrl, 'the livelock', (s) => s.livelocked && s.cluster_livelocks === 1, 30_000)
      // Past another --reseed-timeout (8 s) of livelock (server clock), nothing re-seeded by itself.
      const since = Number(ll.last_livelock_at)
      const later = await waitStats(serve.adminUrl, 'livelocked for another re-seed timeout', (_s) => Date.now() - since > 10_000, 60_000)
      assert.equal(later.cluster_reseeds, 0, 'no automatic re-seed')
      assert.equal(later.livelocked, true)
      assert.equal(later.healthy, 0)

      const res = await getJson<{op: string}>(`${serve.adminUrl}/reseed`, {
        method: 'POST',
        body: JSON.stringify({force: false}),
        headers: {'content-type': 'application/json'},
      })
      assert.equal(res.status, 202, `POST /reseed accepted: ${res.text}`)
      assert.match(res.body.op, /^[0-9a-f]+$/)
      const op = await until(
        'the re-seed operation to succeed',
        async () => {
          const r = await getJson<{status: string; message: string}>(`${serve.adminUrl}/reseed/${res.body.op}`)
          assert.equal(r.status, 200, r.text)
          assert.notEqual(r.body.status, 'failed', `re-seed failed: ${r.body.message}`)
          return r.body.status === 'succeeded' ? r.body : undefined
        },
        60_000,
        250,
      )
      assert.equal(op.status, 'succeeded')
      const ms = await waitHealthyMembers(serve.adminUrl, 3, 60_000)
      await assertKeys(clientUrls(ms), 'k5/', written)
      const st = await stats(serve.adminUrl)
      assert.equal(st.cluster_reseeds, 1)
    })
  })

  // The masters share mesos-local's registry: the new leader stays silent on reconciliation of tasks on agents
  // that have not re-registered yet (like real Mesos), so the scheduler waits instead of seeing TASK_LOST.
  it('6. master loss: disconnected (immutable), then re-subscribed to the new master and reconciled, members intact', {
    timeout: 90_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const {startLocalMesos} = await import('../../src/mesos-local/cluster.js')
      const workDir = await mkdtemp(path.join(os.tmpdir(), 'it-mesos-inproc-'))
      const [lo] = randomPortRange()
      const masterLog: string[] = []
      logs.add('in-process mesos-local', () => masterLog.slice(-400).join('\n'))
      logs.add('executor sandboxes', () => sandboxLogs(workDir))
      const mesos = await startLocalMesos({
        masters: 2,
        zk: `${suite.zk().url}/mesos-masterloss`,
        agents: 3,
        port: 0,
        workDir,
        allocationIntervalMs: 200,
        heartbeatIntervalSec: 2,
        agentResources: `cpus:4;mem:8192;disk:20000;ports:[${lo}-${lo + 199}]`,
        log: (l) => masterLog.push(l),
      })
      cleanups.push(async () => {
        await mesos.stop().catch(() => undefined)
        await sweep(workDir)
      })
      const serve = await serveFor([...fastFlags('masterloss'), '--master', `${suite.zk().url}/mesos-masterloss`], logs)
      const before = await waitHealthyMembers(serve.adminUrl, 3, 40_000)
      const st0 = await stats(serve.adminUrl)
      type Fo = {framework_id: string; subscribed: boolean; master: string | null; mode: string; reconciliation: {state: string}}
      const fo0 = (await getJson<Fo>(`${serve.adminUrl}/failover-status`)).body
      const leaderIdx = mesos.masters.findIndex((m) => m.isLeader())
      assert.ok(leaderIdx >= 0)
      assert.equal(fo0.master, new URL(mesos.masters[leaderIdx]!.url).host)

      // Watch /failover-status closely while the leading master dies.
      const seen: Fo[] = []
      let watching = true
      const watcher = (async () => {
        while (watching) {
          const r = await getJson<Fo>(`${serve.adminUrl}/failover-status`).catch(() => null)
          if (r?.status === 200) seen.push(r.body)
          await new Promise((res) => setTimeout(res, 25))
        }
      })()
      await mesos.killMaster(leaderIdx)
      const fo = await until(
        're-subscribed to the new master and reconciled',
        async () => {
          const last = seen.at(-1)
          return last?.subscribed && last.mode === 'MUTABLE' && last.master !== fo0.master ? last : undefined
        },
        30_000,
        100,
      ).finally(() => {
        watching = false
      })
      await watcher
      // The new master is elected at once here (the old one closed its ZooKeeper session), so the
      // DISCONNECTED window can be shorter than one poll: the core's log line is the evidence then.
      const down = seen.find((f) => !f.subscribed)
      if (down) assert.equal(down.mode, 'DISCONNECTED', 'not subscribed ⇒ DISCONNECTED (immutable)')
      else assert.match(serve.log(), /disconnected from the Mesos master: immutable until re-subscribed/)
      assert.equal(fo.framework_id, fo0.framework_id)
      assert.equal(fo.master, new URL(mesos.masters[1 - leaderIdx]!.url).host)
      assert.equal(fo.reconciliation.state, 'done')
      const after = await waitHealthyMembers(serve.adminUrl, 3, 20_000)
      assert.deepEqual(taskIds(after), taskIds(before), 'members intact')
      assert.equal((await stats(serve.adminUrl)).launched_servers, st0.launched_servers, 'nothing relaunched')
    })
  })

  it('7. HA: one of two schedulers leads; SIGKILL of the leader hands over to the standby, same framework, no relaunch', {
    timeout: 90_000,
  }, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await mesosFor(logs)
      const flags = [...fastFlags('ha'), '--master', mesos.hostPort]
      const a = await serveFor(flags, logs, 'serve A')
      const before = await waitHealthyMembers(a.adminUrl, 3, 40_000)
      const st0 = await stats(a.adminUrl)
      const b = await serveFor(flags, logs, 'serve B')
      type Fo = {
        framework_id: string | null
        subscribed: boolean
        mode: string
        scheduler: {id: string; leader: {admin_url: string | null} | null; standbys: {admin_url: string | null}[]}
      }
      const bFo = await until(
        'B to stand by',
        async () => {
          const r = await getJson<Fo>(`${b.adminUrl}/failover-status`)
          return r.status === 200 && r.body.mode === 'STANDBY' && r.body.scheduler.leader?.admin_url ? r.body : undefined
        },
        20_000,
      )
      assert.equal(bFo.scheduler.leader?.admin_url, `${a.adminUrl}/`)
      assert.ok(bFo.scheduler.standbys.some((s) => s.admin_url === `${b.adminUrl}/`))
      assert.equal((await getJson(`${b.adminUrl}/stats`)).status, 503, 'the standby answers /stats with 503')
      const aFo = (await getJson<Fo>(`${a.adminUrl}/failover-status`)).body
      assert.equal(aFo.subscribed, true)
      assert.ok(
        aFo.scheduler.standbys.some((s) => s.admin_url === `${b.adminUrl}/`),
        'the leader lists B as standby',
      )

      await stopTracked(a.child, 'SIGKILL')
      const fo = await until(
        'B to lead, subscribed and reconciled',
        async () => {
          const r = await getJson<Fo>(`${b.adminUrl}/failover-status`)
          return r.status === 200 && r.body.subscribed && r.body.mode === 'MUTABLE' ? r.body : undefined
        },
        40_000,
        200,
      )
      assert.equal(fo.framework_id, aFo.framework_id, 'same framework id')
      const after = await waitHealthyMembers(b.adminUrl, 3, 20_000)
      assert.deepEqual(taskIds(after), taskIds(before), 'no relaunch: the same tasks')
      assert.equal((await stats(b.adminUrl)).launched_servers, st0.launched_servers)
      assert.equal((await getJson(`${b.adminUrl}/stats`)).status, 200)
    })
  })
})
