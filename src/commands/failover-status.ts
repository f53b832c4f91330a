/**
 * `etcd-mesos failover-status`: the scheduler's standing with Mesos (GET /failover-status): framework id,
 * subscription and master, failover timeout left while disconnected, scheduler leader and standbys,
 * reconciliation. `--json` prints the scheduler's document as is. The body is lib/cli/show.ts, shared
 * with the fast path.
 */
import {BaseCommand} from '../lib/cli/base-command.js'
import {showFailover} from '../lib/cli/show.js'
import type {FailoverStatus as FailoverDoc} from '../lib/cli/types.js'

export default class FailoverStatus extends BaseCommand<typeof FailoverStatus> {
  static override summary = "Show the scheduler's Mesos subscription, failover timeout and standbys"
  static override description = 'Exit codes: 0 ok, 3 scheduler unreachable, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> failover-status --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> failover-status --cluster mycluster --zk zk://zk1:2181/etcd-mesos --json',
  ]

  async run(): Promise<FailoverDoc> {
    return showFailover(await this.adminClient(), this.io())
  }
}
