/** Scheduler core: the persisted document (round trip, bad documents refused) and a failed PERSIST. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parsePersistedDoc, PersistedDocError, serializePersistedDoc, toPersistedDoc} from '../../src/scheduler/core/persist.js'
import {liveTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG, runningCluster} from '../helpers/core-world.js'

const CFG = {...CORE_CFG, reconcileBackoffMinMs: 1_000, reconcileBackoffMaxMs: 8_000}

describe('persistence', () => {
  it('round-trips the persisted document with a version field', () => {
    const w = runningCluster(CFG, 4)
    const doc = toPersistedDoc(w.state)
    assert.equal(doc.version, 1)
    assert.deepEqual(parsePersistedDoc(serializePersistedDoc(doc)), doc)
  })

  const bad: [string, (d: Record<string, unknown>) => unknown, RegExp][] = [
    ['not JSON', () => '{', /not JSON/],
    ['future version', (d) => ({...d, version: 2}), /unsupported version 2/],
    ['bad task port', (d) => ({...d, tasks: [{...(d.tasks as object[])[0], peerPort: 0}]}), /tasks\[0\]\.peerPort/],
    ['bad task state', (d) => ({...d, tasks: [{...(d.tasks as object[])[0], state: 'RUNNING'}]}), /tasks\[0\]\.state/],
    [
      'bad reseed phase',
      (d) => ({...d, reseed: {op: 'x', phase: 'dancing', candidates: [], current: 0, messaged: [], startedAt: 1}}),
      /reseed\.phase/,
    ],
    ['missing token', (d) => ({...d, clusterToken: ''}), /clusterToken/],
  ]
  for (const [name, mutate, re] of bad) {
    it(`rejects a bad document: ${name}`, () => {
      const w = runningCluster(CFG, 4)
      const d = JSON.parse(serializePersistedDoc(toPersistedDoc(w.state))) as Record<string, unknown>
      const m = mutate(d)
      assert.throws(
        () => parsePersistedDoc(typeof m === 'string' ? m : JSON.stringify(m)),
        (e: unknown) => e instanceof PersistedDocError && re.test(e.message),
      )
    })
  }

  it('PersistFailed: retried later, not in a tight loop; ACKs still follow a PERSIST', () => {
    const w = runningCluster(CFG, 4)
    w.respond = false
    const acts = w.feed({type: 'PersistFailed', message: 'ZK connection loss'})
    assert.equal(acts.filter((a) => a.type === 'PERSIST').length, 0)
    const t = liveTasks(w.state)[0]!
    const up = w.feed({
      type: 'Update',
      status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING', uuid: w.uuid(), healthy: false},
    })
    const p = up.findIndex((a) => a.type === 'PERSIST')
    const a = up.findIndex((x) => x.type === 'ACKNOWLEDGE')
    assert.ok(p >= 0 && a > p, 'an update to ACK forces the PERSIST retry first')
  })
})
