/**
 * /metrics through prom-client: one Registry per serve (never prom-client's global one: several schedulers may run
 * in one process, e.g. the tests), holding
 *   - the etcd_mesos_* gauges and counters of the scheduler's state, computed at each scrape by `source` (the pure
 *     views: views.ts metricFamilies, backup-views.ts backupMetricFamilies) and mirrored into prom-client metrics
 *     created on first sight; a family the source stops giving (a standby; no state yet) keeps HELP/TYPE, no samples;
 *   - prom-client's default process metrics (CPU, memory, heap, event-loop lag, GC, handles);
 *   - the histograms (HISTOGRAM_NAMES) that metrics-observer.ts feeds: health probe latency per member probe,
 *     member operation latency by operation, re-seed / restore / backup durations by outcome.
 * Every etcd_mesos_* series is labelled by cluster.
 */
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client'
import type {MetricFamily} from './metric-family.js'

export const HISTOGRAM_NAMES = [
  'etcd_mesos_probe_duration_seconds',
  'etcd_mesos_member_operation_duration_seconds',
  'etcd_mesos_reseed_duration_seconds',
  'etcd_mesos_restore_duration_seconds',
  'etcd_mesos_backup_duration_seconds',
]

/** The `operation` label values of etcd_mesos_member_operation_duration_seconds. */
export const MEMBER_OPERATIONS = ['add', 'remove', 'promote', 'list', 'compact', 'defrag', 'alarm_disarm'] as const
export type MemberOperation = (typeof MEMBER_OPERATIONS)[number]
export type Outcome = 'succeeded' | 'failed'
const OUTCOMES: Outcome[] = ['succeeded', 'failed']

const OPERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const LONG_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200]

type Mirror = Gauge<string> | Counter<string>

export class SchedulerMetrics {
  readonly registry = new Registry()
  readonly probeDuration: Histogram<'cluster'>
  readonly memberOperationDuration: Histogram<'cluster' | 'operation'>
  readonly reseedDuration: Histogram<'cluster' | 'outcome'>
  readonly restoreDuration: Histogram<'cluster' | 'outcome'>
  readonly backupDuration: Histogram<'cluster' | 'outcome'>
  /** The state's families at scrape time; none until set (and on a standby). */
  source: () => MetricFamily[] = () => []
  private readonly mirrors = new Map<string, Mirror>()

  constructor(readonly opts: {cluster: string; defaultMetrics?: boolean}) {
    const registers = [this.registry]
    const cluster = opts.cluster
    this.probeDuration = new Histogram({
      name: HISTOGRAM_NAMES[0]!,
      help: "Seconds one member's health probe (status and linearizable read) took.",
      labelNames: ['cluster'],
      buckets: OPERATION_BUCKETS,
      registers,
    })
    this.memberOperationDuration = new Histogram({
      name: HISTOGRAM_NAMES[1]!,
      help: 'Seconds an etcd member operation took (add, remove, promote, list, compact, defrag, alarm_disarm), failed ones included.',
      labelNames: ['cluster', 'operation'],
      buckets: OPERATION_BUCKETS,
      registers,
    })
    const long = (name: string, help: string) =>
      new Histogram({name, help, labelNames: ['cluster', 'outcome'], buckets: LONG_BUCKETS, registers})
    this.reseedDuration = long(HISTOGRAM_NAMES[2]!, 'Seconds from a re-seed request to its end, by outcome (succeeded, failed).')
    this.restoreDuration = long(HISTOGRAM_NAMES[3]!, 'Seconds from a restore request to its end, by outcome (succeeded, failed).')
    this.backupDuration = long(HISTOGRAM_NAMES[4]!, 'Seconds a full backup took, by outcome (succeeded, failed).')
    this.probeDuration.zero({cluster})
    for (const operation of MEMBER_OPERATIONS) this.memberOperationDuration.zero({cluster, operation})
    for (const h of [this.reseedDuration, this.restoreDuration, this.backupDuration])
      for (const outcome of OUTCOMES) h.zero({cluster, outcome})
    if (opts.defaultMetrics !== false) collectDefaultMetrics({register: this.registry})
  }

  get contentType(): string {
    return this.registry.contentType
  }

  observeMemberOperation(operation: MemberOperation, seconds: number): void {
    this.memberOperationDuration.observe({cluster: this.opts.cluster, operation}, seconds)
  }

  observeProbe(seconds: number): void {
    this.probeDuration.observe({cluster: this.opts.cluster}, seconds)
  }

  observeDuration(what: 'reseed' | 'restore' | 'backup', outcome: Outcome, seconds: number): void {
    const h = what === 'reseed' ? this.reseedDuration : what === 'restore' ? this.restoreDuration : this.backupDuration
    h.observe({cluster: this.opts.cluster, outcome}, Math.max(0, seconds))
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  async render(): Promise<string> {
    let families: MetricFamily[]
    try {
      families = this.source()
    } catch {
      families = []
    }
    for (const m of this.mirrors.values()) m.reset()
    for (const f of families) {
      const m = this.mirror(f)
      for (const s of f.samples) {
        if (m instanceof Counter) {
          if (s.value !== null && s.value >= 0) m.inc(s.labels, s.value)
        } else m.set(s.labels, s.value ?? Number.NaN)
      }
    }
    return this.registry.metrics()
  }

  private mirror(f: MetricFamily): Mirror {
    let m = this.mirrors.get(f.name)
    if (!m) {
      const cfg = {name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [this.registry]}
      m = f.type === 'counter' ? new Counter(cfg) : new Gauge(cfg)
      this.mirrors.set(f.name, m)
    }
    return m
  }
}
