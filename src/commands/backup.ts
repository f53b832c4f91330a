/**
 * `etcd-mesos backup`: an on-demand full backup taken by the scheduler (POST /backups), followed to its end
 * (src/lib/cli/backup.ts). Exit codes: 0 succeeded, 1 failed, 3 unreachable, 4 not finished (--no-wait,
 * --wait-timeout), 5 unknown cluster, 6 refused (one is running, no --backup-target, a standby, not authorised).
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import {backupExitCode, runBackup, type BackupResult} from '../lib/cli/backup.js'

export default class Backup extends BaseCommand<typeof Backup> {
  static override summary = "Take a full backup of an etcd cluster now (to the scheduler's --backup-target)"
  static override description =
    'The scheduler streams a snapshot from a healthy member (a follower when there is one), verifies it and publishes it.\n' +
    'Exit codes: 0 succeeded, 1 failed, 3 unreachable, 4 not finished (--no-wait / --wait-timeout), 5 unknown cluster, 6 refused.'
  static override examples = [
    '<%= config.bin %> backup --cluster mycluster --zk zk://zk1:2181/etcd-mesos',
    '<%= config.bin %> backup --admin-url http://10.0.0.5:23400 --admin-token-file /etc/etcd-mesos/token --json',
    '<%= config.bin %> backup --admin-url http://10.0.0.5:23400 --no-wait   # exit 4, prints the operation id',
  ]

  static override flags = {
    wait: Flags.boolean({summary: 'Follow the backup until it ends; --no-wait returns at once (exit 4).', default: true, allowNo: true}),
    'wait-timeout': Flags.integer({summary: 'Seconds to follow before giving up with exit 4.', default: 900, min: 1}),
    follow: Flags.string({summary: 'Follow an already started backup operation instead of starting one.'}),
    'poll-interval': Flags.integer({summary: 'Milliseconds between progress polls.', default: 500, min: 50, hidden: true}),
  }

  async run(): Promise<BackupResult> {
    const client = await this.adminClient()
    const f = this.flags
    const result = await runBackup(
      client,
      {
        wait: f.wait,
        waitTimeoutSeconds: f['wait-timeout'],
        pollMs: f['poll-interval'],
        follow: f.follow,
        followHint: (op) => `${this.config.bin} backup --follow ${op} --admin-url ${client.baseUrl}`,
      },
      this.io(),
    )
    process.exitCode = backupExitCode(result.outcome)
    return result
  }
}
