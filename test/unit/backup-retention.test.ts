/** Backup retention (src/lib/backup/retention.ts): by count, by age, both, the newest never expired by age. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {expiredBackups} from '../../src/lib/backup/retention.js'

const H = 3600_000
const NOW = Date.UTC(2026, 11, 3, 12)
/** Backups taken `hoursAgo` hours before NOW, ids b<hours>. */
const at = (...hoursAgo: number[]) => hoursAgo.map((h) => ({id: `b${h}`, createdAt: new Date(NOW - h * H).toISOString()}))

describe('backup retention', () => {
  it('no limits: nothing expires', () => {
    assert.deepEqual(expiredBackups(at(1, 2, 300), {}, NOW), [])
  })
  it('by count: the newest keepCount stay, in any input order', () => {
    assert.deepEqual(expiredBackups(at(3, 1, 5, 2, 4), {keepCount: 2}, NOW), ['b3', 'b4', 'b5'])
    assert.deepEqual(expiredBackups(at(1, 2), {keepCount: 2}, NOW), [])
    assert.deepEqual(expiredBackups(at(1, 2), {keepCount: 1}, NOW), ['b2'])
  })
  it('by age: older than maxAge expire, strictly older only', () => {
    assert.deepEqual(expiredBackups(at(1, 24, 25, 48), {maxAgeMs: 24 * H}, NOW), ['b25', 'b48'])
  })
  it('the newest backup is never expired by age', () => {
    assert.deepEqual(expiredBackups(at(100, 200), {maxAgeMs: 24 * H}, NOW), ['b200'])
    assert.deepEqual(expiredBackups(at(100), {maxAgeMs: H, keepCount: 1}, NOW), [])
  })
  it('both limits: whichever expires first', () => {
    assert.deepEqual(expiredBackups(at(1, 2, 3, 30), {keepCount: 3, maxAgeMs: 24 * H}, NOW), ['b30'])
    assert.deepEqual(expiredBackups(at(1, 2, 3, 4), {keepCount: 2, maxAgeMs: 24 * H}, NOW), ['b3', 'b4'])
  })
  it('a backup from the future (clock skew) counts as the newest, age 0; equal times keep the greater id', () => {
    assert.deepEqual(expiredBackups(at(-1, 1), {keepCount: 1}, NOW), ['b1'])
    const same = [
      {id: 'x-r1', createdAt: new Date(NOW).toISOString()},
      {id: 'x-r2', createdAt: new Date(NOW).toISOString()},
    ]
    assert.deepEqual(expiredBackups(same, {keepCount: 1}, NOW), ['x-r1'])
  })
  it('refuses a keep count below 1 and a non-positive age', () => {
    assert.throws(() => expiredBackups([], {keepCount: 0}, NOW), /keep count must be an integer >= 1/)
    assert.throws(() => expiredBackups([], {maxAgeMs: 0}, NOW), /max age must be > 0/)
  })
})
