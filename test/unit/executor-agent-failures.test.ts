/**
 * ExecutorClient against an agent (a node:http server on 127.0.0.1) that fails each of the executor's calls in
 * every way a Mesos 1.12 agent answers (status codes and texts of src/slave/http.cpp `Http::executor`, as
 * src/mesos-local/agent/executor-api.ts reproduces them) and every way the connection can fail: refused, reset, a
 * malformed or truncated response, no answer at all. For each: the first UPDATE, an UPDATE re-sent after a 503
 * (the path that used to reject with nobody listening: `void this.deliver(...)`), a MESSAGE and the SUBSCRIBE.
 * No promise rejection may go unhandled (the executor, and etcd with it, would die), and each failure is
 * logged with what happens next.
 */
import {afterEach, beforeEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {decode, encode} from '../../src/lib/mesos/codec.js'
import {ExecutorClient, type ExecutorEnv} from '../../src/lib/mesos/executor-client.js'
import {MesosCallError} from '../../src/lib/mesos/http-post.js'
import {encodeRecord} from '../../src/lib/mesos/recordio.js'
import {CONTENT_JSON, CONTENT_PROTOBUF, type ExecutorCall, type ExecutorEvent} from '../../src/lib/mesos/types.js'
import {waitFor} from '../helpers/ports.js'

const FID = 'fw-failures'
const EID = 'exec-failures'

/**
 * How the agent answers one call, and what that means for an UPDATE: `retried` (kept and sent again), `refused`
 * (the agent will never take it: dropped), `accepted` (a 202 whose body was cut off: the agent took it).
 */
interface Failure {
  name: string
  update: 'retried' | 'refused' | 'accepted'
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void
}

const text =
  (status: number, body: string, headers: Record<string, string> = {}) =>
  (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    const b = Buffer.from(body)
    res.writeHead(status, {...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(b.byteLength)}).end(b)
  }

const NO_ANSWER: Failure = {name: 'no answer (the call times out)', update: 'retried', answer: () => undefined}

const FAILURES: Failure[] = [
  {name: '400 Executor cannot be found', update: 'refused', answer: text(400, 'Executor cannot be found')},
  {name: '400 Framework cannot be found', update: 'refused', answer: text(400, 'Framework cannot be found')},
  {
    name: '400 Failed to validate Executor::Call',
    update: 'refused',
    answer: text(400, "Failed to validate Executor::Call: Expecting 'update' to be present"),
  },
  {name: "400 Expecting 'Content-Type' to be present", update: 'refused', answer: text(400, "Expecting 'Content-Type' to be present")},
  {name: '403 Executor is not subscribed', update: 'retried', answer: text(403, 'Executor is not subscribed')},
  {name: '404 Not Found', update: 'refused', answer: (_q, res) => void res.writeHead(404, {'Content-Length': '0'}).end()},
  {
    name: '405 Method Not Allowed',
    update: 'refused',
    answer: text(405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.", {Allow: 'POST'}),
  },
  {
    name: '406 Not Acceptable',
    update: 'refused',
    answer: text(406, `Expecting 'Accept' to allow '${CONTENT_PROTOBUF}' or '${CONTENT_JSON}'`),
  },
  {name: '413 Payload Too Large', update: 'refused', answer: text(413, 'Request body exceeds 16777216 bytes')},
  {
    name: '415 Unsupported Media Type',
    update: 'refused',
    answer: text(415, `Expecting 'Content-Type' of ${CONTENT_JSON} or ${CONTENT_PROTOBUF}`),
  },
  {name: '500 Internal Server Error', update: 'retried', answer: text(500, 'Internal error in the agent')},
  {name: '501 Not Implemented', update: 'retried', answer: (_q, res) => void res.writeHead(501, {'Content-Length': '0'}).end()},
  {name: '503 Agent has not finished recovery', update: 'retried', answer: text(503, 'Agent has not finished recovery')},
  {name: '307 without Location', update: 'refused', answer: (_q, res) => void res.writeHead(307, {'Content-Length': '0'}).end()},
  {name: 'connection reset before any answer', update: 'retried', answer: (req) => void req.socket.resetAndDestroy()},
  {name: 'malformed status line', update: 'retried', answer: (req) => void req.socket.end('HTTP/1.1 2OO Fine\r\n\r\n')},
  {name: 'garbage instead of HTTP', update: 'retried', answer: (req) => void req.socket.end('\x00\x01\x02 not http at all\r\n\r\n')},
  {
    name: 'truncated error body (400, Content-Length 100, 20 bytes, then reset)',
    update: 'refused',
    answer: (req, res) => {
      res.writeHead(400, {'Content-Type': 'text/plain', 'Content-Length': '100'})
      res.write('Executor cannot be f')
      setTimeout(() => req.socket.resetAndDestroy(), 20)
    },
  },
  {
    name: 'truncated 202 (Content-Length 50, 5 bytes, then reset)',
    update: 'accepted',
    answer: (req, res) => {
      res.writeHead(202, {'Content-Length': '50'})
      res.write('trunc')
      setTimeout(() => req.socket.resetAndDestroy(), 20)
    },
  },
  NO_ANSWER,
]

/** The agent: SUBSCRIBE gets a stream with SUBSCRIBED; other calls get `plan.shift()` or 202. */
class Agent {
  readonly server: http.Server
  readonly calls: ExecutorCall[] = []
  /** Answers for the next non-SUBSCRIBE calls, in order; then 202. */
  plan: Failure['answer'][] = []
  /** Answers for the next SUBSCRIBE calls, in order; then a stream. */
  subscribePlan: Failure['answer'][] = []
  private streams: http.ServerResponse[] = []
  port = 0

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const call = decode<ExecutorCall>('executor.Call', Buffer.concat(chunks), CONTENT_JSON)
        this.calls.push(call)
        if (call.type === 'SUBSCRIBE') {
          const next = this.subscribePlan.shift()
          if (next) return next(req, res)
          res.writeHead(200, {'Content-Type': CONTENT_JSON})
          this.streams.push(res)
          return this.send(res, {
            type: 'SUBSCRIBED',
            subscribed: {
              executor_info: {executor_id: {value: EID}, framework_id: {value: FID}, command: {value: 'x'}},
              framework_info: {user: 'root', name: 'etcd', id: {value: FID}, checkpoint: true},
              agent_info: {hostname: '127.0.0.1', id: {value: 'S0'}},
            },
          })
        }
        const next = this.plan.shift()
        if (next) return next(req, res)
        res.writeHead(202, {'Content-Length': '0'}).end()
      })
    })
  }

  send(res: http.ServerResponse, ev: ExecutorEvent): void {
    if (!res.destroyed) res.write(encodeRecord(encode('executor.Event', ev, CONTENT_JSON)))
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as {port: number}).port
  }

  /** Stop accepting connections (new ones are refused); the live stream stays open. */
  refuse(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close()
      this.server.closeIdleConnections()
      resolve()
    })
  }

  updates(uuid?: string): ExecutorCall[] {
    return this.calls.filter((c) => c.type === 'UPDATE' && (uuid === undefined || c.update?.status.uuid === uuid))
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
const cleanups: (() => Promise<void>)[] = []
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {})
  process.off('unhandledRejection', onUnhandled)
})

/** Calls time out after `requestTimeoutMs`: short only where the agent never answers (no other answer may be cut off). */
async function setup(f?: Failure): Promise<{agent: Agent; c: ExecutorClient; logs: string[]; subscribed: () => number}> {
  const agent = new Agent()
  await agent.listen()
  cleanups.push(() => agent.close())
  const env: ExecutorEnv = {
    agentEndpoint: `127.0.0.1:${agent.port}`,
    frameworkId: FID,
    executorId: EID,
    sandbox: '/tmp',
    checkpoint: true,
    recoveryTimeoutMs: 120_000,
    subscriptionBackoffMaxMs: 30,
    shutdownGracePeriodMs: 5000,
  }
  const logs: string[] = []
  const requestTimeoutMs = f === NO_ANSWER ? 1500 : 30_000
  const c = new ExecutorClient(env, {resendDelayMs: 20, requestTimeoutMs, log: (level, msg) => void logs.push(`${level}: ${msg}`)})
  let n = 0
  c.on('subscribed', () => n++)
  cleanups.push(() => c.stop())
  return {agent, c, logs, subscribed: () => n}
}

/** Lets pending rejections surface as 'unhandledRejection' (emitted after the microtask queue drains). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50))

function noUnhandled(): void {
  assert.deepEqual(
    unhandled.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : String(r))),
    [],
    'an unhandled promise rejection',
  )
}

const T = {timeout: 60_000}

describe('ExecutorClient: every failed answer from the agent is handled and logged, never an unhandled rejection', () => {
  for (const f of FAILURES) {
    it(`UPDATE re-sent after a 503, the resend answered: ${f.name}`, T, async () => {
      const {agent, c, logs, subscribed} = await setup(f)
      c.start()
      await waitFor('subscribed', () => subscribed() === 1, 10_000, 10)
      agent.plan = [text(503, 'Agent has not finished recovery'), f.answer]
      const uuid = await c.update({task_id: {value: 't1'}, state: 'TASK_RUNNING'})
      if (f.update === 'retried') {
        // Kept and sent again until the agent takes it (the third try gets 202).
        await waitFor('the update sent a third time', () => agent.updates(uuid).length >= 3, 15_000, 10)
        assert.equal(
          logs.filter((l) => /^warn: UPDATE TASK_RUNNING for t1 not delivered .*; will resend$/.test(l)).length,
          2,
          logs.join('\n'),
        )
        assert.equal(c.unacknowledgedUpdates, 1, 'kept until ACKNOWLEDGED')
      } else if (f.update === 'accepted') {
        await waitFor('the resend answered', () => agent.updates(uuid).length >= 2 && agent.plan.length === 0, 15_000, 10)
        assert.equal(c.unacknowledgedUpdates, 1, 'kept until ACKNOWLEDGED')
      } else {
        await waitFor('the resend answered and logged', () => logs.some((l) => l.includes('refused by the agent')), 15_000, 10)
        const line = logs.find((l) => l.includes('refused by the agent'))!
        assert.match(line, /^error: UPDATE TASK_RUNNING for t1 refused by the agent .*; dropped/)
        assert.equal(c.unacknowledgedUpdates, 0, 'a refused update is not kept')
      }
      await settle()
      noUnhandled()
      assert.equal(c.connected, true, 'still subscribed')
    })
  }

  for (const f of FAILURES) {
    it(`first UPDATE answered: ${f.name}`, T, async () => {
      const {agent, c, subscribed} = await setup(f)
      c.start()
      await waitFor('subscribed', () => subscribed() === 1, 10_000, 10)
      agent.plan = [f.answer]
      const outcome = await c.update({task_id: {value: 't1'}, state: 'TASK_RUNNING'}).then(
        () => 'queued',
        (err: unknown) => err,
      )
      if (f.update === 'retried') {
        assert.equal(outcome, 'queued')
        await waitFor('resent and taken', () => agent.updates().length >= 2, 15_000, 10)
      } else if (f.update === 'accepted') {
        assert.equal(outcome, 'queued')
      } else {
        assert.ok(outcome instanceof Error, String(outcome))
        assert.ok(outcome instanceof MesosCallError || outcome.name === 'MesosRedirectError', `${outcome.name}: ${outcome.message}`)
      }
      await settle()
      noUnhandled()
    })
  }

  for (const f of FAILURES) {
    it(`MESSAGE answered: ${f.name}`, T, async () => {
      const {agent, c, subscribed} = await setup(f)
      c.start()
      await waitFor('subscribed', () => subscribed() === 1, 10_000, 10)
      agent.plan = [f.answer]
      const outcome = await c.message('cGluZw==').then(
        () => 'sent',
        (err: unknown) => err,
      )
      assert.ok(outcome === 'sent' || outcome instanceof Error, String(outcome))
      await settle()
      noUnhandled()
    })
  }

  for (const f of FAILURES) {
    it(`SUBSCRIBE answered: ${f.name}; re-subscribes`, T, async () => {
      const {agent, c, logs, subscribed} = await setup(f)
      agent.subscribePlan = [f.answer]
      c.start()
      await waitFor('subscribed after the failure', () => subscribed() === 1, 15_000, 10)
      assert.ok(
        logs.some((l) => /^warn: executor subscription ended: .*; re-subscribing in \d+ ms$/.test(l)),
        logs.join('\n'),
      )
      await settle()
      noUnhandled()
    })
  }

  it('connection refused: SUBSCRIBE retries until the agent listens; an UPDATE re-sent while refused is kept', T, async () => {
    const {agent, c, logs, subscribed} = await setup()
    const port = agent.port
    await agent.refuse()
    c.start()
    await waitFor(
      'a refused SUBSCRIBE logged',
      () => logs.some((l) => l.includes('ECONNREFUSED') && l.includes('re-subscribing')),
      10_000,
      10,
    )
    const again = new Agent()
    await again.listen(port)
    cleanups.push(() => again.close())
    await waitFor('subscribed', () => subscribed() === 1, 15_000, 10)
    again.plan = [text(503, 'Agent has not finished recovery')]
    const uuid = await c.update({task_id: {value: 't1'}, state: 'TASK_RUNNING'})
    await again.refuse() // the resend meets a closed port; the stream stays up
    await waitFor('a refused resend logged', () => logs.some((l) => l.includes('ECONNREFUSED') && l.includes('will resend')), 10_000, 10)
    await new Promise<void>((resolve) => again.server.listen(port, '127.0.0.1', resolve))
    await waitFor('the update taken', () => again.updates(uuid).length >= 2, 15_000, 10)
    await settle()
    noUnhandled()
  })
})
