// Offer storm: 10,000 agents' offers reach the PURE scheduler core (src/scheduler/core) in one Offers event.
// Measures the time of that one step (its decisions: which offers it accepts / declines) and the memory it
// uses, for 3- and 5-member clusters, at first bootstrap (empty cluster: launches clusterSize members) and in
// steady state (cluster full: everything declined), plus an all-too-small storm (nothing fits).
// Floor, in the same run: JSON.parse of the same 10,000 offers + one pass over their resources.
// Goal stated by issue 6: well under a second and under 200 MB; printed as text, no assertions.
// Run: node --expose-gc --import tsx bench/offer-storm.bench.ts [agents=10000] [reps=5]
import {resolveConfig} from '../src/scheduler/core/config.js'
import {initialState} from '../src/scheduler/core/persist.js'
import {step} from '../src/scheduler/core/step.js'
import type {SchedulerState} from '../src/scheduler/core/state.js'
import type {SchedulerAction} from '../src/scheduler/core/actions.js'
import type {Offer} from '../src/lib/mesos/types.js'

const AGENTS = Math.max(1, Number(process.argv[2] ?? 10_000))
const REPS = Math.max(1, Number(process.argv[3] ?? 5))
const gc = (globalThis as {gc?: () => void}).gc
if (!gc) console.log('note: run with --expose-gc for memory figures that exclude garbage from earlier steps')

function offers(n: number, batch: number, fits = true): Offer[] {
  return Array.from(
    {length: n},
    (_, i): Offer => ({
      id: {value: `b${batch}-O${i}`},
      framework_id: {value: 'fw-1'},
      agent_id: {value: `S${i}`},
      hostname: `agent-${i}.storm.test`,
      allocation_info: {role: '*'},
      resources: [
        {name: 'cpus', type: 'SCALAR', scalar: {value: fits ? 8 : 0.05}, role: '*', allocation_info: {role: '*'}},
        {name: 'mem', type: 'SCALAR', scalar: {value: fits ? 32768 : 16}, role: '*', allocation_info: {role: '*'}},
        {name: 'disk', type: 'SCALAR', scalar: {value: 200000}, role: '*', allocation_info: {role: '*'}},
        {name: 'ports', type: 'RANGES', ranges: {range: [{begin: 31000, end: 32000}]}, role: '*', allocation_info: {role: '*'}},
      ],
    }),
  )
}

const NOW = 1_800_000_000_000
const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A state subscribed and reconciled (no persisted tasks: reconciliation finishes on Subscribed). */
function ready(size: number): SchedulerState {
  const config = resolveConfig({
    clusterName: 'storm',
    clusterSize: size,
    executorCommand: {value: '/usr/bin/node', shell: false, arguments: ['node', 'bin/run.js', 'executor']},
  })
  let s = initialState(config, 42)
  s = step(s, {type: 'PersistedStateLoaded', doc: null}, NOW).state
  s = step(s, {type: 'Subscribed', frameworkId: 'fw-1'}, NOW).state
  if (s.phase !== 'READY') throw new Error('the core did not finish reconciliation after Subscribed with no tasks')
  return s
}

interface Measured {
  ms: number
  heapPeak: number
  heapRetained: number
  rss: number
  accepts: number
  declines: number
  launched: number
}

function measure(s: SchedulerState, evOffers: Offer[], now: number): {m: Measured; state: SchedulerState} {
  gc?.()
  const before = process.memoryUsage()
  const t0 = process.hrtime.bigint()
  const res = step(s, {type: 'Offers', offers: evOffers}, now)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const peak = process.memoryUsage()
  gc?.()
  const after = process.memoryUsage()
  const acts: SchedulerAction[] = res.actions
  const accepts = acts.filter((a) => a.type === 'ACCEPT')
  const declines = acts.filter((a) => a.type === 'DECLINE').reduce((n, a) => n + (a as {offerIds: string[]}).offerIds.length, 0)
  const launched = accepts.reduce(
    (n, a) =>
      n +
      (a as {operations: {launch?: {task_infos: unknown[]}}[]}).operations.reduce((k, op) => k + (op.launch?.task_infos.length ?? 0), 0),
    0,
  )
  return {
    m: {
      ms,
      heapPeak: peak.heapUsed - before.heapUsed,
      heapRetained: after.heapUsed - before.heapUsed,
      rss: peak.rss - before.rss,
      accepts: accepts.length,
      declines,
      launched,
    },
    state: res.state,
  }
}

function floor(n: number): number {
  const text = JSON.stringify(offers(n, 99))
  const times: number[] = []
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint()
    const parsed = JSON.parse(text) as Offer[]
    let cpus = 0
    for (const o of parsed) for (const res of o.resources) if (res.name === 'cpus') cpus += res.scalar?.value ?? 0
    if (cpus <= 0) throw new Error('floor: no cpus')
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return median(times)
}

function report(label: string, ms: Measured[], floorMs: number): void {
  const t = median(ms.map((m) => m.ms))
  const heap = Math.max(...ms.map((m) => m.heapPeak))
  const kept = median(ms.map((m) => m.heapRetained))
  const rss = Math.max(...ms.map((m) => m.rss))
  const last = ms[ms.length - 1]!
  const met = t < 1000 && Math.max(heap, rss) < 200 * 1024 * 1024
  console.log(
    `${label.padEnd(44)} ${t.toFixed(1).padStart(8)} ms  ratio ${(t / floorMs).toFixed(1).padStart(6)}x  heap peak +${mb(heap).padStart(9)}  retained +${mb(kept).padStart(8)}  rss +${mb(rss).padStart(8)}  ` +
      `accept ${last.accepts} (${last.launched} tasks) decline ${last.declines}  goal ${met ? 'MET' : 'NOT MET'}`,
  )
}

console.log(`offer storm: ${AGENTS} offers in one Offers event, median of ${REPS} runs (node ${process.version})`)
const floorMs = floor(AGENTS)
console.log(`${'floor: JSON.parse + iterate the same offers'.padEnd(44)} ${floorMs.toFixed(1).padStart(8)} ms`)

for (const size of [3, 5]) {
  const boot: Measured[] = []
  const steady: Measured[] = []
  const tooSmall: Measured[] = []
  for (let r = 0; r < REPS; r++) {
    const s0 = ready(size)
    const first = measure(s0, offers(AGENTS, 0), NOW + 1000)
    boot.push(first.m)
    if (first.m.launched !== size) console.log(`  note: bootstrap launched ${first.m.launched} tasks, expected ${size}`)
    // Steady state: the cluster is full (clusterSize tasks launched): the next storm is all declined.
    steady.push(measure(first.state, offers(AGENTS, 1), NOW + 2000).m)
    tooSmall.push(measure(s0, offers(AGENTS, 2, false), NOW + 1000).m)
  }
  report(`${size} members: bootstrap storm`, boot, floorMs)
  report(`${size} members: steady state (full, all declined)`, steady, floorMs)
  report(`${size} members: nothing fits (all declined)`, tooSmall, floorMs)
}

// Repeated steady-state storms on one long-lived state: does anything accumulate?
{
  let s = measure(ready(5), offers(AGENTS, 0), NOW + 1000).state
  const times: number[] = []
  for (let k = 1; k <= 10; k++) {
    const out = measure(s, offers(AGENTS, k), NOW + 1000 + k * 5000)
    times.push(out.m.ms)
    s = out.state
  }
  gc?.()
  console.log(
    `5 members: 10 consecutive steady-state storms: ${times.map((t) => t.toFixed(0)).join(', ')} ms; held offers afterwards ${Object.keys(s.offers).length}; heap ${mb(process.memoryUsage().heapUsed)}`,
  )
}
