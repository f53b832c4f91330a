/** Scheduler core: step is pure and never throws, ids and the state view, and the configuration refused when bad. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {resolveConfig, SchedulerConfigError} from '../../src/scheduler/core/config.js'
import {initialState} from '../../src/scheduler/core/persist.js'
import {step} from '../../src/scheduler/core/step.js'
import {describe as view} from '../../src/scheduler/core/view.js'
import {isValidMesosId, memberNameOfTaskId} from '../../src/scheduler/core/ids.js'
import {liveTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG, runningCluster} from '../helpers/core-world.js'

const CFG = {...CORE_CFG, reconcileBackoffMinMs: 1_000, reconcileBackoffMaxMs: 8_000}

describe('purity and API', () => {
  it('step does not mutate its input and is deterministic', () => {
    const w = runningCluster(CFG, 4)
    const before = structuredClone(w.state)
    const t = liveTasks(w.state)[0]!
    const ev = {
      type: 'Update' as const,
      status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_FAILED' as const, uuid: 'AAAAAAAAQAAAAAAAAAAAAQ=='},
    }
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
    const w = runningCluster(CFG, 4)
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
      assert.throws(
        () => resolveConfig({...CFG, ...patch} as never),
        (e: unknown) => e instanceof SchedulerConfigError && re.test(e.message),
      )
    })
  }
})
