/**
 * `etcd-mesos rollout status`: the current or last rollout (GET /rollout) and which members differ from the desired
 * spec. Exit codes: 0 ok, 9 the last rollout failed, 3 unreachable, 5 unknown cluster.
 */
import {BaseCommand} from '../../lib/cli/base-command.js'
import {rolloutExitCode, runRolloutStatus, type RolloutResult} from '../../lib/cli/rollout.js'

export default class RolloutStatus extends BaseCommand<typeof RolloutStatus> {
  static override summary = 'Show the rollout (rolling upgrade / configuration change) and which members differ from the desired spec'
  static override description = 'Exit codes: 0 ok, 9 the last rollout failed, 3 unreachable, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> rollout status --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> rollout status --cluster mycluster --zk zk://zk1:2181/etcd-mesos --json',
  ]

  async run(): Promise<RolloutResult> {
    const r = await runRolloutStatus(await this.adminClient(), this.io())
    process.exitCode = rolloutExitCode(r.outcome)
    return r
  }
}
