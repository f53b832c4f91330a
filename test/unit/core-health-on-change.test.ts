/**
 * Health checks on a change (plan.ts, observe.ts): a HEALTH_CHECK is requested as soon as the running
 * members or the topology change (a task reports TASK_RUNNING, a member is added, removed or promoted),
 * instead of at the next health interval; one at a time, and never again for the same running set and
 * topology, so a steady cluster is checked once per interval only.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {liveTasks, runningTasks} from '../../src/scheduler/core/state.js'
import {World} from '../helpers/sim/sim.js'
import {CORE_BASE_CFG, healthyCluster} from '../helpers/core-world.js'

const CFG = {...CORE_BASE_CFG, healthIntervalMs: 5_000}

describe('health checks on a change', () => {
  it('bootstrap: the cluster is judged healthy when its members report TASK_RUNNING, not at the next interval', () => {
    const w = new World(CFG, 3)
    w.start()
    w.offerAll() // the sim starts every member at once, no time passes
    assert.equal(runningTasks(w.state).length, 3)
    assert.ok(w.actionsOf('HEALTH_CHECK').length >= 1, 'a health check was sent without waiting for the health timer')
    assert.equal(w.state.stats.healthy, 1)
  })

  it('replacement: the promotion of the new member is followed by a health check in the same step', () => {
    const w = healthyCluster(CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.failTask(victim.taskId)
    let checked = false
    for (let i = 0; i < 2_000 && !checked; i++) {
      const mark = w.actions.length
      w.advance(10)
      const acts = w.actions.slice(mark)
      const promoted = acts.findIndex((a) => a.type === 'LOG' && /learner promoted to voting member/.test(a.msg))
      if (promoted < 0) continue
      assert.ok(
        acts.slice(promoted).some((a) => a.type === 'HEALTH_CHECK'),
        'a HEALTH_CHECK follows the promotion within 10 ms (the health interval is 5 s)',
      )
      checked = true
    }
    assert.ok(checked, 'the new member was promoted')
    assert.equal(w.state.stats.healthy, 1)
  })

  it('a steady cluster is checked once per health interval: a change is no loop', () => {
    const w = healthyCluster(CFG, 3)
    const mark = w.actions.length
    w.advance(60_000, {offers: false})
    const checks = w.actionsOf('HEALTH_CHECK', mark).length
    assert.ok(checks >= 11 && checks <= 13, `${checks} checks in 60 s at a 5 s interval`)
  })

  it('while a check is in flight, a change waits for its answer (one at a time)', () => {
    const w = new World(CFG, 3)
    w.start()
    w.respond = false
    w.offerAll()
    assert.equal(w.actionsOf('ACCEPT').length, 3, 'the bootstrap launches every member')
    const tasks = Object.values(w.state.tasks)
    assert.equal(tasks.length, 3)
    const running = (taskId: string, agentId: string): void => {
      w.feed({
        type: 'Update',
        status: {task_id: {value: taskId}, state: 'TASK_RUNNING', agent_id: {value: agentId}, uuid: Buffer.from(taskId).toString('base64')},
      })
    }
    running(tasks[0]!.taskId, tasks[0]!.agentId)
    assert.equal(w.actionsOf('HEALTH_CHECK').length, 1, 'the first RUNNING asks for a check')
    running(tasks[1]!.taskId, tasks[1]!.agentId)
    assert.equal(w.actionsOf('HEALTH_CHECK').length, 1, 'the second waits for the answer of the first')
    const first = w.actionsOf('HEALTH_CHECK')[0]!
    w.feed({type: 'HealthObserved', probes: first.clientUrls.map((u) => w.probe(u)), seq: first.seq})
    const after = w.actionsOf('HEALTH_CHECK')
    assert.equal(after.length, 2, 'the answer lets the pending change be checked')
    assert.equal(after[1]!.clientUrls.length, 2, 'the new check covers both running members')
  })
})
