/**
 * Conformance with real Mesos 1.12 for framework failover and master HA, driven by the recorded transcripts:
 *   07 re-SUBSCRIBE while the old stream is open (ERROR "Framework failed over" on the old one), the old stream
 *      id refused, disconnection inside failover_timeout (/master/frameworks), re-subscription, removal after
 *      failover_timeout (400 "Framework cannot be found", ERROR "Framework has been removed", completed task);
 *   10 two masters on a real ZooKeeper: the znodes (json.info_* with sorted-key MasterInfo JSON, log_replicas),
 *      307 redirects from the non-leader before any validation, /redirect, then SIGKILL of the leader and
 *      re-SUBSCRIBE with the old framework id to the new leader.
 * Intervals are scaled by SCALE (order and ratios are compared, not absolute times).
 */
import {after, before, describe, it} from 'node:test'
import type {LocalMesos} from '../../src/mesos-local/cluster.js'
import type {LocalMaster} from '../../src/mesos-local/master/local-master.js'
import {ZkClient} from '../../src/lib/zk/client.js'
import type {FixtureStep} from '../conformance/fixtures.js'
import {compare} from '../conformance/matcher.js'
import {Replayer} from '../conformance/replayer.js'
import {assertConforms, fixture, replay, startScaledMesos, type Known} from '../conformance/scenario.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'

const KNOWN: Known[] = []

describe('conformance 07-failover.json', {timeout: 120_000}, () => {
  let mesos: LocalMesos | undefined
  let r: Replayer
  before(async () => {
    mesos = await startScaledMesos({agents: 1})
    r = await replay(fixture('07-failover.json'), mesos)
  })
  after(async () => {
    await mesos?.stop()
  })
  it('the master behaves like real Mesos for every step', (t) => assertConforms(t, r, 'master', KNOWN))
  it('the agent side behaves like real Mesos', (t) => assertConforms(t, r, 'agent', KNOWN))
})

/** Sorted-key JSON, like the MasterInfo real masters write to ZooKeeper. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]),
  )
}

describe('conformance 10-zk-and-redirect.json', {timeout: 120_000}, () => {
  let zk: ZkServer | undefined
  let client: ZkClient | undefined
  let mesos: LocalMesos | undefined
  let r: Replayer

  /** zookeeper-client steps: read the same znodes from our ZooKeeper and compare. */
  async function zkStep(step: FixtureStep, rep: Replayer): Promise<void> {
    const req = step.request as unknown as {op: string; path: string}
    const res = step.response as unknown as {children?: string[]; data?: unknown; data_text_exact?: string}
    const where = Replayer.label(step)
    const path = req.path
    if (req.op === 'getChildren2') {
      const got = await client!.children(path)
      if (JSON.stringify(got) !== JSON.stringify(res.children))
        rep.report(where, `children ${JSON.stringify(got)}, real ${JSON.stringify(res.children)}`, 'master')
    } else if (req.op === 'getData') {
      const node = await client!.get(path)
      if (!node) return rep.report(where, `${path} does not exist`, 'master')
      const text = node.data.toString('utf8')
      const data = JSON.parse(text) as unknown
      for (const d of compare(res.data, data, rep.bindings, 'data')) rep.report(where, `${d.where}: ${d.what}`, 'master')
      if (JSON.stringify(sortedKeys(data)) !== text) rep.report(where, `data keys are not in alphabetical order: ${text}`, 'master')
    } else {
      const got = await client!.children(path)
      if (JSON.stringify(got) !== JSON.stringify(res.children))
        rep.report(where, `children ${JSON.stringify(got)}, real ${JSON.stringify(res.children)}`, 'master')
      const want = (step.response as unknown as {data: Record<string, string>}).data
      for (const c of got) {
        const node = await client!.get(`${path}/${c}`)
        for (const d of compare(want[c] ?? null, node?.data.toString('utf8'), rep.bindings, `${c}`))
          rep.report(where, `${d.where}: ${d.what}`, 'master')
      }
    }
  }

  before(async () => {
    zk = await startZooKeeper()
    client = await ZkClient.connect(zk.url)
    mesos = await startScaledMesos({agents: 1, masters: 2, zk: `${zk.url}/mesos`})
    const m = mesos
    const leader: LocalMaster = m.masters.find((x) => x.isLeader())!
    const follower: LocalMaster = m.masters.find((x) => x !== leader)!
    const fx = fixture('10-zk-and-redirect.json')
    r = await replay(fx, m, {
      routes: {'127.0.0.1:5060': () => leader.url, '127.0.0.1:5061': () => follower.url},
      setup: (rep) => {
        rep.bindings.bind('port', '5060', String(new URL(leader.url).port))
        rep.bindings.bind('port', '5061', String(new URL(follower.url).port))
      },
      hook: async (step, rep) => {
        if (step.actor === 'zookeeper-client') return zkStep(step, rep)
        if (/SIGKILL the leading master/.test(step.label)) return m.killMaster(m.masters.indexOf(leader))
        rep.report(Replayer.label(step), 'unknown harness step', 'master')
      },
    })
  })
  after(async () => {
    await mesos?.stop()
    await client?.close()
    await destroyZooKeeper(zk)
  })
  it('the masters and ZooKeeper look like real Mesos for every step', (t) => assertConforms(t, r, 'master', KNOWN))
  it('the agent side behaves like real Mesos', (t) => assertConforms(t, r, 'agent', KNOWN))
})
