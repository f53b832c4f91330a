/**
 * `etcd-mesos members`: the cluster's members as the scheduler sees them (GET /members), sorted by name.
 * `--json` prints the scheduler's array as is. The body is lib/cli/show.ts, shared with the fast path.
 */
import {BaseCommand} from '../lib/cli/base-command.js'
import {showMembers} from '../lib/cli/show.js'
import type {Member} from '../lib/cli/types.js'

export default class Members extends BaseCommand<typeof Members> {
  static override summary = 'List the members of an etcd cluster'
  static override description = 'The leader is marked ★. Exit codes: 0 ok, 3 scheduler unreachable, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> members --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> members --cluster mycluster --zk zk://zk1:2181/etcd-mesos --json',
  ]

  async run(): Promise<Member[]> {
    return showMembers(await this.adminClient(), this.io())
  }
}
