/**
 * The fast path of bin/run.js: `stats`, `members` and `failover-status` without oclif (and `serve`: serve-fast.ts). Importing
 * @oclif/core and loading its config costs more than the command itself (~0.15 s of a 0.25 s run on an
 * idle 2-core machine), and these are the commands scripts and monitors run in loops.
 *
 * It takes only invocations it understands completely and hands everything else to oclif untouched:
 * help, `--`, arguments, unknown or repeated flags, empty or flag-like values, a --timeout oclif would
 * reject, oclif's own environment switches (DEBUG, ETCD_MESOS_DEBUG, ETCD_MESOS_CONTENT_TYPE, OCLIF_*),
 * and `--json` on a terminal (where oclif may colour JSON with a user theme). So every usage error, help
 * text and exit code of a flag problem is still oclif's. What it takes runs the commands' own bodies
 * (show.ts, target.ts) with BaseCommand's error mapping (toCliError) and output: a `--json` document or
 * error printed as JSON.stringify(x, null, 2), which is what oclif's logJson prints uncoloured.
 * ETCD_MESOS_NO_FAST_PATH (non-empty) sends everything to oclif; test/e2e/cli-fast-path.test.ts runs the
 * same invocations both ways and compares.
 */
import {oclifEnvSet, SCHEDULER_FLAG_ENV, type SchedulerFlagName, type SchedulerTarget, TIMEOUT_SECONDS} from './flags.js'

/** The commands the fast path runs, each with its own boolean flags (besides --json and the scheduler flags). */
export const FAST_COMMANDS = {stats: ['check'], members: [], 'failover-status': []} as const
export type FastCommand = keyof typeof FAST_COMMANDS

export interface FastInvocation {
  command: FastCommand
  json: boolean
  check: boolean
  target: SchedulerTarget
}

const isCommand = (s: string | undefined): s is FastCommand => s !== undefined && Object.hasOwn(FAST_COMMANDS, s)
const isSchedulerFlag = (s: string): s is SchedulerFlagName => Object.hasOwn(SCHEDULER_FLAG_ENV, s)

/**
 * The invocation `argv` (already normalised by argv.ts) asks for, when the fast path can run it exactly
 * as oclif would; undefined hands it to oclif. Pure: the environment and the terminal are parameters.
 */
export function fastInvocation(argv: readonly string[], env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): FastInvocation | undefined {
  const [command, ...rest] = argv
  if (!isCommand(command)) return undefined
  if (oclifEnvSet(env)) return undefined
  const booleans = new Set<string>(['json', ...FAST_COMMANDS[command]])
  const seen = new Set<string>()
  const given: Partial<Record<SchedulerFlagName, string>> = {}
  for (let i = 0; i < rest.length; i++) {
    const m = /^--([a-z][a-z-]*)(=.*)?$/s.exec(rest[i]!)
    if (!m) return undefined
    const [, name = '', eq] = m
    if (seen.has(name)) return undefined
    seen.add(name)
    if (booleans.has(name)) {
      if (eq !== undefined) return undefined
      continue
    }
    if (!isSchedulerFlag(name)) return undefined
    const value = eq !== undefined ? eq.slice(1) : rest[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    given[name] = value
  }
  const json = seen.has('json')
  if (json && stdoutIsTTY) return undefined
  const value = (name: SchedulerFlagName): string | undefined => given[name] ?? (env[SCHEDULER_FLAG_ENV[name]] || undefined)
  const timeoutText = value('timeout')
  let timeout: number = TIMEOUT_SECONDS.default
  if (timeoutText !== undefined) {
    if (!/^\d+$/.test(timeoutText)) return undefined
    timeout = Number.parseInt(timeoutText, 10)
    if (timeout < TIMEOUT_SECONDS.min || timeout > TIMEOUT_SECONDS.max) return undefined
  }
  return {
    command,
    json,
    check: seen.has('check'),
    target: {
      'admin-url': value('admin-url'),
      cluster: value('cluster'),
      zk: value('zk'),
      timeout,
      'admin-token-file': value('admin-token-file'),
      'ca-file': value('ca-file'),
    },
  }
}

const printJson = (doc: unknown): void => console.log(JSON.stringify(doc, null, 2))

/** Runs `argv` on the fast path and returns true, or returns false (nothing done) for oclif to run it. */
export async function runFast(argv: readonly string[]): Promise<boolean> {
  if (argv[0] === 'serve') return (await import('./serve-fast.js')).runServeFast(argv)
  if (!isCommand(argv[0])) return false
  const inv = fastInvocation(argv, process.env, process.stdout.isTTY === true)
  if (!inv) return false
  // As oclif's Command does: a closed pipe (`| head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
  const io = {json: inv.json, log: (t: string) => console.log(t), warn: (t: string) => console.error(t)}
  try {
    const [{openAdminClient}, show] = await Promise.all([import('./target.js'), import('./show.js')])
    const client = await openAdminClient(inv.target)
    const doc =
      inv.command === 'stats'
        ? await show.showStats(client, io, {check: inv.check})
        : inv.command === 'members'
          ? await show.showMembers(client, io)
          : await show.showFailover(client, io)
    if (inv.json) printJson(doc)
  } catch (err) {
    const {ExitCode, toCliError} = await import('./exit-codes.js')
    const e = err as Error
    const cli = toCliError(e)
    process.exitCode = cli.exitCode
    if (inv.json) {
      printJson({error: {code: cli.code, message: cli.message, exitCode: cli.exitCode}})
    } else {
      process.stderr.write(`error: ${cli.message}\n`)
      if (cli.exitCode === ExitCode.INTERNAL && e.stack) process.stderr.write(`${e.stack}\n`)
    }
  }
  return true
}
