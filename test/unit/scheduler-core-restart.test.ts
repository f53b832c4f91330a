/** Scheduler core: restart, reconciliation, disconnection, framework errors, persistence, purity. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {World} from '../helpers/sim/sim.js'
import {EXIT_FATAL, EXIT_FRAMEWORK_REMOVED} from '../../src/scheduler/core/actions.js'
import {resolveConfig, SchedulerConfigError} from '../../src/scheduler/core/config.js'
import {initialState, parsePersistedDoc, PersistedDocError, serializePersistedDoc, toPersistedDoc} from '../../src/scheduler/core/persist.js'
import {step} from '../../src/scheduler/core/step.js'
import {describe as view} from '../../src/scheduler/core/view.js'
import {isValidMesosId, memberNameOfTaskId} from '../../src/scheduler/core/ids.js'
import {liveTasks, modeOf, runningTasks} from '../../src/scheduler/core/state.js'

const CFG = {
  clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './etcd-mesos-executor'},
  healthIntervalMs: 5_000, bootstrapWaitMs: 2_000, memberGraceMs: 30_000, reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000, refuseSeconds: 15, memberOpRetryMs: 3_000,
  reconcileBackoffMinMs: 1_000, reconcileBackoffMaxMs: 8_000,
}
function runningCluster(agents = 4): World {
  const w = new World(CFG, agents)
  w.start()
  w.offerAll()
  w.advance(6_000, {offers: false})
  assert.equal(runningTasks(w.state).length, 3)
  return w
}

describe('restart and reconciliation', () => {
  it('stays immutable until every persisted task is accounted for, retrying explicit reconciliation with backoff', () => {
    const w = runningCluster(5)
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
    const timers = w.actionsOf('SET_TIMER', mark).filter((a) => a.name === 'reconcile').map((a) => a.atMs)
    const gaps = timers.slice(1).map((t, i) => t - timers[i]!)
    assert.deepEqual(gaps.slice(0, 3), [2_000, 4_000, 8_000], 'doubling backoff')
    const explicit = w.actionsOf('RECONCILE', mark).filter((r) => r.tasks.length > 0)
    assert.ok(explicit.length >= 4)
    assert.deepEqual(explicit.at(-1)!.tasks.map((t) => t.taskId), [silent!.taskId], 'only the unaccounted task is asked again')
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
    const w = runningCluster()
    const mark = w.actions.length
    w.restart()
    w.respond = false
    w.feed({type: 'Subscribed', frameworkId: 'fw-1'})
    const stray = {task_id: {value: 'etcd-77.deadbeef'}, agent_id: {value: 'S9'}, state: 'TASK_RUNNING' as const, source: 'SOURCE_MASTER' as const}
    w.feed({type: 'Update', status: stray})
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    for (const t of liveTasks(w.state)) w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING'}})
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.deepEqual(w.actionsOf('KILL', mark).map((k) => [k.taskId, k.agentId]), [['etcd-77.deadbeef', 'S9']])
  })

  it('Disconnected → immutable and re-subscribe; reconciles again before acting', () => {
    const w = runningCluster()
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
    const w = runningCluster()
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
    const w = runningCluster()
    w.respond = false
    const acts = w.feed({type: 'FrameworkError', message: 'Framework failed over'})
    assert.ok(acts.some((a) => a.type === 'FATAL' && a.exitCode === EXIT_FATAL))
    assert.equal(w.state.frameworkId, 'fw-1')
    assert.equal(liveTasks(w.state).length, 3)
  })

  it('another ERROR re-subscribes', () => {
    const w = runningCluster()
    w.respond = false
    const acts = w.feed({type: 'FrameworkError', message: 'something odd'})
    assert.ok(acts.some((a) => a.type === 'SUBSCRIBE'))
    assert.ok(!acts.some((a) => a.type === 'FATAL'))
  })

  it('refuses a persisted document of another cluster', () => {
    const w = runningCluster()
    const doc = {...w.persisted!, clusterName: 'other'}
    const s = initialState(resolveConfig(CFG), 1)
    const r = step(s, {type: 'PersistedStateLoaded', doc}, 5)
    assert.ok(r.actions.some((a) => a.type === 'FATAL' && /cluster "other"/.test(a.message)))
  })
})

describe('persistence', () => {
  it('round-trips the persisted document with a version field', () => {
    const w = runningCluster()
    const doc = toPersistedDoc(w.state)
    assert.equal(doc.version, 1)
    assert.deepEqual(parsePersistedDoc(serializePersistedDoc(doc)), doc)
  })

  const bad: [string, (d: Record<string, unknown>) => unknown, RegExp][] = [
    ['not JSON', () => '{', /not JSON/],
    ['future version', (d) => ({...d, version: 2}), /unsupported version 2/],
    ['bad task port', (d) => ({...d, tasks: [{...(d.tasks as object[])[0], peerPort: 0}]}), /tasks\[0\]\.peerPort/],
    ['bad task state', (d) => ({...d, tasks: [{...(d.tasks as object[])[0], state: 'RUNNING'}]}), /tasks\[0\]\.state/],
    ['bad reseed phase', (d) => ({...d, reseed: {op: 'x', phase: 'dancing', candidates: [], current: 0, messaged: [], startedAt: 1}}), /reseed\.phase/],
    ['missing token', (d) => ({...d, clusterToken: ''}), /clusterToken/],
  ]
  for (const [name, mutate, re] of bad) {
    it(`rejects a bad document: ${name}`, () => {
      const w = runningCluster()
      const d = JSON.parse(serializePersistedDoc(toPersistedDoc(w.state))) as Record<string, unknown>
      const m = mutate(d)
      assert.throws(() => parsePersistedDoc(typeof m === 'string' ? m : JSON.stringify(m)), (e: unknown) => e instanceof PersistedDocError && re.test(e.message))
    })
  }

  it('PersistFailed: retried later, not in a tight loop; ACKs still follow a PERSIST', () => {
    const w = runningCluster()
    w.respond = false
    const acts = w.feed({type: 'PersistFailed', message: 'ZK connection loss'})
    assert.equal(acts.filter((a) => a.type === 'PERSIST').length, 0)
    const t = liveTasks(w.state)[0]!
    const up = w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING', uuid: w.uuid(), healthy: false}})
    const p = up.findIndex((a) => a.type === 'PERSIST')
    const a = up.findIndex((x) => x.type === 'ACKNOWLEDGE')
    assert.ok(p >= 0 && a > p, 'an update to ACK forces the PERSIST retry first')
  })
})

describe('purity and API', () => {
  it('step does not mutate its input and is deterministic', () => {
    const w = runningCluster()
    const before = structuredClone(w.state)
    const t = liveTasks(w.state)[0]!
    const ev = {type: 'Update' as const, status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_FAILED' as const, uuid: 'AAAAAAAAQAAAAAAAAAAAAQ=='}}
    const r1 = step(w.state, ev, w.now)
    const r2 = step(w.state, ev, w.now)
    assert.deepEqual(w.state, before)
    assert.deepEqual(r1, r2)
  })

  it('an internal error is reported, never thrown', () => {
    const s = initialState(resolveConfig(CFG), 1)
    const r = step(s, {type: 'PersistedStateLoaded', doc: {version: 1, clusterName: 'etcd', tasks: null} as never}, 1)
    assert.equal(r.state, s)
    assert.ok(r.actions.some((a) => a.type === 'LOG' && a.level === 'error' && /internal error/.test(a.msg)))
  })

  it('generates valid Mesos ids that encode the member name; views the state', () => {
    const w = runningCluster()
    for (const t of liveTasks(w.state)) {
      assert.ok(isValidMesosId(t.taskId))
      assert.equal(memberNameOfTaskId('etcd', t.taskId), t.memberName)
    }
    assert.equal(memberNameOfTaskId('etcd', 'other-1.abc'), null)
    const v = view(w.state)
    assert.equal(v.mode, 'MUTABLE')
    assert.equal(v.members.filter((m) => m.live && m.etcdMemberId !== null).length, 3)
  })

  const badConfigs: [string, Record<string, unknown>, RegExp][] = [
    ['cluster name with a slash', {clusterName: 'a/b'}, /clusterName/],
    ['zero size', {clusterSize: 0}, /clusterSize/],
    ['negative cpus', {cpus: -1}, /cpus/],
    ['bad extra arg', {extraArgs: ['-x']}, /extraArgs/],
    ['backoff max < min', {reconcileBackoffMinMs: 10, reconcileBackoffMaxMs: 5}, /reconcileBackoffMaxMs/],
  ]
  for (const [name, patch, re] of badConfigs) {
    it(`rejects a bad config: ${name}`, () => {
      assert.throws(() => resolveConfig({...CFG, ...patch} as never), (e: unknown) => e instanceof SchedulerConfigError && re.test(e.message))
    })
  }
})
