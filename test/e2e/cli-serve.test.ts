/**
 * The operator commands as a runbook runs them (subprocesses of bin/run.js) against a REAL scheduler:
 * `serve --master local` persisting to a real ZooKeeper, with real etcd members. Covers: stats (human,
 * --json, --check 0 and 4), members, failover-status, finding the scheduler with --cluster + --zk,
 * reseed refused on a healthy cluster (6), the 3 a.m. runbook (two members lost, `stats --check` says 4,
 * (lost with their data) `reseed --yes` re-seeds and follows to success, the cluster is healthy again with its keys), and proxy.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {freePort, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import {killEtcdAndData} from '../helpers/serve.js'

const RUN = path.resolve('bin/run.js')
const TOKEN = 'runbook-token-5e1c'

function cli(args: string[], env: Record<string, string> = {}): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

async function etcdPut(clientUrl: string, key: string, value: string): Promise<void> {
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const r = await fetch(`${clientUrl}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key), value: b64(value)}),
    signal: AbortSignal.timeout(5000),
  })
  assert.equal(r.status, 200)
}

async function etcdGet(clientUrl: string, key: string): Promise<string | null> {
  const r = await fetch(`${clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({key: Buffer.from(key).toString('base64')}),
    signal: AbortSignal.timeout(5000),
  })
  const doc = (await r.json()) as {kvs?: {value: string}[]}
  return doc.kvs?.[0] ? Buffer.from(doc.kvs[0].value, 'base64').toString() : null
}

/** The processes below `root` (read from /proc), as the agents' executors are. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>()
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      parent.set(
        Number(e),
        Number(
          readFileSync(`/proc/${e}/stat`, 'utf8')
            .replace(/^.*\) /, '')
            .split(' ')[1],
        ),
      )
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = []
  const walk = (p: number): void => {
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c)
        walk(c)
      }
  }
  walk(root)
  return out
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
  } catch {
    return ''
  }
}

describe('operator commands against a real serve', {timeout: 300_000}, () => {
  let dir: string
  let zk: ZkServer
  let serve: ChildProcess
  let admin: string
  let zkPersist: string
  let log = ''
  const at = (...args: string[]): string[] => [...args, '--admin-url', admin]

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cli-serve-'))
    writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`)
    zk = await startZooKeeper()
    zkPersist = `${zk.url}/etcd-mesos`
    const port = await freePort()
    admin = `http://127.0.0.1:${port}`
    serve = spawnTracked(
      process.execPath,
      [
        RUN,
        'serve',
        '--master',
        'local',
        '--cluster-name',
        'runbook',
        '--cluster-size',
        '3',
        '--admin-address',
        '127.0.0.1',
        '--admin-port',
        String(port),
        '--address',
        '127.0.0.1',
        '--local-mesos-port',
        '0',
        '--local-agent-ports',
        '30100-30199',
        '--health-interval',
        '1',
        '--bootstrap-wait',
        '3',
        '--member-grace',
        '5',
        '--no-auto-reseed',
        '--reseed-timeout',
        '30',
        '--zk-framework-persist',
        zkPersist,
        '--admin-token-file',
        path.join(dir, 'token'),
        '--reseed-backups-keep',
        '3',
      ],
      {cwd: dir},
    )
    serve.stdout?.on('data', (d: Buffer) => (log += d.toString()))
    serve.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-200_000)))
    await waitFor(
      '3 healthy members',
      async () => {
        const s = (await (await fetch(`${admin}/stats`)).json()) as {healthy: number; running_servers: number}
        return s.healthy === 1 && s.running_servers === 3
      },
      90_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- serve log ---\n${log.slice(-4000)}`)
    })
  })

  after(async () => {
    if (serve) await stopTracked(serve, 'SIGTERM', 25_000)
    await destroyZooKeeper(zk)
    rmSync(dir, {recursive: true, force: true})
  })

  it('stats: human summary, --json document, --check 0 on a healthy cluster', async () => {
    const human = await cli(at('stats'))
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /runbook/)
    assert.match(human.stdout, /HEALTHY/)
    const json = await cli(at('stats', '--json'))
    const doc = JSON.parse(json.stdout) as {healthy: number; cluster_size: number; running_servers: number}
    assert.deepEqual([doc.healthy, doc.cluster_size, doc.running_servers], [1, 3, 3])
    assert.equal((await cli(at('stats', '--check'))).code, 0)
  })

  it('serve --reseed-backups-keep reaches every executor it launches', () => {
    const executors = descendants(serve.pid!)
      .map(cmdline)
      .filter((c) => c.includes('bin/executor.js')) // serve's default executor command: the lean entry point
    assert.equal(executors.length, 3, executors.join('\n'))
    for (const c of executors) assert.match(c, /\/bin\/executor\.js --reseed-backups-keep 3$/)
  })

  it('members: three running members, one leader', async () => {
    const r = await cli(at('members', '--json'))
    assert.equal(r.code, 0, r.stderr)
    const ms = JSON.parse(r.stdout) as {name: string; state: string; leader: boolean; client_url: string}[]
    assert.equal(ms.length, 3)
    assert.ok(ms.every((m) => m.state === 'TASK_RUNNING'))
    assert.equal(ms.filter((m) => m.leader).length, 1)
    const table = await cli(at('members'))
    for (const m of ms) assert.ok(table.stdout.includes(m.name) && table.stdout.includes(m.client_url))
  })

  it('--local-agent-ports: the local agents offer that range, so every member listens inside it', async () => {
    const r = await cli(at('members', '--json'))
    const ms = JSON.parse(r.stdout) as {client_url: string; peer_url: string}[]
    for (const m of ms)
      for (const u of [m.client_url, m.peer_url]) {
        const port = Number(new URL(u).port)
        assert.ok(port >= 30100 && port <= 30199, `${u} outside --local-agent-ports 30100-30199`)
      }
  })

  it('failover-status and --cluster/--zk lookup through ZooKeeper', async () => {
    const r = await cli(['failover-status', '--json', '--cluster', 'runbook', '--zk', zkPersist])
    assert.equal(r.code, 0, r.stderr)
    const doc = JSON.parse(r.stdout) as {framework_id: string; subscribed: boolean; failover_timeout_seconds: number}
    assert.ok(doc.framework_id.endsWith('-0000'))
    assert.equal(doc.subscribed, true)
    assert.equal(doc.failover_timeout_seconds, 604800)
    const missing = await cli(['stats', '--cluster', 'nosuchcluster', '--zk', zkPersist])
    assert.equal(missing.code, 5, missing.stderr)
  })

  it('reseed on a healthy cluster is refused without --force (6)', async () => {
    const r = await cli(at('reseed', '--yes', '--admin-token-file', path.join(dir, 'token')))
    assert.equal(r.code, 6, r.stdout + r.stderr)
  })

  it('the runbook: two members lost → stats --check 4 → reseed --yes → healthy again with the keys', async () => {
    const ms = JSON.parse((await cli(at('members', '--json'))).stdout) as {name: string; client_url: string; leader: boolean}[]
    for (let i = 0; i < 20; i++) await etcdPut(ms[0].client_url, `runbook/${i}`, `v${i}`)
    const victims = ms.filter((m) => !m.leader).slice(0, 2)
    const survivor = ms.find((m) => !victims.includes(m))!
    // Lost WITH their data: otherwise the scheduler heals the quorum in place and no re-seed is needed.
    for (const v of victims) await killEtcdAndData(v.name)
    await waitFor('stats --check reports unhealthy (4)', async () => (await cli(at('stats', '--check'))).code === 4, 60_000, 1000)
    const r = await cli(at('reseed', '--yes', '--admin-token-file', path.join(dir, 'token')))
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- serve log ---\n${log.slice(-4000)}`)
    assert.match(r.stdout + r.stderr, new RegExp(survivor.name))
    await waitFor(
      '3 healthy members again',
      async () => {
        const s = (await (await fetch(`${admin}/stats`)).json()) as {healthy: number; running_servers: number; cluster_reseeds: number}
        return s.healthy === 1 && s.running_servers === 3 && s.cluster_reseeds === 1
      },
      120_000,
      1000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- serve log ---\n${log.slice(-4000)}`)
    })
    const now = JSON.parse((await cli(at('members', '--json'))).stdout) as {client_url: string}[]
    for (const m of now) for (let i = 0; i < 20; i += 7) assert.equal(await etcdGet(m.client_url, `runbook/${i}`), `v${i}`)
  })

  it('proxy: a gateway to the members serves reads and writes', async () => {
    const port = await freePort()
    const proxy = spawnTracked(process.execPath, [
      RUN,
      'proxy',
      '--admin-url',
      admin,
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--refresh',
      '2',
    ])
    try {
      await waitFor(
        'the gateway answers',
        async () => (await etcdGet(`http://127.0.0.1:${port}`, 'runbook/1').catch(() => null)) === 'v1',
        30_000,
        500,
      )
      await etcdPut(`http://127.0.0.1:${port}`, 'via-proxy', 'ok')
      const ms = JSON.parse((await cli(at('members', '--json'))).stdout) as {client_url: string}[]
      assert.equal(await etcdGet(ms[0].client_url, 'via-proxy'), 'ok')
    } finally {
      await stopTracked(proxy, 'SIGTERM', 10_000)
    }
  })
})
