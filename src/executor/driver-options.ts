/**
 * What the executor driver (driver.ts) is given: the executor-API port it drives (ExecutorClient satisfies it),
 * its options, and the default log line writer (stderr, the sandbox's stderr file).
 */
import type {EventEmitter} from 'node:events'
import type {ExecutorEnv} from '../lib/mesos/executor-client.js'
import type {UpdateStatus} from './core.js'

/** What the driver needs of the executor client (ExecutorClient satisfies it). */
export interface ExecutorPort extends EventEmitter {
  start(): void
  stop(): Promise<void>
  update(status: UpdateStatus): Promise<string>
  message(dataBase64: string): Promise<void>
}

export interface DriverOptions {
  env: ExecutorEnv
  client?: ExecutorPort
  /** One log line (no trailing newline). Default: ISO time + line to stderr. */
  log?: (line: string) => void
  /** How long to wait for ACKNOWLEDGED of the last update before exiting; default 2000 ms. */
  ackTimeoutMs?: number
  /** Health probe period passed to the supervisor. */
  healthIntervalMs?: number
  /** Bound on the quorum check (a linearizable read through the member) before a non-forced re-seed; default 2000 ms. */
  quorumCheckMs?: number
  /** Pre-re-seed copies of the data dir kept (the newest; default DEFAULT_RESEED_BACKUPS_KEEP). */
  reseedBackupsKeep?: number
}

export function stderrLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} etcd-mesos executor: ${line}\n`)
}

/**
 * The executor's line writer for serve's --log-format: text as stderrLog; json one object per line with the keys of
 * the scheduler's JSON logs (level, time, msg) and component "executor" (no pino: the executor starts on the path
 * from a launch to TASK_RUNNING).
 */
export function executorLog(format: 'text' | 'json', write: (s: string) => void = (s) => process.stderr.write(s)): (line: string) => void {
  if (format === 'text') return (line) => write(`${new Date().toISOString()} etcd-mesos executor: ${line}\n`)
  return (line) =>
    write(`${JSON.stringify({level: 'info', time: new Date().toISOString(), pid: process.pid, component: 'executor', msg: line})}\n`)
}
