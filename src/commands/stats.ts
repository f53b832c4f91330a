/**
 * `etcd-mesos stats`: the cluster's health and counters from the scheduler (GET /stats).
 * `--json` prints the scheduler's document as is; `--check` exits 4 when the cluster is not healthy.
 * The body is lib/cli/show.ts, shared with the fast path (lib/cli/fast-path.ts).
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import {showStats} from '../lib/cli/show.js'
import type {Stats as StatsDoc} from '../lib/cli/types.js'

export default class Stats extends BaseCommand<typeof Stats> {
  static override summary = 'Show the health and counters of an etcd cluster'
  static override description = 'Exit codes: 0 ok, 3 scheduler unreachable, 4 not healthy (with --check), 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> stats --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> stats --cluster mycluster --zk zk://zk1:2181/etcd-mesos --check',
    '<%= config.bin %> stats --admin-url http://10.0.0.5:23400 --json | jq .healthy',
  ]

  static override flags = {
    check: Flags.boolean({summary: 'Exit 4 when the cluster is not healthy (also with --json).'}),
  }

  async run(): Promise<StatsDoc> {
    return showStats(await this.adminClient(), this.io(), {check: this.flags.check})
  }
}
