/**
 * A Mesos agent's executor API written for tests (node:http on 127.0.0.1, JSON RecordIO), and `etcd-mesos executor`
 * started against it as a real subprocess (bin/run.js: needs a current build, `npx tsc -p tsconfig.json`) with the
 * environment an agent gives, built from scratch. SUBSCRIBE gets SUBSCRIBED then the queued LAUNCHes; an UPDATE
 * is answered by `answerUpdate` (default 202 + ACKNOWLEDGED) and recorded; MESSAGEs are decoded and recorded.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import {existsSync} from 'node:fs'
import path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {spawnTracked, stopTracked} from './procs.js'
import {encodeRecord} from '../../src/lib/mesos/recordio.js'
import type {ExecutorCall, ExecutorEvent, TaskStatus} from '../../src/lib/mesos/types.js'
import {
  decodeFrameworkMessage,
  encodeFrameworkMessage,
  encodeMemberConfig,
  type ExecutorToScheduler,
  type MemberConfig,
} from '../../src/lib/member-config.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
export const RUN_JS = path.join(ROOT, 'bin/run.js')
export const FW = 'fw-test'
export const EXEC = 'etcd-exec-test'
export const TASK_ID = 'etcd-task-1'

/** Answers one UPDATE (return a name for the record); undefined: 202 + ACKNOWLEDGED. */
export type UpdateAnswer = (status: TaskStatus, res: http.ServerResponse) => string | undefined

export class TestAgent {
  readonly server = http.createServer((req, res) => void this.handle(req, res))
  port = 0
  readonly updates: {status: TaskStatus; answer: string}[] = []
  readonly messages: ExecutorToScheduler[] = []
  answerUpdate: UpdateAnswer = () => undefined
  launch: ExecutorEvent[] = []
  private stream: http.ServerResponse | undefined

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as {port: number}).port
  }

  send(ev: ExecutorEvent): void {
    assert.ok(this.stream, 'no executor subscribed')
    this.stream.write(encodeRecord(JSON.stringify(ev)))
  }

  sendReseed(op: string, force = false): void {
    this.send({type: 'MESSAGE', message: {data: encodeFrameworkMessage({type: 'reseed', op, ...(force ? {force: true} : {})})}})
  }

  kill(): void {
    this.send({type: 'KILL', kill: {task_id: {value: TASK_ID}}})
  }

  states(): string[] {
    return this.updates.map((u) => u.status.state)
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
      this.send({
        type: 'SUBSCRIBED',
        subscribed: {
          executor_info: {executor_id: {value: EXEC}, framework_id: {value: FW}},
          framework_info: {user: 'root', name: 'etcd-test', id: {value: FW}},
          agent_info: {hostname: '127.0.0.1', id: {value: 'agent-1'}},
        },
      })
      for (const ev of this.launch.splice(0)) this.send(ev)
      return
    }
    if (call.type === 'UPDATE' && call.update) {
      const st = call.update.status
      const answer = this.answerUpdate(st, res)
      this.updates.push({status: st, answer: answer ?? '202'})
      if (answer !== undefined) return
      res.writeHead(202).end()
      this.send({type: 'ACKNOWLEDGED', acknowledged: {task_id: st.task_id, uuid: st.uuid!}})
      return
    }
    if (call.type === 'MESSAGE') {
      const m = decodeFrameworkMessage(call.message?.data ?? '')
      if (m && m.type === 'reseed-progress') this.messages.push(m)
    }
    res.writeHead(202).end()
  }
}

export interface ExecutorProcess {
  proc: ChildProcess
  stderr: () => string
  /** Set once the process exited. */
  exit: () => {code: number | null; signal: string | null} | undefined
  exited: Promise<{code: number | null; signal: string | null}>
  stop: () => Promise<void>
}

/** Starts `etcd-mesos executor [args]` for a task running `cfg`, subscribed to `agent`, in `sandbox`. */
export function startExecutor(agent: TestAgent, cfg: MemberConfig, sandbox: string, args: string[] = []): ExecutorProcess {
  assert.ok(existsSync(path.join(ROOT, 'dist/commands/executor.js')), 'build first: npx tsc -p tsconfig.json')
  agent.launch = [
    {
      type: 'LAUNCH',
      launch: {task: {name: 'etcd', task_id: {value: TASK_ID}, agent_id: {value: 'agent-1'}, data: encodeMemberConfig(cfg)}},
    },
  ]
  const proc = spawnTracked(process.execPath, [RUN_JS, 'executor', ...args], {
    cwd: sandbox,
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      MESOS_AGENT_ENDPOINT: `127.0.0.1:${agent.port}`,
      MESOS_CHECKPOINT: '1',
      MESOS_SANDBOX: sandbox,
      MESOS_DIRECTORY: sandbox,
      MESOS_EXECUTOR_ID: EXEC,
      MESOS_FRAMEWORK_ID: FW,
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_RECOVERY_TIMEOUT: '15mins',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '250ms',
      MESOS_SLAVE_ID: 'agent-1',
    },
  })
  let stderr = ''
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
  proc.stdout!.resume()
  let exit: {code: number | null; signal: string | null} | undefined
  const exited = new Promise<{code: number | null; signal: string | null}>((resolve) =>
    proc.once('exit', (code, signal) => {
      exit = {code, signal}
      resolve(exit)
    }),
  )
  return {proc, stderr: () => stderr, exit: () => exit, exited, stop: () => stopTracked(proc, 'SIGKILL', 1000)}
}

/** A one-member cluster's config on the given ports. */
export function soloMember(clientPort: number, peerPort: number, extra: Partial<MemberConfig> = {}): MemberConfig {
  return {
    version: 1,
    cluster: {name: 'solo', token: `tok-${process.pid}-${clientPort}`},
    member: {name: 'm0', host: '127.0.0.1', peerPort, clientPort},
    initialCluster: [{name: 'm0', peerUrl: `http://127.0.0.1:${peerPort}`}],
    initialClusterState: 'new',
    ...extra,
  }
}
