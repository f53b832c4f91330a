/**
 * deploy/prometheus/alerts.yml: Prometheus accepts it (`promtool check rules`), its unit tests pass
 * (`promtool test rules deploy/prometheus/alerts.test.yml`: each alert fires when it should and not before), every
 * alert is exercised there, and every metric an alert reads is one the scheduler defines. Skipped, with the reason,
 * only when promtool is not installed (CI installs it: setup.sh).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {deployFile, metricDefined, metricNamesIn, promtool, readDeploy} from '../helpers/deploy-files.js'

const PROMTOOL = promtool()
const skip = PROMTOOL ? false : 'promtool is not installed (Debian: apt-get install prometheus; CI installs it)'
const run = (args: string[]) => spawnSync(PROMTOOL ?? 'promtool', args, {encoding: 'utf8', timeout: 60_000})

/** The rules of alerts.yml, one text block per `- alert:` (the file keeps that layout). */
function ruleBlocks(text: string): {name: string; text: string; expr: string}[] {
  const parts = text.split(/^\s*- alert:\s*/m).slice(1)
  return parts.map((p) => {
    const name = p.split(/\s/, 1)[0]
    const m = /^\s*expr:\s*(?:[|>]-?\s*\n((?:\s{6,}.*\n?)+)|(.*))/m.exec(p)
    assert.ok(m, `alert ${name} has an expr`)
    return {name, text: p, expr: (m[1] ?? m[2]).trim()}
  })
}

const REQUIRED = [
  'EtcdMesosClusterUnhealthy',
  'EtcdMesosLivelocked',
  'EtcdMesosBackupTooOld',
  'EtcdMesosMemberFlapping',
  'EtcdMesosNospace',
  'EtcdMesosNotSubscribed',
]

describe('deploy/prometheus/alerts.yml', () => {
  const rules = readDeploy('prometheus/alerts.yml')
  const blocks = ruleBlocks(rules)

  it('has the alerts the issue asks for, each with a severity, a summary, a description and a runbook hint', () => {
    const names = blocks.map((b) => b.name)
    for (const r of REQUIRED) assert.ok(names.includes(r), `alerts.yml has no ${r} (it has ${names.join(', ')})`)
    assert.equal(new Set(names).size, names.length, 'alert names are unique')
    for (const b of blocks) {
      assert.match(b.text, /severity:\s*(critical|warning|info)\b/, `${b.name}: severity`)
      assert.match(b.text, /summary:/, `${b.name}: summary`)
      assert.match(b.text, /description:/, `${b.name}: description`)
    }
  })

  it('every metric an alert reads is defined by the scheduler', () => {
    for (const b of blocks) {
      const names = metricNamesIn(b.expr)
      assert.ok(names.length > 0, `${b.name} reads no etcd_mesos_ metric: ${b.expr}`)
      for (const n of names) assert.ok(metricDefined(n), `${b.name} reads ${n}, which the scheduler does not define`)
    }
  })

  it('promtool check rules accepts it', {skip}, () => {
    const r = run(['check', 'rules', fileURLToPath(deployFile('prometheus/alerts.yml'))])
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`)
    assert.match(r.stdout, /SUCCESS: \d+ rules found/)
  })

  it('promtool test rules passes alerts.test.yml, which makes every alert fire at least once', {skip}, () => {
    const tests = readDeploy('prometheus/alerts.test.yml')
    for (const b of blocks) assert.match(tests, new RegExp(`alertname:\\s*${b.name}\\b`), `alerts.test.yml never expects ${b.name}`)
    const r = run(['test', 'rules', fileURLToPath(deployFile('prometheus/alerts.test.yml'))])
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`)
    assert.match(r.stdout, /SUCCESS/)
  })

  it('the unit tests are not vacuous: with the livelock alert removed, promtool test rules fails', {skip}, () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-prom-'))
    try {
      copyFileSync(deployFile('prometheus/alerts.test.yml'), join(dir, 'alerts.test.yml'))
      const without = rules.replace(/^(\s*)- alert:\s*EtcdMesosLivelocked\b/m, '$1- alert: SomethingElse')
      assert.notEqual(without, rules)
      writeFileSync(join(dir, 'alerts.yml'), without)
      const r = run(['test', 'rules', join(dir, 'alerts.test.yml')])
      assert.notEqual(r.status, 0, `promtool passed the tests without the livelock alert:\n${r.stdout}`)
      assert.match(`${r.stdout}${r.stderr}`, /EtcdMesosLivelocked/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('the rule file is plain UTF-8 text with no tabs (YAML)', () => {
    assert.doesNotMatch(readFileSync(deployFile('prometheus/alerts.yml'), 'utf8'), /\t/)
  })
})
