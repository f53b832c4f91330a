/** The event-log drafts of the core's steps (core/step-events.ts), from scenarios of the simulated world: a bootstrap,
 *  a failed member replaced, a livelock re-seeded, a lost master; steady steps add nothing. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {EventDraft} from '../../src/scheduler/core/event-log.js'
import {eventsOfStep} from '../../src/scheduler/core/step-events.js'
import {liveTasks} from '../../src/scheduler/core/state.js'
import {World} from '../helpers/sim/sim.js'
import {CORE_CFG as CFG, healthyCluster, RESTORE_RUNNING} from '../helpers/core-world.js'
import type {RestoreProgress, SchedulerState} from '../../src/scheduler/core/state.js'
import type {RolloutProgress} from '../../src/scheduler/core/rollout-spec.js'

function recording(w: World): EventDraft[] {
  const out: EventDraft[] = []
  w.onStep = (prev, ev, next) => out.push(...eventsOfStep(prev, ev, next))
  return out
}
const ofKind = (d: EventDraft[], kind: string): EventDraft[] => d.filter((e) => e.kind === kind)

describe('events of the core steps', () => {
  it('a bootstrap: subscribed, three launches, tasks running, members, healthy; steady checks add nothing', () => {
    const w = new World(CFG, 3)
    const ev = recording(w)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    assert.equal(ev[0]?.message, 'no stored scheduler state: a new framework and cluster')
    assert.match(ofKind(ev, 'master')[0]?.message ?? '', /subscribed to the Mesos master/)
    const launches = ofKind(ev, 'launch')
    assert.equal(launches.length, 3)
    for (const l of launches) {
      assert.match(l.member ?? '', /^etcd-\d+$/)
      assert.match(l.message, /bootstrapping the cluster/)
    }
    const running = ofKind(ev, 'task').filter((e) => /→ TASK_RUNNING/.test(e.message))
    assert.equal(running.length, 3)
    assert.ok(running.every((e) => e.member !== undefined))
    const health = ofKind(ev, 'health')
    assert.match(health[health.length - 1]?.message ?? '', /^cluster healthy: leader /)
    const n = ev.length
    w.advance(60_000, {offers: false})
    assert.deepEqual(ev.slice(n), [], 'steady health checks and timers are not events')
  })

  it('a failed member: its task, the unhealthy member, its removal, the replacement launched and added', () => {
    const w = new World(CFG, 4)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    const ev = recording(w)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.failTask(victim.taskId)
    w.advance(15_000)
    const failed = ofKind(ev, 'task').find((e) => e.member === victim.memberName)
    assert.match(failed?.message ?? '', /TASK_RUNNING → TASK_FAILED: REASON_EXECUTOR_TERMINATED/)
    const removed = ofKind(ev, 'member').find((e) => /removed/.test(e.message))
    assert.equal(removed?.member, victim.memberName)
    const launch = ofKind(ev, 'launch')
    assert.equal(launch.length, 1)
    assert.match(launch[0]!.message, /joining the running cluster/)
    const added = ofKind(ev, 'member').find((e) => /added/.test(e.message))
    assert.equal(added?.member, launch[0]!.member, 'the member added is the one launched')
    const order = ev.map((e) => e.kind)
    assert.ok(order.indexOf('task') < order.indexOf('member'), 'the failure comes before the repair')
  })

  it('a livelock: unhealthy, quorum lost, livelock, an automatic re-seed with its phases and outcome', () => {
    const w = new World(CFG, 5)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    const ev = recording(w)
    w.loseAgents(['S2', 'S3'])
    w.advance(200_000)
    assert.ok(ofKind(ev, 'health').some((e) => /^cluster unhealthy: /.test(e.message)))
    assert.ok(ofKind(ev, 'health').some((e) => /stopped answering/.test(e.message) && e.member !== undefined))
    assert.ok(ofKind(ev, 'health').some((e) => /→ QUORUM_LOST/.test(e.message)))
    assert.match(ofKind(ev, 'livelock')[0]?.message ?? '', /^livelock: no quorum evident since \d{4}-.*automatic re-seed follows/)
    const reseed = ofKind(ev, 'reseed').map((e) => e.message)
    assert.match(reseed[0] ?? '', /^automatic re-seed [\w-]+ started \(seeding\)/)
    assert.ok(
      reseed.some((m) => /: done$/.test(m)),
      "the executor's report",
    )
    assert.ok(
      reseed.some((m) => /succeeded/.test(m)),
      reseed.join('\n'),
    )
    assert.ok(ofKind(ev, 'livelock').some((e) => /livelock over/.test(e.message)))
  })

  it("a task's reason without the etcd log lines an executor appends", () => {
    const w = new World(CFG, 4)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    const ev = recording(w)
    const victim = liveTasks(w.state)[0]!
    w.stopProcess(victim.taskId)
    w.update(victim.taskId, 'TASK_FAILED', {source: 'SOURCE_EXECUTOR', message: 'etcd killed by SIGKILL; last log lines: raft INFO …'})
    const failed = ofKind(ev, 'task').find((e) => e.member === victim.memberName)
    assert.match(failed?.message ?? '', /TASK_FAILED: etcd killed by SIGKILL$/)
  })

  it('a restarted scheduler: the stored tasks are one line, not launches', () => {
    const w = new World(CFG, 3)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    const ev = recording(w)
    w.restart()
    assert.equal(ofKind(ev, 'launch').length, 0)
    assert.match(ev[0]?.message ?? '', /^stored scheduler state loaded: framework fw-1, 3 task record\(s\)$/)
  })

  it('a lost master: disconnected with the reason, then subscribed again', () => {
    const w = new World(CFG, 3)
    w.start()
    w.offerAll()
    w.advance(6_000, {offers: false})
    const ev = recording(w)
    w.feed({type: 'Disconnected', reason: 'heartbeats missed'})
    w.advance(10_000)
    const master = ofKind(ev, 'master').map((e) => e.message)
    assert.equal(master[0], 'disconnected from the Mesos master: heartbeats missed')
    assert.match(master[1] ?? '', /^subscribed to the Mesos master \(framework fw-1\)$/)
    assert.equal(master.length, 2)
  })

  describe('transitions made by hand (pure: prev, event, next)', () => {
    const base = (): SchedulerState => healthyCluster(CFG, 3).state
    const tick = {type: 'Tick'} as const
    const rollout = (over: Partial<RolloutProgress>): RolloutProgress =>
      ({
        op: 'rollout-1',
        reason: 'manual',
        state: 'running',
        step: 'next',
        target: {} as RolloutProgress['target'],
        members: ['etcd-1', 'etcd-2', 'etcd-3'],
        done: [],
        current: null,
        versions: {},
        clusterVersion: null,
        backedUp: true,
        requestedAt: null,
        startedAt: 0,
        updatedAt: 0,
        message: 'rolling 3 members',
        ...over,
      }) as RolloutProgress

    it('a rollout: started, a member rolled, paused', () => {
      const a = base()
      const b = structuredClone(a)
      b.rollout = rollout({})
      assert.deepEqual(eventsOfStep(a, tick, b), [{kind: 'rollout', message: 'rollout rollout-1 (manual) running: rolling 3 members'}])
      const c = structuredClone(b)
      c.rollout = rollout({done: ['etcd-2'], current: {member: 'etcd-1', taskId: 't', step: 'killing', since: 0}})
      assert.deepEqual(eventsOfStep(b, tick, c), [
        {kind: 'rollout', member: 'etcd-2', message: 'rollout rollout-1: etcd-2 rolled (1/3)'},
        {kind: 'rollout', member: 'etcd-1', message: 'rollout rollout-1: etcd-1 killing'},
      ])
      const d = structuredClone(c)
      d.rollout = rollout({done: ['etcd-2'], state: 'paused', message: 'paused by the operator'})
      assert.deepEqual(eventsOfStep(c, tick, d), [{kind: 'rollout', message: 'rollout rollout-1 running → paused: paused by the operator'}])
    })

    it('a restore: started, a phase with its plan', () => {
      const a = base()
      const b = structuredClone(a)
      b.restore = structuredClone(RESTORE_RUNNING) as unknown as RestoreProgress
      assert.deepEqual(eventsOfStep(a, tick, b), [{kind: 'restore', message: 'restore r started (manual, from latest)'}])
      const c = structuredClone(b)
      c.restore!.phase = 'killing'
      c.restore!.plan = {fullId: 'full-1', deltaIds: ['d-1', 'd-2'], toRevision: 42, dataUntil: '2026-01-01T00:00:00Z'}
      assert.deepEqual(eventsOfStep(b, tick, c), [
        {kind: 'restore', message: 'restore r: resolving → killing (full backup full-1 + 2 delta(s), to revision 42)'},
      ])
    })

    it('a defragmentation and a NOSPACE recovery', () => {
      const a = base()
      const m = a.membership!.members[0]!
      const b = structuredClone(a)
      b.stats.defrags++
      assert.deepEqual(eventsOfStep(a, {type: 'Defragmented', clientUrl: 'http://x:1', memberId: m.id}, b), [
        {kind: 'defrag', member: m.name, message: `etcd member ${m.id} defragmented`},
      ])
      const c = structuredClone(a)
      c.maintenance.nospace = {
        startedAt: 0,
        step: 'compact',
        revision: null,
        defragQueue: [],
        disarmQueue: [],
        steps: [],
        defragged: 0,
        failures: 0,
        dbSizeBefore: null,
        verifyAfterSeq: null,
      }
      assert.deepEqual(eventsOfStep(a, tick, c), [{kind: 'nospace', message: 'NOSPACE alarm raised: recovery started (compact)'}])
      const d = structuredClone(c)
      d.maintenance.nospace = null
      d.maintenance.lastNospace = {startedAt: 0, endedAt: 5, outcome: 'recovered', message: 'writes accepted again', steps: []}
      assert.deepEqual(eventsOfStep(c, tick, d), [{kind: 'nospace', message: 'NOSPACE recovery recovered: writes accepted again'}])
    })

    it('leadership lost: stepping down, once', () => {
      const a = base()
      const b = structuredClone(a)
      assert.deepEqual(eventsOfStep(a, {type: 'LeadershipLost', leader: 'http://other:23400/'}, b), [
        {kind: 'leadership', message: 'another scheduler leads this cluster (http://other:23400/): stepping down'},
      ])
      b.phase = 'STOPPED'
      assert.deepEqual(eventsOfStep(b, {type: 'LeadershipLost', leader: 'http://other:23400/'}, structuredClone(b)), [])
    })
  })
})
