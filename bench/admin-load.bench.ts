// Admin API under concurrent load: the real admin server `serve` runs, buildAdminServer (src/scheduler/admin-server.ts:
// the handler of admin.ts inside node:http with serve's default limits: timeouts, keep-alive, max connections), over
// realistic deps (the views of src/scheduler/views.ts over a state built by the pure core's simulator: 5 running
// members, healthy, with probes), in a child process; 64 concurrent connections (undici Pool) send a fixed number
// of requests round-robin over /stats, /members, /metrics and /healthz. Prints requests/s and p50/p99 latency.
// Floor, in the same run and the same arrangement: a bare node:http server answering res.end('ok').
// Loopback only; bounded (N requests per target); no assertions.
// Run: node --import tsx bench/admin-load.bench.ts [requests=20000] [connections=64]
import http from 'node:http'
import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {Pool} from 'undici'

const SELF = fileURLToPath(import.meta.url)
const PATHS = ['/stats', '/members', '/metrics', '/healthz']

async function serve(kind: string): Promise<void> {
  let server: http.Server
  if (kind === 'bare') {
    server = http.createServer((_req, res) => res.end('ok'))
  } else {
    const {World} = await import('../test/helpers/sim/sim.js')
    const {allTasks, clientUrl} = await import('../src/scheduler/core/state.js')
    const views = await import('../src/scheduler/views.js')
    const {buildAdminServer} = await import('../src/scheduler/admin-server.js')
    const w = new World(
      {clusterName: 'load', clusterSize: 5, executorCommand: {value: '/usr/bin/node', shell: false}, bootstrapWaitMs: 1000},
      7,
    )
    w.start()
    w.offerAll()
    w.advance(60_000)
    const probes = allTasks(w.state).map((t) => w.probe(clientUrl(w.state, t)))
    const conn = {master: '127.0.0.1:5050', subscribedSince: w.now - 60_000, disconnectedSince: null}
    const s = {...w.state, health: {...w.state.health, probes}, connection: conn}
    const election = {id: 'me', leader: {id: 'me', admin_url: 'http://127.0.0.1:23400/', host: 'bench', since: w.now}, standbys: []}
    const {SchedulerMetrics} = await import('../src/scheduler/metrics.js')
    const registry = new SchedulerMetrics({cluster: 'load'})
    registry.source = () => views.metricFamilies(s)
    server = buildAdminServer({
      stats: () => views.statsView(s),
      members: () => views.membersView(s),
      healthy: () => s.stats.healthy === 1,
      failoverStatus: () => views.failoverView(s, 604800, election, Date.now()),
      metrics: () => registry.render(),
      requestReseed: () => ({accepted: false, status: 409, error: 'healthy'}),
      reseedStatus: (op) => views.reseedView(s, op),
      reseedCandidates: () => views.candidatesView(s),
    })
    const running = allTasks(s).filter((t) => t.state === 'TASK_RUNNING').length
    if (running !== 5 || s.stats.healthy !== 1)
      throw new Error(`the simulated cluster is not 5 healthy running members (${running}, healthy=${s.stats.healthy})`)
  }
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as {port: number}).port}\n`))
  process.on('disconnect', () => process.exit(0))
}

function startServer(kind: string): Promise<{port: number; child: ChildProcess}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve', kind], {stdio: ['ignore', 'pipe', 'inherit', 'ipc']})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve({port: Number(m[1]), child})
    })
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before listening`)))
  })
}

interface Result {
  rps: number
  p50: number
  p99: number
  max: number
  bytes: number
  errors: number
}

async function load(port: number, total: number, connections: number): Promise<Result> {
  const pool = new Pool(`http://127.0.0.1:${port}`, {connections, pipelining: 1})
  const lat: number[] = []
  let bytes = 0
  let errors = 0
  let next = 0
  const one = async (i: number): Promise<void> => {
    const t0 = process.hrtime.bigint()
    const res = await pool.request({path: PATHS[i % PATHS.length]!, method: 'GET'})
    const body = Buffer.from(await res.body.arrayBuffer())
    if (res.statusCode !== 200) errors++
    bytes += body.length
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  const worker = async (): Promise<void> => {
    while (next < total) await one(next++)
  }
  // Warm-up (not measured): JIT, connections.
  const warm = Math.min(2000, total)
  for (let i = 0; i < warm; i += connections) await Promise.all(Array.from({length: Math.min(connections, warm - i)}, (_, k) => one(i + k)))
  lat.length = 0
  bytes = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({length: connections}, worker))
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  await pool.close()
  lat.sort((a, b) => a - b)
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!
  return {rps: total / secs, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1]!, bytes: bytes / total, errors}
}

async function main(): Promise<void> {
  const total = Math.max(100, Number(process.argv[2] ?? 20_000))
  const connections = Math.max(1, Number(process.argv[3] ?? 64))
  console.log(
    `admin API load: ${total} requests over ${PATHS.join(', ')} with ${connections} connections (undici Pool), server in a child process (node ${process.version})`,
  )
  const results: Record<string, Result> = {}
  for (const kind of ['bare', 'admin']) {
    const {port, child} = await startServer(kind)
    try {
      results[kind] = await load(port, total, connections)
    } finally {
      child.kill('SIGTERM')
    }
    const r = results[kind]!
    const label = kind === 'bare' ? "floor: bare res.end('ok')" : 'buildAdminServer (5 running members)'
    console.log(
      `${label.padEnd(32)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms  max ${r.max.toFixed(1).padStart(6)} ms  ${r.bytes.toFixed(0)} B/resp  non-200: ${r.errors}`,
    )
  }
  const a = results.admin!
  const b = results.bare!
  console.log(
    `ratio admin/floor: throughput ${(a.rps / b.rps).toFixed(2)}x, p50 ${(a.p50 / b.p50).toFixed(2)}x, p99 ${(a.p99 / b.p99).toFixed(2)}x`,
  )
  // Machine-readable summary line for bench/run-all.ts.
  const row = {
    row: `admin API, ${connections} connections`,
    figure: `${a.rps.toFixed(0)} req/s, p99 ${a.p99.toFixed(1)} ms`,
    floor: `${b.rps.toFixed(0)} req/s, p99 ${b.p99.toFixed(1)} ms`,
    ratio: `${(a.rps / b.rps).toFixed(2)}x throughput`,
    goal: '—',
  }
  console.log(`BENCH-SUMMARY ${JSON.stringify(row)}`)
}

const serveAt = process.argv.indexOf('--serve')
if (serveAt >= 0) await serve(process.argv[serveAt + 1] ?? 'bare')
else await main()
