/** The scheduler's backup decisions (src/scheduler/backup-policy.ts): pure, table-driven. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {MemberProbe} from '../../src/lib/etcd/probe.js'
import {
  backupFailing,
  BackupConfigError,
  chooseBackupSource,
  coveredUntil,
  nextBackupDue,
  parseBackupDuration,
  recoveryPointSeconds,
  resolveBackupSettings,
  RETRY_AFTER_FAILURE_MS,
  type BackupHistory,
} from '../../src/scheduler/backup-policy.js'

function probe(
  url: string,
  o: {id: string; leader?: string; index?: number; read?: boolean; down?: boolean; learner?: boolean},
): MemberProbe {
  if (o.down) return {clientUrl: url, reachable: false, readOk: false, error: 'status: UNREACHABLE', tookMs: 1}
  return {
    clientUrl: url,
    reachable: true,
    readOk: o.read ?? true,
    tookMs: 1,
    status: {
      endpoint: url,
      memberId: o.id,
      leader: o.leader ?? '1',
      raftIndex: o.index ?? 10,
      raftTerm: 2,
      raftAppliedIndex: o.index ?? 10,
      revision: 5,
      dbSize: 20480,
      isLearner: o.learner ?? false,
      errors: [],
      version: '3.4.23',
    },
  }
}

const flags = (o: Record<string, unknown> = {}) => ({
  'backup-target': 'file:///var/backups/etcd',
  'backup-interval': '30m',
  'backup-delta-interval': '5s',
  'backup-timeout': '10m',
  ...o,
})

describe('parseBackupDuration', () => {
  it('reads ms, s, m, h, d and 0', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['500ms', 500],
      ['90s', 90_000],
      ['30m', 1_800_000],
      ['1.5h', 5_400_000],
      ['2d', 172_800_000],
      [' 5s ', 5000],
    ]
    for (const [text, ms] of cases) assert.equal(parseBackupDuration('backup-interval', text), ms, text)
  })
  it('refuses anything else, naming the flag', () => {
    for (const bad of ['', '5', '-5s', '5 s', '5sec', 'abc', '1e3s', '400d', 'NaNs'])
      assert.throws(
        () => parseBackupDuration('backup-interval', bad),
        (e: Error) => e instanceof BackupConfigError && /--backup-interval/.test(e.message),
        bad,
      )
  })
})

describe('resolveBackupSettings', () => {
  it('no --backup-target: backups off', () => {
    assert.equal(resolveBackupSettings(flags({'backup-target': undefined})), null)
  })
  it('retention flags without a target are an error', () => {
    assert.throws(() => resolveBackupSettings(flags({'backup-target': undefined, 'backup-keep': 3})), /need --backup-target/)
  })
  it('a valid target and durations', () => {
    assert.deepEqual(resolveBackupSettings(flags({'backup-keep': 4, 'backup-max-age': '7d'})), {
      target: 'file:///var/backups/etcd',
      intervalMs: 1_800_000,
      deltaIntervalMs: 5000,
      timeoutMs: 600_000,
      keep: 4,
      maxAgeMs: 604_800_000,
    })
    assert.equal(resolveBackupSettings(flags({'backup-interval': '0', 'backup-delta-interval': '0'}))?.intervalMs, 0)
  })
  it('a bad target is the library BAD_TARGET message, under the flag name', () => {
    assert.throws(
      () => resolveBackupSettings(flags({'backup-target': '/var/backups'})),
      (e: Error) =>
        e instanceof BackupConfigError && /^--backup-target: invalid backup target .*write file:\/\/\/var\/backups/.test(e.message),
    )
    assert.throws(() => resolveBackupSettings(flags({'backup-target': 'ftp://x/y'})), /--backup-target: .*unsupported scheme/)
  })
  it('refuses too short an interval or timeout, keep < 1 and a zero max age', () => {
    assert.throws(() => resolveBackupSettings(flags({'backup-interval': '10ms'})), /--backup-interval must be 0/)
    assert.throws(() => resolveBackupSettings(flags({'backup-timeout': '0'})), /--backup-timeout must be at least 1s/)
    assert.throws(() => resolveBackupSettings(flags({'backup-delta-interval': '5ms'})), /--backup-delta-interval/)
    assert.throws(() => resolveBackupSettings(flags({'backup-keep': 0})), /--backup-keep must be an integer >= 1/)
    assert.throws(() => resolveBackupSettings(flags({'backup-max-age': '0'})), /--backup-max-age must be more than 0/)
  })
})

describe('chooseBackupSource', () => {
  it('prefers a healthy follower (the most advanced), never the leader when a follower is healthy', () => {
    const probes = [
      probe('http://a:1', {id: '1', leader: '1'}),
      probe('http://b:1', {id: '2', leader: '1', index: 9}),
      probe('http://c:1', {id: '3', leader: '1', index: 10}),
    ]
    assert.deepEqual(chooseBackupSource(probes), {clientUrl: 'http://c:1', role: 'follower', memberId: '3'})
  })
  it('skips unreachable, unreadable and learner members', () => {
    const probes = [
      probe('http://a:1', {id: '1', leader: '1'}),
      probe('http://b:1', {id: '2', down: true}),
      probe('http://c:1', {id: '3', read: false}),
      probe('http://d:1', {id: '4', learner: true}),
    ]
    assert.deepEqual(chooseBackupSource(probes), {clientUrl: 'http://a:1', role: 'leader', memberId: '1'})
  })
  it('none when no member is healthy', () => {
    assert.equal(chooseBackupSource([]), null)
    assert.equal(chooseBackupSource([probe('http://a:1', {id: '1', down: true}), probe('http://b:1', {id: '2', read: false})]), null)
  })
})

const hist = (o: Partial<BackupHistory> = {}): BackupHistory => ({
  startedAt: 1000,
  lastSuccessAt: null,
  lastFailureAt: null,
  consecutiveFailures: 0,
  ...o,
})

describe('nextBackupDue', () => {
  it('never with interval 0', () => {
    assert.equal(nextBackupDue(hist(), 0), null)
  })
  it('at once at start, then one interval after the last success started', () => {
    assert.equal(nextBackupDue(hist(), 60_000), 1000)
    assert.equal(nextBackupDue(hist({lastSuccessAt: 5000}), 60_000), 65_000)
  })
  it('after a failure: retried after min(interval, the retry delay), never later than a regular slot still ahead', () => {
    assert.equal(nextBackupDue(hist({lastFailureAt: 2000, consecutiveFailures: 1}), 3_600_000), 2000 + RETRY_AFTER_FAILURE_MS)
    assert.equal(
      nextBackupDue(hist({lastSuccessAt: 0, lastFailureAt: 100_000, consecutiveFailures: 2}), 3_600_000),
      100_000 + RETRY_AFTER_FAILURE_MS,
    )
    assert.equal(nextBackupDue(hist({lastSuccessAt: 0, lastFailureAt: 3_599_000, consecutiveFailures: 1}), 3_600_000), 3_600_000)
    assert.equal(nextBackupDue(hist({lastSuccessAt: 0, lastFailureAt: 100_000, consecutiveFailures: 1}), 5000), 105_000)
  })
  it('failures in a row after the regular slot passed are never due at once (a target gone: no busy loop of failed backups)', () => {
    for (const failures of [1, 2, 5, 50]) {
      const due = nextBackupDue(hist({lastSuccessAt: 0, lastFailureAt: 100_000, consecutiveFailures: failures}), 4000)
      assert.ok(due !== null && due > 100_000, `due ${due} after ${failures} failure(s) at 100000`)
    }
  })
})

describe('backupFailing', () => {
  const s = {intervalMs: 60_000, timeoutMs: 30_000}
  it('not failing: fresh start, one or two failures, a recent success', () => {
    assert.equal(backupFailing(hist(), s, 2000), null)
    assert.equal(backupFailing(hist({consecutiveFailures: 2, lastSuccessAt: 100_000}), s, 110_000), null)
  })
  it('failing after 3 consecutive failures', () => {
    assert.match(backupFailing(hist({consecutiveFailures: 3, lastSuccessAt: 100_000}), s, 110_000) ?? '', /3 backups in a row failed/)
  })
  it('failing when the last success (or the start) is older than 2 intervals + the timeout', () => {
    assert.equal(backupFailing(hist({lastSuccessAt: 100_000}), s, 100_000 + 150_000), null)
    assert.match(backupFailing(hist({lastSuccessAt: 100_000}), s, 100_000 + 150_001) ?? '', /no successful backup for 150 s/)
    assert.match(backupFailing(hist(), s, 1000 + 150_001) ?? '', /no successful backup/)
    assert.equal(backupFailing(hist(), {intervalMs: 0, timeoutMs: 1000}, 10 ** 9), null, 'on demand only: no age rule')
  })
})

describe('recovery point', () => {
  it('is measured from the newest full backup, or a later delta flush', () => {
    assert.equal(coveredUntil(null, 5000), null)
    assert.equal(coveredUntil(1000, null), 1000)
    assert.equal(coveredUntil(1000, 500), 1000)
    assert.equal(coveredUntil(1000, 4000), 4000)
    assert.equal(recoveryPointSeconds(null, 10_000), null)
    assert.equal(recoveryPointSeconds(4000, 10_250), 6.3)
    assert.equal(recoveryPointSeconds(4000, 3000), 0)
  })
})
