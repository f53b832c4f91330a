/**
 * `etcd-mesos executor` as a real subprocess (bin/run.js, needs a current build: `npx tsc -p tsconfig.json`) with a
 * real etcd, against an agent written here (node:http on 127.0.0.1) that answers the first UPDATE with 503 and
 * its resend with a refusal a real agent gives (400 "Executor cannot be found" after it lost track of the
 * executor, 404, 415). The refused resend used to reject with nobody listening: Node killed the executor on the
 * unhandled rejection, and etcd with it (pdeathsig). The executor must log the refusal with what happens next,
 * keep etcd running, report TASK_RUNNING, and still end cleanly on KILL.
 */
import {afterEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {freePorts, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {encodeRecord} from '../../src/lib/mesos/recordio.js'
import type {ExecutorCall, ExecutorEvent, TaskStatus} from '../../src/lib/mesos/types.js'
import {encodeMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const RUN_JS = path.join(ROOT, 'bin/run.js')
const FW = 'fw-agent-failures'
const EXEC = 'etcd-exec-failures'

type Answer = (res: http.ServerResponse) => void
const text = (status: number, body: string): Answer => (res) => void res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8'}).end(body)

class Agent {
  readonly server = http.createServer((req, res) => void this.handle(req, res))
  port = 0
  readonly updates: {status: TaskStatus; answer: string}[] = []
  /** Answers for the TASK_STARTING update, sent and re-sent, in order; every other UPDATE gets 202 + ACKNOWLEDGED. */
  plan: {name: string; answer: Answer}[] = []
  launch: ExecutorEvent[] = []
  private stream: http.ServerResponse | undefined

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as {port: number}).port
  }

  send(ev: ExecutorEvent): void {
    this.stream?.write(encodeRecord(JSON.stringify(ev)))
  }

  async close(): Promise<void> {
    this.stream?.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExecutorCall
    if (call.type === 'SUBSCRIBE') {
      res.writeHead(200, {'Content-Type': 'application/json'})
      this.stream = res
      this.send({type: 'SUBSCRIBED', subscribed: {
        executor_info: {executor_id: {value: EXEC}, framework_id: {value: FW}},
        framework_info: {user: 'root', name: 'etcd-test', id: {value: FW}},
        agent_info: {hostname: '127.0.0.1', id: {value: 'agent-1'}},
      }})
      for (const ev of this.launch.splice(0)) this.send(ev)
      return
    }
    if (call.type === 'UPDATE' && call.update) {
      const st = call.update.status
      const next = st.state === 'TASK_STARTING' ? this.plan.shift() : undefined
      this.updates.push({status: st, answer: next?.name ?? '202'})
      if (next) return next.answer(res)
      res.writeHead(202).end()
      this.send({type: 'ACKNOWLEDGED', acknowledged: {task_id: st.task_id, uuid: st.uuid!}})
      return
    }
    res.writeHead(202).end()
  }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

const REFUSALS: {name: string; answer: Answer}[] = [
  {name: '400 Executor cannot be found', answer: text(400, 'Executor cannot be found')},
  {name: '404 Not Found', answer: (res) => void res.writeHead(404).end()},
  {name: '415 Unsupported Media Type', answer: text(415, "Expecting 'Content-Type' of application/json or application/x-protobuf")},
]

describe('etcd-mesos executor (subprocess, real etcd): a refused UPDATE resend does not kill it', () => {
  for (const refusal of REFUSALS) {
    it(`TASK_STARTING answered 503, its resend answered ${refusal.name}: keeps etcd, reports RUNNING, KILL ends it with 0`, {timeout: 90_000}, async () => {
      assert.ok(existsSync(path.join(ROOT, 'dist/commands/executor.js')), 'build first: npx tsc -p tsconfig.json')
      const agent = new Agent()
      await agent.listen()
      cleanups.push(() => agent.close())
      const sandbox = await mkdtemp(path.join(os.tmpdir(), 'executor-failures-'))
      cleanups.push(() => rm(sandbox, {recursive: true, force: true}))
      const [clientPort, peerPort] = await freePorts(2)
      const cfg: MemberConfig = {
        version: 1, cluster: {name: 'fail', token: `tok-${process.pid}-${clientPort}`},
        member: {name: 'm0', host: '127.0.0.1', peerPort: peerPort!, clientPort: clientPort!},
        initialCluster: [{name: 'm0', peerUrl: `http://127.0.0.1:${peerPort}`}], initialClusterState: 'new',
      }
      agent.launch = [{type: 'LAUNCH', launch: {task: {name: 't', task_id: {value: 'etcd-task-1'}, agent_id: {value: 'agent-1'}, data: encodeMemberConfig(cfg)}}}]
      agent.plan = [{name: '503', answer: text(503, 'Agent has not finished recovery')}, refusal]
      const exec = spawnTracked(process.execPath, [RUN_JS, 'executor'], {cwd: sandbox, env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        MESOS_AGENT_ENDPOINT: `127.0.0.1:${agent.port}`, MESOS_CHECKPOINT: '1', MESOS_SANDBOX: sandbox, MESOS_DIRECTORY: sandbox,
        MESOS_EXECUTOR_ID: EXEC, MESOS_FRAMEWORK_ID: FW, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
        MESOS_RECOVERY_TIMEOUT: '15mins', MESOS_SUBSCRIPTION_BACKOFF_MAX: '250ms', MESOS_SLAVE_ID: 'agent-1',
      }})
      cleanups.push(() => stopTracked(exec, 'SIGKILL', 1000))
      let stderr = ''
      exec.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
      exec.stdout!.resume()
      let exit: {code: number | null; signal: string | null} | undefined
      const exited = new Promise<{code: number | null; signal: string | null}>((resolve) => exec.once('exit', (code, signal) => resolve((exit = {code, signal}))))

      await waitFor('the resend answered, then TASK_RUNNING delivered (or the executor gone)',
        () => exit !== undefined || agent.updates.some((u) => u.status.state === 'TASK_RUNNING' && u.answer === '202'), 60_000)
      assert.equal(exit, undefined, `the executor died:\n${stderr}`)
      await waitFor('the resend answered (or the executor gone)', () => exit !== undefined || agent.plan.length === 0, 30_000)
      await waitFor('the refusal logged (or the executor gone)', () => exit !== undefined || /refused by the agent/.test(stderr), 30_000)
      const starting = agent.updates.filter((u) => u.status.state === 'TASK_STARTING')
      assert.deepEqual(starting.map((u) => u.answer), ['503', refusal.name])
      assert.equal(starting[0]!.status.uuid, starting[1]!.status.uuid, 'the same update re-sent')
      assert.equal(exit, undefined, `the executor died:\n${stderr}`)
      assert.match(stderr, /mesos error: UPDATE TASK_STARTING for etcd-task-1 refused by the agent \(.*\); dropped/)
      assert.doesNotMatch(stderr, /unhandled/i)
      const status = await fetch(`http://127.0.0.1:${clientPort}/v3/maintenance/status`, {method: 'POST', body: '{}'})
      assert.equal(status.status, 200, 'etcd serves')

      agent.send({type: 'KILL', kill: {task_id: {value: 'etcd-task-1'}}})
      const {code} = await exited
      assert.equal(code, 0, stderr)
      assert.equal(agent.updates.at(-1)?.status.state, 'TASK_KILLED')
    })
  }
})
