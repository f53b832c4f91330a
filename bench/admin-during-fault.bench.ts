// The REAL admin API under concurrent load while a resilience scenario runs: the harness starts a real
// `serve` (in-process local Mesos, real etcd and ZooKeeper, the writer running); 32 concurrent connections
// send requests round-robin over /stats, /members, /metrics and /healthz for a fixed time:
//   floor  — the same scheduler, healthy and idle (same run, same load)
//   fault  — right after the leader's etcd is SIGKILLed, through the replacement (remove, add, launch, promote)
// Prints requests/s, p50/p99 latency and the answers per status code of each phase, and the ratios.
// /healthz answers 503 while the cluster is unhealthy: an answer, counted by code, not an error.
// Loopback only; bounded (PHASE seconds per phase); no assertions.
// Run: node --import tsx bench/admin-during-fault.bench.ts [phaseSeconds=10] [connections=32]   (needs dist/: npm run build)
import os from 'node:os'
import path from 'node:path'
import {Pool} from 'undici'
import {destroyZooKeeper, startZooKeeper} from '../test/helpers/zookeeper.js'
import type {Ctx, ScenarioDef} from '../test/resilience/harness.js'
import {runScenario} from '../test/resilience/run.js'
import {killEtcd} from '../test/resilience/faults.js'

const PHASE_MS = Number(process.argv[2] ?? 10) * 1000
const CONNECTIONS = Number(process.argv[3] ?? 32)
const PATHS = ['/stats', '/members', '/metrics', '/healthz']

interface Phase {
  name: string
  requests: number
  errors: number
  codes: Record<string, number>
  latencies: number[]
  ms: number
}

async function load(name: string, url: string, ms: number): Promise<Phase> {
  const pool = new Pool(url, {connections: CONNECTIONS})
  const phase: Phase = {name, requests: 0, errors: 0, codes: {}, latencies: [], ms}
  const end = Date.now() + ms
  let i = 0
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const p = PATHS[i++ % PATHS.length]!
      const t0 = performance.now()
      try {
        const res = await pool.request({path: p, method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000})
        await res.body.text()
        phase.codes[res.statusCode] = (phase.codes[res.statusCode] ?? 0) + 1
        phase.latencies.push(performance.now() - t0)
        phase.requests++
      } catch {
        phase.errors++
      }
    }
  }
  await Promise.all(Array.from({length: CONNECTIONS}, worker))
  await pool.close()
  return phase
}

const pct = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

function line(p: Phase): string {
  const rps = p.requests / (p.ms / 1000)
  const codes = Object.entries(p.codes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ')
  return `${p.name.padEnd(6)} ${rps.toFixed(0).padStart(6)} req/s  p50 ${pct(p.latencies, 0.5).toFixed(1)} ms  p99 ${pct(p.latencies, 0.99).toFixed(1)} ms  errors ${p.errors}  answers ${codes}`
}

async function main(): Promise<void> {
  const zk = await startZooKeeper()
  const phases: Phase[] = []
  const def: ScenarioDef = {
    name: 'admin-load-during-kill-leader',
    description: "admin API load while the leader's etcd is killed and replaced",
    expect: {reseed: false, livelocks: 'any', launched: 1},
    async inject(ctx: Ctx) {
      phases.push(await load('floor', ctx.adminUrl, PHASE_MS))
      const leader = await ctx.leader()
      await killEtcd(leader.name)
      ctx.killedTasks = 1
      phases.push(await load('fault', ctx.adminUrl, PHASE_MS))
    },
  }
  try {
    const r = await runScenario(def, {zk, logDir: path.join(os.tmpdir(), 'resilience-logs')})
    process.stdout.write(
      `admin API under load (${CONNECTIONS} connections, ${PHASE_MS / 1000} s per phase, ${os.cpus().length} CPUs; the scheduler, local Mesos, etcd and the writer share them)\n`,
    )
    for (const p of phases) process.stdout.write(`${line(p)}\n`)
    const [f, x] = phases
    if (f && x) {
      process.stdout.write(
        `ratio fault/floor: throughput ${(x.requests / f.requests).toFixed(2)}x, p99 ${(pct(x.latencies, 0.99) / pct(f.latencies, 0.99)).toFixed(2)}x\n`,
      )
    }
    process.stdout.write(
      `scenario: ${r.ok ? 'ok' : 'FAILED'} (recovery ${r.recoveryMs ?? '–'} ms, writes acked ${r.writesAcked}, lost ${r.writesLost})${r.failures.length ? `; ${r.failures.join('; ')}` : ''}\n`,
    )
  } finally {
    await destroyZooKeeper(zk)
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`admin-during-fault: ${err.stack}\n`)
    process.exit(10)
  },
)
