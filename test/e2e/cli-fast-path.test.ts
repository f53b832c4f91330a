// The fast path of bin/run.js (src/lib/cli/fast-path.ts): `stats`, `members` and `failover-status` run
// without loading oclif when the fast path understands the whole invocation, and everything they print
// and exit with is what oclif prints and exits with. Each invocation runs twice, with the fast path and
// with ETCD_MESOS_NO_FAST_PATH=1 (oclif), and the two results must be identical (relative times such as
// "(5m ago)" aside: the two runs read the clock at different moments). A probe loaded with --import
// reports whether @oclif/core was loaded. Needs a current build (dist/ and oclif.manifest.json).
// `serve` has a fast path too (src/lib/cli/serve-fast.ts): its flag and start-up errors must be oclif's, both ways.
import {after, before, beforeEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {defaultState, startFakeAdmin, type FakeAdmin} from '../helpers/fake-admin.js'
import {freePort} from '../helpers/ports.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const RUN = path.join(ROOT, 'bin/run.js')
const OCLIF_MARK = '[probe: @oclif/core loaded]'
const PROBE =
  'data:text/javascript,import{createRequire}from"node:module";const r=createRequire("/");' +
  `process.on("exit",()=>{if(Object.keys(r.cache).some(k=>k.includes("@oclif/core")))process.stderr.write(${JSON.stringify(`${OCLIF_MARK}\n`)})})`

interface Result {
  code: number | null
  stdout: string
  stderr: string
  oclif: boolean
}

/** Runs etcd-mesos `args`; with `stopWhen`, sends SIGTERM once its output matches (a daemon: serve). */
function run(args: string[], env: Record<string, string>, stopWhen?: RegExp): Promise<Result> {
  const base: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(ETCD_MESOS_|OCLIF_|FORCE_COLOR$|DEBUG$|CLI_FLAGS_DEBUG$)/.test(k)) base[k] = v
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PROBE, RUN, ...args], {
      env: {...base, NO_COLOR: '1', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let stopped = false
    const seen = (): void => {
      if (stopWhen && !stopped && stopWhen.test(stdout + stderr)) {
        stopped = true
        child.kill('SIGTERM')
      }
    }
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      seen()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      seen()
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`etcd-mesos ${args.join(' ')} did not finish within 60 s\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, 60_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      const oclif = stderr.includes(OCLIF_MARK)
      resolve({code, stdout, stderr: stderr.replace(`${OCLIF_MARK}\n`, ''), oclif})
    })
  })
}

/** "12:03:01 (5m ago)" → "12:03:01 (…)": the seconds can differ between two runs. */
const timeless = (s: string): string => s.replace(/\(\d[^()]*\)/g, '(…)').replace(/\b\d\d:\d\d:\d\d\b/g, 'hh:mm:ss')

/** Runs `args` with and without the fast path; asserts identical results; returns the fast-path run. */
async function both(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const fast = await run(args, env)
  const slow = await run(args, {...env, ETCD_MESOS_NO_FAST_PATH: '1'})
  assert.ok(slow.oclif, 'ETCD_MESOS_NO_FAST_PATH=1 runs oclif')
  const what = `etcd-mesos ${args.join(' ')} ${JSON.stringify(env)}`
  assert.equal(fast.code, slow.code, `${what}: exit code\nfast stderr: ${fast.stderr}\noclif stderr: ${slow.stderr}`)
  assert.equal(timeless(fast.stdout), timeless(slow.stdout), `${what}: stdout`)
  assert.equal(timeless(fast.stderr), timeless(slow.stderr), `${what}: stderr`)
  return fast
}

describe('CLI fast path (stats, members, failover-status without oclif)', {timeout: 600_000}, () => {
  let fake: FakeAdmin
  let tmp: string
  let tokenFile: string
  let notScheduler: http.Server
  let notSchedulerUrl: string
  let unreachable: string
  const at = (...args: string[]): string[] => [...args, '--admin-url', fake.url]

  before(async () => {
    fake = await startFakeAdmin()
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cli-fast-'))
    tokenFile = path.join(tmp, 'token')
    await writeFile(tokenFile, 'secret\n')
    notScheduler = http.createServer((_q, res) => res.end('<html>hello</html>'))
    await new Promise<void>((r) => notScheduler.listen(0, '127.0.0.1', r))
    notSchedulerUrl = `http://127.0.0.1:${(notScheduler.address() as {port: number}).port}`
    unreachable = `http://127.0.0.1:${await freePort()}`
  })
  after(async () => {
    await fake?.close()
    notScheduler?.close()
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })
  beforeEach(() => {
    Object.assign(fake.state, defaultState())
  })

  it('runs the read-only commands without loading oclif, printing what oclif prints', async () => {
    const taken: [string[], Record<string, string>?][] = [
      [at('stats', '--json')],
      [at('stats')],
      [at('members', '--json')],
      [at('members')],
      [at('failover-status', '--json')],
      [at('failover-status')],
      [at('stats', '--check')],
      [['stats', `-admin-url=${fake.url}`, '-json']],
      [['stats', '--json', '--timeout=5', `--admin-url=${fake.url}`, `--admin-token-file=${tokenFile}`]],
      [['members', '--json'], {ETCD_MESOS_ADMIN_URL: fake.url, ETCD_MESOS_TIMEOUT: '7'}],
      [at('stats', '--json'), {ETCD_MESOS_TIMEOUT: '', ETCD_MESOS_ADMIN_URL: 'http://ignored.invalid'}],
      [at('stats', '--json'), {ETCD_MESOS_ADMIN_TOKEN: 'from-env'}],
    ]
    for (const [args, env] of taken) {
      const r = await both(args, env)
      assert.equal(r.oclif, false, `etcd-mesos ${args.join(' ')} ${JSON.stringify(env ?? {})} loaded oclif`)
      assert.equal(r.code, 0, r.stderr)
    }
  })

  it('--check on an unhealthy cluster: exit 4 and the same output both ways, human and --json', async () => {
    fake.setHealthy(false)
    for (const args of [at('stats', '--check'), at('stats', '--check', '--json')]) {
      const r = await both(args)
      assert.equal(r.oclif, false)
      assert.equal(r.code, 4)
    }
  })

  it('errors after parsing: the same message, JSON error document and exit code both ways', async () => {
    const cases: [string[], number][] = [
      [['stats', '--admin-url', unreachable], 3],
      [['members', '--json', '--admin-url', unreachable], 3],
      [['stats', '--admin-url', notSchedulerUrl], 3],
      [['failover-status', '--json', '--admin-url', notSchedulerUrl], 3],
      [['stats', '--admin-url', 'not a url'], 2],
      [['stats', '--json', '--admin-url', 'ftp://x'], 2],
      [['failover-status', '--cluster', 'c1'], 2],
      [['stats', '--json', '--cluster', 'c1', '--zk', 'notzk'], 2],
      [['members'], 2],
      [at('stats', '--admin-token-file', path.join(tmp, 'missing')), 2],
      [at('stats', '--ca-file', path.join(tmp, 'missing')), 2],
      [at('members', '--json', '--ca-file', tokenFile), 2],
    ]
    for (const [args, code] of cases) {
      const r = await both(args)
      assert.equal(r.oclif, false, `etcd-mesos ${args.join(' ')} loaded oclif`)
      assert.equal(r.code, code, `etcd-mesos ${args.join(' ')}: ${r.stderr}`)
    }
    fake.state.delayMs = 4000
    const slow = await both(at('stats', '--timeout', '1'))
    assert.equal(slow.code, 3)
    assert.match(slow.stderr, /no answer within 1000 ms/)
  })

  it('hands everything else to oclif: help, usage errors, oclif environment switches', async () => {
    const handed: [string[], Record<string, string>?][] = [
      [['stats', '--help']],
      [['stats', '-h']],
      [['members', '--help', '--json']],
      [at('stats', '--bogus')],
      [at('members', '--check')],
      [at('stats', '--json', '--bogus')],
      [at('stats', '--timeout', '0')],
      [at('stats', '--timeout', '3601')],
      [at('stats', '--timeout', 'abc')],
      [at('stats', '--timeout', '-5')],
      [at('stats', '--json', '--json')],
      [['stats', '--admin-url', fake.url, '--admin-url', fake.url]],
      [['stats', '--admin-url=']],
      [['stats', '--admin-url']],
      [at('stats', 'extra')],
      [at('stats', '--json=maybe')],
      [at('stats', '--', '--json')],
      [at('stats'), {ETCD_MESOS_TIMEOUT: 'abc'}],
      [at('stats'), {ETCD_MESOS_CONTENT_TYPE: 'json'}],
    ]
    for (const [args, env] of handed) {
      const r = await both(args, env)
      assert.equal(r.oclif, true, `etcd-mesos ${args.join(' ')} ${JSON.stringify(env ?? {})} did not go to oclif`)
    }
    // DEBUG output carries timings, so only where it runs is compared.
    assert.equal((await run(at('stats', '--json'), {DEBUG: '*'})).oclif, true)
  })
})

describe('CLI fast path: serve without oclif', {timeout: 600_000}, () => {
  let tmp: string
  let zk: ZkServer | undefined
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cli-fast-serve-'))
    zk = await startZooKeeper()
  })
  after(async () => {
    await destroyZooKeeper(zk)
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })

  it('bad flags and start-up errors: the same message and exit code both ways', async () => {
    const missing = path.join(tmp, 'missing')
    const cases: [string[], number, Record<string, string>?][] = [
      [['serve', '--bogus'], 2],
      [['serve', '--cluster-size', 'abc'], 2],
      [['serve', '--cluster-size', '4'], 2],
      [['serve', '--cluster-size', '4', '--json'], 2],
      [['serve', '--health-interval', '0'], 2],
      [['serve', '-cluster-size=9'], 2],
      [['serve', '--master', '127.0.0.1:5050'], 2],
      [['serve', '--cluster-name', 'bad name!'], 2],
      [['serve', '--master', 'local', '--local-agent-ports', '5-3'], 2],
      [['serve', '--master', 'local', '--mesos-authentication-provider', 'kerberos'], 2],
      [['serve', '--master', 'local', '--sandbox-mem-limit', 'lots'], 2],
      [['serve', '--master', 'local', '--admin-token-file', missing], 2],
      [['serve', '--master', 'zk://', '--zk-framework-persist', 'zk://127.0.0.1:1/x'], 2],
      [['serve', '--master', 'local', '--etcd-cert-file', missing], 2],
      [['serve'], 2, {CLUSTER_SIZE: '2'}],
      [['serve', 'extra'], 2],
    ]
    for (const [args, code, env] of cases) {
      const r = await both(args, env)
      assert.equal(r.code, code, `etcd-mesos ${args.join(' ')}: ${r.stderr}`)
    }
    const help = await both(['serve', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--cluster-size/)
  })

  it('a valid serve starts without loading oclif and stops on SIGTERM with exit 0 (with oclif too)', async () => {
    const args = (port: number, name: string): string[] => [
      'serve',
      '--master',
      `127.0.0.1:${port}`,
      '--zk-framework-persist',
      `${zk!.url}/fast-path-serve`,
      '--cluster-name',
      name,
      '--cluster-size',
      '3',
      '--admin-address',
      '127.0.0.1',
      '--admin-port',
      '0',
    ]
    // Stopped once its state store is open (ZooKeeper), while it keeps trying a Mesos master that is not there.
    const ready = /no persisted state: first start/
    const fast = await run(args(await freePort(), 'fast'), {}, ready)
    assert.equal(fast.oclif, false, `serve loaded oclif:\n${fast.stderr}`)
    assert.equal(fast.code, 0, fast.stderr)
    assert.match(fast.stderr + fast.stdout, /admin API listening/)
    const slow = await run(args(await freePort(), 'oclif'), {ETCD_MESOS_NO_FAST_PATH: '1'}, ready)
    assert.equal(slow.oclif, true)
    assert.equal(slow.code, 0, slow.stderr)
  })
})
