/**
 * The local agent against a fake master (records every MasterPort call) and a real custom executor
 * process (fixtures/mesos-local-test-executor.mjs, which logs what it sees as JSON lines).
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {LocalAgent, type LocalAgentOptions} from '../../src/mesos-local/agent/local-agent.js'
import type {AgentPort, MasterPort} from '../../src/mesos-local/link.js'
import {parseResources} from '../../src/mesos-local/resources.js'
import type {ExecutorEvent, ExecutorInfo, FrameworkInfo, FrameworkID, TaskInfo, TaskStatus} from '../../src/lib/mesos/types.js'
import {isValidUuidBase64} from '../../src/lib/mesos/uuid.js'
import {waitFor} from '../helpers/ports.js'

const EXECUTOR_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mesos-local-test-executor.mjs')
const b64 = (s: string): string => Buffer.from(s).toString('base64')
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString()

// ---------------------------------------------------------------- harness

type MasterCall =
  | {kind: 'register'; reregister: boolean}
  | {kind: 'disconnected'; agentId: string}
  | {kind: 'update'; fid: string; status: TaskStatus}
  | {kind: 'exited'; fid: string; eid: string; waitStatus: number}
  | {kind: 'message'; fid: string; eid: string; data: string}
  | {kind: 'freed'}

class FakeMaster implements MasterPort {
  calls: MasterCall[] = []
  autoAck = false
  agent: AgentPort | undefined
  constructor(private readonly agentId: string) {}
  registerAgent(agent: AgentPort, reregister: boolean): {agentId: {value: string}} {
    this.agent = agent
    this.calls.push({kind: 'register', reregister})
    return {agentId: {value: agent.id || this.agentId}}
  }
  agentDisconnected(agentId: string): void {
    this.calls.push({kind: 'disconnected', agentId})
  }
  statusUpdate(_agentId: string, fid: string, status: TaskStatus): void {
    this.calls.push({kind: 'update', fid, status})
    if (this.autoAck && status.uuid) {
      const {task_id: tid, uuid} = status
      setImmediate(() => this.agent?.acknowledge(fid, tid, uuid))
    }
  }
  executorExited(_agentId: string, fid: string, eid: {value: string}, waitStatus: number): void {
    this.calls.push({kind: 'exited', fid, eid: eid.value, waitStatus})
  }
  frameworkMessage(_agentId: string, fid: string, eid: {value: string}, data: string): void {
    this.calls.push({kind: 'message', fid, eid: eid.value, data})
  }
  resourcesFreed(): void {
    this.calls.push({kind: 'freed'})
  }
  updates(task?: string): TaskStatus[] {
    return this.calls.flatMap((c) => (c.kind === 'update' && (task === undefined || c.status.task_id.value === task) ? [c.status] : []))
  }
  ack(fid: string, s: TaskStatus): void {
    this.agent!.acknowledge(fid, s.task_id, s.uuid!)
  }
}

const cleanups: (() => Promise<void> | void)[] = []
const spawnedPids = new Set<number>()
function killAll(): void {
  for (const pid of spawnedPids) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  }
}
process.on('exit', killAll)
after(async () => {
  for (const c of cleanups.reverse()) await c()
  killAll()
})

let agentSeq = 0
async function startAgent(over: Partial<LocalAgentOptions> = {}): Promise<{agent: LocalAgent; master: FakeMaster; workDir: string}> {
  const n = ++agentSeq
  const workDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mesos-local-agent-'))
  const master = new FakeMaster(`test-agent-${n}-S0`)
  const agent = new LocalAgent({
    index: n,
    ip: `127.0.0.${1 + n}`,
    hostname: `127.0.0.${1 + n}`,
    port: 0,
    workDir,
    resources: parseResources('cpus:2;mem:4096;disk:10000;ports:[31000-32000]'),
    master: () => master,
    ...over,
  })
  await agent.start()
  cleanups.push(async () => {
    await agent.stop({kill: false})
    await fs.promises.rm(workDir, {recursive: true, force: true})
  })
  await waitFor('agent registration', () => agent.id !== '')
  return {agent, master, workDir}
}

function framework(id: string, extra: Partial<FrameworkInfo> = {}): FrameworkInfo & {id: FrameworkID} {
  return {
    user: 'root',
    name: 'agent-test',
    id: {value: id},
    checkpoint: true,
    failover_timeout: 60,
    roles: ['*'],
    capabilities: [{type: 'MULTI_ROLE'}],
    ...extra,
  }
}

const res = (cpus: number, mem: number) => [
  {name: 'cpus', type: 'SCALAR' as const, scalar: {value: cpus}, role: '*', allocation_info: {role: '*'}},
  {name: 'mem', type: 'SCALAR' as const, scalar: {value: mem}, role: '*', allocation_info: {role: '*'}},
]

function customExecutor(id: string, logFile: string, env: Record<string, string> = {}): ExecutorInfo {
  return {
    type: 'CUSTOM',
    executor_id: {value: id},
    name: `test executor ${id}`,
    resources: res(0.1, 32),
    command: {
      shell: true,
      value: './mesos-local-test-executor.mjs',
      uris: [{value: EXECUTOR_SCRIPT, executable: true}],
      environment: {variables: Object.entries({TEST_LOG: logFile, ...env}).map(([name, value]) => ({name, value}))},
    },
  }
}

function task(id: string, agentId: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {name: id, task_id: {value: id}, agent_id: {value: agentId}, resources: res(0.1, 32), ...extra}
}

interface LogLine {
  kind: string
  event?: ExecutorEvent
  env?: Record<string, string>
  cwd?: string
  pid?: number
  status?: number
  type?: string
  headers?: Record<string, string>
}
function readLog(file: string): LogLine[] {
  if (!fs.existsSync(file)) return []
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine)
  for (const l of lines) if ((l.kind === 'start' || l.kind === 'child') && l.pid) spawnedPids.add(l.pid)
  return lines
}
const events = (file: string, type?: string): ExecutorEvent[] =>
  readLog(file).flatMap((l) => (l.kind === 'event' && l.event && (type === undefined || l.event.type === type) ? [l.event] : []))

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return true
  }
}

async function post(
  endpoint: string,
  body: unknown,
  headers: Record<string, string> = {'Content-Type': 'application/json'},
  p = '/api/v1/executor',
  method = 'POST',
): Promise<{status: number; text: string; headers: Headers}> {
  const init: RequestInit = {method, headers}
  if (method !== 'GET') init.body = (typeof body === 'string' ? body : body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit
  const r = await fetch(`http://${endpoint}${p}`, init)
  return {status: r.status, text: await r.text(), headers: r.headers}
}

function tmpLog(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesos-local-exec-log-'))
  cleanups.push(() => fs.rmSync(dir, {recursive: true, force: true}))
  return path.join(dir, `${name}.jsonl`)
}

// ---------------------------------------------------------------- tests

describe('LocalAgent', {timeout: 180_000}, () => {
  it('runs a custom executor: SUBSCRIBED/LAUNCH, environment, reliable UPDATEs, MESSAGE, KILL, FAILURE', {timeout: 60_000}, async () => {
    const {agent, master, workDir} = await startAgent({statusUpdateRetryMinMs: 300})
    const fw = framework('fw-custom')
    const log = tmpLog('custom')
    const t = task('task-1', agent.id, {data: b64('task-data'), labels: {labels: [{key: 'k', value: 'v'}]}})
    agent.port.launch(fw, t, customExecutor('exec-1', log))

    await waitFor('LAUNCH at the executor', () => events(log, 'LAUNCH').length === 1, 20_000)
    const start = readLog(log).find((l) => l.kind === 'start')!
    const subscribed = events(log, 'SUBSCRIBED')[0]!.subscribed!
    const containerId = subscribed.container_id!.value
    const sandbox = path.join(workDir, 'slaves', agent.id, 'frameworks', 'fw-custom', 'executors', 'exec-1', 'runs', containerId)
    // Environment built from scratch (Surprise 28).
    const env = {...start.env!}
    delete env.PWD
    delete env.TEST_LOG
    assert.deepEqual(env, {
      LIBPROCESS_IP: agent.ip,
      LIBPROCESS_PORT: '0',
      MESOS_AGENT_ENDPOINT: agent.endpoint,
      MESOS_CHECKPOINT: '1',
      MESOS_DIRECTORY: sandbox,
      MESOS_EXECUTOR_ID: 'exec-1',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_FRAMEWORK_ID: 'fw-custom',
      MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_RECOVERY_TIMEOUT: '15mins',
      MESOS_SANDBOX: sandbox,
      MESOS_SLAVE_ID: agent.id,
      MESOS_SLAVE_PID: `slave(1)@${agent.endpoint}`,
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    })
    assert.equal(start.cwd, sandbox)
    assert.ok(fs.statSync(path.join(sandbox, 'mesos-local-test-executor.mjs')).mode & 0o100, 'fetched executable')
    assert.ok(fs.existsSync(path.join(sandbox, 'stdout')) && fs.existsSync(path.join(sandbox, 'stderr')))
    // SUBSCRIBE stream: no Mesos-Stream-Id; SUBSCRIBED then LAUNCH; executor-side resources have no role.
    const sub = readLog(log).find((l) => l.kind === 'subscribe')!
    assert.equal(sub.status, 200)
    assert.equal(sub.headers!['content-type'], 'application/json')
    assert.equal(sub.headers!['mesos-stream-id'], undefined)
    assert.deepEqual(
      events(log)
        .slice(0, 2)
        .map((e) => e.type),
      ['SUBSCRIBED', 'LAUNCH'],
    )
    assert.equal(subscribed.executor_info.framework_id?.value, 'fw-custom')
    assert.deepEqual(subscribed.executor_info.resources?.[0], {
      name: 'cpus',
      type: 'SCALAR',
      scalar: {value: 0.1},
      allocation_info: {role: '*'},
    })
    assert.equal(subscribed.framework_info.id?.value, 'fw-custom')
    assert.equal(subscribed.agent_info.id?.value, agent.id)
    assert.deepEqual(subscribed.agent_info.resources?.[0], {name: 'cpus', type: 'SCALAR', scalar: {value: 2}})
    const launched = events(log, 'LAUNCH')[0]!.launch!.task
    assert.equal(launched.data, b64('task-data'))
    assert.deepEqual(launched.labels, t.labels)
    assert.equal(launched.resources?.[0]?.role, undefined)
    assert.equal(launched.executor?.executor_id.value, 'exec-1')

    // UPDATE → forwarded with agent_id + container_status; ACKNOWLEDGED to the executor at once.
    await waitFor('TASK_RUNNING at the master', () => master.updates('task-1').length >= 1)
    const running = master.updates('task-1')[0]!
    assert.equal(running.state, 'TASK_RUNNING')
    assert.equal(running.message, 'running')
    assert.equal(running.data, b64('hello'))
    assert.equal(running.agent_id?.value, agent.id)
    assert.equal(running.executor_id, undefined, 'custom executor updates pass through without executor_id')
    assert.deepEqual(running.container_status?.container_id, {value: containerId})
    assert.deepEqual(running.container_status?.network_infos, [{ip_addresses: [{protocol: 'IPv4', ip_address: agent.ip}]}])
    assert.equal(typeof running.container_status?.executor_pid, 'number')
    await waitFor('ACKNOWLEDGED at the executor', () => events(log, 'ACKNOWLEDGED').some((e) => e.acknowledged?.uuid === running.uuid))
    // No scheduler ACK: resent with the same uuid and timestamp.
    await waitFor('two resends', () => master.updates('task-1').length >= 3, 10_000)
    for (const s of master.updates('task-1')) assert.deepEqual([s.uuid, s.timestamp], [running.uuid, running.timestamp])
    assert.equal(agent.port.tasks('fw-custom')[0]?.statusUpdateUuid, running.uuid)
    master.ack('fw-custom', running)
    assert.equal(agent.port.tasks('fw-custom')[0]?.statusUpdateUuid, undefined)
    assert.equal(agent.port.tasks('fw-custom')[0]?.state, 'TASK_RUNNING')
    assert.equal(agent.port.tasks('fw-custom')[0]?.executorId, 'exec-1')

    // MESSAGE both ways: scheduler → executor has no ids; executor → master carries the executor id.
    agent.port.message('fw-custom', {value: 'exec-1'}, b64('echo:hi'))
    await waitFor('executor MESSAGE at the master', () => master.calls.some((c) => c.kind === 'message'))
    assert.deepEqual(events(log, 'MESSAGE')[0], {type: 'MESSAGE', message: {data: b64('echo:hi')}})
    assert.deepEqual(
      master.calls.find((c) => c.kind === 'message'),
      {kind: 'message', fid: 'fw-custom', eid: 'exec-1', data: b64('pong:hi')},
    )

    // KILL carries the call's kill_policy; TASK_KILLED, then the executor exits 0 → FAILURE status 0.
    master.autoAck = true
    agent.port.kill('fw-custom', {value: 'task-1'}, {grace_period: {nanoseconds: 3e9}})
    await waitFor('FAILURE', () => master.calls.some((c) => c.kind === 'exited'), 20_000)
    assert.deepEqual(events(log, 'KILL')[0], {
      type: 'KILL',
      kill: {task_id: {value: 'task-1'}, kill_policy: {grace_period: {nanoseconds: 3e9}}},
    })
    assert.ok(master.updates('task-1').some((s) => s.state === 'TASK_KILLED' && s.message === 'killed by the test executor'))
    assert.deepEqual(
      master.calls.find((c) => c.kind === 'exited'),
      {kind: 'exited', fid: 'fw-custom', eid: 'exec-1', waitStatus: 0},
    )
    await waitFor('task forgotten after the terminal ACK', () => agent.port.tasks().length === 0)
    assert.ok(!master.updates('task-1').some((s) => s.state === 'TASK_FAILED'), 'no agent-made update after a terminal one')
  })

  it('executor exit: FAILURE (raw wait status) before TASK_FAILED with a uuid; the process group is destroyed', {
    timeout: 60_000,
  }, async () => {
    const {agent, master} = await startAgent()
    master.autoAck = true
    const log = tmpLog('crash')
    agent.port.launch(framework('fw-crash'), task('task-c', agent.id), customExecutor('exec-c', log))
    await waitFor('TASK_RUNNING', () => master.updates('task-c').some((s) => s.state === 'TASK_RUNNING'), 20_000)
    agent.port.message('fw-crash', {value: 'exec-c'}, b64('spawn-grandchild'))
    const child = (await waitFor('grandchild', () => readLog(log).find((l) => l.kind === 'child')?.pid))!
    assert.equal(gone(child), false)
    agent.port.message('fw-crash', {value: 'exec-c'}, b64('exit-now'))
    await waitFor('TASK_FAILED', () => master.updates('task-c').some((s) => s.state === 'TASK_FAILED'), 20_000)
    const iExit = master.calls.findIndex((c) => c.kind === 'exited')
    const iFailed = master.calls.findIndex((c) => c.kind === 'update' && c.status.state === 'TASK_FAILED')
    assert.ok(iExit >= 0 && iExit < iFailed, 'FAILURE comes before the TASK_FAILED update')
    assert.deepEqual(master.calls[iExit], {kind: 'exited', fid: 'fw-crash', eid: 'exec-c', waitStatus: 7 << 8})
    const failed = master.updates('task-c').find((s) => s.state === 'TASK_FAILED')!
    assert.equal(failed.source, 'SOURCE_AGENT')
    assert.equal(failed.reason, 'REASON_EXECUTOR_TERMINATED')
    assert.equal(failed.message, 'Executor terminated')
    assert.equal(failed.executor_id?.value, 'exec-c')
    assert.equal(failed.container_status, undefined)
    assert.ok(failed.uuid && isValidUuidBase64(failed.uuid))
    await waitFor('grandchild killed with the container', () => gone(child), 10_000)
    await waitFor('task forgotten after the ACK', () => agent.port.tasks().length === 0)
  })

  it('executor API: validation matrix (405/400/415/406/403/202), registration timeout, /state, /health', {timeout: 60_000}, async () => {
    const {agent, master} = await startAgent({executorRegistrationTimeoutMs: 2000})
    master.autoAck = true
    const log = tmpLog('never')
    agent.port.launch(framework('fw-v'), task('task-v', agent.id), customExecutor('exec-v', log, {TEST_MODE: 'never-subscribe'}))
    await waitFor('executor started', () => readLog(log).some((l) => l.kind === 'start'), 20_000)
    const ep = agent.endpoint
    const ids = {framework_id: {value: 'fw-v'}, executor_id: {value: 'exec-v'}}
    const upd = (status: Record<string, unknown>) => ({
      ...ids,
      type: 'UPDATE',
      update: {status: {task_id: {value: 'task-v'}, state: 'TASK_RUNNING', ...status}},
    })
    const good = 'AAECAwQFRgcICQoLDA0ODw=='

    let r = await post(ep, undefined, {}, '/api/v1/executor', 'GET')
    assert.deepEqual(
      [r.status, r.text, r.headers.get('allow')],
      [405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.", 'POST'],
    )
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8')
    r = await post(ep, new Uint8Array(Buffer.from('{}')), {})
    assert.deepEqual([r.status, r.text], [400, "Expecting 'Content-Type' to be present"])
    r = await post(ep, {...ids, type: 'HEARTBEAT'}, {'Content-Type': 'application/json; charset=utf-8'})
    assert.deepEqual([r.status, r.text], [415, "Expecting 'Content-Type' of application/json or application/x-protobuf"])
    r = await post(ep, '{bad')
    assert.equal(r.status, 400)
    assert.match(r.text, /^Failed to parse body into JSON: /)
    r = await post(ep, {...ids})
    assert.deepEqual([r.status, r.text], [400, "Failed to validate Executor::Call: Expecting 'type' to be present"])
    r = await post(ep, upd({source: 'SOURCE_EXECUTOR', uuid: b64('12345678')}))
    assert.deepEqual([r.status, r.text], [400, 'Failed to validate Executor::Call: Not a valid UUID'])
    r = await post(ep, upd({uuid: good}))
    assert.deepEqual(
      [r.status, r.text],
      [
        400,
        "Failed to validate Executor::Call: Received Call from executor exec-v of framework fw-v with invalid source, expecting 'SOURCE_EXECUTOR'",
      ],
    )
    r = await post(ep, upd({source: 'SOURCE_AGENT', uuid: good}))
    assert.equal(r.status, 400)
    r = await post(ep, upd({source: 'SOURCE_EXECUTOR', uuid: good, state: 'TASK_STAGING'}))
    assert.deepEqual(
      [r.status, r.text],
      [400, 'Failed to validate Executor::Call: Received TASK_STAGING from executor exec-v of framework fw-v which is not allowed'],
    )
    r = await post(ep, {...ids, type: 'MESSAGE', message: {data: b64('too early')}})
    assert.deepEqual([r.status, r.text], [403, 'Executor is not subscribed'])
    r = await post(
      ep,
      {...ids, type: 'MESSAGE', message: {data: b64('too early')}},
      {'Content-Type': 'application/json'},
      '/slave(1)/api/v1/executor',
    )
    assert.deepEqual([r.status, r.text], [403, 'Executor is not subscribed'])
    r = await post(ep, {framework_id: {value: 'x'}, executor_id: {value: 'y'}, type: 'HEARTBEAT'})
    assert.deepEqual([r.status, r.text, r.headers.get('content-type'), r.headers.get('content-length')], [202, '', null, '0'])
    r = await post(ep, {framework_id: {value: 'nope'}, executor_id: {value: 'exec-v'}, type: 'MESSAGE', message: {data: ''}})
    assert.deepEqual([r.status, r.text], [400, 'Framework cannot be found'])
    r = await post(ep, {framework_id: {value: 'fw-v'}, executor_id: {value: 'nope'}, type: 'MESSAGE', message: {data: ''}})
    assert.deepEqual([r.status, r.text], [400, 'Executor cannot be found'])
    r = await post(ep, {...ids, type: 'SUBSCRIBE'})
    assert.deepEqual([r.status, r.text], [400, "Failed to validate Executor::Call: Expecting 'subscribe' to be present"])
    r = await post(ep, {...ids, type: 'SUBSCRIBE', subscribe: {}}, {'Content-Type': 'application/json', Accept: 'text/html'})
    assert.deepEqual([r.status, r.text], [406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"])

    // /health, /state, 404.
    r = await post(ep, undefined, {}, '/health', 'GET')
    assert.deepEqual([r.status, r.text, r.headers.get('content-type')], [200, '', null])
    r = await post(ep, undefined, {}, '/nope', 'GET')
    assert.deepEqual([r.status, r.text], [404, '404 Not Found.'])
    r = await post(ep, undefined, {}, '/slave(1)/state', 'GET')
    const state = JSON.parse(r.text) as {
      id: string
      pid: string
      resources: Record<string, unknown>
      frameworks: {id: string; executors: {id: string; queued_tasks: {id: string}[]}[]}[]
    }
    assert.equal(state.id, agent.id)
    assert.equal(state.pid, `slave(1)@${ep}`)
    assert.deepEqual(state.resources, {disk: 10000, mem: 4096, gpus: 0, cpus: 2, ports: '[31000-32000]'})
    assert.equal(state.frameworks[0]?.executors[0]?.queued_tasks[0]?.id, 'task-v')

    // The executor never subscribes: destroyed after the registration timeout, its task fails.
    await waitFor('registration timeout', () => master.updates('task-v').some((s) => s.state === 'TASK_FAILED'), 15_000)
    const failed = master.updates('task-v').find((s) => s.state === 'TASK_FAILED')!
    assert.equal(failed.reason, 'REASON_EXECUTOR_REGISTRATION_TIMEOUT')
    assert.equal(failed.message, 'Executor did not register within 2secs')
    await waitFor('FAILURE', () => master.calls.some((c) => c.kind === 'exited'))
  })

  it('command tasks: STARTING/RUNNING, exit status, KILL with the TaskInfo kill policy, no FAILURE', {timeout: 60_000}, async () => {
    const {agent, master, workDir} = await startAgent()
    master.autoAck = true
    const plain = framework('fw-cmd')
    const killing = framework('fw-killing', {capabilities: [{type: 'MULTI_ROLE'}, {type: 'TASK_KILLING_STATE'}]})
    agent.port.launch(plain, task('sleeper', agent.id, {command: {value: 'sleep 30'}}))
    agent.port.launch(plain, task('fails', agent.id, {command: {value: 'exit 3'}}))
    agent.port.launch(plain, task('echo', agent.id, {command: {shell: false, value: '/bin/echo', arguments: ['echo', 'hi there']}}))
    agent.port.launch(
      killing,
      task('graceful', agent.id, {
        command: {value: "trap 'exit 0' TERM; while true; do sleep 0.1; done"},
        kill_policy: {grace_period: {nanoseconds: 5e9}},
      }),
    )
    agent.port.launch(
      killing,
      task('stubborn', agent.id, {
        command: {value: "trap '' TERM; while true; do sleep 0.1; done"},
        kill_policy: {grace_period: {nanoseconds: 1e9}},
      }),
    )
    const states = (t: string) => master.updates(t).map((s) => s.state)
    await waitFor('sleeper running', () => states('sleeper').includes('TASK_RUNNING'), 20_000)
    const [starting, running] = master.updates('sleeper')
    assert.deepEqual([starting!.state, running!.state], ['TASK_STARTING', 'TASK_RUNNING'])
    for (const s of [starting!, running!]) {
      assert.equal(s.source, 'SOURCE_EXECUTOR')
      assert.equal(s.executor_id?.value, 'sleeper')
      assert.ok(s.uuid && isValidUuidBase64(s.uuid))
      assert.deepEqual(s.container_status?.network_infos, [{ip_addresses: [{protocol: 'IPv4', ip_address: agent.ip}]}])
      assert.equal(typeof s.container_status?.executor_pid, 'number')
    }
    const view = agent.port.tasks('fw-cmd').find((v) => v.task.task_id.value === 'sleeper')!
    assert.equal(view.executorId, undefined, 'command tasks have no executor id in the master view')
    await waitFor('fails failed', () => states('fails').includes('TASK_FAILED'), 20_000)
    assert.equal(master.updates('fails').find((s) => s.state === 'TASK_FAILED')!.message, 'Command exited with status 3')
    await waitFor('echo finished', () => states('echo').includes('TASK_FINISHED'), 20_000)
    const echoDir = path.join(workDir, 'slaves', agent.id, 'frameworks', 'fw-cmd', 'executors', 'echo', 'runs')
    const run = fs.readdirSync(echoDir)[0]!
    assert.equal(fs.readFileSync(path.join(echoDir, run, 'stdout'), 'utf8'), 'hi there\n')

    agent.port.kill('fw-cmd', {value: 'sleeper'})
    await waitFor('sleeper killed', () => states('sleeper').includes('TASK_KILLED'), 20_000)
    assert.deepEqual(states('sleeper'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED'])
    assert.equal(master.updates('sleeper')[2]!.message, 'Command terminated with signal Terminated')

    await waitFor(
      'graceful/stubborn running',
      () => states('graceful').includes('TASK_RUNNING') && states('stubborn').includes('TASK_RUNNING'),
      20_000,
    )
    agent.port.kill('fw-killing', {value: 'graceful'})
    agent.port.kill('fw-killing', {value: 'stubborn'}, {grace_period: {nanoseconds: 600e9}}) // ignored by the command executor
    await waitFor('graceful killed', () => states('graceful').includes('TASK_KILLED'), 20_000)
    assert.deepEqual(states('graceful').slice(-2), ['TASK_KILLING', 'TASK_KILLED'])
    assert.equal(master.updates('graceful').at(-1)!.message, 'Command exited with status 0')
    await waitFor('stubborn SIGKILLed after its own 1 s grace period', () => states('stubborn').includes('TASK_KILLED'), 15_000)
    assert.equal(master.updates('stubborn').at(-1)!.message, 'Command terminated with signal Killed')
    assert.equal(master.calls.filter((c) => c.kind === 'exited').length, 0, 'no FAILURE for command executors')
    await waitFor('all tasks forgotten', () => agent.port.tasks().length === 0)
  })

  it('launch failures, kill of an undelivered task, SHUTDOWN of an executor', {timeout: 60_000}, async () => {
    const {agent, master} = await startAgent()
    master.autoAck = true
    const fw = framework('fw-misc')
    const bad = customExecutor('exec-bad', tmpLog('bad'))
    bad.command!.uris = [{value: 'http://example.invalid/executor.tgz'}]
    agent.port.launch(fw, task('task-bad', agent.id), bad)
    await waitFor('fetch failure', () => master.updates('task-bad').length > 0, 20_000)
    const failed = master.updates('task-bad')[0]!
    assert.equal(failed.state, 'TASK_FAILED')
    assert.equal(failed.reason, 'REASON_CONTAINER_LAUNCH_FAILED')
    assert.match(failed.message!, /^fetch failed: refusing to download 'http:\/\/example\.invalid\/executor\.tgz'/)

    const quiet = tmpLog('quiet')
    agent.port.launch(fw, task('task-q', agent.id), customExecutor('exec-q', quiet, {TEST_MODE: 'never-subscribe'}))
    await waitFor('quiet executor started', () => readLog(quiet).some((l) => l.kind === 'start'), 20_000)
    agent.port.kill('fw-misc', {value: 'task-q'})
    await waitFor('TASK_KILLED', () => master.updates('task-q').length > 0)
    assert.deepEqual(
      [master.updates('task-q')[0]!.state, master.updates('task-q')[0]!.reason],
      ['TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH'],
    )
    const qpid = readLog(quiet).find((l) => l.kind === 'start')!.pid!
    await waitFor('task-less executor destroyed', () => gone(qpid), 10_000)

    const log = tmpLog('shutdown')
    agent.port.launch(fw, task('task-s', agent.id), customExecutor('exec-s', log))
    await waitFor('TASK_RUNNING', () => master.updates('task-s').some((s) => s.state === 'TASK_RUNNING'), 20_000)
    agent.port.shutdownExecutor('fw-misc', {value: 'exec-s'})
    await waitFor('FAILURE after SHUTDOWN', () => master.calls.some((c) => c.kind === 'exited' && c.eid === 'exec-s'), 20_000)
    assert.equal(events(log, 'SHUTDOWN').length, 1)
    await waitFor('remaining task lost', () => master.updates('task-s').some((s) => s.state === 'TASK_LOST'))
    assert.equal(master.updates('task-s').find((s) => s.state === 'TASK_LOST')!.reason, 'REASON_EXECUTOR_TERMINATED')
  })

  it('agent crash and restart: executors keep running, re-subscribe and keep their tasks; laggards are destroyed', {
    timeout: 90_000,
  }, async () => {
    const {agent, master, workDir} = await startAgent({executorReregistrationTimeoutMs: 3000})
    master.autoAck = true
    const fw = framework('fw-rec')
    const logA = tmpLog('a')
    const logB = tmpLog('b')
    const logD = tmpLog('d')
    agent.port.launch(fw, task('task-d', agent.id), customExecutor('exec-d', logD))
    agent.port.launch(fw, task('task-a', agent.id), customExecutor('exec-a', logA))
    agent.port.launch(fw, task('task-b', agent.id), customExecutor('exec-b', logB, {TEST_MODE: 'no-resubscribe'}))
    agent.port.launch(fw, task('cmd-r', agent.id, {command: {value: 'sleep 60'}}))
    await waitFor(
      'all running',
      () => ['task-a', 'task-b', 'task-d', 'cmd-r'].every((t) => master.updates(t).some((s) => s.state === 'TASK_RUNNING')),
      20_000,
    )
    const id = agent.id
    const endpoint = agent.endpoint
    const pidA = readLog(logA).find((l) => l.kind === 'start')!.pid!
    const pidB = readLog(logB).find((l) => l.kind === 'start')!.pid!

    await agent.stop({kill: true})
    assert.ok(master.calls.some((c) => c.kind === 'disconnected' && c.agentId === id))
    await waitFor(
      'executors notice the broken stream',
      () => readLog(logA).some((l) => l.kind === 'disconnected') && readLog(logB).some((l) => l.kind === 'disconnected'),
    )
    assert.equal(gone(pidA) || gone(pidB), false, 'executors survive the agent crash')
    assert.ok(fs.existsSync(path.join(workDir, 'meta', 'agent.json')))
    const pidD = readLog(logD).find((l) => l.kind === 'start')!.pid!
    process.kill(pidD, 'SIGKILL') // dies while the agent is down (its `sh -c` parent then exits 137)
    await waitFor('exec-d dead', () => gone(pidD))

    const before = master.calls.length
    await agent.start()
    assert.equal(agent.endpoint, endpoint)
    await waitFor('re-registration', () => master.calls.slice(before).some((c) => c.kind === 'register' && c.reregister))
    assert.equal(agent.id, id)
    await waitFor('exec-a re-subscribed', () => events(logA, 'SUBSCRIBED').length === 2, 20_000)
    assert.equal(agent.port.tasks('fw-rec').find((t) => t.task.task_id.value === 'task-a')?.state, 'TASK_RUNNING')
    agent.port.message('fw-rec', {value: 'exec-a'}, b64('echo:again'))
    await waitFor('MESSAGE after recovery', () => master.calls.some((c) => c.kind === 'message' && unb64(c.data) === 'pong:again'))

    await waitFor('exec-b destroyed', () => master.updates('task-b').some((s) => s.state === 'TASK_FAILED'), 20_000)
    assert.equal(master.updates('task-b').find((s) => s.state === 'TASK_FAILED')!.reason, 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT')
    assert.ok(master.calls.some((c) => c.kind === 'exited' && c.eid === 'exec-b'))
    await waitFor('exec-b process gone', () => gone(pidB), 10_000)
    assert.equal(gone(pidA), false)
    assert.ok(!master.updates('task-a').some((s) => s.state !== 'TASK_RUNNING'))

    // exec-d died while the agent was down: reported after re-registration.
    await waitFor('exec-d reported', () => master.updates('task-d').some((s) => s.state === 'TASK_FAILED'), 10_000)
    assert.equal(master.updates('task-d').find((s) => s.state === 'TASK_FAILED')!.reason, 'REASON_EXECUTOR_TERMINATED')
    const exitD = master.calls.find((c) => c.kind === 'exited' && c.eid === 'exec-d')
    assert.ok(exitD?.kind === 'exited' && [9, 137 << 8].includes(exitD.waitStatus), `FAILURE of exec-d: ${JSON.stringify(exitD)}`)

    // The recovered command task is still supervised.
    assert.equal(agent.port.tasks('fw-rec').find((t) => t.task.task_id.value === 'cmd-r')?.state, 'TASK_RUNNING')
    agent.port.kill('fw-rec', {value: 'cmd-r'})
    await waitFor('cmd-r killed', () => master.updates('cmd-r').some((s) => s.state === 'TASK_KILLED'), 20_000)
  })
})
