/**
 * The real rolling upgrade (issue 16): real ZooKeeper, the local Mesos as its own process, a 3-member cluster
 * launched by `serve --etcd-bin /usr/bin/etcd` (Debian 12's etcd 3.4); a writer puts keys throughout and a poller
 * reads linearizably through the members. serve is stopped and started again with `--etcd-bin <etcd 3.5.16>`: the new
 * serve sees every member's recorded spec differ and rolls them one at a time in place (followers first, the leader
 * last after MoveLeader). Then: the rollout is done, every member's /version says 3.5.16 and the cluster version
 * reaches 3.5.0, no acknowledged write is lost, `rollout status` and `stats --check` exit 0. The quorum poller's
 * failures and the longest run of them are reported (not asserted: timings depend on the machine).
 * Run: node --import tsx --test --test-timeout=900000 test/integration/serve-rollout-upgrade.test.ts   (needs dist/).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {etcd35Bin} from '../helpers/etcd-versions.js'
import {ETCD_BIN, Logs, getJson, readPrefix, scenario, serveSuite, startServe, until, waitHealthyMembers} from '../helpers/serve.js'
import {localMesosServeArgs, runCli} from '../helpers/serve-e2e.js'
import {Writer} from '../resilience/writer.js'

const suite = serveSuite()
const cleanups = suite.cleanups

async function versionOf(url: string): Promise<{etcdserver: string; etcdcluster: string}> {
  const r = await fetch(`${url}/version`, {signal: AbortSignal.timeout(3000)})
  return (await r.json()) as {etcdserver: string; etcdcluster: string}
}

/** Linearizable reads through the members in turn every ~200 ms: failures and the longest run without a success. */
function quorumPoller(urls: string[]) {
  let running = true
  let checks = 0
  let failures = 0
  let lastOk = Date.now()
  let longest = 0
  const loop = (async () => {
    let i = 0
    while (running) {
      const url = urls[i++ % urls.length]!
      checks++
      try {
        const r = await fetch(`${url}/v3/kv/range`, {
          method: 'POST',
          body: JSON.stringify({key: Buffer.from('quorum-probe').toString('base64')}),
          signal: AbortSignal.timeout(2000),
        })
        if (r.status !== 200) throw new Error(String(r.status))
        await r.text()
        lastOk = Date.now()
      } catch {
        failures++
        longest = Math.max(longest, Date.now() - lastOk)
      }
      await new Promise((res) => setTimeout(res, 200))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return {checks, failures, longestWithoutReadMs: longest}
    },
  }
}

describe('serve: a rolling upgrade from etcd 3.4 to 3.5 under writes', {timeout: 900_000}, () => {
  it('a serve restarted with --etcd-bin <3.5> rolls every member in place; no acknowledged write is lost', {timeout: 840_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const etcd35 = await etcd35Bin()
      const cluster = `rup${process.pid % 10000}`
      const base = await localMesosServeArgs(suite, logs, cluster)
      const first = await startServe([...base, '--etcd-bin', ETCD_BIN], logs, 'serve-3.4')
      cleanups.push(() => first.stop())
      const ms = await waitHealthyMembers(first.adminUrl, 3, 240_000)
      const urls = ms.map((m) => m.client_url)
      for (const u of urls) assert.match((await versionOf(u)).etcdserver, /^3\.4\./)

      const writer = new Writer('up/', () => urls, 20, 1000)
      const poller = quorumPoller(urls)
      writer.start()
      cleanups.push(async () => void (await writer.stop()))
      await until('some writes acknowledged', async () => (writer.acked.length >= 20 ? true : undefined), 60_000, 100)
      await first.stop()

      const second = await startServe([...base, '--etcd-bin', etcd35], logs, 'serve-3.5')
      cleanups.push(() => second.stop())
      await until(
        'a rollout to start (the new serve sees every member launched with another --etcd-bin)',
        async () => ((await getJson<{rollout: unknown}>(`${second.adminUrl}/rollout`).catch(() => null))?.body?.rollout ? true : undefined),
        180_000,
        1000,
      )
      const rollout = await until(
        'the rollout to end',
        async () => {
          const r = await getJson<{rollout: {state: string; message: string; members: {done: string[]}} | null}>(
            `${second.adminUrl}/rollout`,
          ).catch(() => null)
          const st = r?.body?.rollout?.state
          return st && st !== 'running' ? r.body.rollout : undefined
        },
        600_000,
        1000,
      )
      assert.equal(rollout!.state, 'done', rollout!.message)
      assert.equal(rollout!.members.done.length, 3)
      for (const u of urls) assert.equal((await versionOf(u)).etcdserver, '3.5.16')
      await until(
        'the cluster version 3.5.0',
        async () => {
          const v = await Promise.all(urls.map((u) => versionOf(u).catch(() => null)))
          return v.every((x) => x?.etcdcluster === '3.5.0') ? true : undefined
        },
        120_000,
        500,
      )
      await new Promise((res) => setTimeout(res, 1000))
      const report = await writer.stop()
      const quorum = await poller.stop()
      const stored = await readPrefix(urls, 'up/')
      const lost = report.acked.filter((a) => stored.get(a.key) !== a.value)
      const summary =
        `rolling upgrade 3.4 → 3.5.16: ${report.acked.length} writes acknowledged, ${report.failures} failed (unacknowledged), ` +
        `${lost.length} lost; longest gap between acknowledged writes ${report.longestGapMs} ms; ` +
        `quorum reads: ${quorum.checks} checks, ${quorum.failures} failed, longest without a read ${quorum.longestWithoutReadMs} ms`
      console.log(summary)
      logs.add('summary', () => summary)
      assert.equal(
        lost.length,
        0,
        `lost: ${lost
          .slice(0, 5)
          .map((a) => a.key)
          .join(', ')}`,
      )
      assert.match(second.log(), /rollout started/)
      // followers first, the leader last after MoveLeader (the order as serve logged it)
      const order = [...second.log().matchAll(/rollout: (stopping \S+|moving leadership from \S+ to \S+)/g)].map((m) => m[1])
      console.log(`rollout steps: ${order.join(' → ')}`)
      assert.equal(order.filter((o) => o!.startsWith('stopping')).length, 3)
      assert.match(order.at(-2) ?? '', /^moving leadership from (\S+) to/)
      assert.equal(order.at(-1), `stopping ${/^moving leadership from (\S+) to/.exec(order.at(-2)!)![1]}`)

      const st = await runCli(['rollout', 'status', '--admin-url', second.adminUrl, '--json'], 60_000)
      assert.equal(st.code, 0, st.stderr)
      assert.equal(JSON.parse(st.stdout).rollout.state, 'done')
      const check = await runCli(['stats', '--check', '--admin-url', second.adminUrl, '--json'], 60_000)
      assert.equal(check.code, 0, check.stderr)
    })
  })
})
