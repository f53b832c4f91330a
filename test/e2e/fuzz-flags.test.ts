/**
 * Bad flags for `etcd-mesos serve` and `etcd-mesos stats`, run as subprocesses of `node bin/run.js` (needs a
 * current build: `npx tsc -p tsconfig.json && npx oclif manifest`). ~40 generated invalid invocations —
 * unknown flags, wrong types, empty values, huge numbers, negative ports, even cluster sizes, bad URLs —
 * must each exit 2 (not hang: killed after 60 s, far beyond a cold start on a loaded machine) with one `Error:` line
 * on stderr and no stack trace. Nothing may start:
 * `--admin-port 0 --local-mesos-port 0 --admin-address 127.0.0.1` keep a case that would start something
 * on free loopback ports, each process runs in its own group (killed on timeout and at exit) in a temp dir.
 * Deterministic (seeded mulberry32; FUZZ_SEED overrides).
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const RUN = path.join(ROOT, 'bin/run.js')
const NO_STACK = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m
const STARTED = /admin API listening|started the embedded local Mesos|standing by|subscrib/i
const PW = 'S3cr3tPw'
/** Keeps a case that slipped through validation on loopback and free ports. */
const SAFE = ['--admin-port', '0', '--admin-address', '127.0.0.1', '--local-mesos-port', '0']

interface Run {
  code: number | null
  stdout: string
  stderr: string
  ms: number
  timedOut: boolean
}

let cwd = ''
before(async () => {
  assert.ok(existsSync(path.join(ROOT, 'dist/commands/serve.js')), 'needs a build: npx tsc -p tsconfig.json && npx oclif manifest')
  cwd = await mkdtemp(path.join(os.tmpdir(), 'etcd-mesos-fuzz-flags-'))
})
after(async () => {
  if (cwd) await rm(cwd, {recursive: true, force: true})
})

/** A minimal environment: none of the flags' environment variables (MESOS_MASTER, CLUSTER_SIZE, ...) leak in. */
function env(): NodeJS.ProcessEnv {
  return {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', LANG: 'C.UTF-8'}
}

function run(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const child = spawnTracked(process.execPath, [RUN, ...args], {cwd, env: env()})
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      void stopTracked(child, 'SIGKILL', 0)
    }, timeoutMs)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr, ms: Date.now() - t0, timedOut})
    })
  })
}

interface Case {
  args: string[]
  why: string
}

function serveCases(r: Prng): Case[] {
  const base = (): string[] => ['serve', '--master', 'local', ...SAFE]
  const junkWord = (): string => r.stringOf('abcdefghijklmnopqrstuvwxyz-', r.range(3, 12)).replace(/^-+/, 'x')
  const cases: Case[] = []
  cases.push({why: 'unknown flag', args: [...base(), `--${junkWord()}-${r.int(1000)}`]})
  cases.push({why: 'misspelled flag', args: [...base(), r.pick(['--clustersize', '--cluster_sizee', '--admin-prot']), '3']})
  cases.push({why: 'unknown Go-style flag', args: [...base(), `-${junkWord()}=1`]})
  cases.push({why: 'stray positional argument', args: [...base(), junkWord()]})
  for (const v of [
    r.pick(['abc', '3x', '1.5', '0x3', '']),
    String(r.pick([2, 4, 6, 8, 0, -1, -3])),
    String(r.pick([9, 11, 99])),
    '99999999999999999999',
  ]) {
    cases.push({why: `--cluster-size ${JSON.stringify(v)}`, args: [...base(), '--cluster-size', v]})
  }
  for (const flag of ['--admin-port', '--local-mesos-port']) {
    cases.push({why: `negative ${flag}`, args: ['serve', '--master', 'local', flag, String(-r.range(1, 65535))]})
    cases.push({why: `huge ${flag}`, args: ['serve', '--master', 'local', flag, String(r.range(65536, 10_000_000))]})
  }
  cases.push({why: 'empty --master', args: ['serve', `--master=${r.pick(['', ' ', '   '])}`, ...SAFE]})
  cases.push({why: 'empty --cluster-name', args: [...base(), '--cluster-name=']})
  cases.push({
    why: 'bad --cluster-name',
    args: [...base(), '--cluster-name', r.pick(['$(reboot)', 'a b', 'x'.repeat(64), '../etc', 'name\nnext', '-lead'])],
  })
  for (const flag of [
    '--sandbox-cpu-limit',
    '--sandbox-mem-limit',
    '--sandbox-disk-limit',
    '--mesos-offer-refuse-seconds',
    '--failover-timeout-seconds',
  ]) {
    cases.push({
      why: `bad ${flag}`,
      args: [...base(), `${flag}=${r.pick(['', 'abc', '-1', '1e309', 'NaN', 'Infinity', '1e400', '0x', '-0.5'])}`],
    })
  }
  cases.push({why: 'health interval 0', args: [...base(), '--health-interval', r.pick(['0', '-5', 'soon'])]})
  cases.push({why: 'local agents out of range', args: [...base(), '--local-agents', r.pick(['0', '51', '-1', '1e3'])]})
  cases.push({
    why: 'bad --local-agent-ports',
    args: [...base(), '--local-agent-ports', r.pick(['', 'abc', '31000', '32000-31000', '80-90', '60000-70000', '1-2-3'])],
  })
  cases.push({why: 'unknown auth provider', args: [...base(), '--mesos-authentication-provider', r.pick(['CRAM-MD5', 'kerberos', ''])]})
  cases.push({why: 'missing --zk-framework-persist', args: ['serve', '--master', `127.0.0.1:${r.range(1, 65535)}`, ...SAFE]})
  cases.push({
    why: 'bad static --master',
    args: [
      'serve',
      '--master',
      r.pick(['127.0.0.1', 'host:0', 'ftp://m:21', 'http://m:5050/path', '999.0.0.1:5050', '[::1:5050']),
      '--zk-framework-persist',
      'zk://127.0.0.1:1/x',
      ...SAFE,
    ],
  })
  cases.push({
    why: 'bad zk:// --master',
    args: [
      'serve',
      '--master',
      r.pick(['zk://', 'zk://h:99999/mesos', 'zk://h/../x', 'zk://,,/x']),
      '--zk-framework-persist',
      'zk://127.0.0.1:1/x',
      ...SAFE,
    ],
  })
  cases.push({
    why: 'missing --admin-token-file',
    args: [...base(), '--admin-token-file', path.join(os.tmpdir(), `no-such-token-${r.int(1e9)}`)],
  })
  cases.push({
    why: 'flag without its value',
    args: ['serve', '--master', 'local', ...SAFE, r.pick(['--cluster-size', '--cluster-name', '--admin-port'])],
  })
  return cases
}

function statsCases(r: Prng): Case[] {
  const cases: Case[] = []
  cases.push({why: 'stats: unknown flag', args: ['stats', `--${r.pick(['adminurl', 'clusterr', 'verbose'])}`, 'x']})
  cases.push({why: 'stats: unknown flag with --json', args: ['stats', '--json', '--bogus']})
  cases.push({
    why: 'stats: --admin-url not a URL',
    args: ['stats', '--admin-url', r.pick(['notaurl', 'ftp://x', '://', 'http//x:1', 'http://[::1:80'])],
  })
  cases.push({why: 'stats: empty --admin-url', args: ['stats', '--admin-url=']})
  cases.push({
    why: 'stats: --timeout out of range',
    args: ['stats', '--admin-url', 'http://127.0.0.1:1', '--timeout', r.pick(['0', '-1', '3601', '99999999999999999999'])],
  })
  cases.push({
    why: 'stats: --timeout wrong type',
    args: ['stats', '--admin-url', 'http://127.0.0.1:1', '--timeout', r.pick(['abc', '1.5', ''])],
  })
  cases.push({why: 'stats: --cluster without --zk', args: ['stats', '--cluster', 'c1']})
  cases.push({
    why: 'stats: bad --zk',
    args: ['stats', '--cluster', 'c1', '--zk', r.pick(['zk://a:b:c/x', 'http://zk:2181/x', 'zk://h:0/x', 'zk://'])],
  })
  cases.push({why: 'stats: nothing to ask', args: ['stats']})
  cases.push({why: 'stats: stray argument', args: ['stats', '--admin-url', 'http://127.0.0.1:1', 'extra']})
  cases.push({why: 'stats: --check with a value', args: ['stats', '--admin-url', 'http://127.0.0.1:1', '--check=maybe']})
  return cases
}

describe('fuzz: bad flags for serve and stats', {timeout: 600_000}, () => {
  it('every invalid invocation exits 2 with one Error: line, no stack trace, and does not hang', async () => {
    const r = new Prng(fuzzSeed(0xf1a90001))
    const cases = [...serveCases(r), ...statsCases(r)]
    const started: string[] = []
    const failures: string[] = []
    // Two at a time: bounded wall time without starving the 2-core machine.
    for (let i = 0; i < cases.length; i += 2) {
      await Promise.all(
        cases.slice(i, i + 2).map(async (c) => {
          const res = await run(c.args)
          const what = `${c.why}: etcd-mesos ${c.args.map((a) => JSON.stringify(a)).join(' ')}`
          if (STARTED.test(res.stderr)) started.push(`${what}\n    ${res.stderr.split('\n').find((l) => STARTED.test(l))}`)
          try {
            assert.ok(!res.timedOut, `${what}: did not finish within 60 s (hung; killed)`)
            assert.equal(res.code, 2, `${what}: exit code ${res.code}; stderr: ${res.stderr}`)
            const json = c.args.includes('--json')
            const text = json ? res.stdout : res.stderr
            const errorLines = text.split('\n').filter((l) => /\berror\b"?:/i.test(l))
            assert.equal(errorLines.length, 1, `${what}: expected one Error: line, got ${errorLines.length}: ${text}`)
            assert.doesNotMatch(res.stderr + res.stdout, NO_STACK, `${what}: stack trace printed`)
            if (json) assert.equal((JSON.parse(res.stdout) as {error: {exitCode: number}}).error.exitCode, 2)
          } catch (err) {
            failures.push((err as Error).message)
          }
        }),
      )
    }
    console.log(
      `fuzz-flags: ${cases.length} invalid invocations, ${failures.length} failed, ${started.length} started something before failing`,
    )
    if (started.length) console.log(`started before rejecting the flags (validation too late):\n  ${started.join('\n  ')}`)
    assert.deepEqual(failures, [])
  })

  it('bad values are rejected before anything starts (admin API, local Mesos)', async () => {
    const res = await run(['serve', '--master', '127.0.0.1:5050', '--zk-framework-persist', 'zk://h:99999/x', ...SAFE])
    assert.equal(res.code, 2)
    assert.doesNotMatch(res.stderr, STARTED, res.stderr)
  })

  it('passwords in bad URLs are never echoed', async () => {
    for (const args of [
      ['serve', '--master', `http://u:${PW}@h:5050`, '--zk-framework-persist', 'zk://127.0.0.1:1/x', ...SAFE],
      ['serve', '--master', `zk://u:${PW}@h:99999/mesos`, '--zk-framework-persist', 'zk://127.0.0.1:1/x', ...SAFE],
      ['stats', '--admin-url', `http://u:${PW}@h:99999`],
    ]) {
      const res = await run(args)
      assert.equal(res.code, 2)
      assert.ok(!(res.stdout + res.stderr).includes(PW), `${args.join(' ')}: ${res.stderr}`)
    }
  })
})
