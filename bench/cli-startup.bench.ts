// CLI start-up cost: median wall time of `node -e 0` (the floor) and of
// `node bin/run.js stats --json --admin-url <fake admin>` over N runs each, and their ratio.
// Run: node --import tsx bench/cli-startup.bench.ts [N]   (needs a current build; no assertions)
import {spawn} from 'node:child_process'
import path from 'node:path'
import {startFakeAdmin} from '../test/helpers/fake-admin.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const N = Math.max(1, Number(process.argv[2] ?? process.env.BENCH_N ?? 15))

function timeRun(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, args, {cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
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
  const cases: [string, string[]][] = [
    ['node -e 0', ['-e', '0']],
    ['stats --json', [path.join(ROOT, 'bin/run.js'), 'stats', '--json', '--admin-url', fake.url]],
  ]
  const results: Record<string, number> = {}
  for (const [name, args] of cases) {
    await timeRun(args) // warm the file cache
    const times: number[] = []
    for (let i = 0; i < N; i++) times.push(await timeRun(args))
    results[name] = median(times)
    console.log(
      `${name.padEnd(14)} median ${median(times).toFixed(1)} ms over ${N} runs (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})`,
    )
  }
  console.log(`ratio stats/node: ${(results['stats --json']! / results['node -e 0']!).toFixed(2)}x`)
} finally {
  await fake.close()
}
