/** toCall: each Mesos action of the core as the one Mesos v1 scheduler call value (no framework_id: the session adds it). */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {isMesosAction, toCall} from '../../src/scheduler/calls.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'

const launch = {type: 'LAUNCH' as const, launch: {task_infos: []}}

const TABLE: [string, SchedulerAction, unknown][] = [
  [
    'ACCEPT',
    {type: 'ACCEPT', offerIds: ['o1', 'o2'], operations: [launch], filters: {refuse_seconds: 5}},
    {type: 'ACCEPT', accept: {offer_ids: [{value: 'o1'}, {value: 'o2'}], operations: [launch], filters: {refuse_seconds: 5}}},
  ],
  [
    'DECLINE',
    {type: 'DECLINE', offerIds: ['o3'], filters: {refuse_seconds: 15}},
    {type: 'DECLINE', decline: {offer_ids: [{value: 'o3'}], filters: {refuse_seconds: 15}}},
  ],
  ['REVIVE', {type: 'REVIVE'}, {type: 'REVIVE'}],
  ['SUPPRESS', {type: 'SUPPRESS'}, {type: 'SUPPRESS'}],
  ['KILL with agent', {type: 'KILL', taskId: 't1', agentId: 'S1'}, {type: 'KILL', kill: {task_id: {value: 't1'}, agent_id: {value: 'S1'}}}],
  ['KILL without agent', {type: 'KILL', taskId: 't1'}, {type: 'KILL', kill: {task_id: {value: 't1'}}}],
  [
    'ACKNOWLEDGE',
    {type: 'ACKNOWLEDGE', agentId: 'S1', taskId: 't1', uuid: 'dXU='},
    {type: 'ACKNOWLEDGE', acknowledge: {agent_id: {value: 'S1'}, task_id: {value: 't1'}, uuid: 'dXU='}},
  ],
  ['RECONCILE implicit', {type: 'RECONCILE', tasks: []}, {type: 'RECONCILE', reconcile: {tasks: []}}],
  [
    'RECONCILE explicit',
    {type: 'RECONCILE', tasks: [{taskId: 't1', agentId: 'S1'}, {taskId: 't2'}]},
    {type: 'RECONCILE', reconcile: {tasks: [{task_id: {value: 't1'}, agent_id: {value: 'S1'}}, {task_id: {value: 't2'}}]}},
  ],
  [
    'MESSAGE',
    {type: 'MESSAGE', agentId: 'S1', executorId: 'e1', data: 'aGk='},
    {type: 'MESSAGE', message: {agent_id: {value: 'S1'}, executor_id: {value: 'e1'}, data: 'aGk='}},
  ],
]

describe('toCall', () => {
  for (const [name, action, call] of TABLE) {
    it(name, () => {
      assert.ok(isMesosAction(action))
      assert.deepEqual(toCall(action as Parameters<typeof toCall>[0]), call)
    })
  }
  it('the other actions are not Mesos calls', () => {
    for (const a of [
      {type: 'SUBSCRIBE', frameworkId: null},
      {type: 'SET_TIMER', name: 'wake', atMs: 1},
      {type: 'HEALTH_CHECK', clientUrls: [], seq: 1},
      {type: 'FATAL', message: 'x', exitCode: 1},
      {type: 'LOG', level: 'info', msg: 'x'},
    ] as SchedulerAction[]) {
      assert.equal(isMesosAction(a), false, a.type)
    }
  })
})
