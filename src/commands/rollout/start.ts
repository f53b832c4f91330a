/**
 * `etcd-mesos rollout start`: roll every member whose spec differs from what the scheduler launches now (POST
 * /rollout), one at a time, and follow it (listr2). Exit codes: 0 done, 9 failed, 6 refused, 4 not finished
 * (--no-wait, --wait-timeout, paused or aborted meanwhile), 3 unreachable, 5 unknown cluster.
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../../lib/cli/base-command.js'
import {rolloutExitCode, runRolloutStart, type RolloutResult} from '../../lib/cli/rollout.js'

export default class RolloutStart extends BaseCommand<typeof RolloutStart> {
  static override summary = 'Start a rollout to the desired spec (followers first, the leader last) and follow it'
  static override description = 'Exit codes: 0 done, 9 failed, 6 refused, 4 not finished, 3 unreachable, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> rollout start --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> rollout start --follow --admin-url http://10.0.0.5:23400   # follow the running one',
  ]

  static override flags = {
    wait: Flags.boolean({summary: 'Follow the rollout until it ends; --no-wait returns at once (exit 4).', default: true, allowNo: true}),
    'wait-timeout': Flags.integer({summary: 'Seconds to follow before giving up with exit 4.', default: 3600, min: 1}),
    follow: Flags.boolean({summary: 'Follow the current rollout instead of starting one.', default: false}),
    'poll-interval': Flags.integer({summary: 'Milliseconds between progress polls.', default: 1000, min: 50, hidden: true}),
  }

  async run(): Promise<RolloutResult> {
    const client = await this.adminClient()
    const f = this.flags
    const r = await runRolloutStart(
      client,
      {
        wait: f.wait,
        waitTimeoutSeconds: f['wait-timeout'],
        pollMs: f['poll-interval'],
        follow: f.follow,
        followHint: `${this.config.bin} rollout start --follow --admin-url ${client.baseUrl}`,
      },
      this.io(),
    )
    process.exitCode = rolloutExitCode(r.outcome)
    return r
  }
}
