/**
 * `etcd-mesos backups list`: the backups in the scheduler's --backup-target (GET /backups), newest first.
 * Exit codes: 0 ok, 3 unreachable, 5 unknown cluster, 6 no --backup-target on the scheduler (or a standby).
 */
import {BaseCommand} from '../../lib/cli/base-command.js'
import {runBackupsList, type BackupList} from '../../lib/cli/backup.js'

export default class BackupsList extends BaseCommand<typeof BackupsList> {
  static override summary = "List the backups in the scheduler's backup target"
  static override description =
    'Columns: id, time, revision, size, kind (full/delta), verified. Exit codes: 0 ok, 3 unreachable, 5 unknown cluster, 6 no backup target.'
  static override examples = [
    '<%= config.bin %> backups list --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> backups list --cluster mycluster --zk zk://zk1:2181/etcd-mesos --json | jq ".backups[0].id"',
  ]

  async run(): Promise<BackupList> {
    return runBackupsList(await this.adminClient(), this.io())
  }
}
