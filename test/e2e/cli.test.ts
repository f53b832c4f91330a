// The operator commands (stats, members, reseed, failover-status, proxy) run as subprocesses of
// `node bin/run.js`, as a runbook would, against an admin API. The admin API is a parameter: `cliSuite`
// takes a factory of `AdminTarget`s; today the fake admin (test/helpers/fake-admin.ts) stands in for
// `serve`. Needs a current build (`npm run build`: dist/ and oclif.manifest.json).
import {after, before, beforeEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {defaultState, startFakeAdmin, type FakeAdmin, type RecordedRequest} from '../helpers/fake-admin.js'
import {freePort, waitFor} from '../helpers/ports.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import type {Member, ReseedResult} from '../../src/lib/cli/types.js'
import {formatWhen} from '../../src/lib/cli/render.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const RUN = path.join(ROOT, 'bin/run.js')
const TOKEN = 'e2e-secret-token'

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_MESOS_') && k !== 'FORCE_COLOR') env[k] = v
  return {...env, NO_COLOR: '1', ...extra}
}

/** Runs the CLI; stdin is a pipe (not a TTY) fed with `stdin`. */
function cli(args: string[], opts: {env?: Record<string, string>; stdin?: string; timeoutMs?: number} = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], {env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.end(opts.stdin ?? '')
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(
          `etcd-mesos ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      )
    }, opts.timeoutMs ?? 30_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

const NO_STACK = /^\s+at .+\(.*:\d+:\d+\)$/m

/** Every way `formatWhen(ms, now)` can read for a `now` between `from` and `to` (a CLI's start takes what it takes). */
function whenBetween(ms: number, from: number, to: number): string[] {
  const out = new Set<string>()
  for (let now = from; now < to; now += 250) out.add(formatWhen(ms, now))
  out.add(formatWhen(ms, to))
  return [...out]
}

function assertJsonError(r: Result, exitCode: number, code?: string): {code: string; message: string; exitCode: number} {
  assert.equal(r.code, exitCode, `exit code; stderr: ${r.stderr}`)
  const doc = JSON.parse(r.stdout) as {error: {code: string; message: string; exitCode: number}}
  assert.deepEqual(Object.keys(doc), ['error'])
  assert.equal(doc.error.exitCode, exitCode)
  assert.equal(typeof doc.error.message, 'string')
  if (code) assert.equal(doc.error.code, code)
  return doc.error
}

/** What the tests need from an admin API: its URL and a way to steer it. */
export interface AdminTarget {
  url: string
  token: string
  reset(): void
  setHealthy(healthy: boolean): void
  setReseedOutcome(final: 'succeeded' | 'failed' | 'running'): void
  setDelay(ms: number): void
  setMembers(members: Member[]): void
  /** Requests seen by the API, when it can tell (the fake can). */
  requests?: RecordedRequest[]
  close(): Promise<void>
}

export async function fakeTarget(): Promise<AdminTarget & {fake: FakeAdmin}> {
  const fake = await startFakeAdmin({token: TOKEN})
  return {
    fake,
    url: fake.url,
    token: TOKEN,
    requests: fake.requests,
    reset() {
      Object.assign(fake.state, defaultState(), {token: TOKEN})
      fake.requests.length = 0
    },
    setHealthy: (h) => fake.setHealthy(h),
    setReseedOutcome: (final) => {
      fake.state.reseedScript.final = final
    },
    setDelay: (ms) => {
      fake.state.delayMs = ms
    },
    setMembers: (ms) => {
      fake.state.members = ms
    },
    close: () => fake.close(),
  }
}

export function cliSuite(name: string, makeTarget: () => Promise<AdminTarget>): void {
  describe(`operator commands against ${name}`, {timeout: 300_000}, () => {
    let t: AdminTarget
    let tmp: string
    let tokenFile: string
    const at = (...args: string[]): string[] => [...args, '--admin-url', t.url]

    before(async () => {
      assert.ok(
        existsSync(path.join(ROOT, 'dist/commands/stats.js')) && existsSync(path.join(ROOT, 'oclif.manifest.json')),
        'build first: npx tsc -p tsconfig.json && npx oclif manifest',
      )
      t = await makeTarget()
      tmp = await mkdtemp(path.join(os.tmpdir(), 'cli-e2e-'))
      tokenFile = path.join(tmp, 'token')
      await writeFile(tokenFile, `${TOKEN}\n`)
    })
    after(async () => {
      await t?.close()
      if (tmp) await rm(tmp, {recursive: true, force: true})
    })
    beforeEach(() => t.reset())

    describe('stats', () => {
      it('human summary, no colour under NO_COLOR', async () => {
        const since = ((await (await fetch(`${t.url}/stats`)).json()) as {healthy_since: number}).healthy_since
        const from = Date.now()
        const r = await cli(at('stats'))
        const to = Date.now()
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^Cluster\s+e2e \(size 3\)\s+HEALTHY$/m)
        // "(5m ago)" only when the CLI starts within half a second: any time the CLI could have read is fine.
        const health = /^Health\s+healthy since (.+)$/m.exec(r.stdout)?.[1]
        const possible = whenBetween(since, from, to)
        assert.ok(health !== undefined && possible.includes(health), `${JSON.stringify(health)} is none of ${possible.join(' | ')}`)
        assert.doesNotMatch(r.stdout, /\u001B\[/)
        assert.equal(r.stderr, '')
      })
      it('--json is the scheduler document as is', async () => {
        const r = await cli(at('stats', '--json'))
        assert.equal(r.code, 0, r.stderr)
        const expected = JSON.parse(JSON.stringify(await (await fetch(`${t.url}/stats`)).json()))
        assert.deepEqual(JSON.parse(r.stdout), expected)
      })
      it('--check: 0 when healthy, 4 when not (human and --json)', async () => {
        assert.equal((await cli(at('stats', '--check'))).code, 0)
        t.setHealthy(false)
        const human = await cli(at('stats', '--check'))
        assert.equal(human.code, 4)
        assert.match(human.stdout, /UNHEALTHY/)
        assert.match(human.stderr, /cluster e2e is not healthy/)
        const json = await cli(at('stats', '--check', '--json'))
        assert.equal(json.code, 4)
        assert.equal((JSON.parse(json.stdout) as {healthy: number}).healthy, 0)
      })
      it('Go-style single-dash flags work', async () => {
        const r = await cli(['stats', `-admin-url=${t.url}`, '-json'])
        assert.equal(r.code, 0, r.stderr)
        assert.equal((JSON.parse(r.stdout) as {cluster_name: string}).cluster_name, 'e2e')
      })
    })

    describe('members', () => {
      it('table sorted by name with the leader starred', async () => {
        const r = await cli(at('members'))
        assert.equal(r.code, 0, r.stderr)
        const lines = r.stdout.trimEnd().split('\n')
        assert.match(lines[0]!, /^NAME\s+HOST\s+CLIENT URL\s+PEER URL\s+STATE\s+LEADER\s+RAFT INDEX\s+AGENT$/)
        assert.deepEqual(
          lines.slice(1).map((l) => l.split(/\s+/)[0]),
          ['m0', 'm1', 'm2'],
        )
        assert.match(lines[2]!, /TASK_RUNNING\s+★\s+1001\s+agent-1$/)
      })
      it('--json is the array as is', async () => {
        const r = await cli(at('members', '--json'))
        assert.equal(r.code, 0, r.stderr)
        assert.deepEqual(JSON.parse(r.stdout), await (await fetch(`${t.url}/members`)).json())
      })
    })

    describe('failover-status', () => {
      it('human and --json', async () => {
        const r = await cli(at('failover-status'))
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^Framework\s+fw-e2e-0001$/m)
        assert.match(r.stdout, /^Subscribed\s+yes, to master 127\.0\.0\.1:5050 since/m)
        assert.match(r.stdout, /^Leader\s+sched-a on host-a/m)
        assert.match(r.stdout, /^Standbys\s+sched-b on host-b/m)
        assert.match(r.stdout, /^Reconciliation\s+done \(0 tasks pending\)$/m)
        const j = await cli(at('failover-status', '--json'))
        assert.equal(j.code, 0)
        assert.deepEqual(JSON.parse(j.stdout), await (await fetch(`${t.url}/failover-status`)).json())
      })
    })

    describe('reseed', () => {
      const posts = (): RecordedRequest[] => (t.requests ?? []).filter((q) => q.method === 'POST')

      it('refuses a healthy cluster without --force (6) and posts nothing', async () => {
        const r = await cli(at('reseed', '--yes', '--admin-token-file', tokenFile))
        assert.equal(r.code, 6, r.stderr)
        assert.match(r.stdout, /Seed: m1 .* m1 has the highest raft index/)
        assert.match(r.stderr, /healthy cluster.*--force/)
        if (t.requests) assert.equal(posts().length, 0)
      })
      it('--force --yes: follows the progress to success (0), passing the token', async () => {
        const r = await cli(at('reseed', '--force', '--yes', '--admin-token-file', tokenFile, '--poll-interval', '100'))
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
        for (const title of [
          'Ranking the surviving members',
          'Seeding a one-member cluster from m1',
          'Killing the other members',
          'Growing the cluster back',
        ]) {
          assert.match(r.stdout, new RegExp(`✔ ${title}`))
        }
        assert.match(r.stdout, /killing: killed m0, m2/)
        assert.match(r.stdout, /re-seed op-\d+ succeeded \(seed m1\)/)
        if (t.requests) {
          assert.equal(posts().length, 1)
          assert.equal(posts()[0]!.authorization, `Bearer ${TOKEN}`)
          assert.deepEqual(JSON.parse(posts()[0]!.body), {force: true})
        }
      })
      it('the token from ETCD_MESOS_ADMIN_TOKEN; --json gives the result document', async () => {
        t.setHealthy(false)
        const r = await cli(at('reseed', '--yes', '--json', '--poll-interval', '50'), {env: {ETCD_MESOS_ADMIN_TOKEN: TOKEN}})
        assert.equal(r.code, 0, r.stderr)
        const doc = JSON.parse(r.stdout) as ReseedResult
        assert.equal(doc.outcome, 'succeeded')
        assert.equal(doc.operation?.status, 'succeeded')
        assert.equal(doc.candidates?.candidates[0]?.name, 'm1')
        assert.equal(doc.status_url, `${t.url}/reseed/${doc.op}`)
      })
      it('without the token the scheduler refuses (6)', async () => {
        t.setHealthy(false)
        const r = await cli(at('reseed', '--yes'))
        assert.equal(r.code, 6)
        assert.match(r.stderr, /refused POST \/reseed: .*Bearer/)
        assert.doesNotMatch(r.stderr, NO_STACK)
      })
      it('a failing operation exits 1', async () => {
        t.setHealthy(false)
        t.setReseedOutcome('failed')
        const r = await cli(at('reseed', '--yes', '--admin-token-file', tokenFile, '--poll-interval', '50'))
        assert.equal(r.code, 1, r.stderr)
        assert.match(r.stdout, /re-seed op-\d+ failed/)
      })
      it('--no-wait returns at once with exit 4 and the operation id', async () => {
        t.setHealthy(false)
        const r = await cli(at('reseed', '--yes', '--no-wait', '--admin-token-file', tokenFile))
        assert.equal(r.code, 4, r.stderr)
        const op = /re-seed (op-\d+) started/.exec(r.stdout)?.[1]
        assert.ok(op, r.stdout)
        assert.match(r.stdout, new RegExp(`reseed --follow ${op} --admin-url`))
        const j = await cli(at('reseed', '--yes', '--no-wait', '--json', '--admin-token-file', tokenFile))
        assert.equal(j.code, 4)
        const doc = JSON.parse(j.stdout) as ReseedResult
        assert.deepEqual([doc.outcome, doc.operation], ['not_finished', null])
        const f = await cli(at('reseed', '--follow', doc.op, '--poll-interval', '50'))
        assert.equal(f.code, 0, f.stderr)
        assert.match(f.stdout, new RegExp(`re-seed ${doc.op} succeeded`))
      })
      it('--wait-timeout: still running → 4', async () => {
        t.setHealthy(false)
        t.setReseedOutcome('running')
        const r = await cli(at('reseed', '--yes', '--wait-timeout', '1', '--poll-interval', '100', '--admin-token-file', tokenFile))
        assert.equal(r.code, 4, r.stderr)
        assert.match(r.stdout, /still running after 1 s; follow it with/)
      })
      it('no terminal and no --yes: usage error (2) before anything is asked', async () => {
        t.setHealthy(false)
        const r = await cli(at('reseed', '--admin-token-file', tokenFile), {stdin: 'y\n'})
        assert.equal(r.code, 2)
        assert.match(r.stderr, /stdin is not a terminal: pass --yes/)
        if (t.requests) assert.equal(t.requests.length, 0)
      })
    })

    describe('errors', () => {
      it('unreachable scheduler: 3, clear message, no stack trace', async () => {
        const port = await freePort()
        const r = await cli(['stats', '--admin-url', `http://127.0.0.1:${port}`])
        assert.equal(r.code, 3)
        assert.match(r.stderr, new RegExp(`^error: cannot reach the scheduler at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`))
        assert.doesNotMatch(r.stderr, NO_STACK)
        assertJsonError(await cli(['members', '--json', '--admin-url', `http://127.0.0.1:${port}`]), 3, 'SCHEDULER_UNREACHABLE')
      })
      it('slow scheduler: --timeout bounds the wait (3)', async () => {
        t.setDelay(5000)
        const r = await cli(at('stats', '--timeout', '1'))
        assert.equal(r.code, 3)
        assert.match(r.stderr, /no answer within 1000 ms/)
      })
      it('malformed --admin-url: 2', async () => {
        const r = await cli(['stats', '--admin-url', 'not a url'])
        assert.equal(r.code, 2)
        assert.match(r.stderr, /--admin-url "not a url" is not a URL/)
        assertJsonError(await cli(['stats', '--json', '--admin-url', 'ftp://x']), 2, 'BAD_ADMIN_URL')
      })
      it('--cluster without --zk: 2', async () => {
        const r = await cli(['failover-status', '--cluster', 'c1'])
        assert.equal(r.code, 2)
        assert.match(r.stderr, /--cluster needs --zk/)
      })
      it('unknown flag: 2 (and the --json error shape)', async () => {
        const r = await cli(['members', '--bogus'])
        assert.equal(r.code, 2)
        assert.match(r.stderr, /Nonexistent flag: --bogus/)
        assertJsonError(await cli(['members', '--bogus', '--json']), 2, 'USAGE')
      })
      it('a URL that is not a scheduler: 3, clear message', async () => {
        const srv = http.createServer((_q, res) => res.end('<html>hello</html>'))
        await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
        try {
          const port = (srv.address() as {port: number}).port
          const r = await cli(['stats', '--admin-url', `http://127.0.0.1:${port}`])
          assert.equal(r.code, 3)
          assert.match(r.stderr, /is this an etcd-mesos scheduler admin URL\?/)
        } finally {
          srv.close()
        }
      })
    })

    describe('--cluster via ZooKeeper', {timeout: 120_000}, () => {
      let zk: ZkServer | undefined
      before(async () => {
        zk = await startZooKeeper()
        const {ZkClient} = await import('../../src/lib/zk/client.js')
        const c = await ZkClient.connect(zk.url, {connectTimeoutMs: 10_000})
        try {
          await c.mkdirp('/etcd-mesos/known/election')
          await c.create('/etcd-mesos/known/election/candidate_0000000000', Buffer.from(JSON.stringify({id: 'sched-a', adminUrl: t.url})))
          await c.mkdirp('/etcd-mesos/leaderless')
        } finally {
          await c.close()
        }
      })
      after(async () => destroyZooKeeper(zk))

      it('finds the scheduler leader of a known cluster', async () => {
        assert.ok(zk)
        const r = await cli(['stats', '--json', '--cluster', 'known', '--zk', `${zk.url}/etcd-mesos`])
        assert.equal(r.code, 0, r.stderr)
        assert.equal((JSON.parse(r.stdout) as {cluster_name: string}).cluster_name, 'e2e')
      })
      it('unknown cluster: 5; cluster without a leader: 5', async () => {
        assert.ok(zk)
        const r = await cli(['stats', '--cluster', 'nosuch', '--zk', `${zk.url}/etcd-mesos`])
        assert.equal(r.code, 5, r.stderr)
        assert.match(r.stderr, /no cluster named nosuch/)
        assertJsonError(await cli(['members', '--json', '--cluster', 'leaderless', '--zk', `${zk.url}/etcd-mesos`]), 5, 'NO_LEADER')
      })
      it('unreachable ZooKeeper: 3', async () => {
        const port = await freePort()
        const r = await cli(['stats', '--cluster', 'known', '--zk', `zk://127.0.0.1:${port}/etcd-mesos`, '--timeout', '2'])
        assert.equal(r.code, 3, r.stderr)
        assert.match(r.stderr, /cannot reach ZooKeeper at zk:\/\/127\.0\.0\.1:\d+\/etcd-mesos: could not connect/)
        assert.doesNotMatch(r.stderr, NO_STACK)
      })
    })

    describe('proxy', {timeout: 180_000}, () => {
      it('serves through a gateway to the members and follows a membership change', async () => {
        const {startEtcdCluster} = await import('../helpers/etcd.js')
        const cluster = await startEtcdCluster(2)
        const stopFns: (() => Promise<void>)[] = [() => cluster.stop()]
        try {
          const member = (i: number): Member => {
            const m = cluster.members[i]!
            return {
              name: m.name,
              task_id: `t-${m.name}`,
              agent_id: `a${i}`,
              host: m.host,
              client_url: m.clientUrl,
              peer_url: m.peerUrl,
              state: 'TASK_RUNNING',
              member_id: null,
              leader: false,
              raft_index: null,
              raft_term: null,
              healthy: true,
              is_learner: false,
            }
          }
          t.setMembers([member(0), member(1)])
          const port = await freePort()
          const gw = `http://127.0.0.1:${port}`
          const proxy = spawnTracked(
            process.execPath,
            [RUN, 'proxy', '--admin-url', t.url, '--listen-addr', `127.0.0.1:${port}`, '--refresh', '1', '--timeout', '1'],
            {env: cleanEnv()},
          )
          let stderr = ''
          let stdout = ''
          proxy.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
          proxy.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
          const exited = new Promise<number | null>((r) => proxy.once('exit', (code) => r(code)))
          stopFns.unshift(() => stopTracked(proxy, 'SIGKILL'))
          await waitFor('the gateway to start', () => /etcd gateway \(pid \d+\)/.test(stderr), 30_000)
          const [ep0, ep1] = cluster.members.map((m) => `${m.host}:${m.clientPort}`)
          assert.match(stderr, new RegExp(`on 127\\.0\\.0\\.1:${port} → ${[ep0, ep1].sort().join(',')}`))

          await etcdJson(gw, '/v3/kv/put', {key: b64('proxy-key'), value: b64('through-the-gateway')})
          const got = (await etcdJson(cluster.members[1]!.clientUrl, '/v3/kv/range', {key: b64('proxy-key')})) as {kvs?: {value: string}[]}
          assert.equal(Buffer.from(got.kvs?.[0]?.value ?? '', 'base64').toString(), 'through-the-gateway')
          const viaGw = (await etcdJson(gw, '/v3/kv/range', {key: b64('proxy-key')})) as {kvs?: {value: string}[]}
          assert.equal(Buffer.from(viaGw.kvs?.[0]?.value ?? '', 'base64').toString(), 'through-the-gateway')

          // Membership change: only m1 is left → every new connection through the gateway lands on m1.
          const idOf = async (url: string): Promise<string> =>
            ((await etcdJson(url, '/v3/maintenance/status', {})) as {header: {member_id: string}}).header.member_id
          const m1 = await idOf(cluster.members[1]!.clientUrl)
          const gatewayPid = Number(/etcd gateway \(pid (\d+)\)/.exec(stderr)![1])
          t.setMembers([member(1)])
          await waitFor(
            'the proxy to restart the gateway',
            () =>
              /membership changed \(-[\d.:]+\); restarting the gateway/.test(stderr) &&
              new RegExp(`on 127\\.0\\.0\\.1:${port} → ${ep1}\\n`).test(stderr),
            30_000,
          )
          for (let i = 0; i < 6; i++) assert.equal(await waitFor('status through the gateway', () => idOf(gw), 10_000), m1)
          assert.equal(alive(gatewayPid), false, 'the old gateway is gone')

          // The scheduler goes away briefly: the proxy keeps the gateway.
          t.setDelay(3000)
          await waitFor('a warning about the membership refresh', () => /cannot refresh the membership/.test(stderr), 30_000)
          assert.equal(await idOf(gw), m1)
          t.setDelay(0)

          // SIGTERM: the gateway stops with the proxy, exit 0, nothing on stdout.
          const pid = Number([...stderr.matchAll(/etcd gateway \(pid (\d+)\)/g)].at(-1)![1])
          proxy.kill('SIGTERM')
          assert.equal(await exited, 0, stderr)
          assert.equal(alive(pid), false, 'no orphan gateway')
          assert.equal(stdout, '')
        } finally {
          for (const fn of stopFns) await fn().catch(() => undefined)
        }
      })

      it('a SIGKILLed proxy leaves no gateway behind (pdeathsig)', async () => {
        t.setMembers([{...defaultState().members[0]!, client_url: 'http://127.0.0.1:1'}])
        const port = await freePort()
        const proxy = spawnTracked(process.execPath, [RUN, 'proxy', '--admin-url', t.url, '--listen-addr', `127.0.0.1:${port}`], {
          env: cleanEnv(),
        })
        let stderr = ''
        proxy.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
        try {
          await waitFor('the gateway to start', () => /etcd gateway \(pid \d+\)/.test(stderr), 30_000)
          const gatewayPid = Number(/etcd gateway \(pid (\d+)\)/.exec(stderr)![1])
          process.kill(proxy.pid!, 'SIGKILL')
          await waitFor('the gateway to die with the proxy', () => !alive(gatewayPid), 10_000)
        } finally {
          await stopTracked(proxy, 'SIGKILL')
        }
      })

      it('bad flags: 2', async () => {
        const r = await cli(at('proxy', '--listen-addr', 'nonsense'))
        assert.equal(r.code, 2)
        assert.match(r.stderr, /--listen-addr "nonsense" is not host:port/)
        const e = await cli(at('proxy', '--etcd-bin', '/nonexistent/etcd'))
        assert.equal(e.code, 2)
        assert.match(e.stderr, /--etcd-bin \/nonexistent\/etcd: not found/)
      })
    })
  })
}

const b64 = (s: string): string => Buffer.from(s).toString('base64')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** POSTs JSON to etcd's gRPC gateway on a fresh connection (so the etcd gateway picks a member anew). */
function etcdJson(base: string, p: string, body: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${p}`,
      {method: 'POST', agent: false, timeout: 5000, headers: {'content-type': 'application/json'}},
      (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${p}: HTTP ${res.statusCode} ${text}`)),
        )
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${p}: timeout`)))
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

cliSuite('the fake admin API', fakeTarget)
