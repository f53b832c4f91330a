/**
 * Property/fuzz tests of the address parsers: zk:// URLs (src/lib/zk/url.ts parseZkUrl) and static Mesos
 * master addresses (src/lib/mesos/master-address.ts parseMasterAddress). Random strings and mutations of
 * valid ones give a ZkUrlError / MasterAddressError or a valid parse; a parse's `redacted` form (and every
 * error message) never contains the password; valid parses are self-consistent (ports in range, hosts
 * without separators, connectString re-parses to the same servers).
 * Deterministic (seeded mulberry32; FUZZ_SEED overrides); each test prints how many cases it tried.
 */
import {describe, it} from 'node:test'
import {isIPv6} from 'node:net'
import assert from 'node:assert/strict'
import {formatServer, parseZkUrl, ZkUrlError, type ZkUrl} from '../../src/lib/zk/url.js'
import {MasterAddressError, masterBaseUrl, parseMasterAddress} from '../../src/lib/mesos/master-address.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

/** Passwords are marked so that a leak is unambiguous (the marker cannot come from anywhere else). */
const PW = 'S3cr3tPw'

function validZk(r: Prng): string {
  const hosts = Array.from({length: r.range(1, 4)}, () => {
    const h = r.pick(['127.0.0.1', 'zk1', 'zk-2.example.com', '[::1]', '[fe80::1%eth0]', 'zk_3'])
    return r.chance(0.7) ? `${h}:${r.range(1, 65535)}` : h
  })
  const cred = r.chance(0.5)
    ? `${r.pick(['user', 'u', 'etcd-mesos'])}:${PW}${r.pick(['', '@x', ':y', '%z', r.stringOf('abc@:!', 4)])}@`
    : ''
  const path = r.pick(['', '/', '/mesos', '/etcd-mesos/prod', '/a/b/c/', '/x y'])
  return `${r.pick(['zk://', 'ZK://', 'zk://'])}${cred}${hosts.join(',')}${path}`
}

function validMaster(r: Prng): string {
  const host = r.pick(['127.0.0.1', 'master', 'mesos-1.example.com', '[::1]', '[2001:db8::5]', 'm_1'])
  const port = r.range(1, 65535)
  switch (r.int(4)) {
    case 0:
      return `${host}:${port}`
    case 1:
      return `http://${host}:${port}${r.pick(['', '/'])}`
    case 2:
      return `https://${host}${r.chance(0.5) ? `:${port}` : ''}`
    default:
      return `${r.pick(['HTTP', 'Https'])}://${host}:${port}`
  }
}

/** The password as written (after the first ':' of the part before the last '@', past any scheme://). */
function passwordOf(url: string): string | null {
  const at = url.lastIndexOf('@')
  if (at < 0) return null
  const cred = url.slice(0, at).replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/+/, '')
  const colon = cred.indexOf(':')
  return colon < 0 ? null : cred.slice(colon + 1)
}

function checkZkParse(u: ZkUrl, input: string, what: string): void {
  assert.ok(u.servers.length >= 1, what)
  for (const s of u.servers) {
    assert.ok(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535, `${what}: port ${s.port}`)
    assert.ok(s.host.length > 0 && !/[\s,/@]/.test(s.host), `${what}: host ${JSON.stringify(s.host)}`)
  }
  assert.equal(u.connectString, u.servers.map(formatServer).join(','))
  // The connect string re-parses to the same servers.
  assert.deepEqual(parseZkUrl(`zk://${u.connectString}${u.path}`).servers, u.servers, `${what}: connectString does not re-parse`)
  assert.ok(u.path.startsWith('/'), what)
  assert.ok(u.path === '/' || !u.path.endsWith('/'), what)
  assert.ok(
    !u.path
      .split('/')
      .slice(1)
      .some((seg) => seg === '' || seg === '.' || seg === '..') || u.path === '/',
    `${what}: path ${u.path}`,
  )
  if (u.auth) {
    assert.ok(u.auth.user.length > 0)
    assert.ok(
      !u.redacted.includes(`:${u.auth.password}@`) || u.auth.password === '***',
      `${what}: redacted ${u.redacted} shows the password`,
    )
    assert.ok(u.redacted.includes(':***@'), `${what}: ${u.redacted}`)
  } else {
    assert.equal(u.redacted, `zk://${input.slice(5)}`)
  }
  if (u.auth?.password.includes(PW))
    assert.ok(!u.redacted.includes(PW), `${what}: redacted ${JSON.stringify(u.redacted)} leaks the password`)
}

function tryZk(input: string, what: string): 'ok' | 'error' {
  try {
    checkZkParse(parseZkUrl(input), input, what)
    return 'ok'
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    assert.ok(err instanceof ZkUrlError, `${what}: expected ZkUrlError, got ${(err as Error)?.stack ?? String(err)}`)
    assert.match(err.message, /^invalid ZooKeeper URL/)
    if (passwordOf(input)?.includes(PW) && input.split(PW).length === 2) {
      assert.ok(!err.message.includes(PW), `${what}: error message leaks the password: ${err.message}`)
    }
    return 'error'
  }
}

function tryMaster(input: string, what: string): 'ok' | 'error' {
  try {
    const a = parseMasterAddress(input)
    assert.ok(a.scheme === 'http' || a.scheme === 'https')
    assert.ok(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535, `${what}: port`)
    assert.ok(a.host.length > 0 && !/[\s/@?#]/.test(a.host), `${what}: host ${JSON.stringify(a.host)}`)
    // The base URL is a URL that names the same host and port.
    const u = new URL(masterBaseUrl(a))
    assert.equal(u.protocol, `${a.scheme}:`)
    if (!isIPv6(a.host)) assert.equal(u.hostname, a.host.toLowerCase(), `${what}: URL host`)
    assert.equal(Number(u.port || (a.scheme === 'https' ? 443 : 80)), a.port)
    return 'ok'
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    assert.ok(err instanceof MasterAddressError, `${what}: expected MasterAddressError, got ${(err as Error)?.stack ?? String(err)}`)
    if (passwordOf(input)?.includes(PW) && input.split(PW).length === 2) {
      assert.ok(!err.message.includes(PW), `${what}: error message leaks the password: ${err.message}`)
    }
    return 'error'
  }
}

describe('fuzz: zk:// URLs and master addresses', () => {
  it('regressions found by this fuzzer', () => {
    // Accepted before, then `new URL(masterBaseUrl(a))` threw TypeError inside the scheduler client's loop.
    for (const bad of [
      'Https://[2001.db8::b8::5]:15160',
      '[1::2::3]:5050',
      '999.0.0.1:5050',
      'example.123:5050',
      '1:5050',
      '0x7f.1:5050',
    ]) {
      assert.throws(() => parseMasterAddress(bad), MasterAddressError, bad)
    }
    assert.throws(() => parseZkUrl('zk://[1::2::3]:2181/x'), ZkUrlError)
    // Passwords were shown in error messages.
    for (const [fn, bad] of [
      [parseMasterAddress, `http://u:${PW}@master:5050`],
      [parseMasterAddress, `u:${PW}@master:5050`],
      [parseZkUrl, `zk:/u:${PW}@h/x`],
      [parseZkUrl, `zku:${PW}:y@zk1:2181`],
    ] as const) {
      assert.throws(
        () => fn(bad),
        (e: Error) => !e.message.includes(PW) && /\*\*\*/.test(e.message),
        bad,
      )
    }
    console.log('fuzz-addresses regressions: 11 cases')
  })

  it('valid zk:// URLs parse, redact the password and re-parse', () => {
    const r = new Prng(fuzzSeed(0x2c000001))
    let ok = 0
    let errors = 0
    for (let i = 0; i < 2000; i++) {
      const url = validZk(r)
      const out = tryZk(url, `case ${i} (seed ${r.seed}) ${JSON.stringify(url)}`)
      if (out === 'ok') ok++
      else errors++
    }
    console.log(
      `fuzz-addresses valid zk URLs: 2000 cases (${ok} parsed, ${errors} rejected: paths with spaces are legal, '%' in hosts is not)`,
    )
    assert.ok(ok > 1500)
  })

  it('mutated and random zk:// URLs: ZkUrlError or a consistent parse; the password never leaks', () => {
    const r = new Prng(fuzzSeed(0x2c000002))
    const tally = {ok: 0, error: 0}
    for (let i = 0; i < 6000; i++) {
      const input = r.chance(0.8) ? r.mutateString(validZk(r)) : r.chance(0.5) ? `zk://${r.junkString(40)}` : r.junkString(40)
      tally[tryZk(input, `case ${i} (seed ${r.seed}) ${JSON.stringify(input)}`)]++
    }
    for (const x of [
      '',
      ' ',
      'zk://',
      'zk:///',
      'zk://@',
      'zk://:@h',
      'zk://u:@h',
      `zk://u:${PW}@`,
      `zk://u:${PW}@/x`,
      `zk:/u:${PW}@h/x`,
      `ZK:/u:${PW}@h`,
      `http://u:${PW}@h:2181/x`,
      `zk://u:${PW}@h:0/x`,
      `zk://u:${PW}@h:99999/x`,
      `zk://u:${PW}@h/../x`,
      `zk://u:${PW}@h/x?y`,
      `zk://u:${PW}@[::1/x`,
      'zk://h:2181,,h2:2181/x',
      `zk://${'h,'.repeat(10000)}h/x`,
      `zk://h/${'a/'.repeat(10000)}`,
    ]) {
      tally[tryZk(x, JSON.stringify(x).slice(0, 80))]++
    }
    // Non-string input from JavaScript callers.
    for (const x of [undefined, null, 42, {}]) assert.throws(() => parseZkUrl(x as unknown as string), ZkUrlError)
    console.log(`fuzz-addresses zk mutations: ${tally.ok + tally.error + 4} cases`, tally)
  })

  it('valid master addresses parse; mutated and random ones are a MasterAddressError or a consistent parse', () => {
    const r = new Prng(fuzzSeed(0x2c000003))
    for (let i = 0; i < 1500; i++) {
      const a = validMaster(r)
      assert.equal(
        tryMaster(a, `valid case ${i} ${JSON.stringify(a)}`),
        'ok',
        `valid case ${i} (seed ${r.seed}) ${JSON.stringify(a)} rejected`,
      )
    }
    const tally = {ok: 0, error: 0}
    for (let i = 0; i < 5000; i++) {
      const input = r.chance(0.8) ? r.mutateString(validMaster(r)) : r.junkString(40)
      tally[tryMaster(input, `case ${i} (seed ${r.seed}) ${JSON.stringify(input)}`)]++
    }
    for (const x of [
      `http://u:${PW}@master:5050`,
      `https://u:${PW}@m`,
      `u:${PW}@m:5050`,
      `zk://u:${PW}@zk:2181/mesos`,
      'local',
      'http://',
      'http://:5050',
      'm:0',
      'm:65536',
      'm:+1',
      '[::1',
      '[::1]x',
      'ftp://m:21',
      'm:5050/x',
    ]) {
      tally[tryMaster(x, JSON.stringify(x))]++
    }
    for (const x of [undefined, null, 42]) assert.throws(() => parseMasterAddress(x as unknown as string), MasterAddressError)
    console.log(`fuzz-addresses master addresses: ${1500 + tally.ok + tally.error + 3} cases`, tally)
  })
})
