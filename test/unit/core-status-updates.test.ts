/** Scenario tests of the scheduler core: status updates, their ACKs (only with a uuid, after the PERSIST), duplicates and out-of-order updates. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {TaskStatus} from '../../src/lib/mesos/types.js'
import {liveTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG as CFG, healthyCluster, idx} from '../helpers/core-world.js'

describe('status updates and ACKs', () => {
  const cases: [string, Partial<TaskStatus>, number][] = [
    ['executor update with uuid', {uuid: 'AAAAAAAAQAAAAAAAAAAAAQ==', source: 'SOURCE_EXECUTOR'}, 1],
    ['agent-made update with uuid', {uuid: 'AAAAAAAAQAAAAAAAAAAAAg==', source: 'SOURCE_AGENT', reason: 'REASON_EXECUTOR_TERMINATED'}, 1],
    ['reconciliation answer (no uuid)', {source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION'}, 0],
    ['master-made TASK_LOST (no uuid)', {source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REMOVED'}, 0],
  ]
  for (const [name, extra, acks] of cases) {
    it(`ACKs only updates with a uuid: ${name}`, () => {
      const w = healthyCluster(CFG, 4)
      const t = liveTasks(w.state)[0]!
      w.respond = false
      const acts = w.feed({
        type: 'Update',
        status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING', ...extra},
      })
      const ackActs = acts.filter((a) => a.type === 'ACKNOWLEDGE')
      assert.equal(ackActs.length, acks)
      if (acks) assert.deepEqual(ackActs[0], {type: 'ACKNOWLEDGE', agentId: t.agentId, taskId: t.taskId, uuid: extra.uuid})
    })
  }

  it('puts PERSIST before the ACK of an update that changes persisted state', () => {
    const w = healthyCluster(CFG, 4)
    const t = liveTasks(w.state)[0]!
    w.respond = false
    const acts = w.feed({
      type: 'Update',
      status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_FAILED', uuid: 'AAAAAAAAQAAAAAAAAAAAAw=='},
    })
    const p = idx(acts, (a) => a.type === 'PERSIST')
    const a = idx(acts, (x) => x.type === 'ACKNOWLEDGE')
    assert.ok(p >= 0 && a > p)
    const doc = acts[p]
    assert.ok(doc?.type === 'PERSIST' && doc.doc.tasks.find((x) => x.taskId === t.taskId)?.state === 'TASK_FAILED')
  })

  it('duplicate and out-of-order updates are harmless', () => {
    const w = healthyCluster(CFG, 4)
    const t = liveTasks(w.state)[0]!
    w.respond = false
    const failed = {
      task_id: {value: t.taskId},
      agent_id: {value: t.agentId},
      state: 'TASK_FAILED' as const,
      uuid: 'AAAAAAAAQAAAAAAAAAAABA==',
    }
    const a1 = w.feed({type: 'Update', status: failed})
    const a2 = w.feed({type: 'Update', status: failed})
    assert.equal(w.state.stats.failed_servers, 1)
    assert.equal(a1.filter((a) => a.type === 'MEMBER_REMOVE').length, 1)
    assert.equal(a2.filter((a) => a.type === 'MEMBER_REMOVE').length, 0, 'no second removal while the first is in flight')
    assert.equal(a2.filter((a) => a.type === 'ACKNOWLEDGE').length, 1, 'a redelivered update is ACKed again')
    // stale reconciliation answer after RUNNING must not regress another task
    const t2 = liveTasks(w.state)[0]!
    w.feed({
      type: 'Update',
      status: {task_id: {value: t2.taskId}, state: 'TASK_STARTING', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION'},
    })
    assert.equal(w.state.tasks[t2.taskId]!.state, 'TASK_RUNNING')
  })
})
