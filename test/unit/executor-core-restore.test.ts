/**
 * The executor's pure core with MemberConfig.restore: a LAUNCH asks the driver to restore first, progress goes out as
 * TASK_STARTING messages, etcd starts only once the restore finished (or was skipped), a failure is TASK_FAILED naming
 * the problem, and a KILL during the restore stops it (no etcd is started afterwards).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {step, initialState, EXIT_OK, EXIT_TASK_FAILED, type CoreAction, type CoreEvent, type CoreState} from '../../src/executor/core.js'
import {encodeMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import type {TaskInfo} from '../../src/lib/mesos/types.js'

const CFG: MemberConfig = {
  version: 1,
  cluster: {name: 'c1', token: 'tok'},
  member: {name: 'm0', host: '127.0.0.1', peerPort: 2380, clientPort: 2379},
  initialCluster: [{name: 'm0', peerUrl: 'http://127.0.0.1:2380'}],
  initialClusterState: 'new',
  restore: {op: 'r1', target: 'file:///backups', fullId: '20261203T141632.123Z-r1234', deltaIds: [], toRevision: null},
}

function launch(cfg: MemberConfig = CFG): CoreEvent {
  const t: TaskInfo = {name: 't1', task_id: {value: 't1'}, agent_id: {value: 'a1'}, data: encodeMemberConfig(cfg)}
  return {type: 'launch', task: t, sandbox: '/sandbox'}
}

function run(events: CoreEvent[]): {state: CoreState; actions: CoreAction[]} {
  let state = initialState(5000)
  const actions: CoreAction[] = []
  for (const e of events) {
    const r = step(state, e)
    state = r.state
    actions.push(...r.actions.filter((a) => a.type !== 'log'))
  }
  return {state, actions}
}

function summary(a: CoreAction): string {
  if (a.type === 'update') return `${a.status.state}${a.status.message ? `: ${a.status.message}` : ''}`
  if (a.type === 'exit') return `exit ${a.code}`
  return a.type
}

describe('executor core: restore before etcd starts', () => {
  it('LAUNCH with restore → restore action only (no etcd yet); steps → TASK_STARTING with the message; done → start-etcd', () => {
    const r = run([launch()])
    assert.deepEqual(r.actions.map(summary), ['restore'])
    assert.equal(r.state.phase, 'starting')
    assert.equal(r.state.restoreOp, 'r1')
    const s = run([
      launch(),
      {type: 'restore-step', message: 'restore r1: fetching backup X'},
      {type: 'restore-step', message: 'restore r1: restoring'},
      {type: 'restore-finished', ok: true, restored: true, message: 'restore r1: done at revision 1234'},
      {type: 'spawned', pid: 7},
      {type: 'serving'},
    ])
    assert.deepEqual(s.actions.map(summary), [
      'restore',
      'TASK_STARTING: restore r1: fetching backup X',
      'TASK_STARTING: restore r1: restoring',
      'start-etcd',
      'TASK_RUNNING',
    ])
    const starting = s.actions.find((a) => a.type === 'update')
    assert.ok(starting?.type === 'update' && starting.status.data, 'TASK_STARTING carries the data dir')
    assert.equal(s.state.restoreOp, undefined)
    assert.equal(s.state.phase, 'running')
  })

  it('a skipped restore (data already there) starts etcd as usual: TASK_STARTING comes with the spawn', () => {
    const s = run([launch(), {type: 'restore-finished', ok: true, restored: false, message: 'ignored'}, {type: 'spawned', pid: 7}])
    assert.deepEqual(s.actions.map(summary), ['restore', 'start-etcd', 'TASK_STARTING'])
  })

  it('restore failed → TASK_FAILED naming the problem, exit 1, no etcd', () => {
    const s = run([launch(), {type: 'restore-finished', ok: false, error: 'backup X in file:///b is corrupt: sha256 mismatch'}])
    assert.deepEqual(s.actions.map(summary), [
      'restore',
      'TASK_FAILED: restore r1 failed: backup X in file:///b is corrupt: sha256 mismatch',
      `exit ${EXIT_TASK_FAILED}`,
    ])
    assert.equal(s.state.phase, 'finished')
  })

  it('KILL during the restore → stop-etcd (the driver aborts the restore), then TASK_KILLED; a late restore-finished starts nothing', () => {
    const s = run([
      launch(),
      {type: 'kill', taskId: 't1'},
      {type: 'restore-finished', ok: true, restored: true, message: 'done'},
      {type: 'restore-step', message: 'late'},
      {type: 'stopped'},
    ])
    assert.deepEqual(s.actions.map(summary), ['restore', 'stop-etcd', 'TASK_KILLED', `exit ${EXIT_OK}`])
  })

  it('restore is not attempted with requireData (restart in place) or for a member joining an existing cluster', () => {
    for (const cfg of [
      {...CFG, requireData: true},
      {...CFG, initialClusterState: 'existing' as const},
    ]) {
      const s = run([launch(cfg)])
      assert.deepEqual(s.actions.map(summary), ['start-etcd'])
      assert.equal(s.state.restoreOp, undefined)
    }
  })

  it('without restore nothing changes: LAUNCH → start-etcd', () => {
    const {restore: _, ...plain} = CFG
    assert.deepEqual(run([launch(plain)]).actions.map(summary), ['start-etcd'])
  })
})
