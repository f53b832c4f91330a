/**
 * The fast path's parser (lib/cli/fast-path.ts): which invocations it takes, with which values, and
 * which it hands to oclif; and that it knows exactly the flags oclif.manifest.json declares for its
 * commands, so that a flag added to one of them cannot be ignored by the fast path.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {FAST_COMMANDS, fastInvocation} from '../../src/lib/cli/fast-path.js'
import {SCHEDULER_FLAG_ENV, TIMEOUT_SECONDS} from '../../src/lib/cli/flags.js'

const URL_ = 'http://127.0.0.1:23400'
const take = (argv: string[], env: NodeJS.ProcessEnv = {}, tty = false) => fastInvocation(argv, env, tty)

describe('fast path: what it takes', () => {
  it('the three read-only commands with --json, --check and the scheduler flags in both forms', () => {
    assert.deepEqual(take(['stats', '--json', '--check', '--admin-url', URL_, '--timeout=5']), {
      command: 'stats',
      json: true,
      check: true,
      target: {'admin-url': URL_, cluster: undefined, zk: undefined, timeout: 5, 'admin-token-file': undefined, 'ca-file': undefined},
    })
    assert.equal(take(['members', '--admin-url', URL_])?.command, 'members')
    assert.equal(take(['failover-status', '--cluster', 'c1', '--zk', 'zk://h:2181/x'])?.target.zk, 'zk://h:2181/x')
    assert.equal(take(['stats', `--admin-url=${URL_}?a=b`])?.target['admin-url'], `${URL_}?a=b`)
  })
  it('flags not given come from their environment variables when those are not empty; given flags win', () => {
    const env = {
      ETCD_MESOS_ADMIN_URL: URL_,
      ETCD_MESOS_TIMEOUT: '30',
      ETCD_MESOS_CLUSTER: '',
      ETCD_MESOS_ADMIN_TOKEN_FILE: '/t',
      ETCD_MESOS_CA_FILE: '/ca.pem',
    }
    assert.deepEqual(take(['stats'], env)?.target, {
      'admin-url': URL_,
      cluster: undefined,
      zk: undefined,
      timeout: 30,
      'admin-token-file': '/t',
      'ca-file': '/ca.pem',
    })
    assert.equal(take(['stats', '--timeout', '2'], env)?.target.timeout, 2)
    assert.equal(take(['stats'], {ETCD_MESOS_TIMEOUT: ''})?.target.timeout, TIMEOUT_SECONDS.default)
  })
  it('--timeout at its bounds', () => {
    assert.equal(take(['stats', '--timeout', String(TIMEOUT_SECONDS.min)])?.target.timeout, TIMEOUT_SECONDS.min)
    assert.equal(take(['stats', '--timeout', String(TIMEOUT_SECONDS.max)])?.target.timeout, TIMEOUT_SECONDS.max)
  })
  it('--json on a terminal is not taken (oclif may colour JSON with a theme); human output on a terminal is', () => {
    assert.equal(take(['stats', '--json'], {}, true), undefined)
    assert.equal(take(['stats'], {}, true)?.json, false)
  })
})

describe('fast path: what it hands to oclif', () => {
  const handed: [string, string[], NodeJS.ProcessEnv?][] = [
    ['no command', []],
    ['another command', ['reseed', '--admin-url', URL_]],
    ['serve', ['serve', '--json']],
    ['help', ['stats', '--help']],
    ['short help', ['stats', '-h']],
    ['an argument', ['stats', 'x']],
    ['--', ['stats', '--', '--json']],
    ['an unknown flag', ['stats', '--bogus']],
    ["another command's flag", ['members', '--check']],
    ['a repeated boolean', ['stats', '--json', '--json']],
    ['a repeated option', ['stats', '--zk', 'a', '--zk', 'b']],
    ['a boolean with a value', ['stats', '--json=maybe']],
    ['a missing value', ['stats', '--admin-url']],
    ['an empty value', ['stats', '--admin-url=']],
    ['a flag-like value', ['stats', '--admin-url', '--json']],
    ['a flag-like value after =', ['stats', '--admin-url=-x']],
    ['a timeout below the minimum', ['stats', '--timeout', '0']],
    ['a timeout above the maximum', ['stats', '--timeout', '3601']],
    ['a negative timeout', ['stats', '--timeout=-5']],
    ['a timeout that is not an integer', ['stats', '--timeout', '1.5']],
    ['a bad timeout from the environment', ['stats'], {ETCD_MESOS_TIMEOUT: 'abc'}],
    ['ETCD_MESOS_CONTENT_TYPE', ['stats'], {ETCD_MESOS_CONTENT_TYPE: 'json'}],
    ['DEBUG', ['stats'], {DEBUG: '*'}],
    ['ETCD_MESOS_DEBUG', ['stats'], {ETCD_MESOS_DEBUG: '1'}],
    ['an OCLIF_ variable', ['stats'], {OCLIF_COLUMNS: '80'}],
    ['ETCD_MESOS_NO_FAST_PATH', ['stats'], {ETCD_MESOS_NO_FAST_PATH: '1'}],
    ['a single-dash flag (argv.ts rewrites Go-style flags before)', ['stats', '-json']],
  ]
  for (const [what, argv, env] of handed) {
    it(what, () => assert.equal(take(argv, env ?? {}), undefined))
  }
  it('empty oclif switches do not count', () => {
    assert.notEqual(take(['stats'], {DEBUG: '', ETCD_MESOS_NO_FAST_PATH: ''}), undefined)
  })
})

describe('fast path: in step with the oclif commands', () => {
  const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as {
    commands: Record<
      string,
      {
        flags: Record<string, {type: string; env?: string; char?: string; allowNo?: boolean; multiple?: boolean}>
        args: object
        strict: boolean
        enableJsonFlag: boolean
      }
    >
  }
  for (const [command, booleans] of Object.entries(FAST_COMMANDS)) {
    it(`${command}: the manifest's flags are --json, the scheduler flags and ${booleans.length ? booleans.join(', ') : 'nothing else'}`, () => {
      const c = manifest.commands[command]
      assert.ok(c, `${command} is in oclif.manifest.json`)
      assert.equal(c.strict, true)
      assert.equal(c.enableJsonFlag, true)
      assert.deepEqual(Object.keys(c.args), [])
      const expected: Record<string, {type: string; env?: string}> = {json: {type: 'boolean'}}
      for (const b of booleans) expected[b] = {type: 'boolean'}
      for (const [name, env] of Object.entries(SCHEDULER_FLAG_ENV)) expected[name] = {type: 'option', env}
      const actual = Object.fromEntries(
        Object.entries(c.flags).map(([name, f]) => {
          assert.equal(f.char, undefined, `--${name} has no short form`)
          assert.ok(!f.allowNo && !f.multiple, `--${name} is neither --no- nor multiple`)
          return [name, f.env === undefined ? {type: f.type} : {type: f.type, env: f.env}]
        }),
      )
      assert.deepEqual(actual, expected)
    })
  }
})
