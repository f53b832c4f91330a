/**
 * `etcd-mesos executor` launched through the REAL embedded local Mesos (master + 3 agents in this process,
 * agents on 127.0.0.2..4) by a test framework (test/helpers/mesos-framework.ts), running real etcd.
 * Needs a current build (dist/): `npx tsc -p tsconfig.json`.
 * Covers: STARTING → RUNNING only once etcd answers; etcd crash → TASK_FAILED with its log tail + FAILURE;
 * KILL → TASK_KILLED, etcd gone; executor SIGKILLed → etcd gone (pdeathsig), TASK_FAILED
 * REASON_EXECUTOR_TERMINATED; 3-member cluster losing 2 members re-seeded through a framework MESSAGE;
 * a HEALTHY 3-member cluster: a re-seed MESSAGE without force refused by the member (etcd untouched), with force done;
 * agent crash + restart with etcd untouched and the executor re-subscribed; malformed TaskInfo.data.
 * Set ETCD_MESOS_TEST_LOG=1 to see the framework's and local Mesos' log lines.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {startLocalMesos, type LocalMesos} from '../../src/mesos-local/cluster.js'
import {EtcdAdmin} from '../../src/lib/etcd/admin.js'
import type {Offer, TaskInfo, TaskStatus} from '../../src/lib/mesos/types.js'
import {decodeFrameworkMessage, encodeFrameworkMessage, encodeMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import {waitFor} from '../helpers/ports.js'
import {etcdMesosExecutor, pickPorts, REPO_ROOT, resourcesFrom, TestFramework} from '../helpers/mesos-framework.js'

const verbose = process.env.ETCD_MESOS_TEST_LOG === '1'
const log = (line: string): void => {
  if (verbose) process.stderr.write(`${new Date().toISOString()} ${line}\n`)
}

// ---------------------------------------------------------------------------------------------- /proc helpers

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

function cmdlines(): {pid: number; argv: string[]}[] {
  const out: {pid: number; argv: string[]}[] = []
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')
      if (pidAlive(Number(d))) out.push({pid: Number(d), argv})
    } catch {
      /* gone */
    }
  }
  return out
}

/** Live etcd processes of member `name` (names are unique per test run). */
function etcdPids(name: string): number[] {
  return cmdlines()
    .filter((p) => p.argv.includes(`--name=${name}`) && p.argv.some((a) => a.endsWith('etcd')))
    .map((p) => p.pid)
}

/** Live etcd processes whose data dir lies in a sandbox of executor `executorId`. */
function etcdPidsOfExecutor(executorId: string): number[] {
  return cmdlines()
    .filter((p) => p.argv.some((a) => a.startsWith('--data-dir=') && a.includes(`/executors/${executorId}/`)))
    .map((p) => p.pid)
}

/** The `etcd-mesos executor` process whose environment says MESOS_EXECUTOR_ID=executorId. */
function executorPid(executorId: string): number | undefined {
  for (const p of cmdlines()) {
    if (!p.argv.includes('executor') || !p.argv.some((a) => a.endsWith('bin/run.js'))) continue
    try {
      if (fs.readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0').includes(`MESOS_EXECUTOR_ID=${executorId}`)) return p.pid
    } catch {
      /* gone */
    }
  }
  return undefined
}

/** Sandboxes (runs/<container>) of executor `executorId` under the local Mesos work dir. */
function sandboxes(workDir: string, executorId: string): string[] {
  const out: string[] = []
  const walk = (dir: string, depth: number): void => {
    if (depth > 8 || !fs.existsSync(dir)) return
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      if (!e.isDirectory()) continue
      const p = path.join(dir, e.name)
      if (e.name === executorId && path.basename(dir) === 'executors') {
        const runs = path.join(p, 'runs')
        if (fs.existsSync(runs)) for (const r of fs.readdirSync(runs)) if (r !== 'latest') out.push(path.join(runs, r))
      } else walk(p, depth + 1)
    }
  }
  walk(workDir, 0)
  return out
}

async function etcdHealth(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, {signal: AbortSignal.timeout(2000)})
    const body = (await res.json()) as {health?: string}
    return res.status === 200 && body.health === 'true'
  } catch {
    return false
  }
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

async function kvPut(clientUrl: string, key: string, value: string): Promise<void> {
  const res = await fetch(`${clientUrl}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key), value: b64(value)}),
    signal: AbortSignal.timeout(5000),
  })
  assert.equal(res.status, 200, `put ${key}: ${await res.text()}`)
  await res.text().catch(() => '')
}

async function kvCount(clientUrl: string, prefix: string): Promise<number> {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
  const res = await fetch(`${clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({key: b64(prefix), range_end: b64(end), count_only: true}),
    signal: AbortSignal.timeout(5000),
  })
  assert.equal(res.status, 200)
  return Number(((await res.json()) as {count?: string}).count ?? 0)
}

// ---------------------------------------------------------------------------------------------- members

interface Member {
  name: string
  taskId: string
  executorId: string
  agentId: string
  host: string
  cfg: MemberConfig
  clientUrl: string
}

let seq = 0
const RUN = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`

/** Launches one member per offer (a static, new cluster of offers.length members). */
async function launchCluster(fw: TestFramework, offers: Offer[], opts: {graceSecs?: number} = {}): Promise<Member[]> {
  const cluster = `c${++seq}-${RUN}`
  const planned = await Promise.all(
    offers.map(async (offer, i) => {
      const [peerPort, clientPort] = await pickPorts(offer, 2)
      return {offer, name: `${cluster}-m${i}`, host: offer.hostname, peerPort: peerPort!, clientPort: clientPort!}
    }),
  )
  const initialCluster = planned.map((p) => ({name: p.name, peerUrl: `http://${p.host}:${p.peerPort}`}))
  const members: Member[] = []
  for (const p of planned) {
    const cfg: MemberConfig = {
      version: 1,
      cluster: {name: cluster, token: `tok-${cluster}`},
      member: {name: p.name, host: p.host, peerPort: p.peerPort, clientPort: p.clientPort},
      initialCluster,
      initialClusterState: 'new',
    }
    const m: Member = {
      name: p.name,
      taskId: `task-${p.name}`,
      executorId: `exec-${p.name}`,
      agentId: p.offer.agent_id.value,
      host: p.host,
      cfg,
      clientUrl: `http://${p.host}:${p.clientPort}`,
    }
    members.push(m)
    const task: TaskInfo = {
      name: `etcd ${p.name}`,
      task_id: {value: m.taskId},
      agent_id: p.offer.agent_id,
      resources: resourcesFrom(p.offer, {cpus: 0.1, mem: 128, disk: 64, ports: [p.peerPort, p.clientPort]}),
      executor: etcdMesosExecutor(m.executorId, p.offer),
      data: encodeMemberConfig(cfg),
      ...(opts.graceSecs !== undefined ? {kill_policy: {grace_period: {nanoseconds: opts.graceSecs * 1e9}}} : {}),
    }
    await fw.launch(p.offer, [task])
  }
  return members
}

/** Launches a task with arbitrary data through our executor on `offer`. */
async function launchRaw(fw: TestFramework, offer: Offer, data: string): Promise<{taskId: string; executorId: string}> {
  const id = `raw${++seq}-${RUN}`
  await fw.launch(offer, [
    {
      name: id,
      task_id: {value: `task-${id}`},
      agent_id: offer.agent_id,
      resources: resourcesFrom(offer, {cpus: 0.1, mem: 64}),
      executor: etcdMesosExecutor(`exec-${id}`, offer),
      data,
    },
  ])
  return {taskId: `task-${id}`, executorId: `exec-${id}`}
}

// ---------------------------------------------------------------------------------------------- tests

describe('etcd-mesos executor through the embedded local Mesos (3 agents, real etcd)', {timeout: 240_000}, () => {
  let local: LocalMesos
  let fw: TestFramework
  let workDir: string
  /** taskId → client URL to probe when TASK_RUNNING arrives; taskId → did etcd answer then. */
  const probeOnRunning = new Map<string, string>()
  const answeredOnRunning = new Map<string, boolean>()

  before(async () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist/commands/executor.js')), 'build first: npx tsc -p tsconfig.json (in the repository)')
    workDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'executor-mesos-'))
    local = await startLocalMesos({agents: 3, port: 0, allocationIntervalMs: 200, workDir, log: (l) => log(`mesos: ${l}`)})
    await waitFor('agents registered', () => local.agents.every((a) => a.id !== ''), 15_000)
    fw = await TestFramework.start({
      master: new URL(local.masterUrl).host,
      name: 'executor-mesos-test',
      log,
      onUpdate: async (s: TaskStatus) => {
        const url = probeOnRunning.get(s.task_id.value)
        if (url !== undefined && s.state === 'TASK_RUNNING' && !answeredOnRunning.has(s.task_id.value)) {
          answeredOnRunning.set(s.task_id.value, await etcdHealth(url))
        }
      },
    })
  })

  after(async () => {
    await fw?.stop().catch(() => undefined)
    await local?.stop().catch(() => undefined)
    await fs.promises.rm(workDir, {recursive: true, force: true}).catch(() => undefined)
  })

  const agentOffer = (i: number): Promise<Offer> => fw.offerFor(local.agents[i]!.id)

  it('one member: TASK_STARTING, then TASK_RUNNING only once etcd answers', {timeout: 60_000}, async () => {
    const offer = await agentOffer(0)
    const [m] = await launchCluster(fw, [offer])
    probeOnRunning.set(m!.taskId, m!.clientUrl)
    const running = await fw.waitForState(m!.taskId, 'TASK_RUNNING', 40_000)
    assert.equal(answeredOnRunning.get(m!.taskId), true, 'etcd must answer /health when TASK_RUNNING arrives')
    const states = fw.statesOf(m!.taskId)
    assert.equal(states[0], 'TASK_STARTING', `states: ${states.join(',')}`)
    assert.ok(states.indexOf('TASK_STARTING') < states.indexOf('TASK_RUNNING'))
    assert.equal(running.source, 'SOURCE_EXECUTOR')
    assert.equal(running.executor_id?.value, m!.executorId)
    assert.equal(running.agent_id?.value, m!.agentId)
    assert.equal(etcdPids(m!.name).length, 1, 'exactly one etcd process')
    const admin = new EtcdAdmin([m!.clientUrl])
    try {
      const st = await admin.status(m!.clientUrl)
      assert.equal(st.leader, st.memberId, 'the one member leads')
      assert.deepEqual(
        (await admin.memberList()).map((x) => x.name),
        [m!.name],
      )
    } finally {
      await admin.close()
    }
    await waitFor('every update ACKed', () => fw.updatesOf(m!.taskId).every((u) => fw.acked.includes(u.uuid!)), 10_000)
    await fw.kill(m!.taskId, m!.agentId)
    await fw.waitForState(m!.taskId, 'TASK_KILLED', 20_000)
  })

  it('etcd SIGKILLed → TASK_FAILED carrying its last log lines, and FAILURE of the executor', {timeout: 60_000}, async () => {
    const [m] = await launchCluster(fw, [await agentOffer(1)])
    await fw.waitForState(m!.taskId, 'TASK_RUNNING', 40_000)
    const pids = etcdPids(m!.name)
    assert.equal(pids.length, 1)
    process.kill(pids[0]!, 'SIGKILL')
    const failed = await fw.waitForState(m!.taskId, ['TASK_FAILED', 'TASK_KILLED', 'TASK_FINISHED', 'TASK_LOST'], 20_000)
    assert.equal(failed.state, 'TASK_FAILED')
    assert.equal(failed.source, 'SOURCE_EXECUTOR')
    assert.match(failed.message ?? '', /^etcd killed by SIGKILL; last log lines:\n/)
    assert.match(failed.message ?? '', /serving|ready|published/i, 'the tail holds etcd log lines')
    const failure = await fw.waitForFailure(m!.executorId, 20_000)
    assert.equal(failure.agent_id?.value, m!.agentId)
    assert.equal(failure.status, 1 << 8, 'the executor exits with code 1')
    assert.deepEqual(etcdPids(m!.name), [], 'etcd is not restarted')
    assert.equal(fw.statesOf(m!.taskId).filter((s) => s === 'TASK_FAILED').length, 1)
  })

  it('KILL → TASK_KILLED within the grace period, no etcd left', {timeout: 60_000}, async () => {
    const [m] = await launchCluster(fw, [await agentOffer(2)], {graceSecs: 8})
    await fw.waitForState(m!.taskId, 'TASK_RUNNING', 40_000)
    const [pid] = etcdPids(m!.name)
    assert.ok(pid)
    await fw.kill(m!.taskId, m!.agentId)
    const killed = await fw.waitForState(m!.taskId, ['TASK_KILLED', 'TASK_FAILED', 'TASK_LOST'], 8_000 + 4_000)
    assert.equal(killed.state, 'TASK_KILLED', killed.message)
    assert.equal(pidAlive(pid), false, 'etcd is gone')
    assert.deepEqual(etcdPids(m!.name), [])
    const failure = await fw.waitForFailure(m!.executorId, 15_000)
    assert.equal(failure.status, 0, 'the executor exits 0 after a KILL')
    const [sandbox] = sandboxes(workDir, m!.executorId)
    assert.ok(sandbox, 'sandbox found')
    assert.match(fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8'), new RegExp(`KILL ${m!.taskId}`))
  })

  it('executor SIGKILLed → etcd dies with it (pdeathsig); the agent reports TASK_FAILED (REASON_EXECUTOR_TERMINATED)', {
    timeout: 60_000,
  }, async () => {
    const [m] = await launchCluster(fw, [await agentOffer(0)])
    const running = await fw.waitForState(m!.taskId, 'TASK_RUNNING', 40_000)
    const [etcdPid] = etcdPids(m!.name)
    assert.ok(etcdPid)
    const pid = executorPid(m!.executorId)
    assert.ok(pid, 'executor process found')
    assert.equal(running.container_status?.executor_pid, pid, 'the agent reports the same executor pid')
    process.kill(pid, 'SIGKILL') // the executor only, not its process group
    await waitFor('etcd to die with the executor', () => !pidAlive(etcdPid), 10_000)
    const failed = await fw.waitForState(m!.taskId, ['TASK_FAILED', 'TASK_LOST', 'TASK_KILLED'], 20_000)
    assert.equal(failed.state, 'TASK_FAILED')
    assert.equal(failed.reason, 'REASON_EXECUTOR_TERMINATED')
    assert.equal(failed.source, 'SOURCE_AGENT')
    const failure = await fw.waitForFailure(m!.executorId, 20_000)
    assert.equal(failure.status, 9, 'wait status of a SIGKILL')
    assert.deepEqual(etcdPidsOfExecutor(m!.executorId), [])
  })

  it('3 members, 2 etcd crash, re-seed MESSAGE to the survivor → progress … done; it serves alone with all data', {
    timeout: 120_000,
  }, async () => {
    const offers = await fw.offersFromAgents(3)
    const members = await launchCluster(fw, offers)
    assert.equal(new Set(members.map((m) => m.agentId)).size, 3, 'one member per agent')
    for (const m of members) await fw.waitForState(m.taskId, 'TASK_RUNNING', 60_000)
    const [survivor, ...lost] = members as [Member, Member, Member]
    for (let i = 0; i < 100; i++) await kvPut(members[i % 3]!.clientUrl, `/k/${String(i).padStart(3, '0')}`, `v${i}`)
    assert.equal(await kvCount(survivor.clientUrl, '/k/'), 100)

    for (const m of lost) {
      const [pid] = etcdPids(m.name)
      assert.ok(pid, `etcd of ${m.name}`)
      process.kill(pid, 'SIGKILL')
    }
    for (const m of lost)
      assert.equal((await fw.waitForState(m.taskId, ['TASK_FAILED', 'TASK_KILLED', 'TASK_LOST'], 20_000)).state, 'TASK_FAILED')

    const before = fw.messages.length
    await fw.message(survivor.agentId, survivor.executorId, encodeFrameworkMessage({type: 'reseed', op: 'op-1'}))
    const progress = () =>
      fw.messages
        .slice(before)
        .map((x) => ({...x, decoded: decodeFrameworkMessage(x.data)}))
        .filter((x) => x.decoded?.type === 'reseed-progress' && x.decoded.op === 'op-1')
    await waitFor(
      'reseed done or failed',
      () => progress().some((x) => x.decoded?.type === 'reseed-progress' && ['done', 'failed'].includes(x.decoded.step)),
      90_000,
    )
    const steps = progress().map((x) => (x.decoded?.type === 'reseed-progress' ? x.decoded.step : '?'))
    assert.deepEqual(
      steps,
      ['accepted', 'stopping', 'backup', 'force-new-cluster', 'serving-alone', 'restarting', 'done'],
      JSON.stringify(progress().map((x) => x.decoded)),
    )
    for (const x of progress()) assert.deepEqual([x.agentId, x.executorId], [survivor.agentId, survivor.executorId])

    const admin = new EtcdAdmin([survivor.clientUrl])
    try {
      const list = await admin.memberList()
      assert.equal(list.length, 1, JSON.stringify(list))
      assert.equal(list[0]!.name, survivor.name)
    } finally {
      await admin.close()
    }
    assert.equal(await kvCount(survivor.clientUrl, '/k/'), 100, 'all 100 keys survive the re-seed')
    assert.equal(etcdPids(survivor.name).length, 1, 'exactly one etcd after the re-seed')
    assert.ok(
      !fw.statesOf(survivor.taskId).some((s) => s !== 'TASK_STARTING' && s !== 'TASK_RUNNING'),
      fw.statesOf(survivor.taskId).join(','),
    )
    await fw.kill(survivor.taskId, survivor.agentId)
    await fw.waitForState(survivor.taskId, 'TASK_KILLED', 20_000)
    assert.deepEqual(etcdPids(survivor.name), [])
  })

  it('HEALTHY 3 members: a re-seed MESSAGE without force is refused (etcd untouched); with force it proceeds', {
    timeout: 120_000,
  }, async () => {
    const members = await launchCluster(fw, await fw.offersFromAgents(3))
    for (const m of members) await fw.waitForState(m.taskId, 'TASK_RUNNING', 60_000)
    const [target] = members as [Member, Member, Member]
    for (let i = 0; i < 10; i++) await kvPut(members[i % 3]!.clientUrl, `/h/${i}`, `v${i}`)
    const [pid] = etcdPids(target.name)
    assert.ok(pid, `etcd of ${target.name}`)
    const [sandbox] = sandboxes(workDir, target.executorId)
    assert.ok(sandbox, 'sandbox found')
    const listing = (): string[] => fs.readdirSync(sandbox).sort()
    const filesBefore = listing()
    assert.ok(filesBefore.includes('etcd_data'))

    const progressOf = (op: string, from: number) =>
      fw.messages
        .slice(from)
        .map((x) => ({...x, decoded: decodeFrameworkMessage(x.data)}))
        .flatMap((x) => (x.decoded?.type === 'reseed-progress' && x.decoded.op === op ? [{...x, progress: x.decoded}] : []))
    const finished = (op: string, from: number) => () => progressOf(op, from).some((x) => ['done', 'failed'].includes(x.progress.step))

    let mark = fw.messages.length
    await fw.message(target.agentId, target.executorId, encodeFrameworkMessage({type: 'reseed', op: 'op-healthy'}))
    await waitFor('the re-seed answered', finished('op-healthy', mark), 20_000)
    const answer = progressOf('op-healthy', mark).map((x) => x.progress)
    assert.deepEqual(
      answer.map((x) => x.step),
      ['accepted', 'failed'],
      JSON.stringify(answer),
    )
    assert.match(
      answer[1]!.message ?? '',
      /^refused: this member's cluster has a working quorum \(a linearizable read through it succeeded\)/,
    )
    assert.deepEqual(etcdPids(target.name), [pid], 'the same etcd process still runs')
    assert.deepEqual(listing(), filesBefore, 'no .pre-reseed- backup, sandbox untouched')
    const admin = new EtcdAdmin([target.clientUrl])
    try {
      assert.equal((await admin.memberList()).length, 3, 'the cluster still has 3 members')
      await admin.linearizableRead(target.clientUrl)
    } finally {
      await admin.close()
    }
    assert.equal(await kvCount(members[1]!.clientUrl, '/h/'), 10)
    // a duplicate of the refused op is answered again with its last step, nothing else happens
    mark = fw.messages.length
    await fw.message(target.agentId, target.executorId, encodeFrameworkMessage({type: 'reseed', op: 'op-healthy'}))
    await waitFor('the duplicate answered', finished('op-healthy', mark), 10_000)
    assert.deepEqual(
      progressOf('op-healthy', mark).map((x) => x.progress.step),
      ['failed'],
    )
    assert.deepEqual(etcdPids(target.name), [pid])
    assert.ok(
      fw.statesOf(target.taskId).every((st) => st === 'TASK_STARTING' || st === 'TASK_RUNNING'),
      fw.statesOf(target.taskId).join(','),
    )

    // an operator's forced re-seed of a healthy cluster stays possible
    mark = fw.messages.length
    await fw.message(target.agentId, target.executorId, encodeFrameworkMessage({type: 'reseed', op: 'op-forced', force: true}))
    await waitFor('the forced re-seed finished', finished('op-forced', mark), 90_000)
    const forced = progressOf('op-forced', mark).map((x) => x.progress)
    assert.deepEqual(
      forced.map((x) => x.step),
      ['accepted', 'stopping', 'backup', 'force-new-cluster', 'serving-alone', 'restarting', 'done'],
      JSON.stringify(forced),
    )
    assert.ok(
      fs.readdirSync(sandbox).some((f) => f.startsWith('etcd_data.pre-reseed-')),
      'the forced re-seed backed up the data dir',
    )
    const alone = new EtcdAdmin([target.clientUrl])
    try {
      assert.equal((await alone.memberList()).length, 1)
    } finally {
      await alone.close()
    }
    assert.equal(await kvCount(target.clientUrl, '/h/'), 10)
    for (const m of members) await fw.kill(m.taskId, m.agentId)
    for (const m of members) await fw.waitForState(m.taskId, ['TASK_KILLED', 'TASK_FAILED'], 20_000)
    for (const m of members) await waitFor(`etcd of ${m.name} gone`, () => etcdPids(m.name).length === 0, 10_000)
  })

  it('agent crash + restart: etcd keeps running (same pid), the executor re-subscribes, KILL still works', {timeout: 90_000}, async () => {
    const i = 1
    const [m] = await launchCluster(fw, [await agentOffer(i)])
    await fw.waitForState(m!.taskId, 'TASK_RUNNING', 40_000)
    const [etcdPid] = etcdPids(m!.name)
    assert.ok(etcdPid)
    const execPid = executorPid(m!.executorId)
    assert.ok(execPid)
    const agent = local.agents[i]!.agent
    const record = () => [...agent.executors.values()].find((e) => e.id === m!.executorId)

    const [sandbox] = sandboxes(workDir, m!.executorId)
    assert.ok(sandbox, 'sandbox found')
    const retries = () => (fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8').match(/re-subscribing in \d+ ms/g) ?? []).length

    let etcdDied = false
    const watch = setInterval(() => (etcdDied ||= !pidAlive(etcdPid)), 20).unref()
    await local.stopAgent(i, 'kill')
    // The agent stays down while the executor retries (connection refused) at least twice.
    await waitFor('the executor retrying to subscribe', () => retries() >= 2, 15_000)
    assert.equal(pidAlive(etcdPid), true, 'etcd survives the agent crash')
    assert.ok(await etcdHealth(m!.clientUrl), 'etcd answers while the agent is down')
    await local.startAgent(i)
    await waitFor(
      'the executor to re-subscribe',
      () => {
        const r = record()
        return r !== undefined && !r.recovered && r.stream !== undefined && r.state === 'RUNNING'
      },
      20_000,
    )
    clearInterval(watch)
    assert.equal(etcdDied, false, 'etcd ran throughout the agent restart')
    assert.equal(pidAlive(etcdPid), true, 'etcd still runs')
    assert.deepEqual(etcdPids(m!.name), [etcdPid], 'the same etcd process')
    assert.equal(executorPid(m!.executorId), execPid, 'the same executor process')
    assert.ok(await etcdHealth(m!.clientUrl), 'etcd answers')
    assert.match(fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8'), /subscribed to the agent again/)

    const beforeKill = fw.updatesOf(m!.taskId).length
    await fw.kill(m!.taskId, m!.agentId)
    const killed = await fw.waitForState(m!.taskId, ['TASK_KILLED', 'TASK_FAILED', 'TASK_LOST'], 20_000)
    assert.equal(killed.state, 'TASK_KILLED', `${killed.reason ?? ''} ${killed.message ?? ''}`)
    assert.equal(killed.source, 'SOURCE_EXECUTOR', 'the executor itself reports TASK_KILLED')
    assert.ok(fw.updatesOf(m!.taskId).length > beforeKill)
    await waitFor('etcd gone', () => !pidAlive(etcdPid), 10_000)
  })

  for (const [label, data, expected] of [
    ['{"version":1}', b64('{"version":1}'), /^invalid member config: cluster must be an object$/],
    ['not json', b64('not json'), /^invalid member config: TaskInfo\.data is not JSON \(/],
  ] as const) {
    it(`malformed TaskInfo.data (${label}) → TASK_FAILED naming the problem, no etcd, the executor exits`, {timeout: 60_000}, async () => {
      const offer = await agentOffer(2)
      const t = await launchRaw(fw, offer, data)
      const failed = await fw.waitForState(t.taskId, ['TASK_FAILED', 'TASK_RUNNING', 'TASK_STARTING', 'TASK_LOST', 'TASK_ERROR'], 30_000)
      assert.equal(failed.state, 'TASK_FAILED')
      assert.equal(failed.source, 'SOURCE_EXECUTOR')
      assert.match(failed.message ?? '', expected)
      const failure = await fw.waitForFailure(t.executorId, 20_000)
      assert.equal(failure.status, 1 << 8, 'the executor exits with code 1')
      assert.deepEqual(fw.statesOf(t.taskId), ['TASK_FAILED'])
      assert.deepEqual(etcdPidsOfExecutor(t.executorId), [])
      const [sandbox] = sandboxes(workDir, t.executorId)
      assert.ok(sandbox, 'sandbox found')
      assert.equal(fs.existsSync(path.join(sandbox, 'etcd_data')), false, 'etcd never started')
      assert.equal(fs.existsSync(path.join(sandbox, 'etcd.stderr')), false, 'etcd never started')
    })
  }
})
