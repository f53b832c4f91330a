/**
 * `etcd-mesos proxy`: a local etcd gateway to the cluster's members that follows membership changes
 * (replaces the original etcd-mesos-proxy). The loop lives in src/proxy/runner.ts.
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import type {ProxySummary} from '../lib/cli/types.js'

export default class ProxyCommand extends BaseCommand<typeof ProxyCommand> {
  static override summary = "Run a local etcd gateway that follows the cluster's membership"
  static override description =
    "Runs `etcd gateway start` forwarding to the running members' client URLs, reads GET /members every --refresh seconds " +
    'and restarts the gateway when the endpoints change. Logs go to stderr; SIGINT/SIGTERM stop it. ' +
    'Exit codes: 0 stopped by a signal, 1 the gateway could not start, 2 usage, 3 scheduler unreachable at start, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> proxy --cluster mycluster --zk zk://zk1:2181/etcd-mesos',
    '<%= config.bin %> proxy --admin-url http://10.0.0.5:23400 --listen-addr 127.0.0.1:2379 --refresh 5',
  ]

  static override flags = {
    'listen-addr': Flags.string({summary: 'host:port the gateway listens on.', default: '127.0.0.1:23790'}),
    'etcd-bin': Flags.string({summary: 'The etcd binary (3.4) that runs the gateway.', default: '/usr/bin/etcd'}),
    refresh: Flags.integer({summary: 'Seconds between membership reads.', default: 10, min: 1, max: 3600}),
  }

  async run(): Promise<ProxySummary> {
    const {membersVia, runProxy} = await import('../proxy/runner.js')
    return runProxy({
      listenAddr: this.flags['listen-addr'],
      etcdBin: this.flags['etcd-bin'],
      refreshMs: this.flags.refresh * 1000,
      members: membersVia(() => this.adminClient()),
      log: (line) => this.logToStderr(line),
    })
  }
}
