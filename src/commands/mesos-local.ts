/**
 * `etcd-mesos mesos-local`: runs an embedded Mesos-compatible cluster (master(s) + agents) in this process
 * until SIGINT/SIGTERM, then stops everything (executors included). The work lives in src/mesos-local/cluster.ts.
 */
import {Command, Flags} from '@oclif/core'

export default class MesosLocal extends Command {
  static override summary = 'Run a local Mesos-compatible master and agents (for development and tests)'
  static override description =
    'Starts a Mesos 1.12-compatible master (v1 scheduler and operator APIs, state endpoints) and N agents ' +
    '(v1 executor API, command executor) on loopback addresses, prints the master URL, and runs until SIGINT/SIGTERM. ' +
    'With --zk (required for --masters > 1) masters register under the ZooKeeper path and non-leaders redirect (307).'
  static override examples = [
    '<%= config.bin %> mesos-local',
    '<%= config.bin %> mesos-local --agents 5 --port 5050 --resources "cpus:4;mem:8192;disk:20000;ports:[31000-32000]"',
    '<%= config.bin %> mesos-local --masters 2 --zk zk://127.0.0.1:2181/mesos',
  ]

  static override flags = {
    agents: Flags.integer({summary: 'Number of agents (127.0.0.2, 127.0.0.3, ...).', default: 3, min: 0, max: 200}),
    ip: Flags.string({summary: 'IP the master listens on and advertises.', default: '127.0.0.1'}),
    port: Flags.integer({summary: 'Port of the (first) master; 0 picks a free one.', default: 5050, min: 0, max: 65535}),
    zk: Flags.string({summary: 'zk://host:port/path for master registration and leader election.'}),
    masters: Flags.integer({summary: 'Number of masters (more than 1 needs --zk).', default: 1, min: 1, max: 9}),
    'work-dir': Flags.string({summary: 'Work directory (default: a new temp directory).'}),
    resources: Flags.string({summary: 'Resources of each agent, Mesos syntax.', default: 'cpus:2;mem:4096;disk:10000;ports:[31000-32000]'}),
    'allocation-interval': Flags.integer({summary: 'Allocation interval in ms.', default: 1000, min: 1}),
    'heartbeat-interval': Flags.integer({summary: 'Scheduler HEARTBEAT interval in seconds.', default: 15, min: 1}),
    'agent-ping-timeout': Flags.integer({summary: 'Agent ping timeout in ms.', default: 15_000, min: 1}),
    'max-agent-ping-timeouts': Flags.integer({summary: 'Missed pings before a disconnected agent is removed.', default: 5, min: 1}),
    'agent-reregister-timeout': Flags.integer({
      summary: 'After a master failover, ms the new leader waits for known agents to re-register.',
      default: 600_000,
      min: 1,
    }),
    quiet: Flags.boolean({summary: 'Do not log master/agent activity.', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MesosLocal)
    if (flags.masters > 1 && flags.zk === undefined) this.error('--masters > 1 needs --zk', {exit: 2})
    const {startLocalMesos} = await import('../mesos-local/cluster.js')
    const mesos = await startLocalMesos({
      agents: flags.agents,
      host: flags.ip,
      port: flags.port,
      zk: flags.zk,
      masters: flags.masters,
      workDir: flags['work-dir'],
      agentResources: flags.resources,
      allocationIntervalMs: flags['allocation-interval'],
      heartbeatIntervalSec: flags['heartbeat-interval'],
      agentPingTimeoutMs: flags['agent-ping-timeout'],
      maxAgentPingTimeouts: flags['max-agent-ping-timeouts'],
      agentReregisterTimeoutMs: flags['agent-reregister-timeout'],
      log: flags.quiet ? undefined : (line) => this.logToStderr(line),
    })
    this.log(`Mesos master: ${mesos.masterUrl}`)
    for (const m of mesos.masters) this.log(`  master ${m.url}${m.isLeader() ? ' (leader)' : ''}`)
    for (const a of mesos.agents) this.log(`  agent ${a.index + 1}: http://${a.endpoint} (${a.id})`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    this.logToStderr('stopping local Mesos...')
    await mesos.stop()
  }
}
