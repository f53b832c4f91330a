/**
 * Table tests of core/quorum.ts: quorumOf, the livelock timer, quorum evidence in a probe round and
 * structural loss (fewer live-backed voters than a quorum).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {MemberProbe} from '../../src/lib/etcd/probe.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {initialState} from '../../src/scheduler/core/persist.js'
import {livelockStep, quorumEvidentIn, quorumOf, quorumStructurallyLost, type LivelockTimer} from '../../src/scheduler/core/quorum.js'
import type {EtcdMember, SchedulerState, TaskRecord} from '../../src/scheduler/core/state.js'

const CFG = {clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './etcd-mesos-executor'}}

describe('quorumOf', () => {
  for (const [n, q] of [
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ] as const) {
    it(`${n} voters → quorum ${q}`, () => assert.equal(quorumOf(n), q))
  }
})

describe('livelockStep', () => {
  const T = 60_000
  const timer = (t: Partial<LivelockTimer> = {}): LivelockTimer => ({
    lostQuorumSince: null,
    livelocked: false,
    lastReseedFailedAt: null,
    ...t,
  })
  const rows: {
    name: string
    before: LivelockTimer
    evident: boolean
    running: boolean
    now: number
    after: LivelockTimer
    change: string | null
  }[] = [
    {name: 'evident, nothing lost: nothing changes', before: timer(), evident: true, running: true, now: 5, after: timer(), change: null},
    {
      name: 'first verdict without evidence starts the timer',
      before: timer(),
      evident: false,
      running: true,
      now: 5,
      after: timer({lostQuorumSince: 5}),
      change: null,
    },
    {
      name: 'no running member: the timer does not start',
      before: timer(),
      evident: false,
      running: false,
      now: 5,
      after: timer(),
      change: null,
    },
    {
      name: 'no running member: a started timer is kept',
      before: timer({lostQuorumSince: 1}),
      evident: false,
      running: false,
      now: T + 5,
      after: timer({lostQuorumSince: 1}),
      change: null,
    },
    {
      name: 'just short of the timeout: not livelocked',
      before: timer({lostQuorumSince: 0}),
      evident: false,
      running: true,
      now: T - 1,
      after: timer({lostQuorumSince: 0}),
      change: null,
    },
    {
      name: 'at the timeout: livelocked',
      before: timer({lostQuorumSince: 0}),
      evident: false,
      running: true,
      now: T,
      after: timer({lostQuorumSince: 0, livelocked: true}),
      change: 'livelocked',
    },
    {
      name: 'already livelocked: counted once',
      before: timer({lostQuorumSince: 0, livelocked: true}),
      evident: false,
      running: true,
      now: 3 * T,
      after: timer({lostQuorumSince: 0, livelocked: true}),
      change: null,
    },
    {
      name: 'evidence ends a livelock and forgets a failed re-seed',
      before: timer({lostQuorumSince: 0, livelocked: true, lastReseedFailedAt: 7}),
      evident: true,
      running: true,
      now: T,
      after: timer(),
      change: 'back',
    },
    {
      name: 'evidence before the timeout resets it quietly',
      before: timer({lostQuorumSince: 0}),
      evident: true,
      running: true,
      now: 10,
      after: timer(),
      change: null,
    },
  ]
  for (const r of rows) {
    it(r.name, () => {
      const t = structuredClone(r.before)
      assert.equal(livelockStep(t, r.evident, r.running, r.now, T), r.change)
      assert.deepEqual(t, r.after)
    })
  }
})

describe('quorumEvidentIn', () => {
  const probe = (i: number, leader: string, readOk: boolean, reachable = true): MemberProbe =>
    ({
      clientUrl: `http://h${i}:2379`,
      reachable,
      readOk,
      tookMs: 1,
      ...(reachable ? {status: {memberId: `m${i}`, leader, raftIndex: 10, raftTerm: 2, revision: 5, isLearner: false, dbSize: 1}} : {}),
    }) as MemberProbe
  const s = initialState(resolveConfig(CFG), 1) // no member list, no running task: verdict size = 1
  const three = (st: SchedulerState): SchedulerState => ({...st, membership: {members: members(3), observedAt: 0, gen: 0}})
  const rows: [string, SchedulerState, MemberProbe[], boolean][] = [
    ['2 of 3 agree on a leader', three(s), [probe(1, 'm1', false), probe(2, 'm1', false), probe(3, '0', false, false)], true],
    ['1 of 3 reports a leader, no read', three(s), [probe(1, 'm1', false), probe(2, '0', false), probe(3, '0', false, false)], false],
    ['only one member seen, but a read through it succeeded', three(s), [probe(1, 'm1', true)], true],
    ['nobody answers', three(s), [probe(1, '', false, false), probe(2, '', false, false)], false],
  ]
  for (const [name, st, probes, evident] of rows) it(name, () => assert.equal(quorumEvidentIn(st, probes).evident, evident))
})

function members(n: number, learners = 0): EtcdMember[] {
  return Array.from({length: n + learners}, (_, i) => ({
    id: `m${i + 1}`,
    name: `etcd-${i + 1}`,
    peerUrls: [`http://h${i + 1}:2380`],
    clientUrls: [`http://h${i + 1}:2379`],
    isLearner: i >= n,
  }))
}

function task(i: number, state: TaskRecord['state'], extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    taskId: `etcd-${i}.t${i}`,
    memberName: `etcd-${i}`,
    agentId: `S${i}`,
    hostname: `h${i}`,
    peerPort: 2380,
    clientPort: 2379,
    state,
    initialClusterState: 'new',
    launchedAt: 0,
    lastUpdateAt: 0,
    ...extra,
  }
}

describe('quorumStructurallyLost', () => {
  const base = initialState(resolveConfig(CFG), 1)
  const state = (tasks: TaskRecord[], ms: EtcdMember[] | null): SchedulerState => ({
    ...base,
    tasks: Object.fromEntries(tasks.map((t) => [t.taskId, t])),
    membership: ms ? {members: ms, observedAt: 0, gen: 0} : null,
  })
  const R = 'TASK_RUNNING'
  const F = 'TASK_FAILED'
  const rows: [string, TaskRecord[], EtcdMember[] | null, boolean][] = [
    ['3 voters, 3 live', [task(1, R), task(2, R), task(3, R)], members(3), false],
    ['3 voters, 2 live: a quorum is backed', [task(1, R), task(2, R), task(3, F)], members(3), false],
    ['3 voters, 1 live: lost', [task(1, R), task(2, F), task(3, F)], members(3), true],
    [
      '3 voters, 1 live + 1 lost whose etcd answers: backed',
      [task(1, R), task(2, 'TASK_LOST', {lostAt: 1, answering: true}), task(3, F)],
      members(3),
      false,
    ],
    ['5 voters, 2 live: lost', [task(1, R), task(2, R), task(3, F), task(4, F), task(5, F)], members(5), true],
    ['5 voters, 3 live', [task(1, R), task(2, R), task(3, R), task(4, F), task(5, F)], members(5), false],
    ['learners do not count: 1 voter live of 1', [task(1, R), task(2, F)], members(1, 1), false],
    ['a voter without any task is not backed', [task(1, R)], members(3), true],
    ['member list unknown: by member names, 2 of 3 alive', [task(1, R), task(2, R), task(3, F)], null, false],
    ['member list unknown: 1 of 3 alive', [task(1, R), task(2, F), task(3, F)], null, true],
    [
      'member list unknown: decommissioned tasks are not counted',
      [task(1, R), task(2, F, {decommission: true}), task(3, F, {decommission: true})],
      null,
      false,
    ],
    ['nothing known', [], null, false],
  ]
  for (const [name, tasks, ms, lost] of rows) it(name, () => assert.equal(quorumStructurallyLost(state(tasks, ms)), lost))
})
