/**
 * `serve` when Mesos removed its framework (the failover timeout expired while no scheduler ran): the restarted
 * scheduler re-subscribes with the persisted framework id, the master answers ERROR "Framework has been removed",
 * and serve stops with exit code 7 (FRAMEWORK_REMOVED in the exit-code table), not 4, which means "unhealthy".
 * Real ZooKeeper, `etcd-mesos mesos-local` and etcd, `serve` as a subprocess (needs a current build: dist/).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ZkClient} from '../../src/lib/zk/client.js'
import {ExitCode} from '../../src/lib/cli/exit-codes.js'
import {ETCD_BIN, Logs, RUN_JS, getJson, sandboxLogs, scenario, serveSuite, startMesosLocal, startServe, until} from '../helpers/serve.js'

const suite = serveSuite()

async function persistedFrameworkId(cluster: string): Promise<string | null> {
  const c = await ZkClient.connect(`${suite.zk().url}/etcd-mesos`)
  try {
    const node = await c.get(`/etcd-mesos/${cluster}/state`)
    return node ? ((JSON.parse(node.data.toString('utf8')) as {frameworkId: string | null}).frameworkId ?? null) : null
  } finally {
    await c.close()
  }
}

describe('serve: the framework removed by Mesos', {timeout: 240_000}, () => {
  it('a restart with the removed framework id exits 7 (FRAMEWORK_REMOVED), logging why', {timeout: 180_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const cluster = `removed${process.pid}`
      const mesos = await startMesosLocal({agents: 1}, logs)
      suite.cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      const args = [
        '--master',
        mesos.hostPort,
        '--cluster-name',
        cluster,
        '--cluster-size',
        '1',
        '--health-interval',
        '1',
        '--bootstrap-wait',
        '1',
        '--failover-timeout-seconds',
        '1',
        '--executor-bin',
        RUN_JS,
        '--etcd-bin',
        ETCD_BIN,
        '--zk-framework-persist',
        `${suite.zk().url}/etcd-mesos`,
      ]
      const first = await startServe(args, logs, 'serve-1')
      suite.cleanups.push(() => first.stop())
      const fid = await until('the framework id to be persisted', () => persistedFrameworkId(cluster), 60_000, 250)
      await first.stop('SIGKILL')
      // No scheduler for longer than the 1 s failover timeout: the master removes the framework.
      await until(
        'the master to remove the framework',
        async () => {
          const st = await getJson<{completed_frameworks?: {id: string}[]}>(`${mesos.url}/master/state`)
          return st.body?.completed_frameworks?.some((f) => f.id === fid)
        },
        60_000,
        250,
      )
      const second = await startServe(args, logs, 'serve-2')
      suite.cleanups.push(() => second.stop())
      const code = await Promise.race([
        second.exit,
        new Promise<string>((r) => setTimeout(() => r('still running after 90 s'), 90_000).unref()),
      ])
      assert.equal(code, ExitCode.FRAMEWORK_REMOVED, `serve's exit: ${code}`)
      assert.equal(ExitCode.FRAMEWORK_REMOVED, 7)
      assert.match(second.log(), /stopping after a fatal error: .*removed/i)
      assert.equal(
        await persistedFrameworkId(cluster),
        null,
        'the removed framework id is forgotten: the next start registers a new framework',
      )
    })
  })
})
