/**
 * `etcd-mesos stats`: the cluster's health and counters from the scheduler (GET /stats).
 * `--json` prints the scheduler's document as is; `--check` exits 4 when the cluster is not healthy.
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import {ExitCode} from '../lib/cli/exit-codes.js'
import {getDocument, type Stats as StatsDoc} from '../lib/cli/types.js'

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
    const stats = await getDocument(await this.adminClient(), '/stats')
    if (!this.jsonEnabled()) {
      const {colours, renderStats} = await import('../lib/cli/render.js')
      this.log(renderStats(stats, Date.now(), colours()))
    }
    if (this.flags.check && stats.healthy !== 1) {
      process.exitCode = ExitCode.UNHEALTHY
      if (!this.jsonEnabled()) this.logToStderr(`cluster ${stats.cluster_name} is not healthy`)
    }
    return stats
  }
}
