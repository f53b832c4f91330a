/**
 * /metrics through prom-client (src/scheduler/metrics.ts): the same etcd_mesos_* families as the hand-written
 * exposition it replaced (test/fixtures/metrics/before*.prom, written by the old views.ts/backup-views.ts from the
 * states of test/helpers/metrics-world.ts), plus prom-client's default process metrics and the histograms; one
 * registry per instance (several serves in one process, e.g. tests, never share one).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {SchedulerMetrics, HISTOGRAM_NAMES} from '../../src/scheduler/metrics.js'
import {metricFamilies} from '../../src/scheduler/views.js'
import {backupMetricFamilies} from '../../src/scheduler/backup-views.js'
import {metricsBackupStatus, metricsWorld} from '../helpers/metrics-world.js'
import {AdminState} from '../../src/scheduler/admin-state.js'
import type {Logger} from '../../src/scheduler/logger.js'
import {parseExposition} from '../helpers/exposition.js'

const fixture = (name: string): string => fs.readFileSync(new URL(`../fixtures/metrics/${name}`, import.meta.url), 'utf8')

/** The etcd_mesos_* part of an exposition: HELP/TYPE per family and the samples (name{labels} → value). */
function etcdMesos(text: string) {
  const p = parseExposition(text)
  const families = [...p.families.entries()].filter(([n]) => n.startsWith('etcd_mesos_') && !HISTOGRAM_NAMES.includes(n))
  const samples = [...p.samples.entries()].filter(([k]) => k.startsWith('etcd_mesos_') && !HISTOGRAM_NAMES.some((h) => k.startsWith(h)))
  return {families: new Map(families), samples: new Map(samples)}
}

describe('/metrics through prom-client', () => {
  it('the same etcd_mesos_* families (names, HELP, TYPE) and samples (labels, values) as the hand-written exposition', async () => {
    const s = metricsWorld()
    const m = new SchedulerMetrics({cluster: 'etcd', defaultMetrics: false})
    m.source = () => [...metricFamilies(s), ...backupMetricFamilies(metricsBackupStatus(), 'etcd')]
    const now = etcdMesos(await m.render())
    const before = etcdMesos(fixture('before.prom'))
    assert.deepEqual([...now.families.keys()].sort(), [...before.families.keys()].sort())
    assert.deepEqual(now.families, before.families)
    assert.deepEqual(now.samples, before.samples)
  })

  it('no backup yet: the same NaN samples', async () => {
    const m = new SchedulerMetrics({cluster: 'etcd', defaultMetrics: false})
    const b = metricsBackupStatus()
    m.source = () =>
      backupMetricFamilies({...b, last_success: null, recovery_point_seconds: null, deltas: {...b.deltas, last_flush_at: null}}, 'etcd')
    const now = etcdMesos(await m.render())
    const before = etcdMesos(fixture('before-no-backup-yet.prom'))
    assert.deepEqual(now.families, before.families)
    assert.deepEqual(now.samples, before.samples)
    assert.ok(Number.isNaN(now.samples.get('etcd_mesos_backup_last_success_revision{cluster="etcd"}')))
  })

  it("prom-client's default process metrics and the five histograms, labelled by cluster", async () => {
    const m = new SchedulerMetrics({cluster: 'c1'})
    const p = parseExposition(await m.render())
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ])
      assert.ok(p.families.has(name), `${name} exposed`)
    assert.deepEqual(HISTOGRAM_NAMES, [
      'etcd_mesos_probe_duration_seconds',
      'etcd_mesos_member_operation_duration_seconds',
      'etcd_mesos_reseed_duration_seconds',
      'etcd_mesos_restore_duration_seconds',
      'etcd_mesos_backup_duration_seconds',
    ])
    for (const h of HISTOGRAM_NAMES) {
      assert.equal(p.families.get(h)?.type, 'histogram', `${h} is a histogram`)
      assert.ok(
        p.samples.has(
          `${h}_count{cluster="c1"${h.includes('member_operation') ? ',operation="add"' : h.includes('probe') ? '' : ',outcome="succeeded"'}}`,
        ),
        `${h} starts at 0`,
      )
    }
  })

  it('observations land in the right histogram and buckets; two instances never share a registry', async () => {
    const a = new SchedulerMetrics({cluster: 'a', defaultMetrics: false})
    const b = new SchedulerMetrics({cluster: 'b', defaultMetrics: false})
    a.probeDuration.observe({cluster: 'a'}, 0.02)
    a.memberOperationDuration.observe({cluster: 'a', operation: 'remove'}, 1.5)
    a.reseedDuration.observe({cluster: 'a', outcome: 'failed'}, 90)
    const pa = parseExposition(await a.render())
    const pb = parseExposition(await b.render())
    assert.equal(pa.samples.get('etcd_mesos_probe_duration_seconds_count{cluster="a"}'), 1)
    assert.equal(pa.samples.get('etcd_mesos_probe_duration_seconds_bucket{le="0.025",cluster="a"}'), 1)
    assert.equal(pa.samples.get('etcd_mesos_probe_duration_seconds_bucket{le="0.01",cluster="a"}'), 0)
    assert.equal(pa.samples.get('etcd_mesos_member_operation_duration_seconds_sum{cluster="a",operation="remove"}'), 1.5)
    assert.equal(pa.samples.get('etcd_mesos_reseed_duration_seconds_count{cluster="a",outcome="failed"}'), 1)
    assert.equal(pb.samples.get('etcd_mesos_probe_duration_seconds_count{cluster="b"}'), 0)
    assert.equal([...pb.samples.keys()].filter((k) => k.includes('cluster="a"')).length, 0)
  })

  it("a standby scheduler's /metrics: process metrics and the histograms, no etcd_mesos_* state sample", async () => {
    const quiet: Logger = {debug: () => {}, info: () => {}, warn: () => {}, error: () => {}}
    const admin = new AdminState({failoverTimeoutSec: 60, clusterName: 'sb'}, quiet)
    admin.attachMetrics(new SchedulerMetrics({cluster: 'sb'}))
    const p = parseExposition(await admin.deps().metrics())
    assert.ok(p.families.has('process_resident_memory_bytes'))
    assert.equal(p.samples.get('etcd_mesos_probe_duration_seconds_count{cluster="sb"}'), 0)
    const state = [...p.samples.keys()].filter((k) => k.startsWith('etcd_mesos_') && !HISTOGRAM_NAMES.some((h) => k.startsWith(h)))
    assert.deepEqual(state, [])
  })

  it("a standby's /metrics still has its admin certificate's expiry (and no other etcd_mesos_* state sample)", async () => {
    const quiet: Logger = {debug: () => {}, info: () => {}, warn: () => {}, error: () => {}}
    const admin = new AdminState({failoverTimeoutSec: 60, clusterName: 'sb'}, quiet)
    admin.attachMetrics(new SchedulerMetrics({cluster: 'sb', defaultMetrics: false}))
    admin.attachAdminTls({current: {notAfter: Date.parse('2027-02-01T12:00:00.500Z')}})
    const p = parseExposition(await admin.deps().metrics())
    const state = [...p.samples.entries()].filter(([k]) => k.startsWith('etcd_mesos_') && !HISTOGRAM_NAMES.some((h) => k.startsWith(h)))
    assert.deepEqual(state, [
      ['etcd_mesos_certificate_expiry_timestamp_seconds{cluster="sb",certificate="admin"}', Date.parse('2027-02-01T12:00:00Z') / 1000],
    ])
  })

  it('a family the source stops giving (a standby, backups gone) has no samples; the exposition stays parseable', async () => {
    const s = metricsWorld()
    const m = new SchedulerMetrics({cluster: 'etcd', defaultMetrics: false})
    m.source = () => metricFamilies(s)
    assert.equal(parseExposition(await m.render()).samples.get('etcd_mesos_running_servers{cluster="etcd"}'), 3)
    m.source = () => []
    const p = parseExposition(await m.render())
    assert.equal([...p.samples.keys()].filter((k) => k.startsWith('etcd_mesos_running_servers')).length, 0)
  })
})
