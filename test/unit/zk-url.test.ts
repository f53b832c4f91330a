import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {join, parseZkUrl, ZkUrlError} from '../../src/lib/zk/url.js'

describe('parseZkUrl: good URLs', () => {
  const cases: {url: string; servers: [string, number][]; connect: string; path: string; auth?: [string, string]; redacted: string}[] = [
    {
      url: 'zk://127.0.0.1:2181/mesos',
      servers: [['127.0.0.1', 2181]],
      connect: '127.0.0.1:2181',
      path: '/mesos',
      redacted: 'zk://127.0.0.1:2181/mesos',
    },
    {url: 'zk://zk1', servers: [['zk1', 2181]], connect: 'zk1:2181', path: '/', redacted: 'zk://zk1'},
    {url: 'zk://zk1/', servers: [['zk1', 2181]], connect: 'zk1:2181', path: '/', redacted: 'zk://zk1/'},
    {
      url: 'zk://h1:2181,h2:2182,h3/etcd-mesos/cluster-a/',
      servers: [
        ['h1', 2181],
        ['h2', 2182],
        ['h3', 2181],
      ],
      connect: 'h1:2181,h2:2182,h3:2181',
      path: '/etcd-mesos/cluster-a',
      redacted: 'zk://h1:2181,h2:2182,h3/etcd-mesos/cluster-a/',
    },
    {
      url: 'zk://alice:s3cret@h1:2181/mesos',
      servers: [['h1', 2181]],
      connect: 'h1:2181',
      path: '/mesos',
      auth: ['alice', 's3cret'],
      redacted: 'zk://alice:***@h1:2181/mesos',
    },
    {
      url: 'zk://bob:p@ss@word@h1:2181,h2:2181/a',
      servers: [
        ['h1', 2181],
        ['h2', 2181],
      ],
      connect: 'h1:2181,h2:2181',
      path: '/a',
      auth: ['bob', 'p@ss@word'],
      redacted: 'zk://bob:***@h1:2181,h2:2181/a',
    },
    {
      url: 'zk://carol:a:b@h1/x',
      servers: [['h1', 2181]],
      connect: 'h1:2181',
      path: '/x',
      auth: ['carol', 'a:b'],
      redacted: 'zk://carol:***@h1/x',
    },
    {url: 'zk://[::1]:2200/m', servers: [['::1', 2200]], connect: '[::1]:2200', path: '/m', redacted: 'zk://[::1]:2200/m'},
    {
      url: 'zk://[fe80::1],h2/m',
      servers: [
        ['fe80::1', 2181],
        ['h2', 2181],
      ],
      connect: '[fe80::1]:2181,h2:2181',
      path: '/m',
      redacted: 'zk://[fe80::1],h2/m',
    },
    {url: 'ZK://h:1/m', servers: [['h', 1]], connect: 'h:1', path: '/m', redacted: 'zk://h:1/m'},
  ]
  for (const c of cases) {
    it(c.url, () => {
      const u = parseZkUrl(c.url)
      assert.deepEqual(
        u.servers.map((s) => [s.host, s.port]),
        c.servers,
      )
      assert.equal(u.connectString, c.connect)
      assert.equal(u.path, c.path)
      assert.deepEqual(u.auth ? [u.auth.user, u.auth.password] : undefined, c.auth)
      assert.equal(u.redacted, c.redacted)
      if (c.auth) assert.ok(!u.redacted.includes(c.auth[1]), 'password must not appear in the redacted URL')
    })
  }
})

describe('parseZkUrl: bad URLs', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['http://h:2181/x', /must start with zk:\/\//],
    ['h1:2181/x', /must start with zk:\/\//],
    ['zk://', /empty host list/],
    ['zk:///mesos', /empty host list/],
    ['zk://h1,,h2/x', /empty host in the host list/],
    ['zk://h1,/x', /empty host in the host list/],
    ['zk://:2181/x', /empty host name/],
    ['zk://h1:abc/x', /bad port "abc"/],
    ['zk://h1:0/x', /bad port 0/],
    ['zk://h1:65536/x', /bad port 65536/],
    ['zk://h1:/x', /bad port ""/],
    ['zk://::1:2181/x', /more than one ':'/],
    ['zk://[::1/x', /unterminated IPv6/],
    ['zk://[zz]:1/x', /bad IPv6/],
    ['zk://h1/a/../b', /'\.\.' segments/],
    ['zk://h1/a/./b', /'\.' segments/],
    ['zk://h1/a//b', /empty segment/],
    ['zk://alice@h1/x', /user:password/],
    ['zk://:pw@h1/x', /empty user/],
    ['zk://h1/path@with-at', /contains '\/'/],
    ['zk://h 1/x', /whitespace/],
    ['zk://h1/x?y=1', /query/],
    ['zk://bad_host!/x', /bad host name/],
  ]
  for (const [url, re] of cases) {
    it(JSON.stringify(url), () => {
      assert.throws(
        () => parseZkUrl(url),
        (err: unknown) => {
          assert.ok(err instanceof ZkUrlError, `expected ZkUrlError, got ${String(err)}`)
          assert.match(err.message, re)
          return true
        },
      )
    })
  }
  it('never leaks the password in error messages', () => {
    assert.throws(
      () => parseZkUrl('zk://alice:topsecret@h1:99999/x'),
      (err: unknown) => {
        assert.ok(err instanceof ZkUrlError)
        assert.ok(!err.message.includes('topsecret'), err.message)
        assert.match(err.message, /alice:\*\*\*@/)
        return true
      },
    )
  })
})

describe('join', () => {
  it('joins and normalizes slashes', () => {
    assert.equal(join('/', 'x'), '/x')
    assert.equal(join('/a', 'b/c', 'd'), '/a/b/c/d')
    assert.equal(join('/a/', '/b'), '/a/b')
    assert.equal(join('/'), '/')
  })
})
