/**
 * `etcd-mesos executor`: started by the Mesos agent for each etcd task (never by hand). Reads the agent's
 * MESOS_* environment, runs one etcd member through ExecutorDriver until the task ends, and exits with:
 *   0 after a kill/shutdown, 1 when etcd failed or the task's config was invalid,
 *   2 when not launched by an agent (environment incomplete), 3 when the agent did not come back in time.
 * The body is src/executor/main.ts, shared with the lean entry point bin/executor.js (serve's default).
 */
import {Command, Flags} from '@oclif/core'
import {RESEED_BACKUPS_KEEP_MAX, runExecutor} from '../executor/main.js'
import {DEFAULT_RESEED_BACKUPS_KEEP} from '../executor/reseed-backup.js'

export default class Executor extends Command {
  static override description = 'Run one etcd member as a Mesos task (started by the Mesos agent)'
  static override examples = ['# set as ExecutorInfo.command by the scheduler:\n<%= config.bin %> executor']
  static override flags = {
    'reseed-backups-keep': Flags.integer({
      summary: 'Copies of the data dir made before a re-seed to keep (the newest; older ones are removed before a new copy is made).',
      default: DEFAULT_RESEED_BACKUPS_KEEP,
      min: 1,
      max: RESEED_BACKUPS_KEEP_MAX,
    }),
    'log-format': Flags.string({
      summary: 'Log lines as text or json (serve passes its own --log-format json on).',
      options: ['text', 'json'],
      default: 'text',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Executor)
    process.exitCode = await runExecutor({
      reseedBackupsKeep: flags['reseed-backups-keep'],
      logFormat: flags['log-format'] === 'json' ? 'json' : 'text',
    })
  }
}
