/**
 * `etcd-mesos rollout resume` (POST /rollout/resume). Exit codes: 0 accepted, 6 nothing to resume (or refused), 3 unreachable,
 * 5 unknown cluster.
 */
import {BaseCommand} from '../../lib/cli/base-command.js'
import {runRolloutControl, type RolloutResult} from '../../lib/cli/rollout.js'

export default class RolloutResume extends BaseCommand<typeof RolloutResume> {
  static override summary = 'Resume a paused rollout'
  static override description = 'Exit codes: 0 accepted, 6 nothing to resume (or refused), 3 unreachable, 5 unknown cluster.'
  static override examples = ['<%= config.bin %> rollout resume --admin-url http://10.0.0.5:23400']

  async run(): Promise<RolloutResult> {
    return runRolloutControl(await this.adminClient(), 'resume', this.io())
  }
}
