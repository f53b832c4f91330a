/**
 * EtcdSupervisor and reseedMember with REAL etcd 3.4 on loopback: start → serving, kill -9 →
 * exited with logTail, stop(grace) leaves no process, SIGKILL of the parent node process leaves no
 * etcd (pdeathsig), start retries while a port is still held, a removed member exits with
 * removed=true, and a re-seed of the lone survivor of a 3-member cluster keeps every key.
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, rm, readFile, writeFile, readdir} from 'node:fs/promises'
import {readFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {freePorts, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {startEtcdCluster, putKey, countKeys, type EtcdCluster} from '../helpers/etcd.js'
import {EtcdSupervisor, type SupervisorEvent} from '../../src/executor/supervisor.js'
import {buildEtcdArgs} from '../../src/executor/etcd-args.js'
import {reseedMember} from '../../src/executor/reseed.js'
import {EtcdAdmin} from '../../src/lib/etcd/admin.js'
import {clientUrlOf, type MemberConfig, type ReseedStep} from '../../src/lib/member-config.js'
import {retryUntil} from '../helpers/retry.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Alive = /proc entry exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

async function soloConfig(name = 'solo'): Promise<MemberConfig> {
  const [peerPort, clientPort] = await freePorts(2)
  return {
    version: 1,
    cluster: {name: 'sup', token: `sup-${process.pid}-${name}`},
    member: {name, host: '127.0.0.1', peerPort: peerPort!, clientPort: clientPort!},
    initialCluster: [{name, peerUrl: `http://127.0.0.1:${peerPort}`}],
    initialClusterState: 'new',
  }
}

function record(sup: EtcdSupervisor): SupervisorEvent[] {
  const events: SupervisorEvent[] = []
  sup.on('event', (e: SupervisorEvent) => events.push(e))
  return events
}

type Exited = Extract<SupervisorEvent, {type: 'exited'}>
async function waitExited(events: SupervisorEvent[], what: string, timeoutMs: number): Promise<Exited> {
  const found = await waitFor(what, () => events.find((e): e is Exited => e.type === 'exited'), timeoutMs)
  assert.ok(found)
  return found
}

function supervisorFor(cfg: MemberConfig, sandbox: string, extra: {startRetryWindowMs?: number} = {}): EtcdSupervisor {
  const {bin, args} = buildEtcdArgs(cfg, sandbox)
  return new EtcdSupervisor({bin, args, sandbox, clientUrl: clientUrlOf(cfg), healthIntervalMs: 300, ...extra})
}

describe('EtcdSupervisor', {timeout: 90_000}, () => {
  let tmp: string
  const sups: EtcdSupervisor[] = []
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'etcd-sup-'))
  })
  after(async () => {
    await Promise.all(sups.map((s) => s.stop(0)))
    await rm(tmp, {recursive: true, force: true})
  })
  const sandbox = async (name: string) => mkdtemp(path.join(tmp, `${name}-`))

  it('starts etcd, reports spawned → serving → healthy, logs to the sandbox; kill -9 → exited with logTail', async () => {
    const sb = await sandbox('basic')
    const sup = supervisorFor(await soloConfig(), sb)
    sups.push(sup)
    const events = record(sup)
    await sup.start()
    const pid = sup.pid!
    assert.ok(pid > 0 && alive(pid))
    assert.match(await readFile(`/proc/${pid}/cmdline`, 'utf8'), /etcd/, 'the pid is etcd itself (setpriv execs it)')
    await waitFor('serving and healthy', () => events.some((e) => e.type === 'health' && e.healthy), 20_000)
    assert.deepEqual(
      events.slice(0, 2).map((e) => e.type),
      ['spawned', 'serving'],
    )
    assert.deepEqual(events[0], {type: 'spawned', pid})
    assert.match(await readFile(path.join(sb, 'etcd.stderr'), 'utf8'), /etcd Version: 3\.4/)

    process.kill(pid, 'SIGKILL')
    const exited = await waitExited(events, 'exited event', 10_000)
    assert.equal(exited.signal, 'SIGKILL')
    assert.equal(exited.code, null)
    assert.equal(exited.requested, false)
    assert.equal(exited.removed, false)
    assert.match(exited.logTail, /ready to serve client requests|serving insecure client requests/)
    assert.ok(exited.logTail.split('\n').length <= 20)
    assert.equal(sup.pid, undefined)
  })

  it('stop(grace) terminates etcd and leaves no process', async () => {
    const sup = supervisorFor(await soloConfig(), await sandbox('stop'))
    sups.push(sup)
    const events = record(sup)
    await sup.start()
    await waitFor('serving', () => events.some((e) => e.type === 'serving'), 20_000)
    const pid = sup.pid!
    const res = await sup.stop(5000)
    assert.ok(res.code === 0 || res.signal === 'SIGTERM', JSON.stringify(res))
    assert.equal(alive(pid), false)
    assert.throws(() => process.kill(pid, 0), /ESRCH/)
    const exited = events.find((e) => e.type === 'exited')
    assert.ok(exited && exited.type === 'exited' && exited.requested)
    assert.deepEqual(await sup.stop(1000), res, 'stop on a stopped supervisor returns the last exit')
  })

  it('etcd dies with its parent when the parent node process is SIGKILLed (pdeathsig)', async () => {
    const sb = await sandbox('orphan')
    const cfg = await soloConfig()
    const {bin, args} = buildEtcdArgs(cfg, sb)
    const script = path.join(sb, 'parent.mts')
    await writeFile(
      script,
      [
        `import {EtcdSupervisor} from ${JSON.stringify(path.join(ROOT, 'src/executor/supervisor.ts'))}`,
        `const sup = new EtcdSupervisor(${JSON.stringify({bin, args, sandbox: sb, clientUrl: clientUrlOf(cfg)})})`,
        `sup.on('event', (e) => { if (e.type === 'serving') console.log('ETCD_PID=' + sup.pid) })`,
        `await sup.start()`,
        `setInterval(() => {}, 1000)`,
      ].join('\n'),
    )
    const parent = spawnTracked(process.execPath, ['--import', 'tsx', script], {cwd: ROOT})
    try {
      let out = ''
      let err = ''
      parent.stderr!.on('data', (b: Buffer) => (err += b.toString()))
      parent.stdout!.on('data', (b: Buffer) => (out += b.toString()))
      const etcdPid = Number(
        await waitFor(
          'parent to report the etcd pid',
          () => {
            if (parent.exitCode !== null) throw new Error(`parent exited: ${err}`)
            return /ETCD_PID=(\d+)/.exec(out)?.[1]
          },
          30_000,
        ),
      )
      assert.ok(alive(etcdPid))
      process.kill(parent.pid!, 'SIGKILL') // the parent only, not its process group
      await waitFor('etcd to die with its parent', () => !alive(etcdPid), 10_000, 50)
    } finally {
      await stopTracked(parent, 'SIGKILL')
    }
  })

  it('retries the start while the client port is still held, then serves', async () => {
    const cfg = await soloConfig()
    const holder = net.createServer()
    await new Promise<void>((r) => holder.listen(cfg.member.clientPort, '127.0.0.1', () => r()))
    const release = setTimeout(() => holder.close(), 1000)
    const sb = await sandbox('port')
    const sup = supervisorFor(cfg, sb, {startRetryWindowMs: 15_000})
    sups.push(sup)
    const events = record(sup)
    try {
      await sup.start()
      await waitFor('serving', () => events.some((e) => e.type === 'serving'), 20_000)
    } finally {
      clearTimeout(release)
      holder.close()
    }
    assert.ok(events.filter((e) => e.type === 'spawned').length >= 2, 'spawned more than once')
    assert.equal(events.filter((e) => e.type === 'exited').length, 0, 'retried bind failures emit no exited')
    assert.match(await readFile(path.join(sb, 'etcd.stderr'), 'utf8'), /bind: address already in use/)
  })

  it('gives up when the port stays held beyond the window', async () => {
    const cfg = await soloConfig()
    const holder = net.createServer()
    await new Promise<void>((r) => holder.listen(cfg.member.clientPort, '127.0.0.1', () => r()))
    try {
      const sup = supervisorFor(cfg, await sandbox('held'), {startRetryWindowMs: 1000})
      sups.push(sup)
      const events = record(sup)
      await assert.rejects(sup.start(), /port is still in use/)
      const exited = events.find((e) => e.type === 'exited')
      assert.ok(exited && exited.type === 'exited' && /address already in use/.test(exited.logTail))
    } finally {
      holder.close()
    }
  })

  it('reseedMember reports failed and throws when there is no data dir to re-seed from', async () => {
    const steps: string[] = []
    const cfg = {...(await soloConfig()), dataDir: 'missing'}
    await assert.rejects(
      reseedMember({
        cfg,
        sandbox: await sandbox('noreseed'),
        graceMs: 1000,
        report: (step, msg) => steps.push(`${step}${msg ? `: ${msg}` : ''}`),
      }),
      (e: Error) => e.name === 'ReseedError' && /at backup: data dir .*missing does not exist/.test(e.message),
    )
    // checked before anything is stopped: the only step reported is the failure
    assert.equal(steps.length, 1, steps.join('\n'))
    assert.match(steps[0]!, /^failed: backup: data dir .*missing does not exist: nothing to re-seed from$/)
  })

  it('rejects a missing binary with a clear error', async () => {
    const sup = new EtcdSupervisor({bin: '/nonexistent/etcd', args: [], sandbox: await sandbox('nobin'), clientUrl: 'http://127.0.0.1:9'})
    await assert.rejects(sup.start(), /\/nonexistent\/etcd does not exist or is not executable/)
  })
})

describe('supervised members in a real cluster', {timeout: 120_000}, () => {
  let cluster: EtcdCluster
  let tmp: string
  const sups: EtcdSupervisor[] = []
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'etcd-reseed-'))
  })
  after(async () => {
    await Promise.all(sups.map((s) => s.stop(0)))
    await cluster?.stop()
    await rm(tmp, {recursive: true, force: true})
  })

  it('a member removed from the cluster exits with removed=true', async () => {
    const one = await startEtcdCluster(1)
    const admin = new EtcdAdmin(one.endpoints, {timeoutMs: 3000})
    try {
      const cfg = await soloConfig('learner')
      cfg.cluster.token = one.token
      cfg.initialCluster = [
        {name: 'm0', peerUrl: one.members[0]!.peerUrl},
        {name: 'learner', peerUrl: `http://127.0.0.1:${cfg.member.peerPort}`},
      ]
      cfg.initialClusterState = 'existing'
      const added = await retryUntil(() => admin.memberAdd([cfg.initialCluster[1]!.peerUrl], {learner: true}), {timeoutMs: 15_000})
      const sup = supervisorFor(cfg, await mkdtemp(path.join(tmp, 'learner-')))
      sups.push(sup)
      const events = record(sup)
      await sup.start()
      await waitFor('learner serving', () => events.some((e) => e.type === 'serving'), 20_000)
      await retryUntil(() => admin.memberRemove(added.member.id), {timeoutMs: 15_000})
      const exited = await waitExited(events, 'removed member to exit', 15_000)
      assert.equal(exited.removed, true, exited.logTail)
      assert.equal(exited.requested, false)
    } finally {
      await admin.close()
      await one.stop()
    }
  })

  it('re-seeds the lone survivor of a 3-member cluster: serves alone with every key', async () => {
    cluster = await startEtcdCluster(3)
    const [m0, m1, m2] = cluster.members as [(typeof cluster.members)[0], (typeof cluster.members)[0], (typeof cluster.members)[0]]
    for (let i = 0; i < 100; i++) await putKey(m0.clientUrl, `reseed/k${String(i).padStart(3, '0')}`, `v${i}`)
    await m1.kill('SIGKILL')
    await m2.kill('SIGKILL')
    // the survivor now runs under a supervisor (as under the executor); without quorum it never serves
    await m0.kill('SIGTERM')
    const sandbox = await mkdtemp(path.join(tmp, 'm0-'))
    const cfg: MemberConfig = {
      version: 1,
      cluster: {name: 'rs', token: cluster.token},
      member: {name: 'm0', host: m0.host, peerPort: m0.peerPort, clientPort: m0.clientPort},
      initialCluster: cluster.members.map((m) => ({name: m.name, peerUrl: m.peerUrl})),
      initialClusterState: 'new',
      dataDir: m0.dataDir,
    }
    const current = supervisorFor(cfg, sandbox)
    sups.push(current)
    await current.start()

    const steps: Array<[ReseedStep, string | undefined, number | undefined]> = []
    const created: EtcdSupervisor[] = []
    const sup = await reseedMember({
      cfg,
      sandbox,
      graceMs: 5000,
      current,
      createSupervisor: (spec) => {
        const s = new EtcdSupervisor(spec)
        created.push(s)
        sups.push(s)
        return s
      },
      report: (step, message, extra) => steps.push([step, message, extra?.revision]),
      stepTimeoutMs: 30_000,
    })
    assert.deepEqual(
      steps.map((s) => s[0]),
      ['stopping', 'backup', 'force-new-cluster', 'serving-alone', 'restarting', 'done'],
    )
    assert.equal(current.pid, undefined, 'the old etcd was stopped')
    assert.equal(created.length, 2)
    assert.equal(created[0]!.pid, undefined, 'the --force-new-cluster etcd was stopped')
    assert.equal(sup, created[1])
    assert.ok(sup.pid !== undefined && alive(sup.pid))
    assert.ok(!readFileSync(`/proc/${sup.pid}/cmdline`, 'utf8').includes('force-new-cluster'))
    assert.ok(steps[5]![2]! >= 101, `revision reported: ${steps[5]![2]}`)

    const admin = new EtcdAdmin([m0.clientUrl], {timeoutMs: 3000})
    try {
      const members = await admin.memberList()
      assert.equal(members.length, 1)
      assert.equal(members[0]!.name, 'm0')
      await admin.linearizableRead()
    } finally {
      await admin.close()
    }
    assert.equal(await countKeys(m0.clientUrl, 'reseed/'), 100)
    await putKey(m0.clientUrl, 'reseed/after', 'x') // writable again
    const backups = (await readdir(path.dirname(m0.dataDir))).filter((n) => n.startsWith('data.pre-reseed-'))
    assert.equal(backups.length, 1)
  })
})
