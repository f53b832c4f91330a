/**
 * Property/fuzz tests of the executor's task data: parseMemberConfig / validateMemberConfig
 * (src/lib/member-config.ts) and buildEtcdArgs (src/executor/etcd-args.ts). Random and mutated configs
 * give a MemberConfigError or a valid config whose etcd argv is a list of single flags (never a string a
 * shell could split); names and hosts with spaces, quotes, newlines or `$(...)` are rejected.
 * Deterministic (seeded mulberry32; FUZZ_SEED overrides); each test prints how many cases it tried.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {buildEtcdArgs} from '../../src/executor/etcd-args.js'
import {
  encodeMemberConfig,
  MemberConfigError,
  parseMemberConfig,
  validateMemberConfig,
  type MemberConfig,
} from '../../src/lib/member-config.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

/** One argv element = one flag: `--name` or `--name=value` (single dash accepted, as Go's flag package does). */
const SINGLE_FLAG = /^--?[A-Za-z0-9][A-Za-z0-9_.-]*(=|$)/
const NAME_OK = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const SHELL_BAD = ['a b', 'a"b', "a'b", 'a\nb', '$(reboot)', 'a;b', 'a`id`', 'a|b', 'a&b', '\ta', 'a\\b', 'a\u0000b', 'é', '']

function validConfig(r: Prng): MemberConfig {
  const n = r.range(1, 7)
  const names = Array.from({length: n}, (_, i) => `${r.stringOf('abcxyz', r.range(1, 6))}-${i + 1}`)
  const hosts = Array.from({length: n}, (_, i) => r.pick([`10.0.0.${i + 1}`, `agent${i}.example.com`, `h${i}`, '[::1]']))
  const me = r.int(n)
  const scheme = r.chance(0.8) ? 'http' : 'https'
  const cfg: MemberConfig = {
    version: 1,
    cluster: {name: r.stringOf('abc-123', r.range(1, 10)).replace(/^-/, 'c'), token: `tok-${r.int(1e6)}`},
    member: {name: names[me]!, host: hosts[me]!, peerPort: 31000 + 2 * me, clientPort: 31001 + 2 * me},
    initialCluster: names.map((name, i) => ({name, peerUrl: `${scheme}://${hosts[i]}:${31000 + 2 * i}`})),
    initialClusterState: r.pick(['new', 'existing'] as const),
    scheme,
  }
  if (r.chance(0.3)) cfg.dataDir = r.pick(['etcd_data', '/var/lib/etcd', 'd'])
  if (r.chance(0.3)) cfg.etcdBin = r.pick(['/usr/bin/etcd', './etcd', 'etcd'])
  if (r.chance(0.4))
    cfg.extraArgs = r.pick([['--heartbeat-interval=50'], ['--snapshot-count=1000', '--log-level=debug'], ['--quota-backend-bytes=1']])
  if (scheme === 'https')
    cfg.tls = {clientCertFile: '/c.pem', clientKeyFile: '/k.pem', ...(r.chance(0.5) ? {clientTrustedCaFile: '/ca.pem'} : {})}
  return cfg
}

function mutateTree(r: Prng, v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || r.chance(0.15 + depth * 0.1)) {
    if (typeof v === 'string' && r.chance(0.6)) return r.mutateString(v)
    if (typeof v === 'number' && r.chance(0.5)) return r.pick([0, -1, 65536, 1.5, NaN, Infinity, 2 ** 53, v + 1])
    return r.chance(0.7) ? r.pick([r.jsonValue(2), r.pick(SHELL_BAD), r.junkString(20)]) : v
  }
  if (Array.isArray(v)) {
    if (v.length === 0 || r.chance(0.2)) return r.chance(0.5) ? [...v, r.jsonValue(1)] : v.slice(1)
    const i = r.int(v.length)
    return v.map((x, j) => (j === i ? mutateTree(r, x, depth + 1) : x))
  }
  const o = {...(v as Record<string, unknown>)}
  const keys = Object.keys(o)
  if (keys.length === 0 || r.chance(0.05))
    o[r.pick(['extraArgs', 'tls', 'scheme', 'dataDir', 'etcdBin', '__proto__', 'constructor'])] = r.jsonValue(2)
  else {
    const k = r.pick(keys)
    if (r.chance(0.15)) delete o[k]
    else o[k] = mutateTree(r, o[k], depth + 1)
  }
  return o
}

/** Validation outcome: MemberConfigError or a config whose argv is made of single flags. */
function check(raw: unknown, what: string): 'valid' | 'rejected' {
  let cfg: MemberConfig
  try {
    cfg = validateMemberConfig(raw)
  } catch (err) {
    assert.ok(err instanceof MemberConfigError, `${what}: expected MemberConfigError, got ${(err as Error)?.stack ?? String(err)}`)
    assert.match(err.message, /^invalid member config: /)
    return 'rejected'
  }
  for (const n of [cfg.cluster.name, cfg.member.name, ...cfg.initialCluster.map((p) => p.name)])
    assert.match(n, NAME_OK, `${what}: name ${JSON.stringify(n)}`)
  assert.doesNotMatch(cfg.member.host, /[\s"'`$;|&\\]/, `${what}: host ${JSON.stringify(cfg.member.host)}`)
  for (const p of cfg.initialCluster) assert.doesNotMatch(p.peerUrl, /[\s,=]/, `${what}: peerUrl ${JSON.stringify(p.peerUrl)}`)
  // The validated config survives TaskInfo.data encoding unchanged.
  assert.deepEqual(parseMemberConfig(encodeMemberConfig(cfg)), cfg)
  let cmd: ReturnType<typeof buildEtcdArgs>
  try {
    cmd = buildEtcdArgs(cfg, '/sandbox', {forceNewCluster: cfg.initialClusterState === 'existing'})
  } catch (err) {
    assert.ok(err instanceof MemberConfigError, `${what}: buildEtcdArgs threw ${(err as Error)?.stack ?? String(err)}`)
    return 'rejected'
  }
  assert.equal(typeof cmd.bin, 'string')
  assert.ok(cmd.bin.length > 0)
  for (const a of cmd.args) assert.match(a, SINGLE_FLAG, `${what}: argv element ${JSON.stringify(a)} is not a single flag`)
  assert.equal(cmd.args.filter((a) => a.startsWith('--name=')).length, 1)
  assert.equal(cmd.args.filter((a) => a === '--force-new-cluster').length, cfg.initialClusterState === 'existing' ? 1 : 0)
  // The managed values are exactly the validated ones (no value leaks into a neighbouring flag).
  assert.ok(cmd.args.includes(`--name=${cfg.member.name}`))
  return 'valid'
}

describe('fuzz: member config and etcd argv', () => {
  it('generated valid configs validate, round-trip through TaskInfo.data and give single-flag argv', () => {
    const r = new Prng(fuzzSeed(0x3e3b0001))
    let cases = 0
    for (let i = 0; i < 1000; i++) {
      const c = validConfig(r)
      assert.equal(check(c, `valid case ${i}`), 'valid', `valid case ${i} (seed ${r.seed}) was rejected: ${JSON.stringify(c)}`)
      cases++
    }
    console.log(`fuzz-member-config valid: ${cases} cases`)
  })

  it('mutated configs: MemberConfigError or a valid config with single-flag argv', () => {
    const r = new Prng(fuzzSeed(0x3e3b0002))
    const tally: Record<string, number> = {}
    for (let i = 0; i < 4000; i++) {
      let v: unknown = validConfig(r)
      for (let k = r.range(1, 3); k > 0; k--) v = mutateTree(r, v)
      const out = check(v, `mutated case ${i} (seed ${r.seed}) ${JSON.stringify(v)?.slice(0, 300)}`)
      tally[out] = (tally[out] ?? 0) + 1
    }
    console.log('fuzz-member-config mutated: 4000 cases', tally)
    assert.ok((tally.valid ?? 0) > 0 && (tally.rejected ?? 0) > 0)
  })

  it('TaskInfo.data: random base64, random bytes and mutated JSON text → MemberConfigError or valid', () => {
    const r = new Prng(fuzzSeed(0x3e3b0003))
    const tally: Record<string, number> = {}
    for (let i = 0; i < 3000; i++) {
      const k = r.int(4)
      const data =
        k === 0
          ? r.bytes(r.int(200)).toString('base64')
          : k === 1
            ? r.junkString(100)
            : k === 2
              ? Buffer.from(r.mutateBytes(Buffer.from(JSON.stringify(validConfig(r))))).toString('base64')
              : encodeMemberConfig(validConfig(r)).slice(0, r.int(400))
      let out: string
      try {
        const cfg = parseMemberConfig(data)
        out = check(cfg, `data case ${i}`)
      } catch (err) {
        assert.ok(err instanceof MemberConfigError, `data case ${i} (seed ${r.seed}): got ${(err as Error)?.stack ?? String(err)}`)
        out = 'rejected'
      }
      tally[out] = (tally[out] ?? 0) + 1
    }
    for (const d of [
      undefined,
      '',
      '====',
      'bnVsbA==' /* null */,
      'W10=' /* [] */,
      Buffer.from('{"version":1}'.repeat(10000)).toString('base64'),
    ]) {
      assert.throws(() => parseMemberConfig(d), MemberConfigError)
    }
    console.log('fuzz-member-config TaskInfo.data: 3006 cases', tally)
  })

  it('names, hosts and peer URLs with spaces, quotes, newlines or $(...) are rejected', () => {
    const r = new Prng(fuzzSeed(0x3e3b0004))
    let cases = 0
    const injections = [
      ...SHELL_BAD,
      'etcd-1 --force-new-cluster',
      'x\n--data-dir=/',
      '$(rm -rf /)',
      '`reboot`',
      'a,b=http://evil:1',
      '-flag',
      '.hidden',
      'a'.repeat(64),
    ]
    for (const bad of injections) {
      const targets: ((c: MemberConfig) => void)[] = [
        (c) => (c.member.name = bad),
        (c) => (c.member.host = bad),
        (c) => (c.cluster.name = bad),
        (c) => (c.initialCluster[0]!.name = bad),
        (c) => (c.initialCluster[0]!.peerUrl = `http://${bad}:2380`),
      ]
      for (const [t, set] of targets.entries()) {
        const c = validConfig(r)
        set(c)
        if (t === 3 && c.initialCluster.length === 1) continue // renaming the only peer is caught as "does not list the member itself"
        // '-flag', '.hidden', 'aaa…' are odd but harmless host names (inside URLs, never an argv element of their own)
        if ((t === 1 || t === 4) && /^[A-Za-z0-9.-]{1,253}$/.test(bad)) continue
        assert.throws(() => validateMemberConfig(c), MemberConfigError, `${JSON.stringify(bad)} in target ${t}`)
        cases++
      }
    }
    // extraArgs: each element must be one flag that the executor does not manage.
    for (const bad of [
      '--',
      '---name=x',
      '--name=x',
      '-data-dir=/x',
      '--config-file=/etc/etcd.yml',
      '--a b',
      '--x\n--force-new-cluster',
      'force-new-cluster',
      '--=x',
      '-- --name=x',
    ]) {
      const c = {...validConfig(r), extraArgs: [bad]}
      assert.throws(() => buildEtcdArgs(validateMemberConfig(c), '/sandbox'), MemberConfigError, JSON.stringify(bad))
      cases++
    }
    assert.throws(() => buildEtcdArgs(validConfig(r), 'relative/sandbox'), MemberConfigError)
    console.log(`fuzz-member-config injections: ${cases + 1} cases`)
  })
})
