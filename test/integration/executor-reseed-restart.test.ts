/**
 * The re-seed's --force-new-cluster run is a temporary one-member etcd with short raft timings; the etcd that keeps
 * running afterwards has the member's own, and grows back with a learner. Real etcd 3.4.
 *
 * etcd started on the forced data dir (a restarted multi-member node to etcd) gets no election-tick fast-forward: with
 * the member's timings it elects itself only after a full randomized election timeout (1-2 s with the defaults). The
 * forced run therefore gets 20 ms ticks and a 100 ms election timeout (after the member's extraArgs, so they win there
 * only); the normal restart runs with the member's flags, extraArgs included. What etcd itself reports is checked:
 * its "heartbeat = …" / "election = …" start-up lines per process, in order.
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {countKeys, putKey, startEtcdCluster, type EtcdCluster} from '../helpers/etcd.js'
import {waitFor} from '../helpers/ports.js'
import {EtcdSupervisor, type SupervisorOptions} from '../../src/executor/supervisor.js'
import {buildEtcdArgs} from '../../src/executor/etcd-args.js'
import {reseedMember} from '../../src/executor/reseed.js'
import {clientUrlOf, type MemberConfig, type ReseedStep} from '../../src/lib/member-config.js'

async function gw<T>(url: string, p: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${p}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${url}${p}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as T
}

describe('re-seed restart', {timeout: 180_000}, () => {
  let cluster: EtcdCluster | undefined
  const sups: EtcdSupervisor[] = []
  const dirs: string[] = []
  after(async () => {
    await Promise.all(sups.map((s) => s.stop(0).catch(() => undefined)))
    await cluster?.stop()
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('runs the forced etcd with short raft timings, restarts with the member flags, then grows with a learner', async () => {
    cluster = await startEtcdCluster(3, {token: `reseed-restart-${process.pid}`})
    const [m0, m1, m2] = cluster.members as [(typeof cluster.members)[0], (typeof cluster.members)[0], (typeof cluster.members)[0]]
    for (let i = 0; i < 30; i++) await putKey(m0.clientUrl, `rr/k${String(i).padStart(2, '0')}`, `v${i}`)
    await m1.kill('SIGKILL')
    await m2.kill('SIGKILL')
    await m0.kill('SIGTERM')
    const sandbox = await mkdtemp(path.join(os.tmpdir(), 'reseed-restart-'))
    dirs.push(sandbox)
    const cfg: MemberConfig = {
      version: 1,
      cluster: {name: 'rr', token: cluster.token},
      member: {name: m0.name, host: m0.host, peerPort: m0.peerPort, clientPort: m0.clientPort},
      initialCluster: cluster.members.map((m) => ({name: m.name, peerUrl: m.peerUrl})),
      initialClusterState: 'new',
      dataDir: m0.dataDir,
      extraArgs: ['--heartbeat-interval=50', '--election-timeout=600'],
    }
    const {bin, args} = buildEtcdArgs(cfg, sandbox)
    const current = new EtcdSupervisor({bin, args, sandbox, clientUrl: clientUrlOf(cfg), healthIntervalMs: 300})
    sups.push(current)
    await current.start()

    const specs: SupervisorOptions[] = []
    const steps: ReseedStep[] = []
    const sup = await reseedMember({
      cfg,
      sandbox,
      graceMs: 5000,
      current,
      createSupervisor: (spec) => {
        specs.push(spec)
        const s = new EtcdSupervisor(spec)
        sups.push(s)
        return s
      },
      report: (step) => steps.push(step),
      stepTimeoutMs: 60_000,
    })
    assert.deepEqual(steps, ['stopping', 'backup', 'force-new-cluster', 'serving-alone', 'restarting', 'done'])
    assert.equal(specs.length, 2)
    assert.ok(specs[0]!.args.includes('--force-new-cluster'))

    // etcd's own start-up lines, one pair per process: the member as it was, the forced run, the restart
    const log = readFileSync(path.join(sandbox, 'etcd.stderr'), 'utf8')
    const timings = [...log.matchAll(/embed: (heartbeat|election) = (\d+)ms/g)].map((m) => `${m[1]} ${m[2]}`)
    assert.deepEqual(timings, ['heartbeat 50', 'election 600', 'heartbeat 20', 'election 100', 'heartbeat 50', 'election 600'])

    // the etcd that keeps running is the member's own: no forced flag, no temporary timings
    const cmdline = readFileSync(`/proc/${sup.pid}/cmdline`, 'utf8').split('\0')
    assert.ok(!cmdline.includes('--force-new-cluster'))
    assert.deepEqual(
      cmdline.filter((a) => /^--(heartbeat-interval|election-timeout)=/.test(a)),
      ['--heartbeat-interval=50', '--election-timeout=600'],
    )
    assert.equal(await countKeys(m0.clientUrl, 'rr/'), 30)

    // growth back works on the re-seeded member: a learner joins, is promoted, and serves every key
    const fresh = await cluster.newMember('n1')
    const added = await gw<{member: {ID: string}}>(m0.clientUrl, '/v3/cluster/member/add', {peerURLs: [fresh.peerUrl], isLearner: true})
    await fresh.start({initialClusterState: 'existing', initialCluster: `${m0.name}=${m0.peerUrl},n1=${fresh.peerUrl}`})
    await waitFor(
      'the learner to be promoted',
      () =>
        gw(m0.clientUrl, '/v3/cluster/member/promote', {ID: added.member.ID}).then(
          () => true,
          () => false,
        ),
      60_000,
      100,
    )
    await waitFor(
      'the new voter to serve every key',
      () =>
        countKeys(fresh.clientUrl, 'rr/').then(
          (n) => n === 30,
          () => false,
        ),
      60_000,
      100,
    )
    await putKey(fresh.clientUrl, 'rr/after', 'x') // a quorum of two writes
    assert.equal(await countKeys(m0.clientUrl, 'rr/'), 31)
  })
})
