/**
 * --log-format json (src/scheduler/json-logger.ts, through pino): one JSON object per line with the time, the
 * level name, the message and the fields; the same redaction as the text format (a secret never appears);
 * debug only when verbose; the --log-dir file gets the same lines. openLogger picks the format.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {createJsonLogger} from '../../src/scheduler/json-logger.js'
import {openLogger} from '../../src/scheduler/log-format.js'

const SECRET = 'hunter2-very-secret-value'

function capture(): {lines: string[]; write: (l: string) => void} {
  const lines: string[] = []
  return {lines, write: (l: string) => lines.push(...l.split('\n').filter((x) => x !== ''))}
}

describe('json logger', () => {
  it('writes one JSON object per line: time, level, msg and the fields', () => {
    const c = capture()
    const log = createJsonLogger({write: c.write})
    log.info('admin API listening', {url: 'https://127.0.0.1:23400/', port: 23400, nested: {a: 1}})
    log.warn('a warning')
    log.error('an error', {exitCode: 3})
    assert.equal(c.lines.length, 3)
    const [a, b, e] = c.lines.map((l) => JSON.parse(l))
    assert.equal(a.level, 'info')
    assert.equal(a.msg, 'admin API listening')
    assert.equal(a.url, 'https://127.0.0.1:23400/')
    assert.equal(a.port, 23400)
    assert.deepEqual(a.nested, {a: 1})
    assert.ok(!Number.isNaN(Date.parse(a.time)), `ISO time: ${a.time}`)
    assert.match(a.time, /^\d{4}-\d\d-\d\dT/)
    assert.equal(b.level, 'warn')
    assert.equal(e.level, 'error')
    assert.equal(e.exitCode, 3)
  })

  it('never prints a secret: fields named like secrets are redacted, as in the text format', () => {
    const c = capture()
    const log = createJsonLogger({write: c.write})
    log.info('configured', {token: SECRET, adminToken: SECRET, password: SECRET, authorization: `Bearer ${SECRET}`})
    log.warn('s3', {secretAccessKey: SECRET, awsCredentials: SECRET, user: 'ops'})
    const text = c.lines.join('\n')
    assert.doesNotMatch(text, new RegExp(SECRET))
    const [a, b] = c.lines.map((l) => JSON.parse(l))
    assert.equal(a.token, '***')
    assert.equal(a.authorization, '***')
    assert.equal(b.secretAccessKey, '***')
    assert.equal(b.user, 'ops')
  })

  it('keeps the record sound when a field is named like a record key', () => {
    const c = capture()
    const log = createJsonLogger({write: c.write})
    log.info('real message', {msg: 'field msg', level: 'field level', time: 'field time'})
    const r = JSON.parse(c.lines[0]!)
    assert.equal(r.msg, 'real message')
    assert.equal(r.level, 'info')
    assert.notEqual(r.time, 'field time')
  })

  it('prints debug only when verbose', () => {
    const quiet = capture()
    createJsonLogger({write: quiet.write}).debug('hidden')
    assert.equal(quiet.lines.length, 0)
    const loud = capture()
    createJsonLogger({write: loud.write, verbose: true}).debug('shown', {k: 1})
    assert.equal(JSON.parse(loud.lines[0]!).level, 'debug')
  })

  it('appends the same lines to the --log-dir file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'logger-json-'))
    try {
      const file = path.join(dir, 'etcd-mesos-scheduler.log')
      const c = capture()
      const log = createJsonLogger({write: c.write, file})
      log.info('one', {token: SECRET})
      log.info('two')
      const lines = readFileSync(file, 'utf8').trim().split('\n')
      assert.deepEqual(lines, c.lines)
      assert.doesNotMatch(lines.join('\n'), new RegExp(SECRET))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('openLogger picks the format; text stays the default', async () => {
    const t = capture()
    ;(await openLogger({write: t.write})).info('hello', {token: SECRET})
    assert.match(t.lines[0]!, /^\d{4}-\d\d-\d\dT\S+ INFO hello token=\*\*\*$/)
    const j = capture()
    ;(await openLogger({format: 'json', write: j.write})).info('hello', {token: SECRET})
    assert.equal(JSON.parse(j.lines[0]!).msg, 'hello')
    assert.doesNotMatch(j.lines.join(''), new RegExp(SECRET))
  })
})
