/**
 * Benchmark of issue 4: what etcd-mesos costs on top of plain etcd, on loopback, with the real processes.
 *
 *   (a)  floor: plain etcd started by hand as a static 3-member cluster until a quorum read works on all
 *   (b)  `etcd-mesos serve --master local` (embedded Mesos, 3 agents) from spawn until /stats is healthy
 *        with 3 running members and /members shows 3 healthy voters
 *   (c)  single-member replacement under serve: SIGKILL of one follower's etcd right after (b) until /stats is
 *        healthy with 3 running members again (the killed one replaced). Right after the bootstrap etcd refuses
 *        the learner add until 5 s after its peers connected, as in (a'2) after (a'1)'s restart; with a 4 s pause
 *        after (b) instead, (c) took 0.9-2.1 s (one session, loaded).
 *   (a') plain etcd by hand, a follower each time: (a'1) SIGKILL one member and restart it on its data dir until
 *        it serves a quorum read; (a'2) replace it: member remove, member add as learner, start a fresh member
 *        with --initial-cluster-state=existing, promote, until it serves a quorum read (what the scheduler automates)
 * Repeats REPEAT times (default 3) and prints each run and the medians, in ms, with the ratios. No assertions.
 * Then the timelines of (b) and (c) (bench/timeline.ts: from serve's log, the executors' and etcd's logs in
 * the sandboxes and /proc): each milestone's median over the runs, for the last member to reach it, and the
 * step from the previous milestone.
 * Run: node --import tsx bench/scheduler.bench.ts   (needs a current build: dist/)
 * Env: REPEAT=n, BENCH_SERVE_ARGS="extra serve flags" (e.g. "--mesos-offer-refuse-seconds 1"),
 *      BENCH_LOAD=n: n CPU-bound processes (`node -e 'for(;;){}'`) run beside the whole benchmark (floor included),
 *      BENCH_MESOS=separate: (b) and (c) against a `mesos-local` started before (b)'s clock, with agent ports of
 *      a random range, instead of `serve --master local` (whose agents all offer ports 31000-32000 on 127.0.0.2-4:
 *      two local serves on one machine, e.g. other benchmarks running at the same time, collide on etcd's ports).
 */
import {rm} from 'node:fs/promises'
import os from 'node:os'
import {waitFor} from '../test/helpers/ports.js'
import {killAllTracked} from '../test/helpers/procs.js'
import {quorumReadOk, startEtcdCluster, type EtcdCluster} from '../test/helpers/etcd.js'
import {killEtcd, members, stats, sweepCluster, type ServeProc} from '../test/helpers/serve.js'
import {spawnTracked, stopTracked} from '../test/helpers/procs.js'
import {EXTRA, SEPARATE, startBenchServe} from './bench-serve.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../test/helpers/zookeeper.js'
import {bootstrapTimeline, replacementTimeline, type Milestone} from './timeline.js'

const REPEAT = Number(process.env.REPEAT ?? 3)
const LOAD = Number(process.env.BENCH_LOAD ?? 0)
let zk: ZkServer | undefined // with SEPARATE: serve persists in ZooKeeper (only --master local may use a local file)

interface Run {
  a: number
  b: number
  c: number
  a1: number
  a2: number
  boot: Milestone[]
  repl: Milestone[]
}

async function gw<T>(url: string, p: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${p}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${url}${p}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as T
}

async function plainEtcd(): Promise<Pick<Run, 'a' | 'a1' | 'a2'>> {
  let t0 = performance.now()
  const cluster: EtcdCluster = await startEtcdCluster(3, {token: `bench-${Date.now()}`})
  const a = performance.now() - t0
  try {
    // Both by-hand figures use followers (as does (c)): killing the leader adds an election and stalls a member
    // remove proposed before the new leader exists until the request deadline.
    const status = await gw<{leader: string}>(cluster.members[0]!.clientUrl, '/v3/maintenance/status', {})
    const ids = await gw<{members: {ID: string; name: string}[]}>(cluster.members[0]!.clientUrl, '/v3/cluster/member/list', {})
    const leaderName = ids.members.find((m) => m.ID === status.leader)?.name
    const followers = cluster.members.filter((m) => m.name !== leaderName)
    const leader = cluster.members.find((m) => m.name === leaderName)!
    // (a'1) restart on the same data dir
    const m2 = followers[1]!
    await m2.kill('SIGKILL')
    t0 = performance.now()
    await m2.start({initialClusterState: 'new'})
    await waitFor('the restarted member to serve a quorum read', () => quorumReadOk(m2.clientUrl, 1000), 30_000, 20)
    const a1 = performance.now() - t0

    // (a'2) replace by hand: remove, add, start a fresh member
    const dead = followers[0]!
    const via = leader.clientUrl
    await dead.kill('SIGKILL')
    const fresh = await cluster.newMember('m3')
    t0 = performance.now()
    const list = await gw<{members: {ID: string; name: string}[]}>(via, '/v3/cluster/member/list', {})
    const id = list.members.find((m) => m.name === dead.name)!.ID
    await waitFor('member remove', () => gw(via, '/v3/cluster/member/remove', {ID: id}).then(() => true), 15_000, 50)
    // As a learner, like the scheduler: a voter add is refused ("unhealthy cluster") until the leader has been
    // connected to every voter for 5 s, which follows any peer loss.
    const added = await waitFor(
      'member add (learner)',
      () => gw<{member: {ID: string}}>(via, '/v3/cluster/member/add', {peerURLs: [fresh.peerUrl], isLearner: true}),
      15_000,
      50,
    )
    const initialCluster = [leader, m2, fresh].map((m) => `${m.name}=${m.peerUrl}`).join(',')
    await fresh.start({initialClusterState: 'existing', initialCluster})
    await waitFor('learner promotion', () => gw(via, '/v3/cluster/member/promote', {ID: added.member.ID}).then(() => true), 30_000, 50)
    await waitFor('the new member to serve a quorum read', () => quorumReadOk(fresh.clientUrl, 1000), 30_000, 20)
    const a2 = performance.now() - t0
    return {a, a1, a2}
  } finally {
    await cluster.stop()
  }
}

async function healthyWith3(serve: ServeProc, gone?: string): Promise<void> {
  await waitFor(
    'serve: healthy with 3 running members',
    async () => {
      if (serve.exited()) throw new Error(`serve exited:\n${serve.log().slice(-3000)}`)
      const s = await stats(serve.adminUrl)
      if (s.healthy !== 1 || s.running_servers !== 3) return false
      const ms = await members(serve.adminUrl)
      return (
        ms.length === 3 &&
        ms.every((m) => m.state === 'TASK_RUNNING' && m.healthy === true && !m.is_learner) &&
        !ms.some((m) => m.name === gone)
      )
    },
    120_000,
    20,
  )
}

async function underServe(i: number): Promise<Pick<Run, 'b' | 'c' | 'boot' | 'repl'>> {
  const cluster = `bench${process.pid}x${i}`
  const {serve, mesos, cwd, t0, wall0} = await startBenchServe(cluster, zk, ['--member-grace', '5'])
  try {
    await healthyWith3(serve)
    const b = performance.now() - t0
    const before = await members(serve.adminUrl)
    const boot = bootstrapTimeline(
      wall0,
      serve.log(),
      before.map((m) => m.name),
      wall0 + b,
    )
    const victim = before.find((m) => !m.leader)!.name // a follower, like (a')
    const t1 = performance.now()
    const wall1 = Date.now()
    await killEtcd(victim)
    await healthyWith3(serve, victim)
    const c = performance.now() - t1
    const fresh = (await members(serve.adminUrl)).find((m) => !before.some((o) => o.name === m.name))?.name
    const repl = replacementTimeline(wall1, serve.log(), fresh, wall1 + c)
    return {b, c, boot, repl}
  } finally {
    await serve.stop('SIGTERM')
    await mesos?.stop()
    await sweepCluster(cluster)
    await rm(cwd, {recursive: true, force: true})
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const ms = (x: number): string => `${Math.round(x)} ms`.padStart(9)

/** Each milestone's median (over the runs that logged it) of its last member, and the step from the one before. */
function printTimeline(title: string, timelines: Milestone[][]): void {
  console.log(
    `\n${title} (ms after the start; median over ${timelines.length} run(s); first member .. last member; step = last - previous last):`,
  )
  const names = [...new Set(timelines.flat().map((m) => m.name))]
  let prev = 0
  for (const name of names) {
    const got = timelines.map((t) => t.find((m) => m.name === name)).filter((m): m is Milestone => m !== undefined)
    const first = median(got.map((m) => m.first))
    const last = median(got.map((m) => m.last))
    const step = last - prev
    prev = last
    console.log(`  ${name.padEnd(40)} ${ms(first)} .. ${ms(last)}   step ${ms(step)}`)
  }
}

async function main(): Promise<void> {
  const runs: Run[] = []
  console.log(
    `etcd-mesos scheduler benchmark: ${REPEAT} run(s), ${os.cpus().length} CPU(s), node ${process.version}${EXTRA.length ? `, serve ${EXTRA.join(' ')}` : ''}` +
      `${LOAD ? `, ${LOAD} CPU-bound process(es) beside it` : ''}${SEPARATE ? ', a separate mesos-local' : ''}, load average ${os.loadavg()[0]!.toFixed(1)}`,
  )
  if (SEPARATE) zk = await startZooKeeper()
  const burners = Array.from({length: LOAD}, () => spawnTracked(process.execPath, ['-e', 'for(;;){}'], {stdio: 'ignore'}))
  try {
    await benchRuns(runs)
  } finally {
    for (const p of burners) await stopTracked(p, 'SIGKILL', 5000)
    await destroyZooKeeper(zk)
  }
  const med = (k: 'a' | 'b' | 'c' | 'a1' | 'a2'): number => median(runs.map((r) => r[k]))
  console.log('\nmedians:')
  console.log(`  (a)   plain etcd, static 3-member cluster to quorum read     ${ms(med('a'))}`)
  console.log(`  (b)   serve start to healthy with 3 members                 ${ms(med('b'))}   = ${(med('b') / med('a')).toFixed(1)} x (a)`)
  console.log(`  (a'1) plain etcd, one member SIGKILLed and restarted        ${ms(med('a1'))}`)
  console.log(`  (a'2) plain etcd, one member replaced by hand (rm/add/start/promote) ${ms(med('a2'))}`)
  console.log(
    `  (c)   serve, SIGKILL of one etcd to healthy with 3 again     ${ms(med('c'))}   = ${(med('c') / med('a1')).toFixed(1)} x (a'1), ${(med('c') / med('a2')).toFixed(1)} x (a'2)`,
  )
  printTimeline(
    '(b) bootstrap timeline',
    runs.map((r) => r.boot),
  )
  printTimeline(
    '(c) replacement timeline, from the SIGKILL',
    runs.map((r) => r.repl),
  )
}

async function benchRuns(runs: Run[]): Promise<void> {
  for (let i = 0; i < REPEAT; i++) {
    const p = await plainEtcd()
    const s = await underServe(i)
    const r = {...p, ...s}
    runs.push(r)
    console.log(
      `run ${i + 1}: (a) plain 3-member start ${ms(r.a)}  (b) serve bootstrap ${ms(r.b)}  ` +
        `(a'1) plain restart ${ms(r.a1)}  (a'2) plain replace ${ms(r.a2)}  (c) serve replacement ${ms(r.c)}`,
    )
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    killAllTracked()
    process.exit(1)
  },
)
