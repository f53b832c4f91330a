import {Command} from '@oclif/core'
import {
  serveFlags,
  serveTlsFlags,
  serveTuningFlags,
  resolveEtcdTls,
  parseLocalAgentPorts,
  resolveServeOptions,
  ServeConfigError,
} from '../scheduler/serve-flags.js'
import {runServe, ServeError} from '../scheduler/serve.js'

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
  static override flags = {...serveFlags, ...serveTuningFlags, ...serveTlsFlags}

  async run(): Promise<void> {
    const {flags: f} = await this.parse(Serve)
    const ac = new AbortController()
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort())
    try {
      const o = resolveServeOptions(f)
      process.exitCode = await runServe(
        {
          ...o,
          adminPort: f['admin-port'],
          adminAddress: f['admin-address'],
          adminTokenFile: f['admin-token-file'],
          adminMaxConnections: f['admin-max-connections'],
          address: f.address,
          executorBin: f['executor-bin'],
          reseedBackupsKeep: f['reseed-backups-keep'],
          etcdBin: f['etcd-bin'],
          principal: f['mesos-authentication-principal'],
          secretFile: f['mesos-authentication-secret-file'],
          singleInstancePerAgent: f['single-instance-per-slave'],
          singleInstancePerHost: f['single-instance-per-host'],
          webUri: f['framework-weburi'],
          role: f['framework-role'],
          healthIntervalSec: f['health-interval'],
          bootstrapWaitSec: f['bootstrap-wait'],
          memberGraceSec: f['member-grace'],
          localAgents: f['local-agents'],
          localMesosPort: f['local-mesos-port'],
          localAgentPorts: parseLocalAgentPorts(f['local-agent-ports']),
          logDir: f['log-dir'],
          verbose: f.v > 0,
          etcdTls: resolveEtcdTls(f),
        },
        ac.signal,
      )
      // Everything was closed in order; a client library's stray handle must not keep a supervised daemon alive.
      const t = setTimeout(() => {
        if (process.env.ETCD_MESOS_DEBUG_HANDLES) {
          const h = (process as unknown as {_getActiveHandles(): object[]})._getActiveHandles().map((x) => x.constructor.name)
          process.stderr.write(`active handles at exit: ${h.join(', ')}\n`)
        }
        process.exit()
      }, 2000)
      t.unref()
    } catch (err) {
      if (err instanceof ServeConfigError) this.error(err.message, {exit: 2})
      if (err instanceof ServeError) this.error(err.message, {exit: err.exitCode})
      throw err
    }
  }
}
