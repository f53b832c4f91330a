/**
 * End-to-end pieces shared by the tests that run `serve --master local` (test/e2e/serve-*.test.ts) and by the
 * resilience scenarios: the CLI as a subprocess of bin/run.js, a local serve started and waited healthy, and puts
 * through etcd's JSON gateway that report a refusal instead of throwing (the NOSPACE fill loop).
 */
import {spawn} from 'node:child_process'
import {
  type Logs,
  randomPortRange,
  RUN_JS,
  sandboxLogs,
  type ServeProc,
  startMesosLocal,
  startServe,
  sweepCluster,
  waitHealthyMembers,
} from './serve.js'
import type {ZkServer} from './zookeeper.js'

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `bin/run.js <args>` (NO_COLOR=1, stdin closed at once); SIGKILLed after timeoutMs. */
export function runCli(args: string[], timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], {env: {...process.env, NO_COLOR: '1'}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

/** For `.catch(...)`: rethrows err with the tail of the process' log appended. */
export function withLogOf(p: ServeProc, label = 'serve', tail = 4000): (err: Error) => never {
  return (err: Error): never => {
    throw new Error(`${err.message}\n--- ${label} log ---\n${p.log().slice(-tail)}`)
  }
}

export interface LocalServeOptions {
  cluster: string
  size: number
  /** --local-agents (serve's default when absent). */
  agents?: number
  /** --bootstrap-wait, seconds. */
  bootstrapWait: number
  /** More serve flags, after the common ones. */
  args?: string[]
  /** How long the members get to be healthy (default 180 s). */
  healthyWithinMs?: number
  label?: string
  cwd?: string
}

/**
 * Starts `serve --master local` (its own local Mesos on port 0, agents on a random port range, --health-interval 1)
 * and waits until `size` members are healthy; on a timeout it stops serve and throws with the tail of its log.
 */
export async function startLocalServe(o: LocalServeOptions): Promise<ServeProc> {
  const [lo, hi] = randomPortRange()
  const serve = await startServe(
    [
      ...['--master', 'local', '--cluster-name', o.cluster, '--cluster-size', String(o.size)],
      ...(o.agents === undefined ? [] : ['--local-agents', String(o.agents)]),
      ...['--local-mesos-port', '0', '--local-agent-ports', `${lo}-${hi}`],
      ...['--health-interval', '1', '--bootstrap-wait', String(o.bootstrapWait)],
      ...(o.args ?? []),
    ],
    undefined,
    o.label ?? 'serve',
    o.cwd === undefined ? {} : {cwd: o.cwd},
  )
  try {
    await waitHealthyMembers(serve.adminUrl, o.size, o.healthyWithinMs ?? 180_000).catch(withLogOf(serve, o.label))
  } catch (err) {
    await serve.stop()
    throw err
  }
  return serve
}

const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** A put through etcd's JSON gateway: undefined when accepted, else the answer (the refusal). */
export async function tryPut(url: string, key: string, value: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({key: b64(key), value: b64(value)}),
      signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    return res.status === 200 && !/"error"/.test(text) ? undefined : text
  } catch (err) {
    return `request failed: ${(err as Error).message}`
  }
}

/**
 * Overwrites `<prefix>0..3` with 256 KiB values (at most 2000 puts) until `stop(answer)` holds for a put's answer
 * (undefined = accepted); resolves with the last answer.
 */
export async function fillWith256KiB(
  url: string,
  prefix: string,
  stop: (answer: string | undefined) => boolean,
): Promise<string | undefined> {
  const value = 'n'.repeat(256 * 1024)
  let answer: string | undefined
  for (let i = 0; i < 2000 && !stop(answer); i++) answer = await tryPut(url, `${prefix}${i % 4}`, value)
  return answer
}

/**
 * In a serveSuite() test: starts the local Mesos as its own process for `cluster`, with the test's cleanups stopping
 * it and sweeping the cluster's etcd, and its sandboxes in the logs; resolves with serve's flags for that cluster
 * (3 members, --health-interval 1, bin/run.js as the executor, the suite's ZooKeeper).
 */
export async function localMesosServeArgs(
  suite: {zk: () => ZkServer; cleanups: (() => Promise<void>)[]},
  logs: Logs,
  cluster: string,
): Promise<string[]> {
  const mesos = await startMesosLocal({}, logs)
  suite.cleanups.push(() => mesos.stop())
  logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
  suite.cleanups.push(() => sweepCluster(cluster))
  return [
    ...['--master', mesos.hostPort, '--cluster-name', cluster, '--cluster-size', '3', '--health-interval', '1'],
    ...['--executor-bin', RUN_JS, '--zk-framework-persist', `${suite.zk().url}/etcd-mesos`],
  ]
}
