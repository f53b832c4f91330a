/**
 * A rollout whose first relaunched member cannot come back stops (issue 16): real ZooKeeper, the local Mesos as its
 * own process, 3 members on Debian's etcd 3.4; serve restarted with `--etcd-bin` naming a binary that does not exist
 * on the agents (declared 3.4.23 with --etcd-version, so the version rules pass). The first follower's relaunch fails:
 * the rollout is `failed` naming the member, the two other members are untouched (same tasks, still 3.4, a quorum),
 * `stats --check` exits 9 (ROLLOUT_FAILED) and `rollout status` exits 9.
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-rollout-failure.test.ts   (needs dist/).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  ETCD_BIN,
  getJson,
  Logs,
  members,
  readPrefix,
  scenario,
  serveSuite,
  startServe,
  until,
  waitHealthyMembers,
} from '../helpers/serve.js'
import {localMesosServeArgs, runCli} from '../helpers/serve-e2e.js'

const suite = serveSuite()
const cleanups = suite.cleanups

describe('serve: a rollout whose member does not come back', {timeout: 600_000}, () => {
  it('fails, leaves the other members untouched, and stats --check exits 9', {timeout: 540_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const cluster = `rfail${process.pid % 10000}`
      const base = await localMesosServeArgs(suite, logs, cluster)
      const first = await startServe([...base, '--etcd-bin', ETCD_BIN], logs, 'serve-1')
      cleanups.push(() => first.stop())
      const before = await waitHealthyMembers(first.adminUrl, 3, 240_000)
      const urls = before.map((m) => m.client_url)
      await first.stop()

      const args = [...base, '--etcd-bin', '/nonexistent/etcd-3.4', '--etcd-version', '3.4.23', '--rollout-member-timeout', '60']
      const second = await startServe(args, logs, 'serve-2')
      cleanups.push(() => second.stop())
      const r = await until(
        'the rollout to end',
        async () => {
          const a = await getJson<{rollout: {state: string; message: string; members: {done: string[]; current: string | null}} | null}>(
            `${second.adminUrl}/rollout`,
          ).catch(() => null)
          const st = a?.body?.rollout?.state
          return st && st !== 'running' ? a.body.rollout : undefined
        },
        300_000,
        1000,
      )
      assert.equal(r!.state, 'failed', r!.message)
      assert.match(r!.message, new RegExp(`member ${cluster}-\\d`))
      assert.deepEqual(r!.members.done, [])
      const failed = r!.members.current!
      // the two others: the same tasks as before, still 3.4, serving
      const now = await members(second.adminUrl)
      for (const m of before.filter((x) => x.name !== failed)) {
        assert.ok(
          now.some((x) => x.task_id === m.task_id),
          `member ${m.name} untouched (task ${m.task_id})`,
        )
        const v = (await (await fetch(`${m.client_url}/version`)).json()) as {etcdserver: string}
        assert.match(v.etcdserver, /^3\.4\./)
      }
      await readPrefix(
        urls.filter((u) => u !== before.find((x) => x.name === failed)!.client_url),
        'none/',
      ) // a quorum read works
      const check = await runCli(['stats', '--check', '--admin-url', second.adminUrl], 60_000)
      assert.equal(check.code, 9, check.stderr)
      assert.match(check.stderr, /rollout .* failed/)
      assert.match(check.stdout, /^Rollout\s+rollout-\S+ \(auto\) failed: 0 of 3 rolled; member /m)
      const st = await runCli(['rollout', 'status', '--admin-url', second.adminUrl], 60_000)
      assert.equal(st.code, 9, st.stderr)
      assert.match(st.stdout, /failed/)
      assert.match(second.log(), /rollout failed/)
    })
  })
})
