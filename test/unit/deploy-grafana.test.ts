/**
 * deploy/grafana/etcd-mesos.json: an importable Grafana dashboard (JSON, a datasource and a cluster variable,
 * panels with unique ids and a place on the grid) whose queries are valid PromQL (checked by promtool once the
 * dashboard variables are substituted), read only metrics the scheduler defines, select the chosen cluster, and
 * cover what the issue lists: health, members, re-seeds, failures, backup age, database sizes.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {metricDefined, metricNamesIn, promtool, readDeploy} from '../helpers/deploy-files.js'

interface Target {
  expr?: string
  refId?: string
  datasource?: unknown
}
interface Panel {
  id?: number
  type: string
  title: string
  gridPos?: {x: number; y: number; w: number; h: number}
  datasource?: unknown
  targets?: Target[]
  panels?: Panel[]
}
interface Dashboard {
  title: string
  uid: string
  schemaVersion: number
  panels: Panel[]
  templating: {list: {name: string; type: string; query?: unknown; definition?: string}[]}
}

const dashboard = JSON.parse(readDeploy('grafana/etcd-mesos.json')) as Dashboard
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])])
const panels = allPanels(dashboard.panels)
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({panel: p.title, expr: t.expr ?? ''})))

/** The dashboard's variables replaced by values Prometheus accepts, as Grafana does before it sends a query. */
const substitute = (expr: string): string =>
  expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}|\$__range|\$\{__range\}/g, '5m')
    .replace(/\$\{?cluster\}?/g, 'etcd')

describe('deploy/grafana/etcd-mesos.json', () => {
  it('is a dashboard with a title, a uid, a schema version, a Prometheus datasource variable and a cluster variable', () => {
    assert.ok(dashboard.title && dashboard.uid && dashboard.schemaVersion > 30)
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]))
    assert.equal(vars.get('datasource')?.type, 'datasource')
    assert.equal(vars.get('datasource')?.query, 'prometheus')
    assert.equal(vars.get('cluster')?.type, 'query')
    assert.match(JSON.stringify(vars.get('cluster')?.query), /label_values\(etcd_mesos_healthy, *cluster\)/)
  })

  it('panels have unique ids and a place on the grid, and query through the datasource variable', () => {
    const ids = panels.map((p) => p.id)
    assert.ok(ids.every((id) => typeof id === 'number'))
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique')
    for (const p of panels) {
      assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`)
      if (p.type === 'row') continue
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`)
      assert.match(JSON.stringify(p.datasource), /\$\{?datasource\}?/, `${p.title}: datasource`)
    }
  })

  it('every query reads metrics the scheduler defines, of the chosen cluster', () => {
    assert.ok(queries.length >= 6)
    for (const q of queries) {
      const names = metricNamesIn(q.expr)
      assert.ok(names.length > 0, `${q.panel} reads no etcd_mesos_ metric: ${q.expr}`)
      for (const n of names) assert.ok(metricDefined(n), `${q.panel} reads ${n}, which the scheduler does not define`)
      for (const sel of q.expr.matchAll(/\betcd_mesos_[a-zA-Z0-9_]+(\{[^}]*\})?/g))
        assert.match(sel[1] ?? '', /cluster=~?"\$\{?cluster\}?"/, `${q.panel}: ${sel[0]} does not select the cluster`)
    }
  })

  it("covers health, members, re-seeds, failures, backup age, database sizes and the scheduler's latencies", () => {
    const read = new Set(queries.flatMap((q) => metricNamesIn(q.expr)))
    for (const m of [
      'etcd_mesos_healthy',
      'etcd_mesos_running_servers',
      'etcd_mesos_cluster_size',
      'etcd_mesos_cluster_reseeds_total',
      'etcd_mesos_failed_servers_total',
      'etcd_mesos_backup_last_success_age_seconds',
      'etcd_mesos_member_db_size_bytes',
      'etcd_mesos_probe_duration_seconds',
      'etcd_mesos_member_operation_duration_seconds',
    ])
      assert.ok(read.has(m), `no panel reads ${m}`)
  })

  it('every query is valid PromQL (promtool check rules on them as recording rules)', {
    skip: promtool() ? false : 'promtool is not installed (Debian: apt-get install prometheus; CI installs it)',
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-grafana-'))
    try {
      const rules = queries.map((q, i) => `      - record: q${i}\n        expr: ${JSON.stringify(substitute(q.expr))}\n`).join('')
      const file = join(dir, 'queries.yml')
      writeFileSync(file, `groups:\n  - name: grafana\n    rules:\n${rules}`)
      const r = spawnSync('promtool', ['check', 'rules', file], {encoding: 'utf8', timeout: 60_000})
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
