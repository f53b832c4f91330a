/**
 * The body of `etcd-mesos serve`, shared by the oclif command (commands/serve.ts) and bin/run.js's fast path
 * (serve-fast.ts): flags → options → runServe until a signal or a fatal error. `fail` reports an error the way
 * the caller prints errors (oclif: this.error) and does not return.
 */
import {
  parseLocalAgentPorts,
  resolveEtcdTls,
  resolveServeOptions,
  ServeConfigError,
  type ServeFlagValues,
} from '../../scheduler/serve-flags.js'
import {runServe, ServeError} from '../../scheduler/serve.js'

export async function serveMain(f: ServeFlagValues, fail: (message: string, exit: number) => never): Promise<void> {
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
        volumeWaitSec: f['volume-wait'],
        leftoverGraceSec: f['leftover-grace'],
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
    if (err instanceof ServeConfigError) fail(err.message, 2)
    if (err instanceof ServeError) fail(err.message, err.exitCode)
    throw err
  }
}
