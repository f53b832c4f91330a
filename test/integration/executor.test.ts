/**
 * `etcd-mesos executor` as a real subprocess (bin/run.js, needs a current build: `npx tsc -p tsconfig.json`)
 * against a FAKE agent written here: a node:http server on 127.0.0.1 serving POST /api/v1/executor with
 * JSON RecordIO (SUBSCRIBED, then LAUNCH of a TaskInfo whose data is a MemberConfig for a one-member
 * cluster on free ports), validating and recording UPDATE and MESSAGE calls, answering ACKNOWLEDGED.
 * The executor runs a real etcd (/usr/bin/etcd). Its environment is built from scratch, as the agent does.
 */
import {after, afterEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {freePorts, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {encodeRecord} from '../../src/lib/mesos/recordio.js'
import {isValidUuidBase64} from '../../src/lib/mesos/uuid.js'
import type {ExecutorCall, ExecutorEvent, TaskInfo, TaskStatus} from '../../src/lib/mesos/types.js'
import {
  decodeFrameworkMessage,
  encodeFrameworkMessage,
  encodeMemberConfig,
  type ExecutorToScheduler,
  type MemberConfig,
} from '../../src/lib/member-config.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const RUN_JS = path.join(ROOT, 'bin/run.js')
const EXECUTOR_JS = path.join(ROOT, 'bin/executor.js')
/**
 * Preloaded into an executor: at exit, writes the files of every CommonJS module it loaded (require.cache: undici,
 * etcd3, grpc-js and protobufjs are CommonJS packages) to $LOADED_MODULES_OUT, one a line.
 */
const LOADED_MODULES_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import {createRequire} from 'node:module'; import {writeFileSync} from 'node:fs'; const cache = createRequire(process.cwd() + '/').cache; process.on('exit', () => writeFileSync(process.env.LOADED_MODULES_OUT, Object.keys(cache).join('\\n')))",
)}`
const FW = 'fw-1'
const EXEC = 'etcd-exec-1'

interface Recorded {
  status: TaskStatus
  etcdAnswered?: boolean
}

/** Does etcd answer on its client URL right now (Maintenance.Status through the JSON gateway)? */
async function etcdAnswers(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, {method: 'POST', body: '{}', signal: AbortSignal.timeout(2000)})
    await res.text()
    return res.status === 200
  } catch {
    return false
  }
}

class FakeAgent {
  readonly server = http.createServer((req, res) => void this.handle(req, res))
  port = 0
  readonly updates: Recorded[] = []
  readonly messages: ExecutorToScheduler[] = []
  readonly subscribes: ExecutorCall[] = []
  readonly acked: string[] = []
  autoAck = true
  launch: TaskInfo[] = []
  clientUrl = ''
  private stream: http.ServerResponse | undefined

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as {port: number}).port
  }

  send(ev: ExecutorEvent): void {
    assert.ok(this.stream, 'no executor subscribed')
    this.stream.write(encodeRecord(JSON.stringify(ev)))
  }

  /** The agent "restarts": drop the stream (the executor keeps running and re-subscribes). */
  dropStream(): void {
    this.stream?.end()
    this.stream = undefined
  }

  async close(): Promise<void> {
    this.dropStream()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  states(): string[] {
    return this.updates.map((u) => u.status.state + (u.status.healthy === undefined ? '' : `(healthy=${u.status.healthy})`))
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    if (req.method !== 'POST' || req.url !== '/api/v1/executor') return void res.writeHead(404).end()
    let call: ExecutorCall
    try {
      call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExecutorCall
    } catch {
      return void res.writeHead(400).end('bad json')
    }
    if (call.framework_id?.value !== FW || call.executor_id?.value !== EXEC) return void res.writeHead(400).end('Executor cannot be found')
    if (call.type === 'SUBSCRIBE') {
      this.subscribes.push(call)
      this.stream?.end()
      res.writeHead(200, {'Content-Type': 'application/json'})
      this.stream = res
      res.on('close', () => {
        if (this.stream === res) this.stream = undefined
      })
      this.send({
        type: 'SUBSCRIBED',
        subscribed: {
          executor_info: {executor_id: {value: EXEC}, framework_id: {value: FW}},
          framework_info: {user: 'root', name: 'etcd-test', id: {value: FW}},
          agent_info: {hostname: '127.0.0.1', id: {value: 'agent-1'}},
        },
      })
      for (const t of this.launch.splice(0)) this.send({type: 'LAUNCH', launch: {task: t}})
      return
    }
    if (!this.stream) return void res.writeHead(403).end('Executor is not subscribed')
    if (call.type === 'UPDATE') {
      const st = call.update?.status
      if (!st) return void res.writeHead(400).end('no status')
      if (st.source !== 'SOURCE_EXECUTOR') return void res.writeHead(400).end(`invalid source, expecting 'SOURCE_EXECUTOR'`)
      if (!st.uuid || !isValidUuidBase64(st.uuid)) return void res.writeHead(400).end('Not a valid UUID')
      if (st.state === 'TASK_STAGING') return void res.writeHead(400).end('TASK_STAGING is not allowed')
      const rec: Recorded = {status: st}
      if (st.state === 'TASK_RUNNING' && this.clientUrl) rec.etcdAnswered = await etcdAnswers(this.clientUrl)
      this.updates.push(rec)
      res.writeHead(202).end()
      if (this.autoAck) this.ack(st)
      return
    }
    if (call.type === 'MESSAGE') {
      const m = decodeFrameworkMessage(call.message?.data ?? '')
      if (m && m.type === 'reseed-progress') this.messages.push(m)
      return void res.writeHead(202).end()
    }
    res.writeHead(202).end()
  }

  ack(st: TaskStatus): void {
    this.acked.push(st.uuid!)
    if (this.stream) this.send({type: 'ACKNOWLEDGED', acknowledged: {task_id: st.task_id, uuid: st.uuid!}})
  }
}

interface Harness {
  agent: FakeAgent
  sandbox: string
  cfg: MemberConfig
  clientUrl: string
  exec: ChildProcess
  stderr: () => string
  exited: Promise<{code: number | null; signal: string | null}>
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')
  } catch {
    return false
  }
}

/** Pids of live processes whose command line mentions `needle` (etcd's data dir lies in the sandbox). */
function pidsMentioning(needle: string): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
      if (cmd.includes(needle) && cmd.includes('etcd') && pidAlive(Number(d))) out.push(Number(d))
    } catch {
      /* gone */
    }
  }
  return out
}

function memberConfig(clientPort: number, peerPort: number): MemberConfig {
  return {
    version: 1,
    cluster: {name: 'itest', token: `tok-${process.pid}-${clientPort}`},
    member: {name: 'm0', host: '127.0.0.1', peerPort, clientPort},
    initialCluster: [{name: 'm0', peerUrl: `http://127.0.0.1:${peerPort}`}],
    initialClusterState: 'new',
  }
}

function taskInfo(id: string, data: string | undefined, graceSecs?: number): TaskInfo {
  const t: TaskInfo = {name: id, task_id: {value: id}, agent_id: {value: 'agent-1'}}
  if (data !== undefined) t.data = data
  if (graceSecs !== undefined) t.kill_policy = {grace_period: {nanoseconds: graceSecs * 1e9}}
  return t
}

async function startExecutor(opts: {data?: string | null; envOverrides?: Record<string, string>; argv?: string[]} = {}): Promise<Harness> {
  assert.ok(existsSync(path.join(ROOT, 'dist/commands/executor.js')), 'build first: npx tsc -p tsconfig.json (in the repository)')
  const agent = new FakeAgent()
  await agent.listen()
  cleanups.push(() => agent.close())
  const sandbox = await mkdtemp(path.join(os.tmpdir(), 'executor-sandbox-'))
  cleanups.push(() => rm(sandbox, {recursive: true, force: true}))
  const [clientPort, peerPort] = await freePorts(2)
  const cfg = memberConfig(clientPort!, peerPort!)
  const clientUrl = `http://127.0.0.1:${clientPort}`
  agent.clientUrl = clientUrl
  const data = opts.data === null ? undefined : (opts.data ?? encodeMemberConfig(cfg))
  agent.launch = [taskInfo('etcd-task-1', data, 5)]
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LIBPROCESS_IP: '127.0.0.1',
    LIBPROCESS_PORT: '0',
    MESOS_AGENT_ENDPOINT: `127.0.0.1:${agent.port}`,
    MESOS_CHECKPOINT: '1',
    MESOS_DIRECTORY: sandbox,
    MESOS_SANDBOX: sandbox,
    MESOS_EXECUTOR_ID: EXEC,
    MESOS_FRAMEWORK_ID: FW,
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
    MESOS_RECOVERY_TIMEOUT: '15mins',
    MESOS_SLAVE_ID: 'agent-1',
    MESOS_SLAVE_PID: `slave(1)@127.0.0.1:${agent.port}`,
    MESOS_SUBSCRIPTION_BACKOFF_MAX: '250ms',
    ...opts.envOverrides,
  }
  const exec = spawnTracked(process.execPath, opts.argv ?? [RUN_JS, 'executor'], {cwd: sandbox, env})
  let err = ''
  exec.stderr!.on('data', (b: Buffer) => (err += b.toString()))
  exec.stdout!.resume()
  const exited = new Promise<{code: number | null; signal: string | null}>((resolve) =>
    exec.once('exit', (code, signal) => resolve({code, signal})),
  )
  cleanups.push(async () => {
    await stopTracked(exec, 'SIGKILL', 1000)
    for (const p of pidsMentioning(sandbox)) process.kill(p, 'SIGKILL')
  })
  return {agent, sandbox, cfg, clientUrl, exec, stderr: () => err, exited}
}

async function untilRunning(h: Harness): Promise<number> {
  await waitFor('TASK_RUNNING', () => h.agent.updates.some((u) => u.status.state === 'TASK_RUNNING'), 30_000)
  const pids = pidsMentioning(h.sandbox)
  assert.equal(pids.length, 1, `exactly one etcd process expected, found ${pids.join(',')}`)
  return pids[0]!
}

const T = {timeout: 60_000}

describe('etcd-mesos executor (subprocess, fake agent, real etcd)', () => {
  it('STARTING, then RUNNING only once etcd answers; KILL → TASK_KILLED, ACKed, exit 0, etcd gone', T, async () => {
    const h = await startExecutor()
    const etcdPid = await untilRunning(h)
    const [starting, running] = h.agent.updates
    assert.equal(starting?.status.state, 'TASK_STARTING')
    assert.equal(running?.status.state, 'TASK_RUNNING')
    assert.equal(running?.etcdAnswered, true, 'etcd must answer when TASK_RUNNING arrives')
    for (const u of h.agent.updates) {
      assert.equal(u.status.executor_id?.value, EXEC)
      assert.equal(u.status.task_id.value, 'etcd-task-1')
    }
    await waitFor('a healthy=true update', () => h.agent.updates.some((u) => u.status.healthy === true), 20_000)
    assert.ok(existsSync(path.join(h.sandbox, 'etcd_data')), 'data dir in the sandbox')
    assert.ok(existsSync(path.join(h.sandbox, 'etcd.stderr')), 'etcd output in the sandbox')

    h.agent.send({type: 'KILL', kill: {task_id: {value: 'etcd-task-1'}, kill_policy: {grace_period: {nanoseconds: 3e9}}}})
    const {code} = await h.exited
    assert.equal(code, 0, h.stderr())
    const last = h.agent.updates.at(-1)!
    assert.equal(last.status.state, 'TASK_KILLED')
    assert.ok(h.agent.acked.includes(last.status.uuid!))
    assert.equal(pidAlive(etcdPid), false, 'etcd must be gone after KILL')
    assert.equal(h.agent.states().filter((s) => s === 'TASK_KILLED').length, 1)
    assert.match(h.stderr(), /KILL etcd-task-1/)
    assert.match(h.stderr(), /grace 3000 ms/)
  })

  it('the lean entry (bin/executor.js) loads neither undici nor etcd3/grpc-js on its way to a healthy member and a KILL', T, async () => {
    const out = path.join(os.tmpdir(), `executor-modules-${process.pid}-${Date.now()}.txt`)
    cleanups.push(() => rm(out, {force: true}))
    const h = await startExecutor({
      argv: ['--import', LOADED_MODULES_PRELOAD, EXECUTOR_JS],
      envOverrides: {LOADED_MODULES_OUT: out},
    })
    await untilRunning(h)
    // healthy=true follows a full probe (status, then a linearizable read); wait for the probes after it too.
    await waitFor('a healthy=true update', () => h.agent.updates.some((u) => u.status.healthy === true), 20_000)
    await new Promise((r) => setTimeout(r, 4500)) // two more probe periods (2 s each): nothing is asserted on time
    h.agent.send({type: 'KILL', kill: {task_id: {value: 'etcd-task-1'}}})
    assert.equal((await h.exited).code, 0, h.stderr())
    const loaded = readFileSync(out, 'utf8').split('\n')
    assert.ok(
      loaded.some((f) => f.includes('/node_modules/protobufjs/')),
      'the check sees CommonJS dependencies (protobufjs, used by the Mesos codec)',
    )
    const heavy = loaded.filter((f) => /\/node_modules\/(undici|etcd3|@grpc)\//.test(f))
    assert.deepEqual(heavy.slice(0, 5), [], `${heavy.length} files of undici/etcd3/grpc-js loaded`)
  })

  it('SHUTDOWN → TASK_KILLED and exit 0; a second LAUNCH is refused', T, async () => {
    const h = await startExecutor()
    const etcdPid = await untilRunning(h)
    h.agent.send({type: 'LAUNCH', launch: {task: taskInfo('etcd-task-2', encodeMemberConfig(h.cfg))}})
    await waitFor('TASK_FAILED for task 2', () => h.agent.updates.find((u) => u.status.task_id.value === 'etcd-task-2'), 10_000)
    const refused = h.agent.updates.find((u) => u.status.task_id.value === 'etcd-task-2')!
    assert.equal(refused.status.state, 'TASK_FAILED')
    assert.equal(refused.status.message, 'executor already runs task etcd-task-1')
    assert.equal(pidsMentioning(h.sandbox).length, 1, 'still exactly one etcd')
    h.agent.send({type: 'SHUTDOWN'})
    assert.equal((await h.exited).code, 0)
    assert.equal(h.agent.updates.filter((u) => u.status.task_id.value === 'etcd-task-1').at(-1)?.status.state, 'TASK_KILLED')
    assert.equal(pidAlive(etcdPid), false)
  })

  it('executor SIGKILLed → etcd dies with it (pdeathsig)', T, async () => {
    const h = await startExecutor()
    const etcdPid = await untilRunning(h)
    process.kill(h.exec.pid!, 'SIGKILL') // the executor only, not its process group
    await h.exited
    await waitFor('etcd to die with the executor', () => !pidAlive(etcdPid), 10_000)
  })

  it('etcd SIGKILLed → TASK_FAILED with the tail of its log, exit 1, no restart', T, async () => {
    const h = await startExecutor()
    const etcdPid = await untilRunning(h)
    process.kill(etcdPid, 'SIGKILL')
    const {code} = await h.exited
    assert.equal(code, 1, h.stderr())
    const last = h.agent.updates.at(-1)!
    assert.equal(last.status.state, 'TASK_FAILED')
    assert.match(last.status.message ?? '', /^etcd killed by SIGKILL; last log lines:\n/)
    assert.match(last.status.message ?? '', /serving|ready|published/i, 'the tail holds etcd log lines')
    assert.equal(pidsMentioning(h.sandbox).length, 0, 'etcd is not restarted')
  })

  it('malformed task data → TASK_FAILED naming the problem, exit 1, no etcd', T, async () => {
    const bad = encodeMemberConfig({...memberConfig(2379, 2380), initialClusterState: 'maybe' as 'new'})
    const h = await startExecutor({data: bad})
    const {code} = await h.exited
    assert.equal(code, 1, h.stderr())
    assert.deepEqual(h.agent.states(), ['TASK_FAILED'])
    assert.equal(h.agent.updates[0]!.status.message, 'invalid member config: initialClusterState must be "new" or "existing"')
    assert.ok(h.agent.acked.includes(h.agent.updates[0]!.status.uuid!))
    assert.equal(pidsMentioning(h.sandbox).length, 0)
  })

  it('missing TaskInfo.data → TASK_FAILED "TaskInfo.data is empty"', T, async () => {
    const h = await startExecutor({data: null})
    assert.equal((await h.exited).code, 1)
    assert.match(h.agent.updates[0]?.status.message ?? '', /TaskInfo\.data is empty/)
  })

  it('not started by an agent → exit 2 naming the variable', T, async () => {
    const child = spawnTracked(process.execPath, [RUN_JS, 'executor'], {env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}})
    let err = ''
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    assert.equal(code, 2)
    assert.match(err, /^etcd-mesos executor must be started by a Mesos agent: MESOS_AGENT_ENDPOINT is not set/)
  })

  it(
    'agent restart: etcd keeps running, re-SUBSCRIBE carries unacknowledged updates; recovery timeout → exit 3, etcd gone',
    T,
    async () => {
      const h = await startExecutor({envOverrides: {MESOS_RECOVERY_TIMEOUT: '3secs'}})
      h.agent.autoAck = false
      const etcdPid = await untilRunning(h)
      h.agent.dropStream()
      await waitFor('a second SUBSCRIBE', () => h.agent.subscribes.length >= 2, 10_000)
      const again = h.agent.subscribes[1]!.subscribe!
      const replayed = (again.unacknowledged_updates ?? []).map((u) => u.status.state)
      assert.ok(replayed.includes('TASK_STARTING') && replayed.includes('TASK_RUNNING'), `replayed: ${replayed.join(',')}`)
      assert.deepEqual(
        (again.unacknowledged_tasks ?? []).map((t) => t.task_id.value),
        ['etcd-task-1'],
      )
      assert.equal(pidAlive(etcdPid), true, 'etcd survives the agent restart')
      assert.ok(await etcdAnswers(h.clientUrl))

      await h.agent.close() // the agent never comes back
      const {code} = await h.exited
      assert.equal(code, 3, h.stderr())
      assert.match(h.stderr(), /agent lost for good/)
      assert.equal(pidAlive(etcdPid), false)
    },
  )

  it('re-seed MESSAGE: refused without force (healthy: a read through it works); forced: accepted … done; a duplicate op resends the last step', {
    timeout: 120_000,
  }, async () => {
    const h = await startExecutor()
    await untilRunning(h)
    const put = await fetch(`${h.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({key: Buffer.from('k').toString('base64'), value: Buffer.from('v').toString('base64')}),
    })
    assert.equal(put.status, 200)
    const pidsBefore = pidsMentioning(h.sandbox)
    h.agent.send({type: 'MESSAGE' as const, message: {data: encodeFrameworkMessage({type: 'reseed', op: 'op-0'})}})
    await waitFor(
      'reseed op-0 answered',
      () => h.agent.messages.some((m) => m.op === 'op-0' && (m.step === 'done' || m.step === 'failed')),
      20_000,
    )
    const refused = h.agent.messages.filter((m) => m.op === 'op-0')
    assert.deepEqual(
      refused.map((m) => m.step),
      ['accepted', 'failed'],
      JSON.stringify(refused),
    )
    assert.match(refused[1]!.message ?? '', /^refused: this member's cluster has a working quorum/)
    assert.deepEqual(pidsMentioning(h.sandbox), pidsBefore, 'etcd untouched')
    const msg = {type: 'MESSAGE' as const, message: {data: encodeFrameworkMessage({type: 'reseed', op: 'op-1', force: true})}}
    h.agent.send(msg)
    await waitFor(
      'reseed done or failed',
      () => h.agent.messages.some((m) => m.op === 'op-1' && (m.step === 'done' || m.step === 'failed')),
      90_000,
    )
    const steps = h.agent.messages.filter((m) => m.op === 'op-1').map((m) => m.step)
    assert.deepEqual(
      steps,
      ['accepted', 'stopping', 'backup', 'force-new-cluster', 'serving-alone', 'restarting', 'done'],
      JSON.stringify(h.agent.messages),
    )
    const range = await fetch(`${h.clientUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({key: Buffer.from('k').toString('base64')}),
    })
    assert.equal(((await range.json()) as {count?: string}).count, '1', 'data survives the re-seed')
    assert.equal(pidsMentioning(h.sandbox).length, 1, 'exactly one etcd after the re-seed')
    h.agent.send(msg)
    await waitFor('resent last step', () => h.agent.messages.filter((m) => m.op === 'op-1').length === steps.length + 1, 10_000)
    assert.equal(h.agent.messages.at(-1)?.step, 'done')
    h.agent.send({type: 'KILL', kill: {task_id: {value: 'etcd-task-1'}}})
    assert.equal((await h.exited).code, 0)
    assert.equal(pidsMentioning(h.sandbox).length, 0)
  })
})
