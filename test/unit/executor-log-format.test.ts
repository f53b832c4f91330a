/**
 * `serve --log-format json` reaches the executors: serve's executor command carries `--log-format json` (nothing
 * when text, so existing command lines stay as they were), the lean entry point and the oclif command take it, and
 * the executor's log lines are then JSON objects with the keys of the scheduler's (level, time, msg) and
 * `component: "executor"`.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {executorArgs} from '../../src/executor/main.js'
import {executorLog} from '../../src/executor/driver-options.js'
import {executorCommand} from '../../src/scheduler/serve.js'

describe('executor --log-format', () => {
  it('the lean entry point reads it (text by default); a bad value is a usage error', () => {
    assert.deepEqual(executorArgs([]), {reseedBackupsKeep: 2, logFormat: 'text'})
    assert.deepEqual(executorArgs(['--log-format', 'json']), {reseedBackupsKeep: 2, logFormat: 'json'})
    assert.deepEqual(executorArgs(['--reseed-backups-keep', '3', '--log-format=json']), {reseedBackupsKeep: 3, logFormat: 'json'})
    for (const bad of [['--log-format', 'yaml'], ['--log-format'], ['--log-format=json', '--log-format=json']]) {
      const r = executorArgs(bad)
      assert.ok('error' in r, bad.join(' '))
      assert.match(r.error, /--log-format/)
    }
  })

  it("serve's executor command passes json on, and nothing for text", () => {
    const text = executorCommand(undefined, 3)
    assert.ok(!text.arguments.includes('--log-format'), text.arguments.join(' '))
    assert.deepEqual(executorCommand(undefined, 3, 'text'), text)
    const json = executorCommand(undefined, 3, 'json')
    assert.deepEqual(json.arguments.slice(-4), ['--reseed-backups-keep', '3', '--log-format', 'json'])
    assert.deepEqual(executorCommand('/opt/em/bin/run.js', undefined, 'json').arguments.slice(-3), ['executor', '--log-format', 'json'])
  })

  it('json lines: level, time, msg, component', () => {
    const lines: string[] = []
    executorLog('json', (s) => lines.push(s))('etcd exited with code 1')
    assert.equal(lines.length, 1)
    assert.ok(lines[0]!.endsWith('\n'))
    const r = JSON.parse(lines[0]!) as Record<string, unknown>
    assert.equal(r.level, 'info')
    assert.equal(r.msg, 'etcd exited with code 1')
    assert.equal(r.component, 'executor')
    assert.ok(!Number.isNaN(Date.parse(String(r.time))))
    const text: string[] = []
    executorLog('text', (s) => text.push(s))('hello')
    assert.match(text[0]!, /^\d{4}-\d\d-\d\dT\S+ etcd-mesos executor: hello\n$/)
  })
})
