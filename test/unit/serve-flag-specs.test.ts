/**
 * serve's flags as plain specs (lib/cli/flag-spec.ts, scheduler/serve-flags.ts): what the fast path parses
 * without oclif must be exactly what oclif's parser makes of the same argv and environment (the oclif command
 * declares its flags from the same specs), and whatever the spec parser is not certain about is left to oclif.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {Parser} from '@oclif/core'
import Serve from '../../src/commands/serve.js'
import {type FlagSpecs, parseFlagSpecs} from '../../src/lib/cli/flag-spec.js'
import {serveFlagSpecs} from '../../src/scheduler/serve-flags.js'

const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

/** oclif's parse of `argv` with `env` as the environment (it reads process.env), or the error it throws. */
async function oclifParse(argv: string[], env: Record<string, string>): Promise<Record<string, unknown> | Error> {
  const saved = {...process.env}
  for (const k of Object.keys(process.env)) if (Object.hasOwn(serveEnvNames, k)) delete process.env[k]
  Object.assign(process.env, env)
  try {
    return defined((await Parser.parse(argv, {flags: Serve.flags, args: {}, strict: true})).flags)
  } catch (err) {
    return err as Error
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
}
const serveEnvNames: Record<string, true> = Object.fromEntries(
  Object.values(serveFlagSpecs as FlagSpecs).flatMap((s) => (s.env ? [[s.env, true as const]] : [])),
)

describe('serve flag specs: the fast path parses as oclif does', () => {
  const taken: [string[], Record<string, string>?][] = [
    [[]],
    [['--master', 'local', '--cluster-size', '3', '--cluster-name', 'demo']],
    [['--master=zk://zk1:2181/mesos', '--zk-framework-persist=zk://zk1:2181/x', '--cluster-size=5']],
    [['--framework-name', 'via-alias', '--admin-port', '0', '--admin-address', '127.0.0.1']],
    [['--no-auto-reseed', '--single-instance-per-host', '--no-single-instance-per-slave', '--logtostderr']],
    [['--auto-reseed', '--health-interval', '1', '--bootstrap-wait', '0', '--member-grace', '5', '--v', '2']],
    [['--local-agents', '50', '--local-mesos-port', '65535', '--reseed-backups-keep', '100', '--failover-timeout-seconds', '300']],
    [['--etcd-cert-file', '/c.pem', '--etcd-key-file', '/k.pem', '--log-dir', '/tmp/x', '--vmodule', 'a=1']],
    [[], {CLUSTER_SIZE: '7', MESOS_MASTER: 'local', FRAMEWORK_NAME: 'fromenv', AUTO_RESEED: 'false', SINGLE_INSTANCE_PER_HOST: 'YES'}],
    [['--cluster-size', '3'], {CLUSTER_SIZE: '5', HEALTH_INTERVAL: '', VERBOSITY: '1', LOCAL_AGENT_PORTS: '30100-30199'}],
    [['--admin-max-connections', '1'], {ADMIN_PORT: '0', SINGLE_INSTANCE_PER_SLAVE: '0'}],
  ]
  for (const [argv, env = {}] of taken) {
    it(`takes ${JSON.stringify(argv)} ${JSON.stringify(env)} with oclif's values`, async () => {
      const fast = parseFlagSpecs(serveFlagSpecs, argv, env)
      assert.ok(fast, 'the fast path takes it')
      const slow = await oclifParse(argv, env)
      assert.ok(!(slow instanceof Error), String(slow))
      assert.deepEqual(defined(fast), slow)
    })
  }

  it('leaves to oclif what it is not certain about (usage errors among them)', async () => {
    const handed: [string[], Record<string, string>?][] = [
      [['--help']],
      [['-h']],
      [['--bogus']],
      [['extra']],
      [['--', '--master', 'local']],
      [['-v', '1']],
      [['--cluster-size']],
      [['--cluster-size', '']],
      [['--cluster-size=']],
      [['--cluster-size', 'three']],
      [['--cluster-size', '-3']],
      [['--cluster-size', '3', '--cluster-size', '3']],
      [['--cluster-name', 'a', '--framework-name', 'b']],
      [['--health-interval', '0']],
      [['--local-agents', '51']],
      [['--admin-port', '65536']],
      [['--auto-reseed=true']],
      [['--no-logtostderr-x']],
      [['--no-master']],
      [['--no-single-instance-per-slave', '--single-instance-per-slave']],
      [[], {CLUSTER_SIZE: 'x'}],
      [[], {HEALTH_INTERVAL: '0'}],
      [['--master', '--cluster-size']],
    ]
    for (const [argv, env = {}] of handed) {
      assert.equal(parseFlagSpecs(serveFlagSpecs, argv, env), undefined, `${JSON.stringify(argv)} ${JSON.stringify(env)} is left to oclif`)
    }
  })

  it('integers oclif refuses are refused, at the bounds they are taken', async () => {
    for (const [argv, ok] of [
      [['--health-interval', '1'], true],
      [['--local-agents', '1'], true],
      [['--local-agents', '0'], false],
      [['--admin-port', '0'], true],
    ] as const) {
      const fast = parseFlagSpecs(serveFlagSpecs, argv, {})
      const slow = await oclifParse([...argv], {})
      assert.equal(fast !== undefined, ok, JSON.stringify(argv))
      assert.equal(!(slow instanceof Error), ok, JSON.stringify(argv))
    }
  })
})
