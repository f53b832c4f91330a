/**
 * `etcd-mesos rollout pause` (POST /rollout/pause). Exit codes: 0 accepted, 6 nothing to pause (or refused), 3 unreachable,
 * 5 unknown cluster.
 */
import {BaseCommand} from '../../lib/cli/base-command.js'
import {runRolloutControl, type RolloutResult} from '../../lib/cli/rollout.js'

export default class RolloutPause extends BaseCommand<typeof RolloutPause> {
  static override summary = 'Pause the rollout once the member being relaunched is back'
  static override description = 'Exit codes: 0 accepted, 6 nothing to pause (or refused), 3 unreachable, 5 unknown cluster.'
  static override examples = ['<%= config.bin %> rollout pause --admin-url http://10.0.0.5:23400']

  async run(): Promise<RolloutResult> {
    return runRolloutControl(await this.adminClient(), 'pause', this.io())
  }
}
