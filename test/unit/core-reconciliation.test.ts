/** Scheduler core and the master: restart, reconciliation, disconnection, framework errors. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {EXIT_FATAL, EXIT_FRAMEWORK_REMOVED} from '../../src/scheduler/core/actions.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {initialState} from '../../src/scheduler/core/persist.js'
import {step} from '../../src/scheduler/core/step.js'
import {liveTasks, modeOf, runningTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG, runningCluster} from '../helpers/core-world.js'

const CFG = {...CORE_CFG, reconcileBackoffMinMs: 1_000, reconcileBackoffMaxMs: 8_000}

describe('restart and reconciliation', () => {
  it('stays immutable until every persisted task is accounted for, retrying explicit reconciliation with backoff', () => {
    const w = runningCluster(CFG, 5)
    const [silent, other] = liveTasks(w.state)
    w.reconcileSilent.add(silent!.taskId)
    const mark = w.actions.length
    w.restart()
    assert.equal(modeOf(w.state), 'RECONCILING')
    assert.deepEqual(w.state.reconcile?.awaiting, [silent!.taskId])
    // a failure and fresh offers while reconciling change nothing
    w.failTask(other!.taskId)
    w.offerAll()
    w.advance(14_000)
    const acts = w.actions.slice(mark)
    for (const t of ['ACCEPT', 'KILL', 'MEMBER_ADD', 'MEMBER_REMOVE', 'MEMBER_PROMOTE', 'MESSAGE'] as const) {
      assert.equal(acts.filter((a) => a.type === t).length, 0, `no ${t} while reconciling`)
    }
    assert.ok(acts.some((a) => a.type === 'DECLINE'))
    assert.ok(w.actionsOf('HEALTH_CHECK', mark).length > 0, 'health is still observed')
    const timers = w
      .actionsOf('SET_TIMER', mark)
      .filter((a) => a.name === 'reconcile')
      .map((a) => a.atMs)
    const gaps = timers.slice(1).map((t, i) => t - timers[i]!)
    assert.deepEqual(gaps.slice(0, 3), [2_000, 4_000, 8_000], 'doubling backoff')
    const explicit = w.actionsOf('RECONCILE', mark).filter((r) => r.tasks.length > 0)
    assert.ok(explicit.length >= 4)
    assert.deepEqual(
      explicit.at(-1)!.tasks.map((t) => t.taskId),
      [silent!.taskId],
      'only the unaccounted task is asked again',
    )
    assert.ok(w.actionsOf('LOG', mark).some((l) => l.level === 'warn' && /not yet accounted/.test(l.msg)))
    w.reconcileSilent.clear()
    w.advance(9_000)
    assert.equal(modeOf(w.state), 'MUTABLE')
    w.advance(20_000)
    assert.ok(w.actionsOf('MEMBER_REMOVE', mark).length >= 1, 'the failure is handled once mutable')
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.state.stats.launched_servers, 4, 'stats survived the restart; no duplicate launch')
  })

  it('kills an unknown task reported by reconciliation only once mutable', () => {
    const w = runningCluster(CFG, 4)
    const mark = w.actions.length
    w.restart()
    w.respond = false
    w.feed({type: 'Subscribed', frameworkId: 'fw-1'})
    const stray = {
      task_id: {value: 'etcd-77.deadbeef'},
      agent_id: {value: 'S9'},
      state: 'TASK_RUNNING' as const,
      source: 'SOURCE_MASTER' as const,
    }
    w.feed({type: 'Update', status: stray})
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    for (const t of liveTasks(w.state))
      w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING'}})
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.deepEqual(
      w.actionsOf('KILL', mark).map((k) => [k.taskId, k.agentId]),
      [['etcd-77.deadbeef', 'S9']],
    )
  })

  it('Disconnected → immutable and re-subscribe; reconciles again before acting', () => {
    const w = runningCluster(CFG, 4)
    const mark = w.actions.length
    w.respond = false
    const acts = w.feed({type: 'Disconnected', reason: 'stream closed'})
    assert.equal(modeOf(w.state), 'DISCONNECTED')
    assert.ok(acts.some((a) => a.type === 'SUBSCRIBE' && a.frameworkId === 'fw-1'))
    const t = liveTasks(w.state)[0]!
    w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_FAILED', uuid: w.uuid()}})
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0)
    w.feed({type: 'Subscribed', frameworkId: 'fw-1'})
    assert.equal(modeOf(w.state), 'RECONCILING')
    assert.equal(w.actionsOf('RECONCILE', mark).length, 2)
  })
})

describe('framework errors', () => {
  it('"Framework has been removed": clears the framework id and tasks, persists, then FATAL', () => {
    const w = runningCluster(CFG, 4)
    w.respond = false
    const acts = w.feed({type: 'FrameworkError', message: 'Framework has been removed'})
    const p = acts.findIndex((a) => a.type === 'PERSIST')
    const f = acts.findIndex((a) => a.type === 'FATAL')
    assert.ok(p >= 0 && f > p && f === acts.length - 1)
    const doc = acts[p]
    assert.ok(doc?.type === 'PERSIST' && doc.doc.frameworkId === null && doc.doc.tasks.length === 0 && doc.doc.bootstrapped === false)
    const fatal = acts[f]
    assert.ok(fatal?.type === 'FATAL' && fatal.exitCode === EXIT_FRAMEWORK_REMOVED && /NEW framework/.test(fatal.message))
    assert.equal(modeOf(w.state), 'FRAMEWORK_REMOVED')
    assert.deepEqual(w.feed({type: 'Tick'}), [])
  })

  it('"Framework failed over": another scheduler took over → FATAL, nothing cleared', () => {
    const w = runningCluster(CFG, 4)
    w.respond = false
    const acts = w.feed({type: 'FrameworkError', message: 'Framework failed over'})
    assert.ok(acts.some((a) => a.type === 'FATAL' && a.exitCode === EXIT_FATAL))
    assert.equal(w.state.frameworkId, 'fw-1')
    assert.equal(liveTasks(w.state).length, 3)
  })

  it('another ERROR re-subscribes', () => {
    const w = runningCluster(CFG, 4)
    w.respond = false
    const acts = w.feed({type: 'FrameworkError', message: 'something odd'})
    assert.ok(acts.some((a) => a.type === 'SUBSCRIBE'))
    assert.ok(!acts.some((a) => a.type === 'FATAL'))
  })

  it('refuses a persisted document of another cluster', () => {
    const w = runningCluster(CFG, 4)
    const doc = {...w.persisted!, clusterName: 'other'}
    const s = initialState(resolveConfig(CFG), 1)
    const r = step(s, {type: 'PersistedStateLoaded', doc}, 5)
    assert.ok(r.actions.some((a) => a.type === 'FATAL' && /cluster "other"/.test(a.message)))
  })
})
