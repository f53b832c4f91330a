/**
 * `etcd-mesos rollout abort` (POST /rollout/abort). Exit codes: 0 accepted, 6 nothing to abort (or refused), 3 unreachable,
 * 5 unknown cluster.
 */
import {BaseCommand} from '../../lib/cli/base-command.js'
import {runRolloutControl, type RolloutResult} from '../../lib/cli/rollout.js'

export default class RolloutAbort extends BaseCommand<typeof RolloutAbort> {
  static override summary = 'Abort the rollout once the member being relaunched is back (the rest keep their spec)'
  static override description = 'Exit codes: 0 accepted, 6 nothing to abort (or refused), 3 unreachable, 5 unknown cluster.'
  static override examples = ['<%= config.bin %> rollout abort --admin-url http://10.0.0.5:23400']

  async run(): Promise<RolloutResult> {
    return runRolloutControl(await this.adminClient(), 'abort', this.io())
  }
}
