import {Command} from '@oclif/core'
import {oclifFlags} from '../lib/cli/oclif-flags.js'
import {serveMain} from '../lib/cli/serve-main.js'
import {serveFlagSpecs} from '../scheduler/serve-flags.js'

export default class Serve extends Command {
  static override summary = 'Run the etcd-mesos scheduler: bootstrap, monitor, repair and re-seed an etcd cluster on Mesos.'
  static override description = `Registers with a Mesos master (host:port, zk://…/mesos, or "local" for an embedded local Mesos),
persists its state in ZooKeeper, launches etcd members through the etcd-mesos executor, replaces dead
members and re-seeds a cluster that lost quorum. Go-style flags (-cluster-size=3, -log_dir=…) work too.
Exit codes: 0 stopped by a signal, 1 fatal error, 2 bad flags, 3 ZooKeeper / admin port unreachable,
7 the framework was removed by Mesos (restart to register a new one).`
  static override examples = [
    '<%= config.bin %> serve --master local --cluster-size 3 --cluster-name demo',
    '<%= config.bin %> serve -master=zk://zk1:2181/mesos -cluster-name=mycluster -cluster-size=3 -zk-framework-persist=zk://zk1:2181/etcd-mesos',
  ]
  static override flags = oclifFlags(serveFlagSpecs)

  // bin/run.js runs the same body without oclif when its fast path understands the whole invocation (lib/cli/serve-fast.ts).
  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    await serveMain(flags, (message, exit) => this.error(message, {exit}))
  }
}
