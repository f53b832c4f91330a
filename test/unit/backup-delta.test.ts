/**
 * Delta backups, pure parts: the delta manifest (kind 'delta', validated field by field, full manifests unchanged),
 * the delta data format (one line per revision), the grouping of the JSON gateway's watch events by revision, and
 * retention with deltas (counted by full backups, deltas going with their base, orphans removed).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {validateManifest, deltaDataName, type DeltaManifest} from '../../src/lib/backup/manifest.js'
import {decodeGroup, encodeGroup, groupWatchEvents} from '../../src/lib/backup/delta-format.js'
import {expiredBackups} from '../../src/lib/backup/retention.js'
import {BackupError} from '../../src/lib/backup/errors.js'

const delta = (): DeltaManifest => ({
  format: 'etcd-mesos-backup/1',
  id: '20261203T141642.500Z-r1250',
  kind: 'delta',
  createdAt: '2026-12-03T14:16:42.500Z',
  revision: 1250,
  size: 812,
  sha256: 'b'.repeat(64),
  data: '20261203T141642.500Z-r1250.delta.ndjson',
  clusterId: '15118495548433857066',
  memberId: '13668033151171901709',
  endpoint: 'http://127.0.0.1:2379',
  etcdVersion: '3.4.23',
  baseId: '20261203T141632.123Z-r1234',
  fromRevision: 1240,
  toRevision: 1250,
  events: 14,
})
const badDelta = (patch: Record<string, unknown>, re: RegExp) =>
  assert.throws(
    () => validateManifest({...delta(), ...patch}, 'd.json'),
    (err: unknown) => err instanceof BackupError && err.code === 'BAD_MANIFEST' && re.test(err.message),
    JSON.stringify(patch),
  )

describe('delta manifest', () => {
  it('a valid delta manifest round-trips; its data object is <id>.delta.ndjson', () => {
    assert.deepEqual(validateManifest(JSON.parse(JSON.stringify(delta())), 'd.json'), delta())
    assert.equal(deltaDataName('X'), 'X.delta.ndjson')
  })
  it('refuses each bad delta field, naming it', () => {
    badDelta({kind: 'incremental'}, /unknown kind "incremental"/)
    badDelta({baseId: undefined}, /'baseId' must be a non-empty string/)
    badDelta({baseId: 'latest'}, /'baseId' "latest" is not a backup id/)
    badDelta({fromRevision: 1250}, /'fromRevision' 1250 must be below 'toRevision' 1250/)
    badDelta({fromRevision: 1233}, /'fromRevision' 1233 is below its base .*'s revision/)
    badDelta({toRevision: 1251}, /'toRevision' 1251 differs from 'revision' 1250/)
    badDelta({events: 0}, /'events' must be >= 1/)
    badDelta({events: '3'}, /'events' must be a non-negative integer/)
    badDelta({data: '20261203T141642.500Z-r1250.snapshot.db'}, /'data' .* \(expected 20261203T141642\.500Z-r1250\.delta\.ndjson\)/)
    badDelta({size: 0}, /'size' must be > 0/)
  })
})

describe('delta data format', () => {
  it('encodes one line per revision and decodes it back', () => {
    const g = {
      revision: 7,
      events: [
        {type: 'put' as const, key: 'YQ==', value: '', lease: '42'},
        {type: 'delete' as const, key: 'Yg=='},
      ],
    }
    const line = encodeGroup(g)
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'))
    assert.deepEqual(decodeGroup(line.slice(0, -1), 'delta D line 1'), g)
  })
  it('refuses a malformed line with CORRUPT naming where', () => {
    const bad = (line: string, re: RegExp) =>
      assert.throws(
        () => decodeGroup(line, 'delta D line 3'),
        (e: unknown) => e instanceof BackupError && e.code === 'CORRUPT' && /^delta D line 3: /.test(e.message) && re.test(e.message),
        line,
      )
    bad('{"revision":1,', /not JSON/)
    bad('{"revision":0,"events":[{"type":"delete","key":"YQ=="}]}', /'revision' must be a positive integer/)
    bad('{"revision":1,"events":[]}', /'events' must be a non-empty array/)
    bad('{"revision":1,"events":[{"type":"txn","key":"YQ=="}]}', /event 0: 'type'/)
    bad('{"revision":1,"events":[{"type":"put","key":"!!"}]}', /event 0: 'key'/)
    bad('{"revision":1,"events":[{"type":"put","key":"YQ=="}]}', /event 0: a put's 'value'/)
  })
  it('groups the gateway watch events by mod_revision (a put has no type; a delete no value)', () => {
    const events = [
      {kv: {key: 'YQ==', create_revision: '2', mod_revision: '2', version: '1', value: 'MQ=='}},
      {type: 'DELETE', kv: {key: 'YQ==', mod_revision: '4'}},
      {kv: {key: 'eA==', create_revision: '5', mod_revision: '5', version: '1', value: 'MQ==', lease: '7587'}},
      {kv: {key: 'eQ==', create_revision: '5', mod_revision: '5', version: '1'}},
      {type: 'DELETE', kv: {key: 'Yg==', mod_revision: '5'}},
    ]
    assert.deepEqual(groupWatchEvents(events), [
      {revision: 2, events: [{type: 'put', key: 'YQ==', value: 'MQ=='}]},
      {revision: 4, events: [{type: 'delete', key: 'YQ=='}]},
      {
        revision: 5,
        events: [
          {type: 'put', key: 'eA==', value: 'MQ==', lease: '7587'},
          {type: 'put', key: 'eQ==', value: ''},
          {type: 'delete', key: 'Yg=='},
        ],
      },
    ])
    assert.throws(() => groupWatchEvents([{kv: {key: 'YQ=='}}]), /mod_revision/)
    assert.throws(() => groupWatchEvents([{kv: {key: 'YQ==', mod_revision: '5'}}, {kv: {key: 'YQ==', mod_revision: '4'}}]), /out of order/)
  })
})

describe('retention with deltas', () => {
  const H = 3600_000
  const NOW = Date.UTC(2026, 11, 3, 12)
  const full = (h: number) => ({id: `f${h}`, createdAt: new Date(NOW - h * H).toISOString(), kind: 'full' as const})
  const d = (h: number, base: number) => ({
    id: `d${h}`,
    createdAt: new Date(NOW - h * H).toISOString(),
    kind: 'delta' as const,
    baseId: `f${base}`,
  })
  it('counts full backups only; an expired full backup takes its deltas, listed before it', () => {
    const items = [full(1), d(0.5, 1), d(0.2, 1), full(3), d(2.5, 3), d(2, 3), full(5), d(4, 5)]
    assert.deepEqual(expiredBackups(items, {keepCount: 2}, NOW), ['d4', 'f5'])
    assert.deepEqual(expiredBackups(items, {keepCount: 1}, NOW), ['d2', 'd2.5', 'f3', 'd4', 'f5'])
  })
  it('by age: deltas follow their base, the newest full backup and its deltas stay', () => {
    const items = [full(100), d(1, 100), d(50, 100), full(200), d(150, 200)]
    assert.deepEqual(expiredBackups(items, {maxAgeMs: 24 * H}, NOW), ['d150', 'f200'])
  })
  it('a delta whose base is gone is expired', () => {
    assert.deepEqual(expiredBackups([full(1), d(0.5, 9)], {}, NOW), ['d0.5'])
  })
})
