/**
 * `npm run bench`: every benchmark of bench/ in sequence, then one table of the issue-13 rows (row, figure,
 * floor measured in the same run, ratio, goal).
 *
 *  - dist/ must be current (the scheduler, executor and CLI benches run the built CLI): when dist/ is missing or
 *    a file of src/ is newer than its compiled .js, runs `tsc -p tsconfig.json` and `oclif manifest` first (the
 *    build without its `rm -rf dist`); `--no-build` skips the check.
 *  - each bench runs as `node <its flags> --import tsx bench/<name>.bench.ts` (offer-storm needs --expose-gc);
 *    benches found in bench/ but not listed below run last with no extra flag. Output is streamed as it comes.
 *  - a bench that fails (exit code ≠ 0, or over its time limit) is reported and the next one runs;
 *    the exit code is 1 when any failed, 0 otherwise.
 *  - the summary: a bench may print lines `BENCH-SUMMARY {"row","figure","floor","ratio","goal"}` (JSON);
 *    for the benches that print none, the figures are read from their usual output (the extractors below).
 * Run: npm run bench [-- [--no-build] [name ...]]   e.g. npm run bench -- memory cli-startup
 * Env: passed through to every bench (REPEAT=n for the scheduler and re-seed benches, SAMPLE=s for memory, …).
 */
import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dirname, '..')
const BENCH = path.join(ROOT, 'bench')
const LIMIT_MS = Number(process.env.BENCH_TIME_LIMIT ?? 45 * 60) * 1000

interface Row {
  bench: string
  row: string
  figure: string
  floor: string
  ratio: string
  goal: string
}

interface Spec {
  name: string
  flags?: string[]
  args?: string[]
  /** Rows read from the output when the bench prints no BENCH-SUMMARY line. */
  extract?: (out: string) => Omit<Row, 'bench'>[]
}

// ---------------------------------------------------------------- extractors

/** The last line whose trimmed text starts with `prefix`. */
const lineOf = (out: string, prefix: string): string | undefined =>
  out
    .split('\n')
    .filter((l) => l.trim().startsWith(prefix))
    .pop()
const msIn = (l: string | undefined): number | undefined => {
  const m = l === undefined ? null : /(\d+(?:\.\d+)?) ms/.exec(l)
  return m ? Number(m[1]) : undefined
}
const sec = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`)
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b ? a / b : undefined)
const x = (r: number | undefined): string => (r === undefined ? '?' : `${r.toFixed(2)}x`)
const met = (ok: boolean | undefined): string => (ok === undefined ? '?' : ok ? 'met' : 'NOT met')

function afterMedians(out: string): string {
  const i = out.lastIndexOf('medians:')
  return i >= 0 ? out.slice(i) : out
}

function schedulerRows(out: string): Omit<Row, 'bench'>[] {
  const m = afterMedians(out)
  const a = msIn(lineOf(m, '(a)'))
  const b = msIn(lineOf(m, '(b)'))
  const a2 = msIn(lineOf(m, "(a'2)"))
  const c = msIn(lineOf(m, '(c)'))
  const rb = ratio(b, a)
  const rc = ratio(c, a2)
  return [
    {
      row: 'bootstrap: serve start → 3 healthy',
      figure: sec(b),
      floor: `${sec(a)} (3 etcds by hand)`,
      ratio: x(rb),
      goal: `≤ 1.5x: ${met(rb === undefined ? undefined : rb <= 1.5)}`,
    },
    {
      row: 'replacement after SIGKILL → 3 healthy',
      figure: sec(c),
      floor: `${sec(a2)} (remove/add/start/promote by hand)`,
      ratio: x(rc),
      goal: `≤ 1.2x: ${met(rc === undefined ? undefined : rc <= 1.2)}`,
    },
  ]
}

function reseedRows(out: string): Omit<Row, 'bench'>[] {
  const m = afterMedians(out)
  const f = msIn(lineOf(m, '(f)'))
  const r = msIn(lineOf(m, '(r)'))
  const q = ratio(r, f)
  return [
    {
      row: 're-seed: timeout expired → 3 healthy with the data',
      figure: sec(r),
      floor: `${sec(f)} (--force-new-cluster + 2 learner adds by hand)`,
      ratio: x(q),
      goal: `≤ 2x and ≤ 10 s: ${met(q === undefined || r === undefined ? undefined : q <= 2 && r <= 10_000)}`,
    },
  ]
}

function cliRows(out: string): Omit<Row, 'bench'>[] {
  const node = msIn(lineOf(out, 'node -e 0'))
  const stats = msIn(lineOf(out, 'stats --json'))
  const r = ratio(stats, node)
  return [
    {
      row: 'operator CLI: stats --json',
      figure: stats === undefined ? '?' : `${stats.toFixed(0)} ms`,
      floor: node === undefined ? '?' : `${node.toFixed(0)} ms (node -e 0)`,
      ratio: x(r),
      goal: `≤ 2.5x: ${met(r === undefined ? undefined : r <= 2.5)}`,
    },
  ]
}

function stormRows(out: string): Omit<Row, 'bench'>[] {
  const l = lineOf(out, '3 members: bootstrap storm')
  const t = msIn(l)
  const r = l ? /ratio\s+([\d.]+)x/.exec(l)?.[1] : undefined
  const heap = l ? /heap peak \+\s*([\d.]+ MB)/.exec(l)?.[1] : undefined
  const floor = msIn(lineOf(out, 'floor:'))
  return [
    {
      row: 'offer storm, core alone (3 members, bootstrap)',
      figure: `${t === undefined ? '?' : `${t.toFixed(0)} ms`}, heap +${heap ?? '?'}`,
      floor: floor === undefined ? '?' : `${floor.toFixed(0)} ms (JSON.parse of the offers)`,
      ratio: r ? `${r}x` : '?',
      goal: l ? (/goal MET/.test(l) ? '< 1 s, < 200 MB: met' : '< 1 s, < 200 MB: NOT met') : '?',
    },
  ]
}

function faultRows(out: string): Omit<Row, 'bench'>[] {
  const l = lineOf(out, 'ratio fault/floor:')
  const thr = l ? /throughput ([\d.]+x)/.exec(l)?.[1] : undefined
  const p99 = l ? /p99 ([\d.]+x)/.exec(l)?.[1] : undefined
  const fault = lineOf(out, 'fault ')
  const floor = lineOf(out, 'floor ')
  const rps = (s: string | undefined): string => (s ? (/(\d+) req\/s/.exec(s)?.[1] ?? '?') : '?')
  return [
    {
      row: 'admin API during a replacement',
      figure: `${rps(fault)} req/s`,
      floor: `${rps(floor)} req/s (healthy, idle)`,
      ratio: thr ? `${thr} throughput, p99 ${p99}` : '?',
      goal: '—',
    },
  ]
}

const SPECS: Spec[] = [
  {name: 'scheduler', extract: schedulerRows},
  {name: 'reseed', extract: reseedRows},
  {name: 'cli-startup', extract: cliRows},
  {name: 'memory'},
  {name: 'offer-storm', flags: ['--expose-gc'], extract: stormRows},
  {name: 'admin-load'},
  {name: 'admin-during-fault', extract: faultRows},
]

// ---------------------------------------------------------------- build check

function newestMtime(dir: string, ext: string): {file: string; mtime: number} | undefined {
  let best: {file: string; mtime: number} | undefined
  for (const e of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (!e.isFile() || !e.name.endsWith(ext)) continue
    const f = path.join(e.parentPath, e.name)
    const mtime = fs.statSync(f).mtimeMs
    if (!best || mtime > best.mtime) best = {file: f, mtime}
  }
  return best
}

/** Why dist/ is not current (undefined when it is). */
function staleReason(): string | undefined {
  const dist = path.join(ROOT, 'dist')
  if (!fs.existsSync(path.join(dist, 'commands', 'serve.js'))) return 'dist/ is missing'
  if (!fs.existsSync(path.join(ROOT, 'oclif.manifest.json'))) return 'oclif.manifest.json is missing'
  const src = path.join(ROOT, 'src')
  for (const e of fs.readdirSync(src, {withFileTypes: true, recursive: true})) {
    if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue
    const ts = path.join(e.parentPath, e.name)
    const js = path.join(dist, path.relative(src, ts)).replace(/\.ts$/, '.js')
    if (!fs.existsSync(js)) return `${path.relative(ROOT, js)} is missing`
    if (fs.statSync(ts).mtimeMs > fs.statSync(js).mtimeMs) return `${path.relative(ROOT, ts)} is newer than its build`
  }
  const manifest = fs.statSync(path.join(ROOT, 'oclif.manifest.json')).mtimeMs
  const newest = newestMtime(path.join(dist, 'commands'), '.js')
  if (newest && newest.mtime > manifest) return `oclif.manifest.json is older than ${path.relative(ROOT, newest.file)}`
  return undefined
}

function build(): boolean {
  const why = staleReason()
  if (!why) {
    console.log('dist/ is current')
    return true
  }
  console.log(`building (${why}): tsc -p tsconfig.json && oclif manifest`)
  for (const cmd of [
    ['tsc', '-p', 'tsconfig.json'],
    ['oclif', 'manifest'],
  ]) {
    const bin = path.join(ROOT, 'node_modules', '.bin', cmd[0]!)
    const r = spawnSync(bin, cmd.slice(1), {cwd: ROOT, stdio: 'inherit'})
    if (r.status !== 0) {
      console.log(`build failed: ${cmd.join(' ')} exited ${r.status ?? r.signal}`)
      return false
    }
  }
  return true
}

// ---------------------------------------------------------------- running

interface Outcome {
  name: string
  ok: boolean
  code: string
  ms: number
  rows: Row[]
}

function run(spec: Spec): Promise<Outcome> {
  const file = path.join(BENCH, `${spec.name}.bench.ts`)
  const argv = [...(spec.flags ?? []), '--import', 'tsx', file, ...(spec.args ?? [])]
  console.log(`\n=== ${spec.name}: node ${argv.map((a) => path.relative(ROOT, a) || a).join(' ')}`)
  const t0 = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    let out = ''
    const keep = (d: Buffer, to: NodeJS.WriteStream): void => {
      const s = d.toString('utf8')
      out += s
      if (out.length > 2_000_000) out = out.slice(-1_000_000)
      to.write(s)
    }
    child.stdout.on('data', (d: Buffer) => keep(d, process.stdout))
    child.stderr.on('data', (d: Buffer) => keep(d, process.stderr))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      // Its own process group: the bench's cleanup handlers run on SIGTERM; SIGKILL after 30 s.
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        /* gone */
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          /* gone */
        }
      }, 30_000).unref()
    }, LIMIT_MS)
    current = child.pid
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      current = undefined
      const ms = performance.now() - t0
      const ok = code === 0 && !timedOut
      const why = timedOut ? `over the time limit (${LIMIT_MS / 1000} s)` : signal ? `killed by ${signal}` : `exit ${code}`
      let rows = [...out.matchAll(/^BENCH-SUMMARY (\{.*\})\s*$/gm)].flatMap((m): Row[] => {
        try {
          return [{bench: spec.name, ...(JSON.parse(m[1]!) as Omit<Row, 'bench'>)}]
        } catch {
          return []
        }
      })
      if (rows.length === 0 && ok && spec.extract) rows = spec.extract(out).map((r) => ({bench: spec.name, ...r}))
      console.log(`=== ${spec.name}: ${ok ? 'done' : `FAILED (${why})`} in ${(ms / 1000).toFixed(0)} s`)
      resolve({name: spec.name, ok, code: ok ? 'ok' : why, ms, rows})
    })
  })
}

let current: number | undefined
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (current !== undefined) {
      try {
        process.kill(-current, 'SIGTERM')
      } catch {
        /* gone */
      }
    }
    process.exit(130)
  })
}

function table(rows: Row[]): string {
  const head = ['row', 'figure', 'floor (same run)', 'ratio', 'goal']
  const cells = rows.map((r) => [r.row, r.figure, r.floor, r.ratio, r.goal])
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const fmt = (c: string[]): string => `| ${c.map((v, i) => v.padEnd(w[i]!)).join(' | ')} |`
  return [fmt(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(fmt)].join('\n')
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  const noBuild = args.includes('--no-build')
  const wanted = args.filter((a) => !a.startsWith('--')).map((a) => a.replace(/\.bench\.ts$/, '').replace(/^bench\//, ''))
  const present = fs
    .readdirSync(BENCH)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
  const specs = [
    ...SPECS.filter((s) => present.includes(s.name)),
    ...present.filter((n) => !SPECS.some((s) => s.name === n)).map((name) => ({name})),
  ]
  const unknown = wanted.filter((w) => !present.includes(w))
  if (unknown.length > 0) {
    console.error(`no such benchmark: ${unknown.join(', ')} (bench/ has ${present.join(', ')})`)
    return 2
  }
  const chosen = wanted.length > 0 ? specs.filter((s) => wanted.includes(s.name)) : specs
  console.log(`etcd-mesos benchmarks: ${chosen.map((s) => s.name).join(', ')}`)
  if (!noBuild && !build()) return 1
  const outcomes: Outcome[] = []
  for (const s of chosen) outcomes.push(await run(s))

  console.log('\n=== summary')
  for (const o of outcomes) console.log(`  ${o.name.padEnd(20)} ${o.ok ? 'ok' : `FAILED (${o.code})`}  ${(o.ms / 1000).toFixed(0)} s`)
  const rows = outcomes.flatMap((o) => o.rows)
  if (rows.length > 0) console.log(`\n${table(rows)}`)
  const failed = outcomes.filter((o) => !o.ok)
  if (failed.length > 0)
    console.log(`\n${failed.length} benchmark(s) failed: ${failed.map((o) => o.name).join(', ')} (their rows are missing above)`)
  return failed.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err)
    process.exit(10)
  },
)
