/**
 * MemberConfig.restore (issue 15) and etcdctlBin: what validateMemberConfig accepts, what it refuses and how it says so,
 * and the TaskInfo.data round trip. S3 secrets never appear in an error message.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  encodeMemberConfig,
  MemberConfigError,
  parseMemberConfig,
  validateMemberConfig,
  type MemberConfig,
  type MemberRestore,
} from '../../src/lib/member-config.js'

const FULL = '20261203T141632.123Z-r1234'
const DELTA = '20261203T141700.000Z-r1300'

const BASE: MemberConfig = {
  version: 1,
  cluster: {name: 'c1', token: 'tok-new'},
  member: {name: 'm0', host: '127.0.0.1', peerPort: 2380, clientPort: 2379},
  initialCluster: [{name: 'm0', peerUrl: 'http://127.0.0.1:2380'}],
  initialClusterState: 'new',
}

const RESTORE: MemberRestore = {op: 'restore-1', target: 'file:///backups/c1', fullId: FULL, deltaIds: [], toRevision: null}

function withRestore(r: unknown, extra: Record<string, unknown> = {}): unknown {
  return {...BASE, restore: r, ...extra}
}

function refused(raw: unknown, re: RegExp): void {
  assert.throws(
    () => validateMemberConfig(raw),
    (err: unknown) => {
      assert.ok(err instanceof MemberConfigError, `MemberConfigError expected, got ${String(err)}`)
      assert.match(err.message, re)
      return true
    },
  )
}

describe('MemberConfig.restore validation', () => {
  it('accepts a file:// restore without deltas and round-trips it through TaskInfo.data', () => {
    const cfg = validateMemberConfig(withRestore(RESTORE))
    assert.deepEqual(cfg.restore, RESTORE)
    assert.deepEqual(parseMemberConfig(encodeMemberConfig(cfg)), cfg)
  })

  it('accepts an s3:// restore with deltas, toRevision and S3 options; round trip keeps every field', () => {
    const r: MemberRestore = {
      op: 'op-42',
      target: 's3://my-bucket/etcd/c1',
      s3: {
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-west-1',
        forcePathStyle: true,
        accessKeyId: 'AKIA',
        secretAccessKey: 'sekrit',
        sessionToken: 'sess',
        credentialsFile: '/etc/creds',
        profile: 'p',
        caFile: '/etc/ca.pem',
      },
      fullId: FULL,
      deltaIds: [DELTA, '20261203T141800.000Z-r1400'],
      toRevision: 1350,
    }
    const cfg = validateMemberConfig(withRestore(r))
    assert.deepEqual(cfg.restore, r)
    assert.deepEqual(parseMemberConfig(encodeMemberConfig(cfg)), cfg)
    assert.equal(validateMemberConfig(withRestore({...r, toRevision: 0})).restore?.toRevision, 0)
  })

  it('a config without restore has none', () => {
    assert.equal(validateMemberConfig(BASE).restore, undefined)
    assert.equal('restore' in validateMemberConfig(BASE), false)
  })

  it('refuses a restore that is not an object', () => {
    refused(withRestore('yes'), /restore must be an object/)
    refused(withRestore([]), /restore must be an object/)
    refused(withRestore(null), /restore must be an object/)
  })

  it('refuses a missing or bad op', () => {
    refused(withRestore({...RESTORE, op: ''}), /restore\.op must be a non-empty string/)
    refused(withRestore({...RESTORE, op: 'x'.repeat(129)}), /restore\.op .*128/)
    refused(withRestore({...RESTORE, op: 'a\nb'}), /restore\.op .*control characters/)
  })

  it('refuses a target that is not a backup target URL, naming the problem', () => {
    refused(withRestore({...RESTORE, target: '/backups'}), /restore\.target: .*a path, not a URL: write file:\/\/\/backups/)
    refused(withRestore({...RESTORE, target: 'http://x/y'}), /restore\.target: .*unsupported scheme 'http:'/)
    refused(withRestore({...RESTORE, target: 's3://u:p@bucket/x'}), /restore\.target: .*credentials do not belong in the URL/)
    refused(withRestore({...RESTORE, target: 42}), /restore\.target must be a non-empty string/)
  })

  it('refuses backup ids that are not ids', () => {
    refused(withRestore({...RESTORE, fullId: '../etc/passwd'}), /restore\.fullId "\.\.\/etc\/passwd" is not a backup id/)
    refused(withRestore({...RESTORE, fullId: 'latest'}), /restore\.fullId "latest" is not a backup id/)
    refused(withRestore({...RESTORE, fullId: undefined}), /restore\.fullId must be a non-empty string/)
    refused(withRestore({...RESTORE, deltaIds: 'x'}), /restore\.deltaIds must be an array of backup ids/)
    refused(withRestore({...RESTORE, deltaIds: undefined}), /restore\.deltaIds must be an array of backup ids/)
    refused(withRestore({...RESTORE, deltaIds: [DELTA, 'a/b']}), /restore\.deltaIds\[1\] "a\/b" is not a backup id/)
    refused(withRestore({...RESTORE, deltaIds: [DELTA, DELTA]}), /restore\.deltaIds lists .* twice/)
    refused(withRestore({...RESTORE, deltaIds: [FULL]}), /restore\.deltaIds lists the full backup/)
  })

  it('refuses a toRevision that is not null or a non-negative integer', () => {
    for (const bad of [-1, 1.5, '12', Number.NaN, 2 ** 60, undefined]) {
      refused(withRestore({...RESTORE, toRevision: bad}), /restore\.toRevision must be null or a non-negative integer/)
    }
  })

  it('refuses a badly shaped s3 object, never echoing a secret', () => {
    refused(withRestore({...RESTORE, s3: 'k'}), /restore\.s3 must be an object/)
    refused(withRestore({...RESTORE, s3: {forcePathStyle: 'yes'}}), /restore\.s3\.forcePathStyle must be a boolean/)
    refused(withRestore({...RESTORE, s3: {region: ''}}), /restore\.s3\.region must be a non-empty string/)
    refused(withRestore({...RESTORE, s3: {bucketKey: 'x'}}), /restore\.s3 has an unknown field "bucketKey"/)
    const secret = 'VERY-SECRET-VALUE'
    for (const s3 of [{secretAccessKey: 7}, {secretAccessKey: secret, accessKeyId: 3}, {secretAccessKey: secret, endpoint: ''}]) {
      assert.throws(
        () => validateMemberConfig(withRestore({...RESTORE, s3})),
        (err: unknown) => err instanceof MemberConfigError && !err.message.includes(secret) && /restore\.s3\./.test(err.message),
      )
    }
  })

  it('a relaunch may carry the restore it was first launched with (initialClusterState existing, requireData)', () => {
    const cfg = validateMemberConfig(withRestore(RESTORE, {initialClusterState: 'existing', requireData: true}))
    assert.deepEqual(cfg.restore, RESTORE)
  })

  it('etcdctlBin: optional non-empty string, round-tripped', () => {
    const cfg = validateMemberConfig({...BASE, etcdctlBin: '/opt/etcd/etcdctl'})
    assert.equal(cfg.etcdctlBin, '/opt/etcd/etcdctl')
    assert.deepEqual(parseMemberConfig(encodeMemberConfig(cfg)), cfg)
    refused({...BASE, etcdctlBin: ''}, /config\.etcdctlBin must be a non-empty string/)
    refused({...BASE, etcdctlBin: 3}, /config\.etcdctlBin must be a non-empty string/)
  })
})
