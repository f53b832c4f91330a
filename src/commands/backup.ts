/**
 * `etcd-mesos backup`: an on-demand full backup taken by the scheduler (POST /backups), followed to its end
 * (src/lib/cli/backup.ts). Exit codes: 0 succeeded, 1 failed, 3 unreachable, 4 not finished (--no-wait,
 * --wait-timeout), 5 unknown cluster, 6 refused (one is running, no --backup-target, a standby, not authorised).
 */
import {BaseCommand} from '../lib/cli/base-command.js'
import {followFlags} from '../lib/cli/follow-flags.js'
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
    ...followFlags('backup', {waitTimeoutSeconds: 900, pollMs: 500}),
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
