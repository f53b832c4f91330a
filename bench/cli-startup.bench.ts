// CLI start-up cost against a running scheduler (the fake admin API, test/helpers/fake-admin.ts): median
// wall time over N runs of `node -e 0` (the floor) and of each read-only operator command, and each one's
// ratio to the floor. The cases run interleaved (one of each per round), so a load change on a shared
// machine hits them all alike. `stats --json via oclif` (ETCD_MESOS_NO_FAST_PATH=1) shows what the fast
// path of bin/run.js (src/lib/cli/fast-path.ts) saves.
// Run: node --import tsx bench/cli-startup.bench.ts [N]   (needs a current build; no assertions)
import {spawn} from 'node:child_process'
import path from 'node:path'
import {startFakeAdmin} from '../test/helpers/fake-admin.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const RUN = path.join(ROOT, 'bin/run.js')
const N = Math.max(1, Number(process.argv[2] ?? process.env.BENCH_N ?? 15))

function timeRun(args: string[], extraEnv: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', ...extraEnv}
    if (!('ETCD_MESOS_NO_FAST_PATH' in extraEnv)) delete env.ETCD_MESOS_NO_FAST_PATH
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, args, {cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`))
      resolve(Number(process.hrtime.bigint() - t0) / 1e6)
    })
  })
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const fake = await startFakeAdmin()
try {
  const cli = (...args: string[]): string[] => [RUN, ...args, '--admin-url', fake.url]
  const cases: {name: string; args: string[]; env?: Record<string, string>}[] = [
    {name: 'node -e 0', args: ['-e', '0']},
    {name: 'stats --json', args: cli('stats', '--json')},
    {name: 'members --json', args: cli('members', '--json')},
    {name: 'failover-status --json', args: cli('failover-status', '--json')},
    {name: 'stats (human)', args: cli('stats')},
    {name: 'stats --json via oclif', args: cli('stats', '--json'), env: {ETCD_MESOS_NO_FAST_PATH: '1'}},
  ]
  for (const c of cases) await timeRun(c.args, c.env ?? {}) // warm the file cache
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  for (let i = 0; i < N; i++) for (const c of cases) times.get(c.name)!.push(await timeRun(c.args, c.env ?? {}))
  const floor = median(times.get('node -e 0')!)
  console.log(`CLI start-up, medians over ${N} interleaved runs (floor: node -e 0)`)
  for (const c of cases) {
    const t = times.get(c.name)!
    const ratio = c.name === 'node -e 0' ? '' : `  ${(median(t) / floor).toFixed(2)}x`
    console.log(
      `${c.name.padEnd(24)} median ${median(t).toFixed(1).padStart(6)} ms (min ${Math.min(...t).toFixed(1)}, max ${Math.max(...t).toFixed(1)})${ratio}`,
    )
  }
  // The issue-13 row, for bench/run-all.ts's table.
  const stats = median(times.get('stats --json')!)
  const r = stats / floor
  const summary = {
    row: 'operator CLI: stats --json',
    figure: `${stats.toFixed(0)} ms`,
    floor: `${floor.toFixed(0)} ms (node -e 0)`,
    ratio: `${r.toFixed(2)}x`,
    goal: `≤ 2.5x: ${r <= 2.5 ? 'met' : 'NOT met'}`,
  }
  console.log(`BENCH-SUMMARY ${JSON.stringify(summary)}`)
} finally {
  await fake.close()
}
