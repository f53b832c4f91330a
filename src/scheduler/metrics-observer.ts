/**
 * What feeds the /metrics histograms (metrics.ts), at the driver's edges (the core stays pure and clock-free):
 *   - timedEtcd wraps the etcd port: HEALTH_CHECK → one etcd_mesos_probe_duration_seconds observation per member
 *     probe (the probe's own tookMs); MEMBER_ADD/REMOVE/PROMOTE/LIST → etcd_mesos_member_operation_duration_seconds
 *     {operation} (failures included: the port answers them with events);
 *   - timedMaintenance wraps the maintenance runner: COMPACT/DEFRAG/ALARM_DISARM as operations compact, defrag,
 *     alarm_disarm;
 *   - observeOperations follows the driver's steps: a re-seed or restore record (core/operations.ts) seen running and
 *     then succeeded/failed is observed once, createdAt → updatedAt (a resumed one includes the failover); records
 *     first seen already ended (loaded from ZooKeeper) and refused requests are not.
 * Backups are observed by backup-service.ts (its onEnded hook, wired in serve.ts).
 */
import type {EventEmitter} from 'node:events'
import {performance} from 'node:perf_hooks'
import type {SchedulerState} from './core/state.js'
import type {MaintenanceRunner} from './maintenance-runner.js'
import type {MemberOperation, SchedulerMetrics} from './metrics.js'
import type {EtcdCluster} from './ports.js'

const OPERATION: Record<string, MemberOperation> = {
  MEMBER_ADD: 'add',
  MEMBER_REMOVE: 'remove',
  MEMBER_PROMOTE: 'promote',
  MEMBER_LIST: 'list',
  COMPACT: 'compact',
  DEFRAG: 'defrag',
  ALARM_DISARM: 'alarm_disarm',
}

async function timed<A extends {type: string}, R>(m: SchedulerMetrics, a: A, run: () => Promise<R>): Promise<R> {
  const op = OPERATION[a.type]
  const t0 = performance.now()
  try {
    return await run()
  } finally {
    if (op) m.observeMemberOperation(op, (performance.now() - t0) / 1000)
  }
}

export function timedEtcd(port: EtcdCluster, m: SchedulerMetrics): EtcdCluster {
  return {
    perform: async (a) => {
      const ev = await timed(m, a, () => port.perform(a))
      if (a.type === 'HEALTH_CHECK' && ev.type === 'HealthObserved')
        for (const p of ev.probes) if (Number.isFinite(p.tookMs)) m.observeProbe(p.tookMs / 1000)
      return ev
    },
  }
}

export function timedMaintenance(runner: MaintenanceRunner, m: SchedulerMetrics): MaintenanceRunner {
  return {perform: (a) => timed(m, a, () => runner.perform(a))}
}

/** Observes re-seed and restore durations as their records end; returns the unsubscribe. */
export function observeOperations(driver: EventEmitter & {readonly current: SchedulerState}, m: SchedulerMetrics): () => void {
  const running = new Set<string>()
  const onStep = (): void => {
    for (const o of driver.current.operations) {
      if (o.status === 'running') running.add(o.op)
      else if (running.delete(o.op) && (o.status === 'succeeded' || o.status === 'failed'))
        m.observeDuration(o.kind, o.status, (o.updatedAt - o.createdAt) / 1000)
    }
    // Records evicted while running (MAX_OPERATIONS) are forgotten.
    if (running.size > 0) {
      const known = new Set(driver.current.operations.map((o) => o.op))
      for (const op of running) if (!known.has(op)) running.delete(op)
    }
  }
  driver.on('stepped', onStep)
  return () => driver.off('stepped', onStep)
}
