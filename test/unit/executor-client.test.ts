/**
 * readExecutorEnv (table, incl. the real environment a Mesos 1.12 agent gave a custom executor, fixture 06) and
 * ExecutorClient against an in-test fake agent (node:http on 127.0.0.1 speaking RecordIO).
 */
import {afterEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {decode, encode} from '../../src/lib/mesos/codec.js'
import {ExecutorClient, ExecutorEnvError, readExecutorEnv, type ExecutorEnv} from '../../src/lib/mesos/executor-client.js'
import {MesosCallError, MesosNotSubscribedError} from '../../src/lib/mesos/http-post.js'
import {encodeRecord} from '../../src/lib/mesos/recordio.js'
import {
  CONTENT_JSON,
  CONTENT_PROTOBUF,
  type ContentType,
  type ExecutorCall,
  type ExecutorEvent,
  type TaskInfo,
} from '../../src/lib/mesos/types.js'
import {isValidUuidBase64} from '../../src/lib/mesos/uuid.js'
import {waitFor} from '../helpers/ports.js'

const FID = '2578c8a5-f1ce-48f0-b555-1fa0fb3e731a-0000'
const SANDBOX = '/var/lib/mesos/slaves/S0/frameworks/F/executors/custom-exec-1/runs/34fc6b9b'
/** The executor environment recorded from a real Mesos 1.12 agent (fixture 06, executor_side_custom_exec_1). */
const REAL_ENV: NodeJS.ProcessEnv = {
  LIBPROCESS_IP: '127.0.0.1',
  LIBPROCESS_PORT: '0',
  MESOS_AGENT_ENDPOINT: '127.0.0.1:5051',
  MESOS_CHECKPOINT: '1',
  MESOS_DIRECTORY: SANDBOX,
  MESOS_EXECUTOR_ID: 'custom-exec-1',
  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
  MESOS_FRAMEWORK_ID: FID,
  MESOS_HTTP_COMMAND_EXECUTOR: '0',
  MESOS_RECOVERY_TIMEOUT: '15mins',
  MESOS_SANDBOX: SANDBOX,
  MESOS_SLAVE_ID: '2578c8a5-f1ce-48f0-b555-1fa0fb3e731a-S0',
  MESOS_SLAVE_PID: 'slave(1)@127.0.0.1:5051',
  MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
}

describe('readExecutorEnv', () => {
  it('reads the real agent-provided environment (fixture 06)', () => {
    assert.deepEqual(readExecutorEnv(REAL_ENV), {
      agentEndpoint: '127.0.0.1:5051',
      frameworkId: FID,
      executorId: 'custom-exec-1',
      sandbox: SANDBOX,
      checkpoint: true,
      recoveryTimeoutMs: 900_000,
      subscriptionBackoffMaxMs: 2000,
      shutdownGracePeriodMs: 5000,
      agentId: '2578c8a5-f1ce-48f0-b555-1fa0fb3e731a-S0',
    })
  })

  const without = (...names: string[]): NodeJS.ProcessEnv => {
    const e = {...REAL_ENV}
    for (const n of names) delete e[n]
    return e
  }
  const ok: [string, NodeJS.ProcessEnv, Partial<ExecutorEnv>][] = [
    ['endpoint derived from MESOS_SLAVE_PID', without('MESOS_AGENT_ENDPOINT'), {agentEndpoint: '127.0.0.1:5051'}],
    ['sandbox from MESOS_DIRECTORY', {...without('MESOS_SANDBOX'), MESOS_DIRECTORY: '/d'}, {sandbox: '/d'}],
    [
      'defaults without checkpointing variables',
      without('MESOS_RECOVERY_TIMEOUT', 'MESOS_SUBSCRIPTION_BACKOFF_MAX', 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', 'MESOS_CHECKPOINT'),
      {checkpoint: false, recoveryTimeoutMs: 900_000, subscriptionBackoffMaxMs: 2000, shutdownGracePeriodMs: 5000},
    ],
    [
      'checkpoint 0 and custom durations',
      {...REAL_ENV, MESOS_CHECKPOINT: '0', MESOS_RECOVERY_TIMEOUT: '1.5secs', MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '250ms'},
      {checkpoint: false, recoveryTimeoutMs: 1500, shutdownGracePeriodMs: 250},
    ],
    ['authentication token', {...REAL_ENV, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'jwt.a.b'}, {authToken: 'jwt.a.b'}],
    ['IPv6 endpoint', {...REAL_ENV, MESOS_AGENT_ENDPOINT: '[::1]:5051'}, {agentEndpoint: '[::1]:5051'}],
  ]
  for (const [name, env, expected] of ok) {
    it(name, () => {
      const got = readExecutorEnv(env)
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(got[k as keyof ExecutorEnv], v, k)
    })
  }

  const bad: [string, NodeJS.ProcessEnv, string][] = [
    ['no endpoint at all', without('MESOS_AGENT_ENDPOINT', 'MESOS_SLAVE_PID'), 'MESOS_AGENT_ENDPOINT'],
    ['bad endpoint', {...REAL_ENV, MESOS_AGENT_ENDPOINT: '127.0.0.1'}, 'MESOS_AGENT_ENDPOINT'],
    ['bad port', {...REAL_ENV, MESOS_AGENT_ENDPOINT: '127.0.0.1:70000'}, 'MESOS_AGENT_ENDPOINT'],
    ['bad slave pid', {...without('MESOS_AGENT_ENDPOINT'), MESOS_SLAVE_PID: 'garbage'}, 'MESOS_SLAVE_PID'],
    ['no framework id', without('MESOS_FRAMEWORK_ID'), 'MESOS_FRAMEWORK_ID'],
    ['empty executor id', {...REAL_ENV, MESOS_EXECUTOR_ID: ''}, 'MESOS_EXECUTOR_ID'],
    ['no sandbox', without('MESOS_SANDBOX', 'MESOS_DIRECTORY'), 'MESOS_SANDBOX'],
    ['checkpoint true', {...REAL_ENV, MESOS_CHECKPOINT: 'true'}, 'MESOS_CHECKPOINT'],
    ['bad recovery timeout', {...REAL_ENV, MESOS_RECOVERY_TIMEOUT: '15 minutes'}, 'MESOS_RECOVERY_TIMEOUT'],
    ['bad backoff', {...REAL_ENV, MESOS_SUBSCRIPTION_BACKOFF_MAX: '2'}, 'MESOS_SUBSCRIPTION_BACKOFF_MAX'],
    ['bad grace period', {...REAL_ENV, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5s'}, 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD'],
  ]
  for (const [name, env, variable] of bad) {
    it(`rejects: ${name}`, () => {
      assert.throws(
        () => readExecutorEnv(env),
        (err: unknown) => {
          assert.ok(err instanceof ExecutorEnvError)
          assert.equal(err.variable, variable)
          assert.ok(err.message.includes(variable), err.message)
          return true
        },
      )
    })
  }
})

// ---------- fake agent ----------
interface Recv {
  headers: http.IncomingHttpHeaders
  call: ExecutorCall
}
type Handler = (r: Recv, res: http.ServerResponse) => void

class FakeAgent {
  readonly received: Recv[] = []
  readonly streams: ((...evs: ExecutorEvent[]) => void)[] = []
  handler: Handler
  private constructor(
    readonly server: http.Server,
    readonly port: number,
    handler: Handler,
  ) {
    this.handler = handler
  }
  static async start(port = 0, handler: Handler = defaultAgent): Promise<FakeAgent> {
    let fa: FakeAgent | undefined
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const ct = req.headers['content-type'] as ContentType
        let call: ExecutorCall
        try {
          call = decode<ExecutorCall>('executor.Call', Buffer.concat(chunks), ct)
        } catch (err) {
          res.writeHead(400).end(String(err))
          return
        }
        fa!.received.push({headers: req.headers, call})
        fa!.handler({headers: req.headers, call}, res)
      })
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    fa = new FakeAgent(server, (server.address() as {port: number}).port, handler)
    return fa
  }
  calls(type: string): ExecutorCall[] {
    return this.received.filter((r) => r.call.type === type).map((r) => r.call)
  }
  /** Open a stream on `res`; the writer is also kept in `streams`. */
  stream(res: http.ServerResponse, ct: ContentType = CONTENT_JSON): (...evs: ExecutorEvent[]) => void {
    res.writeHead(200, {'content-type': ct})
    res.flushHeaders()
    const send = (...evs: ExecutorEvent[]): void => {
      if (!res.destroyed && !res.writableEnded) res.write(Buffer.concat(evs.map((e) => encodeRecord(encode('executor.Event', e, ct)))))
    }
    this.streams.push(send)
    return send
  }
  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

const TASK: TaskInfo = {
  name: 'etcd-1',
  task_id: {value: 'etcd-1'},
  agent_id: {value: 'S0'},
  resources: [{name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}}],
  data: 'dGFzay1kYXRh',
  executor: {executor_id: {value: 'custom-exec-1'}, command: {value: 'etcd-mesos executor'}},
}
const SUBSCRIBED: ExecutorEvent = {
  type: 'SUBSCRIBED',
  subscribed: {
    executor_info: {type: 'CUSTOM', executor_id: {value: 'custom-exec-1'}, framework_id: {value: FID}, command: {value: 'x'}},
    framework_info: {user: 'root', name: 'etcd', id: {value: FID}, checkpoint: true},
    agent_info: {hostname: '127.0.0.1', port: 5051, id: {value: 'S0'}},
    container_id: {value: 'c1'},
  },
}

const defaultAgent: Handler = (_r, res) => void res.writeHead(202, {'content-length': '0'}).end()

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {})
})

async function agent(port = 0): Promise<FakeAgent> {
  const a = await FakeAgent.start(port)
  a.handler = (r, res) => {
    if (r.call.type === 'SUBSCRIBE') return a.stream(res)(SUBSCRIBED)
    res.writeHead(202, {'content-length': '0'}).end()
  }
  cleanups.push(() => a.close())
  return a
}

interface Rec {
  events: ExecutorEvent[]
  disconnected: string[]
  reconnected: number
  recovery: string[]
  subscribed: number
}
function executor(port: number, env: Partial<ExecutorEnv> = {}, ct?: ContentType): {c: ExecutorClient; rec: Rec} {
  const full: ExecutorEnv = {
    agentEndpoint: `127.0.0.1:${port}`,
    frameworkId: FID,
    executorId: 'custom-exec-1',
    sandbox: '/tmp',
    checkpoint: true,
    recoveryTimeoutMs: 10_000,
    subscriptionBackoffMaxMs: 30,
    shutdownGracePeriodMs: 5000,
    ...env,
  }
  const c = new ExecutorClient(full, {resendDelayMs: 20, requestTimeoutMs: 3000, ...(ct ? {contentType: ct} : {})})
  const rec: Rec = {events: [], disconnected: [], reconnected: 0, recovery: [], subscribed: 0}
  c.on('event', (e: ExecutorEvent) => rec.events.push(e))
  c.on('subscribed', () => rec.subscribed++)
  c.on('disconnected', (d: {reason: string}) => rec.disconnected.push(d.reason))
  c.on('reconnected', () => rec.reconnected++)
  c.on('recovery-timeout', (d: {reason: string}) => rec.recovery.push(d.reason))
  cleanups.push(() => c.stop())
  return {c, rec}
}

describe('ExecutorClient', {timeout: 120_000}, () => {
  it('subscribes, gets SUBSCRIBED/LAUNCH, sends UPDATE with a 16-byte uuid and SOURCE_EXECUTOR; ACKNOWLEDGED clears it', async () => {
    const a = await agent()
    const {c, rec} = executor(a.port, {authToken: 'tok'})
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    const [sub] = a.calls('SUBSCRIBE')
    assert.deepEqual(sub!.framework_id, {value: FID})
    assert.deepEqual(sub!.executor_id, {value: 'custom-exec-1'})
    assert.deepEqual(sub!.subscribe?.unacknowledged_updates ?? [], [])
    assert.equal(a.received[0]!.headers['authorization'], 'Bearer tok')
    assert.equal(a.received[0]!.headers['content-type'], 'application/json')

    a.streams[0]!({type: 'LAUNCH', launch: {task: TASK}})
    await waitFor('launch', () => rec.events.some((e) => e.type === 'LAUNCH'), 5000, 10)
    assert.equal(c.unacknowledgedTasks, 1)

    const before = Date.now() / 1000
    const uuid = await c.update({task_id: {value: 'etcd-1'}, state: 'TASK_RUNNING', message: 'etcd up', data: 'ZGF0YQ=='})
    assert.ok(isValidUuidBase64(uuid), uuid)
    assert.equal(Buffer.from(uuid, 'base64').length, 16)
    const [up] = a.calls('UPDATE')
    const st = up!.update!.status
    assert.equal(st.uuid, uuid)
    assert.equal(st.source, 'SOURCE_EXECUTOR')
    assert.deepEqual(st.executor_id, {value: 'custom-exec-1'})
    assert.equal(st.state, 'TASK_RUNNING')
    assert.equal(st.data, 'ZGF0YQ==')
    assert.ok(
      st.timestamp! >= before - 1 && st.timestamp! <= Date.now() / 1000 + 1 && !Number.isInteger(st.timestamp),
      String(st.timestamp),
    )
    assert.equal(c.unacknowledgedUpdates, 1)

    a.streams[0]!({type: 'ACKNOWLEDGED', acknowledged: {task_id: {value: 'etcd-1'}, uuid}})
    await waitFor('ack', () => c.unacknowledgedUpdates === 0, 5000, 10)
    assert.equal(c.unacknowledgedTasks, 0)

    await c.message('cGluZw==')
    assert.deepEqual(a.calls('MESSAGE')[0]!.message, {data: 'cGluZw=='})
    assert.deepEqual(
      rec.events.map((e) => e.type),
      ['SUBSCRIBED', 'LAUNCH', 'ACKNOWLEDGED'],
    )
  })

  it('re-SUBSCRIBEs after the agent restarts, carrying unacknowledged updates and tasks', async () => {
    const a = await agent()
    const port = a.port
    const {c, rec} = executor(port)
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    a.streams[0]!({type: 'LAUNCH', launch: {task: TASK}}, {type: 'LAUNCH', launch: {task: {...TASK, task_id: {value: 'etcd-2'}}}})
    await waitFor('launches', () => c.unacknowledgedTasks === 2, 5000, 10)
    const u1 = await c.update({task_id: {value: 'etcd-1'}, state: 'TASK_RUNNING'}) // 202, never ACKNOWLEDGED
    const u0 = await c.update({task_id: {value: 'etcd-2'}, state: 'TASK_RUNNING'})
    a.streams[0]!({type: 'ACKNOWLEDGED', acknowledged: {task_id: {value: 'etcd-2'}, uuid: u0}})
    await waitFor('ack of etcd-2', () => c.unacknowledgedUpdates === 1, 5000, 10)

    await a.close() // agent goes away
    await waitFor('disconnected', () => rec.disconnected.length === 1, 5000, 10)
    assert.equal(c.connected, false)
    const u2 = await c.update({task_id: {value: 'etcd-1'}, state: 'TASK_FAILED', message: 'while away'}) // queued, no throw
    assert.equal(c.unacknowledgedUpdates, 2)

    const b = await FakeAgent.start(port)
    cleanups.push(() => b.close())
    b.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') return b.stream(res)(SUBSCRIBED)
      res.writeHead(202, {'content-length': '0'}).end()
    }
    await waitFor('reconnected', () => rec.reconnected === 1, 5000, 10)
    const sub = b.calls('SUBSCRIBE')[0]!.subscribe!
    assert.deepEqual(
      sub.unacknowledged_updates!.map((u) => u.status.uuid),
      [u1, u2],
    )
    assert.equal(sub.unacknowledged_updates![1]!.status.source, 'SOURCE_EXECUTOR')
    assert.deepEqual(
      sub.unacknowledged_tasks!.map((t) => t.task_id.value),
      ['etcd-1'],
    )
    assert.equal(sub.unacknowledged_tasks![0]!.data, 'dGFzay1kYXRh')
    assert.equal(rec.recovery.length, 0)
    // Updates carried by SUBSCRIBE are not sent again as UPDATE calls.
    assert.equal(b.calls('UPDATE').length, 0)
  })

  it('emits recovery-timeout when the agent stays away', async () => {
    const a = await agent()
    const {c, rec} = executor(a.port, {recoveryTimeoutMs: 300})
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    await a.close()
    await waitFor('recovery-timeout', () => rec.recovery.length === 1, 5000, 10)
    assert.match(rec.recovery[0]!, /no agent for 300 ms/)
    assert.equal(rec.disconnected.length, 1)
  })

  it('without checkpointing, recovery-timeout fires at once on disconnection', async () => {
    const a = await agent()
    const {c, rec} = executor(a.port, {checkpoint: false, recoveryTimeoutMs: 60_000})
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    await a.close()
    await waitFor('recovery-timeout', () => rec.recovery.length === 1, 2000, 10)
    assert.match(rec.recovery[0]!, /checkpointing is off/)
  })

  it('an ERROR event drops the stream and re-subscribes', async () => {
    const a = await agent()
    const {c, rec} = executor(a.port)
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    a.streams[0]!({type: 'ERROR', error: {message: 'boom'}})
    await waitFor('reconnected', () => rec.reconnected === 1, 5000, 10)
    assert.match(rec.disconnected[0]!, /ERROR event: boom/)
    assert.equal(a.calls('SUBSCRIBE').length, 2)
  })

  it('an UPDATE refused with 400 rejects and is not kept; a 503 is kept and resent', async () => {
    const a = await agent()
    let updates = 0
    a.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') return a.stream(res)(SUBSCRIBED)
      if (r.call.update?.status.state === 'TASK_STARTING') return void res.writeHead(400).end('Failed to validate Executor::Call: bad')
      if (++updates === 1) return void res.writeHead(503).end('Agent has not finished recovery')
      res.writeHead(202, {'content-length': '0'}).end()
    }
    const {c, rec} = executor(a.port)
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    await assert.rejects(c.update({task_id: {value: 'etcd-1'}, state: 'TASK_STARTING'}), (err: unknown) => {
      assert.ok(err instanceof MesosCallError)
      assert.equal(err.status, 400)
      assert.match(err.body, /Failed to validate/)
      return true
    })
    assert.equal(c.unacknowledgedUpdates, 0)
    const uuid = await c.update({task_id: {value: 'etcd-1'}, state: 'TASK_RUNNING'})
    await waitFor('resent', () => updates === 2, 5000, 10)
    const sent = a.calls('UPDATE').filter((u) => u.update!.status.state === 'TASK_RUNNING')
    assert.deepEqual(
      sent.map((u) => u.update!.status.uuid),
      [uuid, uuid],
    )
    assert.equal(c.unacknowledgedUpdates, 1)
  })

  it('message() before SUBSCRIBED throws MesosNotSubscribedError', async () => {
    const a = await agent()
    const {c} = executor(a.port)
    await assert.rejects(c.message('eA=='), MesosNotSubscribedError)
    assert.equal(a.received.length, 0)
  })

  it('speaks application/x-protobuf', async () => {
    const a = await agent()
    a.handler = (r, res) => {
      if (r.call.type === 'SUBSCRIBE') return a.stream(res, CONTENT_PROTOBUF)(SUBSCRIBED, {type: 'LAUNCH', launch: {task: TASK}})
      res.writeHead(202, {'content-length': '0'}).end()
    }
    const {c, rec} = executor(a.port, {}, CONTENT_PROTOBUF)
    c.start()
    await waitFor('launch', () => rec.events.length === 2, 5000, 10)
    assert.equal(rec.events[1]!.launch!.task.data, 'dGFzay1kYXRh')
    const uuid = await c.update({task_id: {value: 'etcd-1'}, state: 'TASK_RUNNING'})
    assert.equal(a.received[1]!.headers['content-type'], CONTENT_PROTOBUF)
    assert.equal(a.calls('UPDATE')[0]!.update!.status.uuid, uuid)
  })

  it('stop() ends the stream without further events', async () => {
    const a = await agent()
    const {c, rec} = executor(a.port)
    c.start()
    await waitFor('subscribed', () => rec.subscribed === 1, 5000, 10)
    await c.stop()
    a.streams[0]!({type: 'SHUTDOWN'})
    assert.equal(rec.events.length, 1)
    assert.equal(rec.disconnected.length, 0)
    assert.equal(rec.recovery.length, 0)
  })
})
