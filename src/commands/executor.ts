/**
 * `etcd-mesos executor`: started by the Mesos agent for each etcd task (never by hand). Reads the agent's
 * MESOS_* environment, runs one etcd member through ExecutorDriver until the task ends, and exits with:
 *   0 after a kill/shutdown, 1 when etcd failed or the task's config was invalid,
 *   2 when not launched by an agent (environment incomplete), 3 when the agent did not come back in time.
 */
import {Command, Flags} from '@oclif/core'
import {ExecutorEnvError, readExecutorEnv} from '../lib/mesos/executor-client.js'
import {EXIT_BAD_ENVIRONMENT} from '../executor/core.js'
import {ExecutorDriver, stderrLog} from '../executor/driver.js'
import {DEFAULT_RESEED_BACKUPS_KEEP} from '../executor/reseed-backup.js'

export default class Executor extends Command {
  static override description = 'Run one etcd member as a Mesos task (started by the Mesos agent)'
  static override examples = ['# set as ExecutorInfo.command by the scheduler:\n<%= config.bin %> executor']
  static override flags = {
    'reseed-backups-keep': Flags.integer({
      summary: 'Copies of the data dir made before a re-seed to keep (the newest; older ones are removed before a new copy is made).',
      default: DEFAULT_RESEED_BACKUPS_KEEP,
      min: 1,
      max: 100,
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Executor)
    let env: ReturnType<typeof readExecutorEnv>
    try {
      env = readExecutorEnv(process.env)
    } catch (err) {
      if (!(err instanceof ExecutorEnvError)) throw err
      const detail = err.message.replace(/^executor environment: /, '')
      process.stderr.write(`etcd-mesos executor must be started by a Mesos agent: ${detail}\n`)
      process.exitCode = EXIT_BAD_ENVIRONMENT
      return
    }
    const driver = new ExecutorDriver({env, reseedBackupsKeep: flags['reseed-backups-keep']})
    const onSignal = (sig: NodeJS.Signals): void => driver.shutdown(`received ${sig}`)
    // Last line of defence: every promise in the executor has a handler; should one be missed, Node's default
    // (exit on an unhandled rejection) would take etcd down with the executor. Log it as the bug it is and go on.
    const onUnhandled = (reason: unknown): void =>
      stderrLog(
        `internal error (a bug): unhandled promise rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}; the executor and etcd keep running`,
      )
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
    process.on('unhandledRejection', onUnhandled)
    try {
      process.exitCode = await driver.run()
    } finally {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    }
    // Everything is closed by now; should a stray handle remain, do not keep the agent waiting for us.
    setTimeout(() => process.exit(), 3000).unref()
  }
}
