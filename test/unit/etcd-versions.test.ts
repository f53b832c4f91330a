/**
 * src/lib/etcd/versions.ts: parsing etcd's /version answer, comparing versions, and the upgrade rules of
 * etcd's upgrade guide (one minor version at a time, no downgrade below the cluster version, patch changes
 * free) as `checkRollout`.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  EtcdVersionError,
  checkMemberChange,
  checkRollout,
  compareVersions,
  formatVersion,
  parseVersion,
  parseVersionAnswer,
} from '../../src/lib/etcd/versions.js'

describe('parseVersion', () => {
  it('reads major.minor.patch, with an optional v and a pre-release', () => {
    assert.deepEqual(parseVersion('3.4.23'), {major: 3, minor: 4, patch: 23})
    assert.deepEqual(parseVersion('v3.5.16'), {major: 3, minor: 5, patch: 16})
    assert.deepEqual(parseVersion('3.6.0-alpha.0'), {major: 3, minor: 6, patch: 0, pre: 'alpha.0'})
    assert.deepEqual(parseVersion('3.5'), {major: 3, minor: 5, patch: 0})
    assert.equal(formatVersion(parseVersion('3.6.0-rc.1')), '3.6.0-rc.1')
  })
  for (const bad of ['', '3', 'three.four', '3.4.x', '3..4', ' 3.4.1', '3.4.1 ', '03.4.1', '3.4.1.2', 'not_decided', '3.4.99999999999']) {
    it(`refuses ${JSON.stringify(bad)} with an EtcdVersionError naming it`, () => {
      assert.throws(
        () => parseVersion(bad),
        (err: unknown) => err instanceof EtcdVersionError && err.code === 'BAD_VERSION' && err.message.includes(JSON.stringify(bad)),
      )
    })
  }
})

describe('compareVersions', () => {
  const cases: Array<[string, string, -1 | 0 | 1]> = [
    ['3.4.23', '3.5.16', -1],
    ['3.5.16', '3.4.23', 1],
    ['3.5.0', '3.5.0', 0],
    ['3.5.2', '3.5.10', -1],
    ['3.10.0', '3.9.9', 1],
    ['2.3.8', '3.0.0', -1],
    ['3.6.0-alpha.0', '3.6.0', -1],
    ['3.6.0', '3.6.0-rc.1', 1],
    ['3.6.0-alpha.2', '3.6.0-alpha.10', -1],
    ['3.6.0-alpha.1', '3.6.0-beta.0', -1],
  ]
  for (const [a, b, want] of cases) {
    it(`${a} vs ${b} → ${want}`, () => assert.equal(compareVersions(parseVersion(a), parseVersion(b)), want))
  }
})

describe('parseVersionAnswer (GET /version)', () => {
  it('reads etcd 3.4 and 3.5 answers', () => {
    assert.deepEqual(parseVersionAnswer({etcdserver: '3.4.23', etcdcluster: '3.4.0'}), {
      server: {major: 3, minor: 4, patch: 23},
      cluster: {major: 3, minor: 4, patch: 0},
    })
    assert.deepEqual(parseVersionAnswer('{"etcdserver":"3.5.16","etcdcluster":"3.5.0","storage":"3.5.0"}'), {
      server: {major: 3, minor: 5, patch: 16},
      cluster: {major: 3, minor: 5, patch: 0},
    })
  })
  it('a cluster version not decided yet (bootstrap) is null', () => {
    assert.deepEqual(parseVersionAnswer({etcdserver: '3.4.23', etcdcluster: 'not_decided'}).cluster, null)
  })
  for (const [label, body] of [
    ['not JSON', '<html>'],
    ['null', null],
    ['an array', ['3.4.23']],
    ['no etcdserver', {etcdcluster: '3.4.0'}],
    ['etcdserver not a string', {etcdserver: 3.4, etcdcluster: '3.4.0'}],
    ['a bad etcdserver', {etcdserver: 'x', etcdcluster: '3.4.0'}],
    ['a bad etcdcluster', {etcdserver: '3.4.23', etcdcluster: 'soon'}],
    ['etcdcluster missing', {etcdserver: '3.4.23'}],
  ] as const) {
    it(`refuses ${label} with BAD_ANSWER`, () => {
      assert.throws(
        () => parseVersionAnswer(body),
        (err: unknown) => err instanceof EtcdVersionError && err.code === 'BAD_ANSWER' && /\/version/.test(err.message),
      )
    })
  }
})

describe('checkMemberChange (one member, one binary change)', () => {
  const ok = {ok: true}
  const cases: Array<[from: string, to: string, cluster: string, refusedWith: RegExp | null]> = [
    ['3.4.23', '3.5.16', '3.4.0', null], // one minor up
    ['3.4.23', '3.4.25', '3.4.0', null], // patch up
    ['3.4.25', '3.4.20', '3.4.0', null], // patch down: free
    ['3.5.16', '3.5.16', '3.5.0', null], // same
    ['3.5.16', '3.4.23', '3.4.0', null], // rollback while the cluster version is still 3.4
    ['3.4.23', '3.6.0', '3.4.0', /one minor version at a time.*3\.4\.23.*3\.6\.0/],
    ['3.5.16', '3.4.23', '3.5.0', /below the cluster version 3\.5/],
    ['3.5.16', '3.3.27', '3.3.0', /one minor version at a time/],
    ['3.4.23', '4.0.0', '3.4.0', /major version/],
    ['3.5.16', '3.6.0', '3.4.0', /cluster version 3\.4.*3\.6\.0/], // the cluster must reach 3.5 first
  ]
  for (const [from, to, cluster, refusedWith] of cases) {
    it(`${from} → ${to} on cluster version ${cluster}: ${refusedWith ? 'refused' : 'ok'}`, () => {
      const got = checkMemberChange(parseVersion(from), parseVersion(to), parseVersion(cluster))
      if (refusedWith === null) assert.deepEqual(got, ok)
      else assert.ok(!got.ok && refusedWith.test(got.refused), JSON.stringify(got))
    })
  }
})

describe('checkRollout', () => {
  it('3.4 → 3.5 on a 3.4 cluster: ok', () => {
    assert.deepEqual(
      checkRollout({clusterVersion: '3.4.0', memberVersions: {m0: '3.4.23', m1: '3.4.23', m2: '3.4.23'}, target: '3.5.16'}),
      {
        ok: true,
      },
    )
  })
  it('a half-done 3.4 → 3.5 (mixed members) may go on, or roll back', () => {
    const memberVersions = {m0: '3.5.16', m1: '3.4.23', m2: '3.4.23'}
    assert.deepEqual(checkRollout({clusterVersion: '3.4.0', memberVersions, target: '3.5.16'}), {ok: true})
    assert.deepEqual(checkRollout({clusterVersion: '3.4.0', memberVersions, target: '3.4.23'}), {ok: true})
  })
  it('3.4 → 3.6 refused, naming both versions and the rule', () => {
    const got = checkRollout({clusterVersion: '3.4.0', memberVersions: {m0: '3.4.23', m1: '3.4.23', m2: '3.4.23'}, target: '3.6.0'})
    assert.ok(!got.ok, JSON.stringify(got))
    assert.match(got.refused, /3\.4\.23/)
    assert.match(got.refused, /3\.6\.0/)
    assert.match(got.refused, /one minor version at a time/)
    assert.match(got.refused, /m0/)
  })
  it('3.5 → 3.4 once the cluster version is 3.5: refused (no downgrade below the cluster version)', () => {
    const got = checkRollout({clusterVersion: '3.5.0', memberVersions: {m0: '3.5.16', m1: '3.5.16', m2: '3.5.16'}, target: '3.4.23'})
    assert.ok(!got.ok, JSON.stringify(got))
    assert.match(got.refused, /cluster version 3\.5/)
    assert.match(got.refused, /3\.4\.23/)
    assert.match(got.refused, /downgrade/)
  })
  it('patch changes are free, up and down', () => {
    const memberVersions = {m0: '3.5.13', m1: '3.5.16', m2: '3.5.16'}
    assert.deepEqual(checkRollout({clusterVersion: '3.5.0', memberVersions, target: '3.5.17'}), {ok: true})
    assert.deepEqual(checkRollout({clusterVersion: '3.5.0', memberVersions, target: '3.5.10'}), {ok: true})
  })
  it('a member two minors behind the target is refused even when the others are one behind', () => {
    const got = checkRollout({clusterVersion: '3.4.0', memberVersions: {m0: '3.5.16', m1: '3.4.23', m2: '3.5.16'}, target: '3.6.0'})
    assert.ok(!got.ok && /m1/.test(got.refused) && !/m0/.test(got.refused), JSON.stringify(got))
  })
  it('refuses when the cluster version is not decided, or no member answered', () => {
    const a = checkRollout({clusterVersion: null, memberVersions: {m0: '3.4.23'}, target: '3.5.16'})
    assert.ok(!a.ok && /cluster version/.test(a.refused) && /not decided/.test(a.refused), JSON.stringify(a))
    const b = checkRollout({clusterVersion: '3.4.0', memberVersions: {}, target: '3.5.16'})
    assert.ok(!b.ok && /no member/.test(b.refused), JSON.stringify(b))
  })
  it('bad versions are refused with a message naming the value (never a throw)', () => {
    const a = checkRollout({clusterVersion: '3.4.0', memberVersions: {m0: '3.4.23'}, target: 'latest'})
    assert.ok(!a.ok && a.refused.includes('"latest"') && /target/.test(a.refused), JSON.stringify(a))
    const b = checkRollout({clusterVersion: '3.4.0', memberVersions: {m0: 'x'}, target: '3.5.16'})
    assert.ok(!b.ok && b.refused.includes('"x"') && /m0/.test(b.refused), JSON.stringify(b))
    const c = checkRollout({clusterVersion: 'nope', memberVersions: {m0: '3.4.23'}, target: '3.5.16'})
    assert.ok(!c.ok && c.refused.includes('"nope"'), JSON.stringify(c))
  })
  it('accepts already parsed versions too', () => {
    const v34 = parseVersion('3.4.23')
    assert.deepEqual(checkRollout({clusterVersion: parseVersion('3.4.0'), memberVersions: {m0: v34}, target: parseVersion('3.5.16')}), {
      ok: true,
    })
  })
})
