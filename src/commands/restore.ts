/**
 * `etcd-mesos restore`: replace a cluster by a NEW one (new cluster token, new member ids) started from a backup of
 * the scheduler's --backup-target (POST /restore), followed until it is healthy (src/lib/cli/restore.ts).
 * Exit codes: 0 succeeded, 1 failed or not confirmed, 2 usage (no --yes without a terminal), 3 unreachable,
 * 4 not finished (--no-wait, --wait-timeout), 5 unknown cluster, 6 refused (healthy cluster without --force, a
 * restore or re-seed running, no --backup-target, not authorised).
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import {followFlags} from '../lib/cli/follow-flags.js'
import {restoreExitCode, runRestore, type RestoreResult} from '../lib/cli/restore.js'

export default class Restore extends BaseCommand<typeof Restore> {
  static override summary = 'Replace a cluster by a new one started from a backup'
  static override description =
    'Every member is killed and a new cluster (new cluster token, new member ids) starts from the backup: the full snapshot plus the deltas up to --to-revision.\n' +
    'Exit codes: 0 succeeded, 1 failed or not confirmed, 2 usage, 3 unreachable, 4 not finished (--no-wait / --wait-timeout), 5 unknown cluster, 6 refused.'
  static override examples = [
    '<%= config.bin %> restore --cluster mycluster --zk zk://zk1:2181/etcd-mesos --from latest',
    '<%= config.bin %> restore --admin-url http://10.0.0.5:23400 --from 20260101T000000.000Z-r1234 --to-revision 1300 --yes',
    '<%= config.bin %> restore --admin-url http://10.0.0.5:23400 --from latest --force --yes --no-wait   # exit 4, prints the operation id',
  ]

  static override flags = {
    from: Flags.string({summary: 'The backup: latest (the newest that verifies) or a backup id (see `backups list`).', required: true}),
    'to-revision': Flags.integer({summary: 'Replay delta backups up to this revision (default: all of them).', min: 1}),
    force: Flags.boolean({summary: "Restore even though the cluster is healthy (its data is replaced by the backup's)."}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation (required when stdin is not a terminal).'}),
    ...followFlags('restore', {waitTimeoutSeconds: 1800, pollMs: 1000}),
  }

  async run(): Promise<RestoreResult> {
    const client = await this.adminClient()
    const f = this.flags
    const result = await runRestore(
      client,
      {
        from: f.from,
        ...(f['to-revision'] !== undefined ? {toRevision: f['to-revision']} : {}),
        force: f.force,
        yes: f.yes,
        wait: f.wait,
        waitTimeoutSeconds: f['wait-timeout'],
        pollMs: f['poll-interval'],
        follow: f.follow,
        stdinIsTTY: process.stdin.isTTY === true,
        cluster: f.cluster ?? client.baseUrl,
        followHint: (op) => `${this.config.bin} restore --follow ${op} --admin-url ${client.baseUrl}`,
        confirm: async (q) => (await import('../lib/cli/reseed-progress.js')).confirm(q),
      },
      this.io(),
    )
    process.exitCode = restoreExitCode(result.outcome)
    return result
  }
}
