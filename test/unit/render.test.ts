// Human output of the operator commands (src/lib/cli/render.ts): colour decision, durations, times,
// tables and the per-command summaries.
process.env.TZ = 'UTC'
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {Chalk} from 'chalk'
import {
  colourLevel,
  formatWhen,
  healthWord,
  humanDuration,
  renderCandidates,
  renderFailover,
  renderMembers,
  renderReseedOutcome,
  renderStats,
  renderTable,
} from '../../src/lib/cli/render.js'
import {defaultState, sampleMember} from '../helpers/fake-admin.js'

const plain = new Chalk({level: 0})
const colour = new Chalk({level: 1})
const NOW = Date.UTC(2024, 4, 1, 12, 10, 0)

describe('colourLevel', () => {
  const tty = {isTTY: true}
  const pipe = {isTTY: false}
  for (const [name, stream, env, want] of [
    ['no colour on a pipe', pipe, {}, 0],
    ['colour on a TTY', tty, {}, 'some'],
    ['NO_COLOR wins over a TTY', tty, {NO_COLOR: '1'}, 0],
    ['empty NO_COLOR is ignored', tty, {NO_COLOR: ''}, 'some'],
    ['NO_COLOR wins over FORCE_COLOR', pipe, {NO_COLOR: '1', FORCE_COLOR: '1'}, 0],
    ['FORCE_COLOR=1 on a pipe', pipe, {FORCE_COLOR: '1'}, 1],
    ['FORCE_COLOR=3 on a pipe', pipe, {FORCE_COLOR: '3'}, 3],
    ['FORCE_COLOR=0 on a TTY', tty, {FORCE_COLOR: '0'}, 0],
    ['FORCE_COLOR=false on a TTY', tty, {FORCE_COLOR: 'false'}, 0],
    ['TERM=dumb', tty, {TERM: 'dumb'}, 0],
  ] as const) {
    it(name, () => {
      const level = colourLevel(stream, env)
      if (want === 'some') assert.ok(level >= 1, `level ${level}`)
      else assert.equal(level, want)
    })
  }
})

describe('humanDuration', () => {
  for (const [s, want] of [
    [0, '0s'],
    [5, '5s'],
    [59.6, '1m'],
    [300, '5m'],
    [312, '5m 12s'],
    [3605, '1h'],
    [7260, '2h 1m'],
    [90_061, '1d 1h'],
    [604_800, '7d'],
    [-3, '0s'],
  ] as const) {
    it(`${s} s → ${want}`, () => assert.equal(humanDuration(s), want))
  }
})

describe('formatWhen', () => {
  it('same day: time and how long ago', () => assert.equal(formatWhen(NOW - 5 * 60_000, NOW), '12:05:00 (5m ago)'))
  it('another day: date added', () => assert.equal(formatWhen(Date.UTC(2024, 3, 29, 23, 0, 0), NOW), '2024-04-29 23:00:00 (1d 13h ago)'))
  it('null is never', () => assert.equal(formatWhen(null, NOW), 'never'))
  it('future times say "in"', () => assert.equal(formatWhen(NOW + 30_000, NOW), '12:10:30 (in 30s)'))
})

describe('renderTable', () => {
  it('aligns columns by visible width even with colour codes', () => {
    const out = renderTable(
      ['A', 'BB'],
      [
        [colour.red('xxx'), 'y'],
        ['z', colour.green('long')],
      ],
      colour,
    )
    const lines = out.split('\n').map((l) => l.replace(/\u001B\[[0-9;]*m/g, ''))
    assert.deepEqual(lines, ['A    BB', 'xxx  y', 'z    long'])
  })
})

describe('renderStats', () => {
  it('healthy: HEALTHY and healthy since', () => {
    const s = {...defaultState(NOW).stats}
    const out = renderStats(s, NOW, plain)
    assert.match(out, /^Cluster\s+e2e \(size 3\)\s+HEALTHY$/m)
    assert.match(out, /^Health\s+healthy since 12:05:00 \(5m ago\)$/m)
    assert.match(out, /^Servers\s+3 running, 4 launched, 1 failed$/m)
    assert.doesNotMatch(out, /\u001B/)
  })
  it('unhealthy and livelocked: red words, unhealthy since', () => {
    const s = {
      ...defaultState(NOW).stats,
      healthy: 0 as const,
      livelocked: true,
      unhealthy_since: NOW - 90_000,
      cluster_livelocks: 2,
      last_livelock_at: NOW - 60_000,
    }
    const out = renderStats(s, NOW, plain)
    assert.match(out, /UNHEALTHY, LIVELOCKED/)
    assert.match(out, /unhealthy since 12:08:30 \(1m 30s ago\)/)
    assert.match(out, /^Livelocks\s+2, last at 12:09:00 \(1m ago\)$/m)
    assert.equal(healthWord(s, colour), colour.red.bold('UNHEALTHY, LIVELOCKED'))
    assert.equal(healthWord({healthy: 1, livelocked: false}, colour), colour.green.bold('HEALTHY'))
  })
})

describe('renderMembers', () => {
  it('sorts by name, marks the leader, shows - for unknown raft index', () => {
    const members = [sampleMember('m2', 2, {raft_index: null}), sampleMember('m0', 0), sampleMember('m1', 1, {state: 'TASK_LOST'})]
    const lines = renderMembers(members, plain).split('\n')
    assert.match(lines[0]!, /^NAME\s+HOST\s+CLIENT URL\s+PEER URL\s+STATE\s+LEADER\s+RAFT INDEX\s+AGENT$/)
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[0]),
      ['m0', 'm1', 'm2'],
    )
    assert.match(lines[2]!, /TASK_LOST\s+★\s+1001\s+agent-1$/)
    assert.match(lines[3]!, /TASK_RUNNING\s+-\s+agent-2$/)
  })
  it('names why an unhealthy member is unhealthy (the probe error)', () => {
    const members = [
      sampleMember('m0', 0),
      sampleMember('m1', 1, {healthy: false, probe_error: 'read: linearizable read on http://127.0.0.1:3389 failed (NO_LEADER)'}),
    ]
    const out = renderMembers(members, plain)
    assert.match(out, /TASK_RUNNING, unhealthy/)
    assert.match(out, /^Unhealthy:\n {2}m1: read: linearizable read on http:\/\/127\.0\.0\.1:3389 failed \(NO_LEADER\)$/m)
    assert.doesNotMatch(renderMembers([sampleMember('m0', 0)], plain), /Unhealthy:/)
  })
  it('says so when there are none', () => assert.equal(renderMembers([], plain), 'no members'))
})

describe('renderCandidates', () => {
  it('names the seed and the reason, ranks the rest', () => {
    const out = renderCandidates({...defaultState(NOW).candidates, healthy: false}, plain)
    assert.match(out, /^The cluster is UNHEALTHY\.$/m)
    assert.match(out, /^Seed: m1 \(http:\/\/127\.0\.0\.1:3389\) — m1 has the highest raft index/m)
    assert.match(out, /^1\s+m1\s+http:\/\/127\.0\.0\.1:3389\s+1001\s+4\s+77$/m)
  })
  it('no candidate: says why', () => {
    assert.match(
      renderCandidates({healthy: false, candidates: [], reason: 'no member answered'}, plain),
      /No member can seed: no member answered/,
    )
  })
})

describe('renderFailover', () => {
  it('subscribed', () => {
    const out = renderFailover(defaultState(NOW).failover, NOW, plain)
    assert.match(out, /^Subscribed\s+yes, to master 127\.0\.0\.1:5050 since 12:08:00 \(2m ago\)$/m)
    assert.match(out, /^Failover timeout\s+7d \(604800 s\)$/m)
    assert.match(out, /^Standbys\s+sched-b on host-b/m)
  })
  it('disconnected: how much of the failover timeout is left', () => {
    const f = {
      ...defaultState(NOW).failover,
      subscribed: false,
      master: null,
      disconnected_since: NOW - 60_000,
      failover_timeout_seconds: 3600,
      failover_remaining_seconds: 3540,
      scheduler: {id: 'x', leader: null, standbys: []},
    }
    const out = renderFailover(f, NOW, plain)
    assert.match(out, /^Subscribed\s+NO, disconnected since 12:09:00 \(1m ago\)$/m)
    assert.match(out, /59m left before Mesos kills the framework's tasks/)
    assert.match(out, /^Leader\s+none$/m)
    assert.match(out, /^Standbys\s+none$/m)
  })
})

describe('renderReseedOutcome', () => {
  const base = {op: 'op-1', phase: null, seed: 'm1', steps: [], message: 'done', created_at: 0, updated_at: 0}
  it('succeeded', () => assert.equal(renderReseedOutcome({...base, status: 'succeeded'}, plain), 're-seed op-1 succeeded (seed m1): done'))
  it('failed', () =>
    assert.equal(renderReseedOutcome({...base, status: 'failed', message: 'm1 died'}, plain), 're-seed op-1 failed (seed m1): m1 died'))
  it('running', () =>
    assert.match(renderReseedOutcome({...base, status: 'running', phase: 'killing'}, plain), /still running \(phase killing\)/))
})
