/**
 * Benchmark of issue 13, the re-seed row: from the moment `--reseed-timeout` expires (the livelock is declared
 * and the automatic re-seed starts) to 3 healthy members holding the data written before the quorum loss.
 *
 *   (f) floor, plain etcd by hand: a static 3-member cluster, KEYS keys written; 2 members SIGKILLed (their data
 *       gone); from then: the survivor stopped (SIGTERM) and restarted on its data with --force-new-cluster until
 *       a quorum read works, then twice: member add --learner, start the new member (initial-cluster-state
 *       existing), promote (retried while etcd says the learner is not caught up); until a quorum read through
 *       every member returns all the keys.
 *   (r) `etcd-mesos serve --master local` (embedded Mesos, 3 agents), --reseed-timeout RESEED_TIMEOUT: healthy
 *       with 3 members, KEYS keys written, 2 etcds SIGKILLed with their data (so no restart in place can bring
 *       the quorum back); from /stats `last_livelock_at` (the scheduler's clock, same machine) until /stats is
 *       healthy with 3 running members, /members shows 3 healthy voters and a linearizable read through each
 *       member returns all the keys.
 * Each run prints (r)'s timeline from serve's log (ranking, the seed's steps, kills, growth back), relative to
 * the livelock. Repeats REPEAT times (default 3) and prints each run, the medians in ms and the ratio (r)/(f).
 * No assertions.
 * Run: node --import tsx bench/reseed.bench.ts   (needs a current build: dist/)
 * Env: REPEAT=n, RESEED_TIMEOUT=s (default 10), KEYS=n (default 50), BENCH_SERVE_ARGS="extra serve flags",
 *      BENCH_FULL_LOG=1 (every serve log line in the timeline, not only the re-seed's),
 *      BENCH_MESOS=separate: (r) against a `mesos-local` with agent ports in a random range (and a ZooKeeper for serve's
 *      state) instead of --master local, whose agents always use 127.0.0.2-4:31000: two of those on one machine (another
 *      bench, an e2e test) collide, and a member then fails to bind. Same scheduler, executors and etcd.
 */
import {rm} from 'node:fs/promises'
import os from 'node:os'
import {countKeys, putKey, quorumReadOk, startEtcdCluster} from '../test/helpers/etcd.js'
import {waitFor} from '../test/helpers/ports.js'
import {killAllTracked} from '../test/helpers/procs.js'
import {killEtcdAndData, members, putKeys, readPrefix, type ServeProc, stats, sweepCluster} from '../test/helpers/serve.js'
import {EXTRA, SEPARATE, startBenchServe} from './bench-serve.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../test/helpers/zookeeper.js'

const REPEAT = Number(process.env.REPEAT ?? 3)
const RESEED_TIMEOUT = Number(process.env.RESEED_TIMEOUT ?? 10)
const KEYS = Number(process.env.KEYS ?? 50)
const FULL = process.env.BENCH_FULL_LOG === '1'
let zk: ZkServer | undefined // with SEPARATE: serve persists in ZooKeeper (only --master local may use a local file)

async function gw<T>(url: string, p: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${p}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${url}${p}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as T
}

/** (f): ms from the quorum loss to 3 members serving the keys, re-seeded by hand; with its own steps. */
async function byHand(): Promise<{ms: number; steps: string[]}> {
  const cluster = await startEtcdCluster(3, {token: `bench-reseed-${Date.now()}`})
  try {
    for (let i = 0; i < KEYS; i++) await putKey(cluster.members[0]!.clientUrl, `k/${String(i).padStart(4, '0')}`, `v${i}`)
    const [survivor, ...lost] = cluster.members as [(typeof cluster.members)[0], ...typeof cluster.members]
    for (const m of lost) {
      await m.kill('SIGKILL')
      await rm(m.dataDir, {recursive: true, force: true})
    }
    const t0 = performance.now()
    const steps: string[] = []
    const mark = (what: string): void => void steps.push(`${String(Math.round(performance.now() - t0)).padStart(6)} ms  ${what}`)
    await survivor.kill('SIGTERM')
    mark('survivor stopped')
    await survivor.start({extraArgs: ['--force-new-cluster']})
    await waitFor('the survivor to serve alone', () => quorumReadOk(survivor.clientUrl, 1000), 30_000, 20)
    mark('survivor serves alone (--force-new-cluster)')
    const up = [survivor]
    for (const name of ['n1', 'n2']) {
      const fresh = await cluster.newMember(name)
      const added = await waitFor(
        `member add ${name} (learner)`,
        () => gw<{member: {ID: string}}>(survivor.clientUrl, '/v3/cluster/member/add', {peerURLs: [fresh.peerUrl], isLearner: true}),
        30_000,
        50,
      )
      const initialCluster = [...up, fresh].map((m) => `${m.name}=${m.peerUrl}`).join(',')
      await fresh.start({initialClusterState: 'existing', initialCluster})
      await waitFor(
        `promote ${name}`,
        () => gw(survivor.clientUrl, '/v3/cluster/member/promote', {ID: added.member.ID}).then(() => true),
        30_000,
        50,
      )
      up.push(fresh)
      mark(`${name} added as a learner, started, promoted`)
    }
    await waitFor(
      '3 members to serve the keys',
      async () => {
        const counts = await Promise.all(up.map((m) => countKeys(m.clientUrl, 'k/').catch(() => -1)))
        return counts.every((c) => c === KEYS)
      },
      30_000,
      20,
    )
    mark('3 members serve the keys (quorum reads)')
    return {ms: performance.now() - t0, steps}
  } finally {
    await cluster.stop()
  }
}

/** The log lines of serve worth a place in the timeline (the re-seed's phases and the growth back). */
const TIMELINE_RE =
  /livelocked|re-seed|reseed|seed proven|killing|TASK_RUNNING|TASK_KILLED|TASK_FAILED|member add|promot|launch|health verdict|healthy|quorum/i

function timeline(log: string, from: number, to: number): string[] {
  const out: string[] = []
  for (const line of log.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\w+) (.*)$/.exec(line)
    if (!m) continue
    const at = Date.parse(m[1]!)
    if (at < from - 50 || at > to + 50 || !(FULL || TIMELINE_RE.test(m[3]!))) continue
    const max = /TASK_FAILED|TASK_ERROR/.test(m[3]!) ? 2000 : 190 // a failure is printed with its reason
    const text = m[3]!.length > max ? `${m[3]!.slice(0, max)}…` : m[3]!
    out.push(`${String(at - from).padStart(6)} ms  ${text}`)
  }
  return out
}

async function ready(serve: ServeProc, keys?: Map<string, string>, gone: string[] = []): Promise<string[]> {
  return waitFor(
    `serve: healthy with 3 running members${keys ? ' and the keys' : ''}`,
    async () => {
      if (serve.exited()) throw new Error(`serve exited:\n${serve.log().slice(-3000)}`)
      const s = await stats(serve.adminUrl)
      if (s.healthy !== 1 || s.running_servers !== 3) return false
      const ms = await members(serve.adminUrl)
      if (ms.length !== 3 || ms.some((m) => m.state !== 'TASK_RUNNING' || m.healthy !== true || m.is_learner || gone.includes(m.name)))
        return false
      if (keys) {
        for (const m of ms) {
          const got = await readPrefix([m.client_url], 'k/').catch(() => undefined)
          if (!got || got.size !== keys.size || [...keys].some(([k, v]) => got.get(k) !== v)) return false
        }
      }
      return ms.map((m) => m.client_url)
    },
    240_000,
    20,
  ) as Promise<string[]>
}

/** (r): ms from the livelock (last_livelock_at) to 3 healthy members serving the keys; with the timeline. */
async function underServe(i: number): Promise<{ms: number; sinceKill: number; steps: string[]}> {
  const cluster = `benchrs${process.pid}x${i}`
  const {serve, mesos, cwd} = await startBenchServe(cluster, zk, ['--member-grace', '5', '--reseed-timeout', String(RESEED_TIMEOUT)])
  try {
    const urls = await ready(serve)
    const keys = await putKeys(urls[0]!, 'k/', KEYS)
    const ms = await members(serve.adminUrl)
    const lost = ms.slice(0, 2).map((m) => m.name)
    const killedAt = Date.now()
    for (const name of lost) await killEtcdAndData(name)
    const livelockAt = await waitFor<number | false>(
      'the livelock',
      async () => (await stats(serve.adminUrl)).last_livelock_at ?? false,
      RESEED_TIMEOUT * 1000 + 120_000,
      20,
    )
    if (livelockAt === false) throw new Error('no livelock')
    await ready(serve, keys, lost)
    const end = Date.now()
    return {ms: end - livelockAt, sinceKill: end - killedAt, steps: timeline(serve.log(), livelockAt, end)}
  } finally {
    await serve.stop('SIGTERM')
    await mesos?.stop()
    await sweepCluster(cluster)
    await rm(cwd, {recursive: true, force: true})
    if (mesos) await rm(mesos.workDir, {recursive: true, force: true}) // its agents' sandboxes: ~440 MB a run
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const fmt = (x: number): string => `${Math.round(x)} ms`.padStart(9)

async function main(): Promise<void> {
  console.log(
    `etcd-mesos re-seed benchmark: ${REPEAT} run(s), --reseed-timeout ${RESEED_TIMEOUT}, ${KEYS} keys, ${os.cpus().length} CPU(s), ` +
      `load ${os.loadavg()[0]!.toFixed(1)}, node ${process.version}${SEPARATE ? ', a separate mesos-local' : ''}${EXTRA.length ? `, serve ${EXTRA.join(' ')}` : ''}`,
  )
  if (SEPARATE) zk = await startZooKeeper()
  const f: number[] = []
  const r: number[] = []
  const k: number[] = []
  for (let i = 0; i < REPEAT; i++) {
    const hand = await byHand()
    const auto = await underServe(i)
    f.push(hand.ms)
    r.push(auto.ms)
    k.push(auto.sinceKill)
    console.log(
      `\nrun ${i + 1}: (f) by hand ${fmt(hand.ms)}   (r) serve, livelock → 3 healthy with the keys ${fmt(auto.ms)}` +
        ` (${fmt(auto.sinceKill)} from the kills)   = ${(auto.ms / hand.ms).toFixed(1)} x (f)`,
    )
    console.log('  (f) by hand:')
    for (const s of hand.steps) console.log(`    ${s}`)
    console.log('  (r) serve timeline, from the livelock:')
    for (const s of auto.steps) console.log(`    ${s}`)
  }
  console.log('\nmedians:')
  console.log(`  (f) by hand: --force-new-cluster restart of the survivor + 2 learner adds   ${fmt(median(f))}`)
  console.log(
    `  (r) serve: --reseed-timeout expired → 3 healthy members with the data          ${fmt(median(r))}   = ${(median(r) / median(f)).toFixed(1)} x (f)`,
  )
  console.log(`      (from the kills: ${fmt(median(k))})`)
  await destroyZooKeeper(zk)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    killAllTracked()
    process.exit(1)
  },
)
