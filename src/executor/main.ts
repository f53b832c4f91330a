/**
 * The executor's process body, shared by `etcd-mesos executor` (the oclif command) and the lean entry point
 * bin/executor.js, which serve gives the agents by default: an executor starts for every member launch, and
 * loading oclif and its command tree before anything else cost about a third of the executor's start (more on
 * a loaded machine), on the path from ACCEPT to TASK_RUNNING.
 *
 * `executorArgs(argv)` reads the flags the executor takes (--reseed-backups-keep N, N in 1..100; --log-format
 * text|json, serve's) with the command's defaults; anything else is a usage error (exit 2, like oclif's).
 * `runExecutor` reads the agent's MESOS_* environment, runs one etcd member through ExecutorDriver until the
 * task ends, and returns the exit code: 0 after a kill/shutdown, 1 when etcd failed or the task's config was
 * invalid, 2 when not launched by an agent (environment incomplete), 3 when the agent did not come back in time.
 */
import {ExecutorEnvError, readExecutorEnv} from '../lib/mesos/executor-env.js'
import {EXIT_BAD_ENVIRONMENT} from './core-types.js'
import {executorLog, stderrLog} from './driver-options.js'
import {DEFAULT_RESEED_BACKUPS_KEEP} from './reseed-backup.js'

export const RESEED_BACKUPS_KEEP_MAX = 100

export interface ExecutorArgs {
  reseedBackupsKeep: number
  /** serve's --log-format, passed on (default text). */
  logFormat?: 'text' | 'json'
}

/** The flags of the lean entry point, or an error message (a usage error). Pure. */
export function executorArgs(argv: readonly string[]): ExecutorArgs | {error: string} {
  let keep = DEFAULT_RESEED_BACKUPS_KEEP
  let seen = false
  let logFormat: 'text' | 'json' | undefined
  for (let i = 0; i < argv.length; i++) {
    const f = /^--log-format(?:=(.*))?$/s.exec(argv[i]!)
    if (f) {
      if (logFormat !== undefined) return {error: '--log-format given twice'}
      const value = f[1] ?? argv[++i]
      if (value !== 'text' && value !== 'json') return {error: `--log-format must be text or json, got ${JSON.stringify(value ?? '')}`}
      logFormat = value
      continue
    }
    const m = /^--reseed-backups-keep(?:=(.*))?$/s.exec(argv[i]!)
    if (!m)
      return {
        error: `unexpected argument ${JSON.stringify(argv[i])} (the executor takes only --reseed-backups-keep N and --log-format text|json)`,
      }
    if (seen) return {error: '--reseed-backups-keep given twice'}
    seen = true
    const value = m[1] ?? argv[++i]
    if (value === undefined || !/^\d+$/.test(value))
      return {error: `--reseed-backups-keep needs an integer, got ${JSON.stringify(value ?? '')}`}
    keep = Number(value)
    if (keep < 1 || keep > RESEED_BACKUPS_KEEP_MAX)
      return {error: `--reseed-backups-keep must be 1..${RESEED_BACKUPS_KEEP_MAX}, got ${keep}`}
  }
  return {reseedBackupsKeep: keep, logFormat: logFormat ?? 'text'}
}

/** Runs the executor in this process; resolves with its exit code. */
export async function runExecutor(args: ExecutorArgs): Promise<number> {
  let env: ReturnType<typeof readExecutorEnv>
  try {
    env = readExecutorEnv(process.env)
  } catch (err) {
    if (!(err instanceof ExecutorEnvError)) throw err
    const detail = err.message.replace(/^executor environment: /, '')
    process.stderr.write(`etcd-mesos executor must be started by a Mesos agent: ${detail}\n`)
    return EXIT_BAD_ENVIRONMENT
  }
  // The driver (the Mesos codec, the supervisor) loads only once the environment is known to be an agent's.
  const {ExecutorDriver} = await import('./driver.js')
  const log = args.logFormat === 'json' ? executorLog('json') : stderrLog
  const driver = new ExecutorDriver({env, reseedBackupsKeep: args.reseedBackupsKeep, log})
  const onSignal = (sig: NodeJS.Signals): void => driver.shutdown(`received ${sig}`)
  // Last line of defence: every promise in the executor has a handler; should one be missed, Node's default
  // (exit on an unhandled rejection) would take etcd down with the executor. Log it as the bug it is and go on.
  const onUnhandled = (reason: unknown): void =>
    log(
      `internal error (a bug): unhandled promise rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}; the executor and etcd keep running`,
    )
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  process.on('unhandledRejection', onUnhandled)
  try {
    return await driver.run()
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    // Everything is closed by now; should a stray handle remain, do not keep the agent waiting for us.
    setTimeout(() => process.exit(), 3000).unref()
  }
}

/** bin/executor.js: parse `argv`, run, exit code. */
export async function executorMain(argv: readonly string[]): Promise<number> {
  const args = executorArgs(argv)
  if ('error' in args) {
    process.stderr.write(`etcd-mesos executor: ${args.error}\n`)
    return 2
  }
  return runExecutor(args)
}
