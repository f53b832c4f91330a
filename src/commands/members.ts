/**
 * `etcd-mesos members`: the cluster's members as the scheduler sees them (GET /members), sorted by name.
 * `--json` prints the scheduler's array as is.
 */
import {BaseCommand} from '../lib/cli/base-command.js'
import {getDocument, type Member} from '../lib/cli/types.js'

export default class Members extends BaseCommand<typeof Members> {
  static override summary = 'List the members of an etcd cluster'
  static override description = 'The leader is marked ★. Exit codes: 0 ok, 3 scheduler unreachable, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> members --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> members --cluster mycluster --zk zk://zk1:2181/etcd-mesos --json',
  ]

  async run(): Promise<Member[]> {
    const members = await getDocument(await this.adminClient(), '/members')
    if (!this.jsonEnabled()) {
      const {colours, renderMembers} = await import('../lib/cli/render.js')
      this.log(renderMembers(members, colours()))
    }
    return members
  }
}
