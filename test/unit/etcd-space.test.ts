/**
 * etcd's backend quota and auto-compaction (issue 17), pure parts: byte sizes and retentions parsed from the serve
 * flags with clear errors; the member config carries them (validated) and the executor passes them to etcd; the
 * scheduler's config refuses bad ones and copies them into every member's config.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parseByteSize, resolveEtcdSpaceFlags, SpaceSettingsError} from '../../src/lib/etcd/space-settings.js'
import {buildEtcdArgs} from '../../src/executor/etcd-args.js'
import {MemberConfigError, validateMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import {resolveConfig, SchedulerConfigError} from '../../src/scheduler/core/config.js'
import {CORE_CFG, launches} from '../helpers/core-world.js'
import {World} from '../helpers/sim/sim.js'

const BASE = {
  version: 1,
  cluster: {name: 'c1', token: 'tok-1'},
  member: {name: 'etcd-1', host: '10.0.0.1', peerPort: 2380, clientPort: 2379},
  initialCluster: [{name: 'etcd-1', peerUrl: 'http://10.0.0.1:2380'}],
  initialClusterState: 'new',
}
const cfg = (over: Record<string, unknown> = {}): MemberConfig => validateMemberConfig({...BASE, ...over})

describe('parseByteSize', () => {
  const ok: [string, number][] = [
    ['16777216', 16 * 2 ** 20],
    ['2GiB', 2 * 2 ** 30],
    ['8GB', 8e9],
    ['512MiB', 512 * 2 ** 20],
    ['100MB', 1e8],
    ['64KiB', 65536],
    ['1.5GiB', 1.5 * 2 ** 30],
    [' 4 GiB ', 4 * 2 ** 30],
    ['2gib', 2 * 2 ** 30],
    ['1TiB', 2 ** 40],
    ['1000B', 1000],
  ]
  for (const [raw, want] of ok) it(`${JSON.stringify(raw)} → ${want}`, () => assert.equal(parseByteSize(raw), want))
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['abc', /not a size/],
    ['-1GiB', /not a size/],
    ['2G', /unit "G".*GiB.*GB/],
    ['2 gigabytes', /not a size/],
    ['1.5', /whole number of bytes/],
    ['0', /greater than 0/],
    ['1e9', /not a size/],
    ['99999999PiB', /not a size|too large/],
  ]
  for (const [raw, re] of bad)
    it(`refuses ${JSON.stringify(raw)}`, () =>
      assert.throws(
        () => parseByteSize(raw),
        (e: unknown) => e instanceof SpaceSettingsError && re.test(e.message),
      ))
})

describe('resolveEtcdSpaceFlags (serve flags → settings)', () => {
  const dflt = {'etcd-auto-compaction-mode': 'periodic', 'etcd-auto-compaction-retention': '1h'}
  it('defaults: no quota (etcd default), periodic auto-compaction keeping 1h', () => {
    assert.deepEqual(resolveEtcdSpaceFlags(dflt), {settings: {autoCompaction: {mode: 'periodic', retention: '1h'}}, warnings: []})
  })
  it('a quota with a unit; revision mode with a count; retention 0 turns auto-compaction off', () => {
    assert.deepEqual(resolveEtcdSpaceFlags({...dflt, 'etcd-quota-backend-bytes': '4GiB'}).settings.quotaBackendBytes, 4 * 2 ** 30)
    assert.deepEqual(
      resolveEtcdSpaceFlags({'etcd-auto-compaction-mode': 'revision', 'etcd-auto-compaction-retention': '10000'}).settings.autoCompaction,
      {mode: 'revision', retention: '10000'},
    )
    assert.deepEqual(resolveEtcdSpaceFlags({...dflt, 'etcd-auto-compaction-retention': '0'}).settings, {})
  })
  it('warns above 8 GiB (etcd: the suggested maximum)', () => {
    const r = resolveEtcdSpaceFlags({...dflt, 'etcd-quota-backend-bytes': '16GiB'})
    assert.equal(r.settings.quotaBackendBytes, 16 * 2 ** 30)
    assert.match(r.warnings.join('\n'), /--etcd-quota-backend-bytes.*8 GiB/)
  })
  const bad: [Record<string, string>, RegExp][] = [
    [{'etcd-quota-backend-bytes': '2G'}, /--etcd-quota-backend-bytes "2G".*unit/],
    [{'etcd-quota-backend-bytes': '100KiB'}, /--etcd-quota-backend-bytes.*at least 1 MiB/],
    [{'etcd-quota-backend-bytes': '1PiB'}, /--etcd-quota-backend-bytes.*at most/],
    [{'etcd-auto-compaction-mode': 'daily'}, /--etcd-auto-compaction-mode "daily".*periodic or revision/],
    [{'etcd-auto-compaction-retention': '1 hour'}, /--etcd-auto-compaction-retention "1 hour".*duration/],
    [{'etcd-auto-compaction-retention': '-1h'}, /--etcd-auto-compaction-retention/],
    [{'etcd-auto-compaction-mode': 'revision', 'etcd-auto-compaction-retention': '1h'}, /revision.*number of revisions/],
  ]
  for (const [patch, re] of bad)
    it(`refuses ${JSON.stringify(patch)}`, () =>
      assert.throws(
        () => resolveEtcdSpaceFlags({...dflt, ...patch}),
        (e: unknown) => e instanceof SpaceSettingsError && re.test(e.message),
      ))
})

describe('MemberConfig quotaBackendBytes / autoCompaction → etcd flags', () => {
  it('passes them to etcd after the managed flags', () => {
    const out = buildEtcdArgs(cfg({quotaBackendBytes: 16777216, autoCompaction: {mode: 'periodic', retention: '1h'}}), '/sb')
    assert.deepEqual(out.args.slice(-3), [
      '--quota-backend-bytes=16777216',
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1h',
    ])
    const rev = buildEtcdArgs(cfg({autoCompaction: {mode: 'revision', retention: '5000'}}), '/sb')
    assert.deepEqual(rev.args.slice(-2), ['--auto-compaction-mode=revision', '--auto-compaction-retention=5000'])
    assert.ok(!buildEtcdArgs(cfg(), '/sb').args.some((a) => /quota|compaction/.test(a)), 'nothing when not set')
  })
  it('refuses extraArgs setting the same etcd flag as a field', () => {
    assert.throws(
      () => buildEtcdArgs(cfg({quotaBackendBytes: 16777216, extraArgs: ['--quota-backend-bytes=1']}), '/sb'),
      (e: unknown) => e instanceof MemberConfigError && /--quota-backend-bytes.*quotaBackendBytes/.test(e.message),
    )
    assert.throws(
      () => buildEtcdArgs(cfg({autoCompaction: {mode: 'periodic', retention: '1h'}, extraArgs: ['--auto-compaction-retention=2h']}), '/sb'),
      (e: unknown) => e instanceof MemberConfigError && /--auto-compaction-retention.*autoCompaction/.test(e.message),
    )
    // without the field, extraArgs may still set them (as before)
    assert.ok(buildEtcdArgs(cfg({extraArgs: ['--quota-backend-bytes=1048576']}), '/sb').args.includes('--quota-backend-bytes=1048576'))
  })
  const bad: [Record<string, unknown>, RegExp][] = [
    [{quotaBackendBytes: 0}, /quotaBackendBytes must be a positive integer/],
    [{quotaBackendBytes: 1.5}, /quotaBackendBytes must be a positive integer/],
    [{quotaBackendBytes: '16MiB'}, /quotaBackendBytes must be a positive integer/],
    [{autoCompaction: 'periodic'}, /autoCompaction must be an object/],
    [{autoCompaction: {mode: 'x', retention: '1h'}}, /autoCompaction.mode/],
    [{autoCompaction: {mode: 'periodic', retention: '1h; rm -rf /'}}, /autoCompaction.retention/],
    [{autoCompaction: {mode: 'revision', retention: '1h'}}, /autoCompaction.retention/],
  ]
  for (const [patch, re] of bad)
    it(`validateMemberConfig refuses ${JSON.stringify(patch)}`, () =>
      assert.throws(
        () => cfg(patch),
        (e: unknown) => e instanceof MemberConfigError && re.test(e.message),
      ))
})

describe('the scheduler carries them into every member config', () => {
  it('resolveConfig refuses bad ones', () => {
    assert.throws(
      () => resolveConfig({...CORE_CFG, quotaBackendBytes: -5}),
      (e: unknown) => e instanceof SchedulerConfigError && /quotaBackendBytes/.test(e.message),
    )
    assert.throws(
      () => resolveConfig({...CORE_CFG, autoCompaction: {mode: 'hourly' as 'periodic', retention: '1'}}),
      (e: unknown) => e instanceof SchedulerConfigError && /autoCompaction/.test(e.message),
    )
  })
  it('every launched member gets quotaBackendBytes and autoCompaction', () => {
    const w = new World({...CORE_CFG, quotaBackendBytes: 33554432, autoCompaction: {mode: 'periodic', retention: '30m'}}, 3)
    w.start()
    const l = launches(w.offerAll())
    assert.equal(l.length, 3)
    for (const x of l) {
      assert.equal(x.cfg.quotaBackendBytes, 33554432)
      assert.deepEqual(x.cfg.autoCompaction, {mode: 'periodic', retention: '30m'})
    }
  })
})
