/**
 * deploy/systemd (etcd-mesos.service and its environment file) and deploy/marathon/etcd-mesos.json: they parse, run
 * `serve` with flags serve has (read from oclif.manifest.json) and set only environment variables serve reads, and
 * describe a highly available setup (a standby scheduler on another host; ZooKeeper for the state and the election).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {deployFile, readDeploy, serveArgProblems, serveEnvVars, shellWords} from '../helpers/deploy-files.js'

/** A systemd unit file: section → key → values (a key may repeat), with backslash-continued lines joined. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  const lines = text.replace(/\\\n/g, ' ').split('\n')
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const sec = /^\[([A-Za-z]+)\]$/.exec(line)
    if (sec) {
      current = new Map()
      sections.set(sec[1], current)
      continue
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (!kv || !current) throw new Error(`line ${i + 1} is not "Key=value" in a section: ${line}`)
    current.set(kv[1], [...(current.get(kv[1]) ?? []), kv[2]])
  }
  return sections
}

/** Names set by KEY=value lines (an environment file) or by systemd Environment= values. */
const assignedNames = (assignments: string[]): string[] =>
  assignments
    .flatMap((a) => shellWords(a))
    .map((w) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(w)
      if (!m) throw new Error(`not NAME=value: ${w}`)
      return m[1]
    })

describe('deploy files: the flag checker itself', () => {
  it('reports unknown flags, options without a value and values given to booleans; takes the valid forms', () => {
    assert.deepEqual(serveArgProblems(['run.js', 'serve', '--cluster-size', '3', '--admin-port=1', '--no-auto-reseed']), [])
    assert.deepEqual(serveArgProblems(['run.js', 'serve', '--no-such-flag', '--cluster-size', '--auto-reseed=true']), [
      'serve has no flag --no-such-flag',
      '--cluster-size needs a value',
      '--auto-reseed is a boolean: write --auto-reseed or --no-auto-reseed',
    ])
    assert.deepEqual(shellWords(`a "b c" 'd $E' f\\ g \\\n h`), ['a', 'b c', 'd $E', 'f g', 'h'])
  })
})

describe('deploy/systemd/etcd-mesos.service', () => {
  const unit = parseUnit(readDeploy('systemd/etcd-mesos.service'))
  const service = unit.get('Service') ?? new Map<string, string[]>()

  it('has [Unit], [Service] and [Install]; waits for the network; restarts on failure but not on bad flags', () => {
    assert.ok(unit.has('Unit') && unit.has('Service') && unit.has('Install'))
    assert.match(unit.get('Unit')?.get('After')?.join(' ') ?? '', /network-online\.target/)
    assert.match(service.get('Restart')?.[0] ?? '', /^(on-failure|always)$/)
    assert.ok((service.get('RestartPreventExitStatus')?.[0] ?? '').split(/\s+/).includes('2'), 'exit 2 (bad flags) is not retried')
    assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target')
  })

  it('ExecStart runs serve with flags serve has, on a ZooKeeper master and ZooKeeper persistence', () => {
    const exec = service.get('ExecStart') ?? []
    assert.equal(exec.length, 1)
    const words = shellWords(exec[0])
    assert.match(words[0], /^\//, 'ExecStart starts with an absolute path')
    assert.deepEqual(serveArgProblems(words), [])
    // Set by a flag, by Environment= or by the environment file (EnvironmentFile=).
    const envFile = readDeploy('systemd/etcd-mesos.env').split('\n')
    const env = new Map(
      [...(service.get('Environment') ?? []), ...envFile.filter((l) => /^[A-Z]/.test(l))]
        .flatMap((a) => shellWords(a))
        .map((w) => w.split(/=(.*)/s, 2) as [string, string]),
    )
    const setting = (flag: string, name: string): string | undefined =>
      words.includes(flag) ? words[words.indexOf(flag) + 1] : env.get(name)
    assert.match(setting('--zk-framework-persist', 'ZK_PERSIST') ?? '', /^zk:\/\//, 'state and election in ZooKeeper (a standby)')
    assert.match(setting('--master', 'MESOS_MASTER') ?? '', /^zk:\/\//, 'the leading master found through ZooKeeper')
  })

  it('sets only environment variables serve reads, here and in the example environment file', () => {
    const known = serveEnvVars()
    const names = [
      ...assignedNames(service.get('Environment') ?? []),
      // The file's settings and its commented-out examples (`# NAME=value`).
      ...assignedNames(
        readDeploy('systemd/etcd-mesos.env')
          .split('\n')
          .map((l) => l.trim().replace(/^#\s*(?=[A-Z][A-Z0-9_]*=)/, ''))
          .filter((l) => l !== '' && !l.startsWith('#')),
      ),
    ]
    assert.ok(names.length > 0)
    // AWS_*: the S3 client's own variables (README: Backups), read for s3:// backup targets.
    for (const n of names) assert.ok(known.has(n) || /^AWS_[A-Z_]+$/.test(n), `serve reads no ${n}`)
    assert.match((service.get('EnvironmentFile') ?? []).join(' '), /etcd-mesos\.env/)
  })

  it('systemd-analyze verify finds nothing wrong with it', {
    skip: spawnSync('systemd-analyze', ['--version']).error ? 'systemd-analyze is not installed' : false,
  }, () => {
    // What verify reports about this machine (no such user, no /opt/etcd-mesos, not booted with systemd) is not the
    // unit's fault; anything about the unit's own lines is.
    const verify = (file: string): string[] => {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], {encoding: 'utf8', timeout: 60_000})
      return `${r.stdout}${r.stderr}`
        .split('\n')
        .filter((l) => /etcd-mesos\.service:\d+:/.test(l) || /[Uu]nknown (key|section)|[Ff]ailed to parse|[Ii]nvalid/.test(l))
    }
    const unitFile = fileURLToPath(deployFile('systemd/etcd-mesos.service'))
    assert.deepEqual(verify(unitFile), [])
    // and it would see a mistake: the same unit with a misspelt key
    const dir = mkdtempSync(join(tmpdir(), 'deploy-systemd-'))
    try {
      const bad = join(dir, 'etcd-mesos.service')
      writeFileSync(bad, readFileSync(unitFile, 'utf8').replace(/^Restart=/m, 'Restrt='))
      assert.match(verify(bad).join('\n'), /Restrt/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('deploy/marathon/etcd-mesos.json', () => {
  const app = JSON.parse(readDeploy('marathon/etcd-mesos.json')) as {
    id: string
    cmd: string
    instances: number
    constraints: string[][]
    env: Record<string, string>
    portDefinitions: {port: number; name?: string}[]
    healthChecks: {protocol: string; path: string; portIndex: number}[]
    upgradeStrategy?: {minimumHealthCapacity: number; maximumOverCapacity: number}
  }

  it('runs two instances on different hosts: a leader and a standby', () => {
    assert.match(app.id, /^\/[a-z0-9/-]+$/)
    assert.ok(app.instances >= 2)
    assert.ok(app.constraints.some((c) => c[0] === 'hostname' && c[1] === 'UNIQUE'))
    assert.ok(app.upgradeStrategy && app.upgradeStrategy.maximumOverCapacity === 0, 'never two extra schedulers on one host')
  })

  it('cmd runs serve with flags serve has, the admin API on the port Marathon gives', () => {
    const words = shellWords(app.cmd)
    assert.deepEqual(serveArgProblems(words.filter((w) => w !== 'exec')), [])
    assert.ok(words.join(' ').includes('--admin-port $PORT0') || words.includes('--admin-port=$PORT0'))
    assert.equal(app.portDefinitions.length, 1)
  })

  it('sets only environment variables serve reads, with ZooKeeper for the master, the state and the election', () => {
    const known = serveEnvVars()
    for (const n of Object.keys(app.env)) assert.ok(known.has(n), `serve reads no ${n}`)
    assert.match(app.env.MESOS_MASTER ?? '', /^zk:\/\//)
    assert.match(app.env.ZK_PERSIST ?? '', /^zk:\/\//)
  })

  it('checks health on /failover-status (a standby answers it too; /healthz is the etcd cluster, not the scheduler)', () => {
    assert.equal(app.healthChecks.length, 1)
    assert.equal(app.healthChecks[0].path, '/failover-status')
    assert.equal(app.healthChecks[0].portIndex, 0)
  })
})
