/**
 * /metrics of a real `serve --master local` (3 real etcd members, backups to a file target) through prom-client:
 *   - the exposition passes `promtool check metrics` (Debian's prometheus package; CI installs it): it parses, and
 *     the only lint remarks are about prom-client's own default nodejs_active_*_total gauges, none about ours;
 *   - the etcd_mesos_* families are exactly those of the hand-written exposition it replaced
 *     (test/fixtures/metrics/before.prom) plus the five histograms and the certificates' expiry, and the default process metrics are there;
 *   - the histograms count what happened: member probes, member lists, an on-demand backup, a forced re-seed.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {getJson, until, type ServeProc} from '../helpers/serve.js'
import {startLocalServe, withLogOf} from '../helpers/serve-e2e.js'
import {parseExposition} from '../helpers/exposition.js'

const HISTOGRAMS = [
  'etcd_mesos_probe_duration_seconds',
  'etcd_mesos_member_operation_duration_seconds',
  'etcd_mesos_reseed_duration_seconds',
  'etcd_mesos_restore_duration_seconds',
  'etcd_mesos_backup_duration_seconds',
]
const PROMTOOL = '/usr/bin/promtool'

/** promtool check metrics on `text`: its exit code and output (bounded: killed after 30 s). */
function promtoolCheck(text: string): Promise<{code: number | null; out: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], {stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, out})
    })
    child.stdin.end(text)
  })
}

const metricsOf = async (admin: string): Promise<string> => {
  const res = await fetch(`${admin}/metrics`, {signal: AbortSignal.timeout(10_000)})
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  return res.text()
}

describe('serve: /metrics through prom-client', {timeout: 600_000}, () => {
  let serve: ServeProc
  let admin: string
  let dir: string

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'etcd-mesos-metrics-'))
    await mkdir(path.join(dir, 'backups'))
    serve = await startLocalServe({
      cluster: 'met',
      size: 3,
      bootstrapWait: 3,
      args: ['--backup-target', `file://${dir}/backups`, '--backup-interval', '0'],
    })
    admin = serve.adminUrl
  })

  after(async () => {
    await serve?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('valid exposition (promtool check metrics); the same etcd_mesos_* families as before plus the histograms; process metrics', async () => {
    const text = await metricsOf(admin)
    const check = await promtoolCheck(text)
    const remarks = check.out.split('\n').filter((l) => l.trim() !== '')
    assert.ok(check.code === 0 || check.code === 3, `promtool: exit ${check.code}\n${check.out}`)
    for (const r of remarks)
      assert.match(r, /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/, r)
    const families = [...parseExposition(text).families.keys()]
    const ours = families.filter((n) => n.startsWith('etcd_mesos_')).sort()
    const fixture = fs.readFileSync(new URL('../fixtures/metrics/before.prom', import.meta.url), 'utf8')
    const before = [...parseExposition(fixture).families.keys()]
    // Added after the switch: the certificates' expiry (cert-views.ts; the family is there, without samples, without TLS).
    const added = ['etcd_mesos_certificate_expiry_timestamp_seconds']
    assert.deepEqual(ours, [...before, ...HISTOGRAMS, ...added].sort())
    for (const n of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
    ])
      assert.ok(families.includes(n), `${n} exposed`)
    const s = parseExposition(text).samples
    assert.equal(s.get('etcd_mesos_healthy{cluster="met"}'), 1)
    assert.equal(s.get('etcd_mesos_running_servers{cluster="met"}'), 3)
    assert.ok((s.get('etcd_mesos_probe_duration_seconds_count{cluster="met"}') ?? 0) >= 3, 'member probes observed')
    assert.ok((s.get('etcd_mesos_member_operation_duration_seconds_count{cluster="met",operation="list"}') ?? 0) >= 1, 'member lists')
  })

  it('an on-demand backup and a forced re-seed are observed in their duration histograms', async () => {
    const b = await getJson<{op: string}>(`${admin}/backups`, {method: 'POST'})
    assert.equal(b.status, 202, b.text)
    await until(
      'the backup to succeed',
      async () => {
        const r = await getJson<{status: string; message: string | null}>(`${admin}/backups/op/${b.body.op}`)
        assert.notEqual(r.body.status, 'failed', `backup failed: ${r.body.message}`)
        return r.body.status === 'succeeded' ? r.body : undefined
      },
      120_000,
    ).catch(withLogOf(serve))
    const r = await getJson<{op: string}>(`${admin}/reseed`, {
      method: 'POST',
      body: JSON.stringify({force: true}),
      headers: {'content-type': 'application/json'},
    })
    assert.equal(r.status, 202, r.text)
    await until(
      'the re-seed to succeed',
      async () => {
        const st = await getJson<{status: string; message: string}>(`${admin}/reseed/${r.body.op}`)
        assert.notEqual(st.body.status, 'failed', `re-seed failed: ${st.body.message}`)
        return st.body.status === 'succeeded' ? st.body : undefined
      },
      300_000,
    ).catch(withLogOf(serve))
    const s = parseExposition(await metricsOf(admin)).samples
    assert.equal(s.get('etcd_mesos_backup_duration_seconds_count{cluster="met",outcome="succeeded"}'), 1)
    assert.equal(s.get('etcd_mesos_reseed_duration_seconds_count{cluster="met",outcome="succeeded"}'), 1)
    assert.ok((s.get('etcd_mesos_reseed_duration_seconds_sum{cluster="met",outcome="succeeded"}') ?? 0) > 0)
    assert.equal(s.get('etcd_mesos_restore_duration_seconds_count{cluster="met",outcome="succeeded"}'), 0)
    assert.equal(s.get('etcd_mesos_cluster_reseeds_total{cluster="met"}'), 1)
  })
})
