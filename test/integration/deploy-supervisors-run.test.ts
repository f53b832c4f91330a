/**
 * The supervisor set-ups of deploy/ run for real, as their supervisors would start them: scheduler A from the systemd
 * unit (its ExecStart with %H, its environment file) and scheduler B from the Marathon app (its cmd through sh, with
 * $HOST and $PORT0, its env), for the same cluster, against a real ZooKeeper and a local Mesos registered in it
 * (mesos-local --zk, so MESOS_MASTER stays a zk:// URL). Only what cannot be the same on a test machine is replaced:
 * the ZooKeeper hosts, the install path (/usr/bin/node, /opt/etcd-mesos → this checkout), the admin port, the
 * token file, 0.0.0.0 → 127.0.0.1, and a 1-member cluster for speed. Then:
 *   - A leads and its member becomes healthy; B stands by; both answer the Marathon health check path with 200;
 *   - A publishes its admin URL built from --address;
 *   - A stopped (SIGTERM, as systemd stops it), B takes over and reports the member healthy.
 * Needs a current dist/.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {readDeploy, shellWords} from '../helpers/deploy-files.js'
import {freePort} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {
  ETCD_BIN,
  getJson,
  Logs,
  RUN_JS,
  scenario,
  serveSuite,
  startMesosLocal,
  sweepCluster,
  until,
  waitHealthyMembers,
} from '../helpers/serve.js'

const suite = serveSuite()
const CLUSTER = 'dsup'

interface Failover {
  mode: string
  scheduler: {leader: {admin_url: string | null}}
}

/** KEY=value lines of a systemd environment file (comments and blank lines skipped). */
const envFileValues = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
  )

describe('deploy/ supervisor set-ups run: systemd leader, Marathon standby', {timeout: 420_000}, () => {
  it('A (systemd) leads, B (Marathon) stands by, both pass the health check; B takes over when A stops', async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const zk = suite.zk().url
      const mesos = await startMesosLocal({zk: `${zk}/mesos`}, logs)
      suite.cleanups.push(() => mesos.stop())
      suite.cleanups.push(() => sweepCluster(CLUSTER))
      const dir = await mkdtemp(path.join(os.tmpdir(), 'deploy-run-'))
      suite.cleanups.push(() => rm(dir, {recursive: true, force: true}))
      const tokenFile = path.join(dir, 'admin-token')
      await writeFile(tokenFile, 'deploy-test-token\n', {mode: 0o600})

      /** The settings of a deploy file with only the machine-specific values replaced. */
      const localise = (env: Record<string, string>): Record<string, string> => {
        const out: Record<string, string> = {}
        for (const [k, v] of Object.entries(env)) out[k] = v.replace(/^zk:\/\/[^/]+/, zk)
        assert.match(out.MESOS_MASTER, /^zk:\/\/.*\/mesos$/)
        return {...out, FRAMEWORK_NAME: CLUSTER, CLUSTER_SIZE: '1', ADMIN_TOKEN_FILE: tokenFile, ETCD_BIN, BOOTSTRAP_WAIT: '1'}
      }
      const localCmd = (cmd: string): string =>
        cmd
          .replace('/usr/bin/node', process.execPath)
          .replace('/opt/etcd-mesos/bin/run.js', RUN_JS)
          .replace('--admin-address 0.0.0.0', '--admin-address 127.0.0.1')
      const baseEnv = (): NodeJS.ProcessEnv => {
        const e: NodeJS.ProcessEnv = {}
        for (const [k, v] of Object.entries(process.env)) if (!/^(ETCD_MESOS_|ADMIN_|MESOS_|ZK_)/.test(k)) e[k] = v
        return e
      }
      const start = (label: string, file: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess => {
        const child = spawnTracked(file, args, {env, cwd: dir})
        let text = ''
        const keep = (d: Buffer): void => {
          text = (text + d.toString('utf8')).slice(-200_000)
        }
        child.stdout?.on('data', keep)
        child.stderr?.on('data', keep)
        logs.add(label, () => text)
        suite.cleanups.push(() => stopTracked(child, 'SIGTERM', 25_000))
        return child
      }

      // A: systemd's ExecStart (%H = the host name: here the loopback address), its EnvironmentFile, ADMIN_PORT.
      const unit = readDeploy('systemd/etcd-mesos.service')
      const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1]
      assert.ok(execStart)
      const portA = await freePort()
      const wordsA = shellWords(localCmd(execStart).replace(/%H/g, '127.0.0.1'))
      const a = start('scheduler A (systemd)', wordsA[0], wordsA.slice(1), {
        ...baseEnv(),
        ...localise(envFileValues(readDeploy('systemd/etcd-mesos.env'))),
        ADMIN_PORT: String(portA),
      })
      const urlA = `http://127.0.0.1:${portA}`
      await waitHealthyMembers(urlA, 1, 180_000)

      // B: Marathon's cmd through sh, with the HOST and PORT0 Marathon sets, and the app's env.
      const app = JSON.parse(readDeploy('marathon/etcd-mesos.json')) as {
        cmd: string
        env: Record<string, string>
        healthChecks: {path: string}[]
      }
      const portB = await freePort()
      start('scheduler B (Marathon)', 'sh', ['-c', localCmd(app.cmd)], {
        ...baseEnv(),
        ...localise(app.env),
        HOST: '127.0.0.1',
        PORT0: String(portB),
      })
      const urlB = `http://127.0.0.1:${portB}`
      const health = app.healthChecks[0].path
      // B's health check answers 200 from its start; it names the leader once it has joined the election.
      await until(
        'B to stand by, naming A as the leader',
        async () => {
          const r = await getJson<Failover>(`${urlB}${health}`).catch(() => undefined)
          if (r !== undefined) assert.equal(r.status, 200, `B's health check: ${r.text}`)
          return r?.body.mode === 'STANDBY' && r.body.scheduler.leader.admin_url === `${urlA}/` ? true : undefined
        },
        60_000,
        250,
      )
      const fa = await getJson<Failover>(`${urlA}${health}`)
      assert.equal(fa.status, 200, `A's health check: ${fa.text}`)
      assert.notEqual(fa.body.mode, 'STANDBY')
      assert.equal(fa.body.scheduler.leader.admin_url, `${urlA}/`, 'A publishes the admin URL built from --address %H')

      // systemd stops A with SIGTERM: B leads and finds the member healthy.
      await stopTracked(a, 'SIGTERM', 25_000)
      await until(
        'B to lead',
        async () => {
          const r = await getJson<Failover>(`${urlB}${health}`).catch(() => undefined)
          return r?.status === 200 && r.body.mode !== 'STANDBY' ? true : undefined
        },
        90_000,
        250,
      )
      await waitHealthyMembers(urlB, 1, 120_000)
    })
  })
})
