/**
 * Benchmark of issue 13, the memory rows: resident memory (VmRSS from /proc/<pid>/status) of the real processes.
 *
 *   (m) steady: `etcd-mesos serve --master local` (embedded Mesos, 3 agents) healthy with 3 members; then every
 *       second for SAMPLE seconds: the RSS of serve, of each executor (the parent of each member's etcd, whose
 *       argv is `node bin/run.js executor`) and of each etcd. Median and max of the samples, and the peak the
 *       kernel recorded (VmHWM).
 *       Floors, in the same run: an etcd's own RSS (what the member costs without us), and an idle `node`
 *       process (`node -e 'setInterval(…)'`: the least any Node executor can weigh).
 *   (s) storm: `serve` against a fake Mesos master in this process (the local Mesos has at most ~250 agents, one
 *       loopback ip each, so it cannot make 10,000 offers): SUBSCRIBED, then STORMS OFFERS events of AGENTS
 *       offers each (one per agent, fresh offer ids), one a second; every call serve makes is answered 202. The
 *       real serve process decodes each event, runs its core, and DECLINEs (or ACCEPTs 3). serve's RSS is sampled
 *       every 100 ms: before the first storm (floor: serve subscribed and idle), during the storms and until
 *       serve has answered every offer (DECLINE/ACCEPT; at most 120 s), then for 2 s more.
 *       Needs ZooKeeper (a non-local master needs --zk-framework-persist): started here like the tests do.
 * Goals (issue 13): executor ≤ 60 MB each; serve ≤ 200 MB steady and during the storm. Prints figures, no assertions.
 * Run: node --import tsx bench/memory.bench.ts   (needs a current build: dist/)
 * Env: SAMPLE=s (default 30), AGENTS=n (default 10000), STORMS=n (default 3), BENCH_SERVE_ARGS="extra serve flags",
 *      MEMORY_PART=steady|storm (default: both), MEMORY_LOG=file (the storm's serve log written there). To see
 *      serve's heap through the storm: node refuses --trace-gc in NODE_OPTIONS, so preload a module that calls
 *      v8.setFlagsFromString('--trace-gc') when process.argv includes 'serve' (NODE_OPTIONS="--import /path/x.mjs")
 *      and read the log; NODE_OPTIONS="--heap-prof" is allowed but serve's profile is not written on SIGTERM.
 */
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {freePort, waitFor} from '../test/helpers/ports.js'
import {killAllTracked, stopTracked} from '../test/helpers/procs.js'
import {etcdNames, etcdPids, type ServeProc, startServe, sweepCluster, waitHealthyMembers} from '../test/helpers/serve.js'
import {destroyZooKeeper, startZooKeeper} from '../test/helpers/zookeeper.js'

const SAMPLE_S = Number(process.env.SAMPLE ?? 30)
const AGENTS = Number(process.env.AGENTS ?? 10_000)
const STORMS = Number(process.env.STORMS ?? 3)
const EXTRA = (process.env.BENCH_SERVE_ARGS ?? '').split(/\s+/).filter((a) => a !== '')
const MB = 1024 * 1024
const PART = process.env.MEMORY_PART ?? 'all'
if (!['all', 'steady', 'storm'].includes(PART)) throw new Error(`MEMORY_PART must be steady or storm, got ${PART}`)

/** VmRSS and VmHWM of a pid in bytes (undefined when it is gone). */
function mem(pid: number): {rss: number; hwm: number} | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? Number.NaN) * 1024
    return {rss: kb('VmRSS'), hwm: kb('VmHWM')}
  } catch {
    return undefined
  }
}

function ppid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}

const argvOf = (pid: number): string[] => {
  try {
    return fs
      .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '')
  } catch {
    return []
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const mb = (b: number): string => `${(b / MB).toFixed(1)} MB`.padStart(9)

interface Series {
  label: string
  pid: number
  rss: number[]
  hwm: number
}

function sample(series: Series[]): void {
  for (const s of series) {
    const m = mem(s.pid)
    if (!m) continue
    s.rss.push(m.rss)
    s.hwm = Math.max(s.hwm, m.hwm)
  }
}

const line = (s: Series): string =>
  `  ${s.label.padEnd(34)} median ${mb(median(s.rss))}  max ${mb(Math.max(...s.rss))}  peak (VmHWM) ${mb(s.hwm)}  (${s.rss.length} samples)`

/** Machine-readable summary line for bench/run-all.ts. */
function summary(row: string, figure: string, floor: string, ratio: string, goal: string): void {
  console.log(`BENCH-SUMMARY ${JSON.stringify({row, figure, floor, ratio, goal})}`)
}

/** RSS of an idle node process after 2 s (the least a Node executor can weigh). */
async function idleNode(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {stdio: 'ignore'})
  try {
    await sleep(2000)
    return mem(child.pid!)?.rss ?? Number.NaN
  } finally {
    child.kill('SIGKILL')
  }
}

interface Steady {
  serve: Series
  executors: Series[]
  etcds: Series[]
}

async function steady(): Promise<Steady> {
  const cluster = `benchmem${process.pid}`
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'bench-mem-'))
  const serve = await startServe(
    [
      '--master',
      'local',
      '--cluster-name',
      cluster,
      '--cluster-size',
      '3',
      '--local-mesos-port',
      '0',
      '--health-interval',
      '1',
      '--bootstrap-wait',
      '3',
      '--failover-timeout-seconds',
      '300',
      ...EXTRA,
    ],
    undefined,
    'serve',
    {adminPort: await freePort(), cwd},
  )
  try {
    await waitHealthyMembers(serve.adminUrl, 3, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\nserve log:\n${serve.log().slice(-3000)}`)
    })
    const names = etcdNames(cluster)
    const etcds: Series[] = []
    const executors: Series[] = []
    for (const n of names) {
      const pid = etcdPids(n)[0]
      if (pid === undefined) continue
      etcds.push({label: `etcd ${n}`, pid, rss: [], hwm: 0})
      const parent = ppid(pid)
      const argv = parent === undefined ? [] : argvOf(parent)
      if (parent !== undefined && argv.some((a) => a === 'executor' || a.endsWith('/executor.js')))
        executors.push({label: `executor of ${n} (pid ${parent})`, pid: parent, rss: [], hwm: 0})
      else console.log(`  note: the parent of etcd ${n} (pid ${parent}) is not an executor: ${argv.join(' ')}`)
    }
    const serveSeries: Series = {label: `serve (pid ${serve.child.pid})`, pid: serve.child.pid!, rss: [], hwm: 0}
    const all = [serveSeries, ...executors, ...etcds]
    for (let i = 0; i < SAMPLE_S; i++) {
      sample(all)
      await sleep(1000)
    }
    return {serve: serveSeries, executors, etcds}
  } finally {
    await serve.stop('SIGTERM')
    await sweepCluster(cluster)
    await rm(cwd, {recursive: true, force: true})
  }
}

// ---------------------------------------------------------------- the storm, through a fake master

function offersEvent(n: number, storm: number): string {
  const offers = Array.from({length: n}, (_, i) => ({
    id: {value: `storm${storm}-O${i}`},
    framework_id: {value: 'bench-fw'},
    agent_id: {value: `bench-S${i}`},
    hostname: `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    url: {scheme: 'http', address: {hostname: '127.0.0.1', ip: '127.0.0.1', port: 5051}, path: '/slave(1)'},
    allocation_info: {role: '*'},
    resources: [
      {name: 'cpus', type: 'SCALAR', scalar: {value: 8}, role: '*', allocation_info: {role: '*'}},
      {name: 'mem', type: 'SCALAR', scalar: {value: 32768}, role: '*', allocation_info: {role: '*'}},
      {name: 'disk', type: 'SCALAR', scalar: {value: 200000}, role: '*', allocation_info: {role: '*'}},
      {name: 'ports', type: 'RANGES', ranges: {range: [{begin: 31000, end: 32000}]}, role: '*', allocation_info: {role: '*'}},
    ],
  }))
  return JSON.stringify({type: 'OFFERS', offers: {offers}})
}

const record = (json: string): string => `${Buffer.byteLength(json)}\n${json}`

interface FakeMaster {
  port: number
  subscribed: () => boolean
  storm: (i: number) => number
  calls: Record<string, number>
  /** Offers answered (declined or accepted) so far. */
  answered: () => number
  close: () => Promise<void>
}

async function fakeMaster(): Promise<FakeMaster> {
  let stream: http.ServerResponse | undefined
  const calls: Record<string, number> = {}
  let answered = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url !== '/api/v1/scheduler' || req.method !== 'POST') return void res.writeHead(404).end()
      let call: {type?: string; decline?: {offer_ids?: unknown[]}; accept?: {offer_ids?: unknown[]}} = {}
      try {
        call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof call
      } catch {
        return void res.writeHead(400).end('not JSON')
      }
      const t = call.type ?? '?'
      calls[t] = (calls[t] ?? 0) + 1
      answered += (call.decline?.offer_ids?.length ?? 0) + (call.accept?.offer_ids?.length ?? 0)
      if (t !== 'SUBSCRIBE') return void res.writeHead(202, {'content-length': '0'}).end()
      res.writeHead(200, {'content-type': 'application/json', 'mesos-stream-id': `bench-stream-${calls[t]}`})
      res.write(
        record(
          JSON.stringify({
            type: 'SUBSCRIBED',
            subscribed: {
              framework_id: {value: 'bench-fw'},
              heartbeat_interval_seconds: 15,
              master_info: {id: 'bench-master', ip: 16777343, port: (server.address() as {port: number}).port, hostname: '127.0.0.1'},
            },
          }),
        ),
      )
      stream = res
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const heartbeat = setInterval(() => stream?.write(record('{"type":"HEARTBEAT"}')), 5000)
  return {
    port: (server.address() as {port: number}).port,
    subscribed: () => stream !== undefined && !stream.destroyed,
    storm: (i) => {
      const ev = offersEvent(AGENTS, i)
      stream?.write(record(ev))
      return Buffer.byteLength(ev)
    },
    calls,
    answered: () => answered,
    close: async () => {
      clearInterval(heartbeat)
      stream?.destroy()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

interface Storm {
  idle: Series
  during: Series
  after: Series
  eventBytes: number
  calls: Record<string, number>
  /** ms from the first OFFERS event until every offer was declined or accepted (undefined: not within 120 s). */
  answeredMs: number | undefined
  answered: number
}

async function storm(): Promise<Storm> {
  const zk = await startZooKeeper()
  const master = await fakeMaster()
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'bench-mem-storm-'))
  let serve: ServeProc | undefined
  try {
    serve = await startServe(
      [
        '--master',
        `127.0.0.1:${master.port}`,
        '--zk-framework-persist',
        `${zk.url}/bench-mem-${process.pid}`,
        '--cluster-name',
        'storm',
        '--cluster-size',
        '3',
        '--failover-timeout-seconds',
        '300',
        ...EXTRA,
      ],
      undefined,
      'serve',
      {adminPort: await freePort(), cwd},
    )
    const s = serve
    await waitFor(
      'serve to subscribe to the fake master',
      () => {
        if (s.exited()) throw new Error(`serve exited:\n${s.log().slice(-3000)}`)
        return master.subscribed()
      },
      60_000,
      50,
    )
    const pid = serve.child.pid!
    const mk = (label: string): Series => ({label, pid, rss: [], hwm: 0})
    const idle = mk('serve, subscribed, before the storm')
    const during = mk(`serve, during ${STORMS} storms of ${AGENTS} offers`)
    const after = mk('serve, once every offer is answered')
    await sleep(2000)
    for (let i = 0; i < 30; i++) {
      sample([idle])
      await sleep(100)
    }
    let eventBytes = 0
    const t0 = performance.now()
    let answeredMs: number | undefined
    for (let k = 0; k < STORMS; k++) {
      eventBytes = master.storm(k)
      for (let i = 0; i < 10; i++) {
        sample([during])
        await sleep(100)
      }
    }
    // serve answers the offers (DECLINE, or ACCEPT) for a while after the last event: keep sampling until every
    // offer is answered (at most 120 s).
    for (let i = 0; i < 1200 && master.answered() < STORMS * AGENTS; i++) {
      sample([during])
      await sleep(100)
    }
    if (master.answered() >= STORMS * AGENTS) answeredMs = performance.now() - t0
    for (let i = 0; i < 20; i++) {
      sample([after])
      await sleep(100)
    }
    during.hwm = mem(pid)?.hwm ?? during.hwm
    if (serve.exited()) throw new Error(`serve exited during the storm:\n${serve.log().slice(-3000)}`)
    if (process.env.MEMORY_LOG) fs.writeFileSync(process.env.MEMORY_LOG, serve.log())
    return {idle, during, after, eventBytes, calls: {...master.calls}, answeredMs, answered: master.answered()}
  } finally {
    if (serve) await stopTracked(serve.child, 'SIGTERM', 25_000)
    await master.close()
    await destroyZooKeeper(zk)
    await rm(cwd, {recursive: true, force: true})
  }
}

async function main(): Promise<void> {
  console.log(
    `etcd-mesos memory benchmark: ${SAMPLE_S} s of samples, storm ${STORMS} × ${AGENTS} offers, ${os.cpus().length} CPU(s), ` +
      `load ${os.loadavg()[0]!.toFixed(1)}, node ${process.version}${EXTRA.length ? `, serve ${EXTRA.join(' ')}` : ''}` +
      `${PART === 'all' ? '' : `, only the ${PART} part`}`,
  )
  if (PART !== 'storm') await steadyPart()
  if (PART !== 'steady') await stormPart()
}

async function steadyPart(): Promise<void> {
  const node = await idleNode()
  console.log(`floor: idle node process (node -e 'setInterval(…)')  ${mb(node)}`)

  console.log(`\n(m) serve --master local, 3 healthy members, sampled every second for ${SAMPLE_S} s:`)
  const st = await steady()
  for (const s of [st.serve, ...st.executors, ...st.etcds]) console.log(line(s))
  const exMed = median(st.executors.map((s) => median(s.rss)))
  const exMax = Math.max(...st.executors.map((s) => Math.max(...s.rss)))
  const etcdMed = median(st.etcds.map((s) => median(s.rss)))
  const serveMed = median(st.serve.rss)
  if (st.executors.length === 0) console.log('  executor: NOT MEASURED (no executor process found as the parent of an etcd)')
  else
    console.log(
      `  executor: median ${mb(exMed)}, max ${mb(exMax)} = ${(exMed / etcdMed).toFixed(2)} x an etcd's own RSS, ${(exMed / node).toFixed(2)} x an idle node` +
        `   goal ≤ 60 MB: ${exMax <= 60 * MB ? 'MET' : 'NOT MET'}`,
    )
  console.log(
    `  serve (with its embedded Mesos master and 3 agents): median ${mb(serveMed)}   goal ≤ 200 MB: ${serveMed <= 200 * MB ? 'MET' : 'NOT MET'}`,
  )
  summary(
    'executor RSS per member',
    `${(exMax / MB).toFixed(1)} MB max (median ${(exMed / MB).toFixed(1)})`,
    `etcd ${(etcdMed / MB).toFixed(1)} MB; idle node ${(node / MB).toFixed(1)} MB`,
    `${(exMed / node).toFixed(2)}x idle node`,
    st.executors.length === 0 ? '≤ 60 MB: not measured' : `≤ 60 MB: ${exMax <= 60 * MB ? 'met' : 'NOT met'}`,
  )
  summary(
    'serve RSS, steady, 3 members',
    `${(serveMed / MB).toFixed(1)} MB (max ${(Math.max(...st.serve.rss) / MB).toFixed(1)})`,
    `idle node ${(node / MB).toFixed(1)} MB`,
    `${(serveMed / node).toFixed(2)}x idle node`,
    `≤ 200 MB: ${Math.max(...st.serve.rss) <= 200 * MB ? 'met' : 'NOT met'}`,
  )
}

async function stormPart(): Promise<void> {
  console.log(`\n(s) serve against a fake master: ${STORMS} OFFERS events of ${AGENTS} offers, one a second:`)
  const sm = await storm()
  for (const s of [sm.idle, sm.during, sm.after]) console.log(line(s))
  const peak = Math.max(...sm.during.rss)
  const idleMed = median(sm.idle.rss)
  console.log(
    `  one OFFERS event: ${mb(sm.eventBytes)} of JSON; calls serve made: ${Object.entries(sm.calls)
      .map(([k, v]) => `${k}×${v}`)
      .join(
        ' ',
      )}; offers answered ${sm.answered} of ${STORMS * AGENTS}${sm.answeredMs === undefined ? ' (not all within 120 s)' : `, all within ${(sm.answeredMs / 1000).toFixed(1)} s of the first event`}`,
  )
  console.log(
    `  storm: max ${mb(peak)} = ${(peak / idleMed).toFixed(2)} x serve idle   goal ≤ 200 MB: ${peak <= 200 * MB ? 'MET' : 'NOT MET'}`,
  )
  summary(
    `serve RSS, ${AGENTS}-offer storm`,
    `${(peak / MB).toFixed(1)} MB max`,
    `serve idle ${(idleMed / MB).toFixed(1)} MB`,
    `${(peak / idleMed).toFixed(2)}x`,
    `≤ 200 MB: ${peak <= 200 * MB ? 'met' : 'NOT met'}`,
  )
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    killAllTracked()
    process.exit(1)
  },
)
