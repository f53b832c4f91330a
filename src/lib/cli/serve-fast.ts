/**
 * `etcd-mesos serve` without oclif: loading @oclif/core and its config costs ~0.15 s of CPU before the scheduler
 * starts (more on a loaded machine), on the path from `serve` to the first launched member. The flags are parsed
 * with the same specs the oclif command declares (scheduler/serve-flags.ts, flag-spec.ts); only invocations the
 * spec parser is certain about run here, everything else (help, usage errors, oclif's environment switches,
 * ETCD_MESOS_NO_FAST_PATH) goes to oclif untouched. An error of the running command is printed by oclif's own
 * error handler, loaded then, exactly as the oclif command prints it (this.error → handle), with its exit code.
 * test/e2e/cli-fast-path.test.ts runs serve invocations both ways and compares.
 */
import {parseFlagSpecs} from './flag-spec.js'
import {oclifEnvSet} from './flags.js'

class Fail extends Error {
  constructor(
    message: string,
    readonly exit: number,
  ) {
    super(message)
  }
}

/** Runs `argv` (`serve …`, normalised by argv.ts) and returns true, or returns false (nothing done) for oclif to run it. */
export async function runServeFast(argv: readonly string[]): Promise<boolean> {
  if (argv[0] !== 'serve' || oclifEnvSet(process.env)) return false
  const {serveFlagSpecs} = await import('../../scheduler/serve-flags.js')
  const flags = parseFlagSpecs(serveFlagSpecs, argv.slice(1), process.env)
  if (!flags) return false
  // As oclif's Command does: a closed pipe is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
  try {
    const {serveMain} = await import('./serve-main.js')
    await serveMain(flags, (message, exit) => {
      throw new Fail(message, exit)
    })
  } catch (err) {
    const {Errors, handle} = await import('@oclif/core')
    if (!(err instanceof Fail)) {
      process.exitCode = process.exitCode ?? 1
      await handle(err as Error)
      return true
    }
    try {
      Errors.error(err.message, {exit: err.exit})
    } catch (cli) {
      process.exitCode = process.exitCode ?? err.exit
      await handle(cli as Error)
    }
  }
  return true
}
