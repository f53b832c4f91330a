/**
 * What the scheduler benches share: `serve` started the same way (3 members, 1 s health interval, 3 s bootstrap
 * wait), on the embedded local Mesos or, with BENCH_MESOS=separate, on a separate one with a random port range
 * and ZooKeeper for serve's state (two `serve --master local` on one machine compete for the agents' ports).
 */
import {mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {freePort} from '../test/helpers/ports.js'
import {type MesosLocalProc, startMesosLocal, startServe, type ServeProc} from '../test/helpers/serve.js'
import type {ZkServer} from '../test/helpers/zookeeper.js'

export const SEPARATE = process.env.BENCH_MESOS === 'separate'
/** Extra serve flags from BENCH_SERVE_ARGS. */
export const EXTRA = (process.env.BENCH_SERVE_ARGS ?? '').split(/\s+/).filter((a) => a !== '')

/** Starts serve for `cluster` with `flags` added; with SEPARATE also its own local Mesos (stop it after serve;
 *  remove `cwd`, serve's working directory, at the end); `t0`/`wall0`: when serve itself was spawned. */
export async function startBenchServe(
  cluster: string,
  zk: ZkServer | undefined,
  flags: string[],
): Promise<{serve: ServeProc; mesos: MesosLocalProc | undefined; cwd: string; t0: number; wall0: number}> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'bench-serve-'))
  // the same allocation interval and heartbeat as the embedded master of --master local
  const mesos = SEPARATE ? await startMesosLocal({allocationIntervalMs: 1000, heartbeatIntervalSec: 15}) : undefined
  const where =
    mesos && zk
      ? ['--master', mesos.hostPort, '--zk-framework-persist', `${zk.url}/${cluster}`]
      : ['--master', 'local', '--local-mesos-port', '0']
  const common = ['--cluster-name', cluster, '--cluster-size', '3', '--health-interval', '1', '--bootstrap-wait', '3']
  const t0 = performance.now() // serve's own start, after its separate Mesos is up
  const wall0 = Date.now()
  const serve = await startServe([...where, ...common, ...flags, '--failover-timeout-seconds', '300', ...EXTRA], undefined, 'serve', {
    adminPort: await freePort(),
    cwd,
  })
  return {serve, mesos, cwd, t0, wall0}
}
