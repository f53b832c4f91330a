/**
 * `etcd-mesos reseed`: re-seed a cluster that lost quorum from its most advanced surviving member
 * (the flow is in src/lib/cli/reseed.ts). Exit codes: 0 succeeded, 1 failed or not confirmed, 2 usage
 * (e.g. no --yes without a terminal), 3 unreachable, 4 not finished (--no-wait, --wait-timeout; the
 * operation id is printed, follow it with --follow), 5 unknown cluster, 6 refused (healthy cluster
 * without --force, another re-seed running, or not authorised).
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import {followFlags} from '../lib/cli/follow-flags.js'
import {colourLevel} from '../lib/cli/render.js'
import {outcomeExitCode, runReseed} from '../lib/cli/reseed.js'
import type {ReseedResult} from '../lib/cli/types.js'

export default class Reseed extends BaseCommand<typeof Reseed> {
  static override summary = 'Re-seed a cluster that lost quorum from its most advanced member'
  static override description =
    'Shows which member would seed and why, asks for confirmation (or --yes), starts the re-seed and follows it.\n' +
    'Exit codes: 0 succeeded, 1 failed or not confirmed, 2 usage, 3 unreachable, 4 not finished (--no-wait / --wait-timeout), 5 unknown cluster, 6 refused.'
  static override examples = [
    '<%= config.bin %> reseed --cluster mycluster --zk zk://zk1:2181/etcd-mesos',
    '<%= config.bin %> reseed --admin-url http://10.0.0.5:23400 --yes --admin-token-file /etc/etcd-mesos/token',
    '<%= config.bin %> reseed --admin-url http://10.0.0.5:23400 --yes --no-wait   # exit 4, prints the operation id',
    '<%= config.bin %> reseed --admin-url http://10.0.0.5:23400 --follow <op>',
  ]

  static override flags = {
    force: Flags.boolean({summary: 'Re-seed even though the cluster is healthy.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation (required when stdin is not a terminal).'}),
    ...followFlags('re-seed', {waitTimeoutSeconds: 600, pollMs: 1000}),
  }

  async run(): Promise<ReseedResult> {
    const client = await this.adminClient()
    const f = this.flags
    const result = await runReseed(
      client,
      {
        force: f.force,
        yes: f.yes,
        wait: f.wait,
        waitTimeoutSeconds: f['wait-timeout'],
        pollMs: f['poll-interval'],
        follow: f.follow,
        json: this.jsonEnabled(),
        stdinIsTTY: process.stdin.isTTY === true,
        followHint: (op) => `${this.config.bin} reseed --follow ${op} --admin-url ${client.baseUrl}`,
      },
      {
        log: (t) => this.log(t),
        warn: (t) => this.logToStderr(t),
        confirm: async (q) => (await import('../lib/cli/reseed-progress.js')).confirm(q),
        colourLevel: colourLevel(process.stdout),
      },
    )
    process.exitCode = outcomeExitCode(result.outcome)
    return result
  }
}
