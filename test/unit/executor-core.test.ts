/**
 * The executor's pure core: event → state + actions, table-driven, plus scenario scripts.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  step,
  initialState,
  graceFor,
  shutdownGrace,
  exitMessage,
  EXIT_OK,
  EXIT_TASK_FAILED,
  EXIT_AGENT_LOST,
  type CoreAction,
  type CoreEvent,
  type CoreState,
  type Phase,
} from '../../src/executor/core.js'
import {encodeFrameworkMessage, encodeMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import type {TaskInfo} from '../../src/lib/mesos/types.js'

const CFG: MemberConfig = {
  version: 1,
  cluster: {name: 'c1', token: 'tok'},
  member: {name: 'm0', host: '127.0.0.1', peerPort: 2380, clientPort: 2379},
  initialCluster: [{name: 'm0', peerUrl: 'http://127.0.0.1:2380'}],
  initialClusterState: 'new',
}

function task(id: string, data: string | undefined = encodeMemberConfig(CFG), graceSecs?: number): TaskInfo {
  const t: TaskInfo = {name: id, task_id: {value: id}, agent_id: {value: 'a1'}}
  if (data !== undefined) t.data = data
  if (graceSecs !== undefined) t.kill_policy = {grace_period: {nanoseconds: graceSecs * 1e9}}
  return t
}

/** Runs events from the initial state; returns the final state and all actions (without log lines). */
function run(events: CoreEvent[], graceMs = 5000): {state: CoreState; actions: CoreAction[]} {
  let state = initialState(graceMs)
  const actions: CoreAction[] = []
  for (const e of events) {
    const r = step(state, e)
    state = r.state
    actions.push(...r.actions.filter((a) => a.type !== 'log'))
  }
  return {state, actions}
}

const reseedMsg = (op: string, force?: boolean): CoreEvent => ({
  type: 'message',
  data: encodeFrameworkMessage({type: 'reseed', op, ...(force ? {force} : {})}),
})
const checked = (op: string, ok: boolean): CoreEvent => ({type: 'quorum-checked', op, ok, detail: ok ? 'read ok' : 'read timed out'})
/** A non-forced re-seed whose quorum check failed (no working quorum through this member): it proceeds. */
const reseedNoQuorum = (op: string): CoreEvent[] => [reseedMsg(op), checked(op, false)]
const LAUNCH: CoreEvent = {type: 'launch', task: task('t1')}
const RUNNING: CoreEvent[] = [LAUNCH, {type: 'spawned', pid: 42}, {type: 'serving'}, {type: 'health', healthy: true, detail: 'leader 1'}]

function summary(a: CoreAction): string {
  switch (a.type) {
    case 'update':
      return `update ${a.status.task_id.value} ${a.status.state}${a.status.healthy === undefined ? '' : ` healthy=${a.status.healthy}`}`
    case 'start-etcd':
      return `start-etcd ${a.config.member.name}`
    case 'stop-etcd':
      return `stop-etcd ${a.graceMs}`
    case 'send':
      return `send ${a.message.op} ${a.message.step}`
    case 'start-reseed':
      return `start-reseed ${a.op}`
    case 'check-quorum':
      return `check-quorum ${a.op}`
    case 'restore':
      return `restore ${a.config.restore?.op}`
    case 'exit':
      return `exit ${a.code}`
    case 'log':
      return 'log'
  }
}

describe('executor core: event table', () => {
  const rows: {name: string; events: CoreEvent[]; phase: Phase; last: string[]; graceMs?: number}[] = [
    {name: 'valid LAUNCH starts etcd, no update yet', events: [LAUNCH], phase: 'starting', last: ['start-etcd m0']},
    {name: 'spawned → TASK_STARTING', events: [LAUNCH, {type: 'spawned', pid: 1}], phase: 'starting', last: ['update t1 TASK_STARTING']},
    {
      name: 'a second spawned (start retry) sends nothing',
      events: [LAUNCH, {type: 'spawned', pid: 1}, {type: 'spawned', pid: 2}],
      phase: 'starting',
      last: [],
    },
    {
      name: 'serving → TASK_RUNNING without a health claim',
      events: RUNNING.slice(0, 3),
      phase: 'running',
      last: ['update t1 TASK_RUNNING'],
    },
    {
      name: 'first health verdict → TASK_RUNNING healthy=true',
      events: RUNNING,
      phase: 'running',
      last: ['update t1 TASK_RUNNING healthy=true'],
    },
    {
      name: 'first health verdict unhealthy → TASK_RUNNING healthy=false',
      events: [...RUNNING.slice(0, 3), {type: 'health', healthy: false, detail: 'no leader'}],
      phase: 'running',
      last: ['update t1 TASK_RUNNING healthy=false'],
    },
    {
      name: 'health events before serving send nothing',
      events: [LAUNCH, {type: 'health', healthy: false, detail: 'x'}],
      phase: 'starting',
      last: [],
    },
    {
      name: 'unchanged health sends nothing',
      events: [...RUNNING, {type: 'health', healthy: true, detail: 'ok'}],
      phase: 'running',
      last: [],
    },
    {
      name: 'health change → TASK_RUNNING healthy=false',
      events: [...RUNNING, {type: 'health', healthy: false, detail: 'no leader'}],
      phase: 'running',
      last: ['update t1 TASK_RUNNING healthy=false'],
    },
    {
      name: 'health back → TASK_RUNNING healthy=true',
      events: [...RUNNING, {type: 'health', healthy: false, detail: 'x'}, {type: 'health', healthy: true, detail: 'ok'}],
      phase: 'running',
      last: ['update t1 TASK_RUNNING healthy=true'],
    },
    {
      name: 'etcd exit while running → TASK_FAILED, exit 1',
      events: [...RUNNING, {type: 'exited', code: null, signal: 'SIGKILL', removed: false, logTail: 'boom'}],
      phase: 'finished',
      last: ['update t1 TASK_FAILED', `exit ${EXIT_TASK_FAILED}`],
    },
    {
      name: 'etcd exit while starting → TASK_FAILED',
      events: [LAUNCH, {type: 'exited', code: 1, signal: null, removed: false, logTail: 'bind: address in use'}],
      phase: 'finished',
      last: ['update t1 TASK_FAILED', 'exit 1'],
    },
    {
      name: 'KILL → stop with TaskInfo grace',
      events: [
        {type: 'launch', task: task('t1', undefined, 7)},
        {type: 'kill', taskId: 't1'},
      ],
      phase: 'killing',
      last: ['stop-etcd 7000'],
    },
    {
      name: 'KILL policy overrides TaskInfo',
      events: [
        {type: 'launch', task: task('t1', undefined, 7)},
        {type: 'kill', taskId: 't1', killPolicy: {grace_period: {nanoseconds: 2e9}}},
      ],
      phase: 'killing',
      last: ['stop-etcd 2000'],
    },
    {
      name: 'KILL without policies uses shutdown grace minus margin',
      events: [LAUNCH, {type: 'kill', taskId: 't1'}],
      phase: 'killing',
      last: ['stop-etcd 4000'],
    },
    {
      name: 'stopped after KILL → TASK_KILLED, exit 0',
      events: [...RUNNING, {type: 'kill', taskId: 't1'}, {type: 'stopped'}],
      phase: 'finished',
      last: ['update t1 TASK_KILLED', `exit ${EXIT_OK}`],
    },
    {
      name: 'etcd exit during killing counts as stopped',
      events: [...RUNNING, {type: 'kill', taskId: 't1'}, {type: 'exited', code: 0, signal: null, removed: false, logTail: ''}],
      phase: 'finished',
      last: ['update t1 TASK_KILLED', 'exit 0'],
    },
    {
      name: 'stopped twice: the second is ignored',
      events: [...RUNNING, {type: 'kill', taskId: 't1'}, {type: 'stopped'}, {type: 'stopped'}],
      phase: 'finished',
      last: [],
    },
    {name: 'KILL of an unknown task is ignored', events: [...RUNNING, {type: 'kill', taskId: 'other'}], phase: 'running', last: []},
    {name: 'SHUTDOWN → stop with shutdown grace', events: [...RUNNING, {type: 'shutdown'}], phase: 'killing', last: ['stop-etcd 4000']},
    {
      name: 'SHUTDOWN caps a long TaskInfo grace',
      events: [{type: 'launch', task: task('t1', undefined, 60)}, {type: 'shutdown'}],
      phase: 'killing',
      last: ['stop-etcd 4000'],
    },
    {name: 'SHUTDOWN while idle → exit 0', events: [{type: 'shutdown'}], phase: 'finished', last: ['exit 0']},
    {
      name: 'invalid data → TASK_FAILED, exit 1',
      events: [{type: 'launch', task: task('t1', Buffer.from('nope').toString('base64'))}],
      phase: 'finished',
      last: ['update t1 TASK_FAILED', 'exit 1'],
    },
    {
      name: 'second LAUNCH → TASK_FAILED for the newcomer only',
      events: [...RUNNING, {type: 'launch', task: task('t2')}],
      phase: 'running',
      last: ['update t2 TASK_FAILED'],
    },
    {name: 'repeated LAUNCH of the same task is ignored', events: [...RUNNING, LAUNCH], phase: 'running', last: []},
    {name: 'recovery-timeout → stop etcd', events: [...RUNNING, {type: 'recovery-timeout'}], phase: 'killing', last: ['stop-etcd 4000']},
    {
      name: 'recovery-timeout then stopped → exit 3 without update',
      events: [...RUNNING, {type: 'recovery-timeout'}, {type: 'stopped'}],
      phase: 'finished',
      last: [`exit ${EXIT_AGENT_LOST}`],
    },
    {
      name: 'reseed while running → accepted + check-quorum, etcd untouched',
      events: [...RUNNING, reseedMsg('op1')],
      phase: 'running',
      last: ['send op1 accepted', 'check-quorum op1'],
    },
    {
      name: 'forced reseed while running → accepted + start, no check',
      events: [...RUNNING, reseedMsg('op1', true)],
      phase: 'reseeding',
      last: ['send op1 accepted', 'start-reseed op1'],
    },
    {
      name: 'quorum check fails (no quorum) → start-reseed',
      events: [...RUNNING, ...reseedNoQuorum('op1')],
      phase: 'reseeding',
      last: ['start-reseed op1'],
    },
    {
      name: 'quorum check succeeds → refused (failed), stays running',
      events: [...RUNNING, reseedMsg('op1'), checked('op1', true)],
      phase: 'running',
      last: ['send op1 failed'],
    },
    {
      name: 'duplicate reseed during the quorum check resends accepted',
      events: [...RUNNING, reseedMsg('op1'), reseedMsg('op1')],
      phase: 'running',
      last: ['send op1 accepted'],
    },
    {
      name: 'duplicate reseed after a refusal resends failed',
      events: [...RUNNING, reseedMsg('op1'), checked('op1', true), reseedMsg('op1')],
      phase: 'running',
      last: ['send op1 failed'],
    },
    {
      name: 'other reseed during a quorum check → failed',
      events: [...RUNNING, reseedMsg('op1'), reseedMsg('op2', true)],
      phase: 'running',
      last: ['send op2 failed'],
    },
    {
      name: 'quorum-checked of another op is ignored',
      events: [...RUNNING, reseedMsg('op1'), checked('op2', false)],
      phase: 'running',
      last: [],
    },
    {
      name: 'a second quorum-checked is ignored',
      events: [...RUNNING, reseedMsg('op1'), checked('op1', true), checked('op1', false)],
      phase: 'running',
      last: [],
    },
    {
      name: 'KILL during the quorum check, then its result → failed, no re-seed',
      events: [...RUNNING, reseedMsg('op1'), {type: 'kill', taskId: 't1'}, checked('op1', false)],
      phase: 'killing',
      last: ['send op1 failed'],
    },
    {
      name: 'etcd exit during the quorum check → TASK_FAILED',
      events: [...RUNNING, reseedMsg('op1'), {type: 'exited', code: null, signal: 'SIGKILL', removed: false, logTail: ''}],
      phase: 'finished',
      last: ['update t1 TASK_FAILED', 'exit 1'],
    },
    {name: 'reseed while starting → failed', events: [LAUNCH, reseedMsg('op1')], phase: 'starting', last: ['send op1 failed']},
    {
      name: 'duplicate reseed resends last step',
      events: [...RUNNING, ...reseedNoQuorum('op1'), {type: 'reseed-step', op: 'op1', step: 'backup'}, reseedMsg('op1')],
      phase: 'reseeding',
      last: ['send op1 backup'],
    },
    {
      name: 'other reseed during a reseed → failed',
      events: [...RUNNING, ...reseedNoQuorum('op1'), reseedMsg('op2', true)],
      phase: 'reseeding',
      last: ['send op2 failed'],
    },
    {
      name: 'reseed done → running',
      events: [...RUNNING, ...reseedNoQuorum('op1'), {type: 'reseed-finished', op: 'op1', ok: true, etcdRunning: true}],
      phase: 'running',
      last: ['send op1 done'],
    },
    {
      name: 'reseed done already reported is not repeated',
      events: [
        ...RUNNING,
        ...reseedNoQuorum('op1'),
        {type: 'reseed-step', op: 'op1', step: 'done'},
        {type: 'reseed-finished', op: 'op1', ok: true, etcdRunning: true},
      ],
      phase: 'running',
      last: [],
    },
    {
      name: 'reseed failed, etcd still up → running',
      events: [...RUNNING, ...reseedNoQuorum('op1'), {type: 'reseed-finished', op: 'op1', ok: false, error: 'x', etcdRunning: true}],
      phase: 'running',
      last: ['send op1 failed'],
    },
    {
      name: 'reseed failed, etcd down → TASK_FAILED',
      events: [...RUNNING, ...reseedNoQuorum('op1'), {type: 'reseed-finished', op: 'op1', ok: false, error: 'x', etcdRunning: false}],
      phase: 'finished',
      last: ['send op1 failed', 'update t1 TASK_FAILED', 'exit 1'],
    },
    {
      name: 'supervisor events during reseed are ignored',
      events: [...RUNNING, ...reseedNoQuorum('op1'), {type: 'exited', code: 0, signal: 'SIGTERM', removed: false, logTail: ''}],
      phase: 'reseeding',
      last: [],
    },
    {
      name: 'KILL during reseed → killing',
      events: [...RUNNING, ...reseedNoQuorum('op1'), {type: 'kill', taskId: 't1'}],
      phase: 'killing',
      last: ['stop-etcd 4000'],
    },
    {
      name: 'garbage MESSAGE is ignored',
      events: [...RUNNING, {type: 'message', data: Buffer.from('{"x":1}').toString('base64')}],
      phase: 'running',
      last: [],
    },
  ]
  for (const r of rows) {
    it(r.name, () => {
      const all = run(r.events, r.graceMs)
      const lastStep = step(run(r.events.slice(0, -1), r.graceMs).state, r.events.at(-1)!)
      assert.equal(all.state.phase, r.phase)
      assert.deepEqual(lastStep.actions.filter((a) => a.type !== 'log').map(summary), r.last)
    })
  }
})

describe('executor core: messages and details', () => {
  it('invalid config: TASK_FAILED names the problem', () => {
    const bad = encodeMemberConfig({...CFG, member: {...CFG.member, clientPort: 99999}})
    const {actions} = run([{type: 'launch', task: task('t1', bad)}])
    const u = actions.find((a) => a.type === 'update')
    assert.ok(u && u.type === 'update')
    assert.equal(u.status.state, 'TASK_FAILED')
    assert.match(u.status.message ?? '', /member\.clientPort must be a port number/)
  })

  it('missing TaskInfo.data: TASK_FAILED "TaskInfo.data is empty"', () => {
    const t: TaskInfo = {name: 't1', task_id: {value: 't1'}, agent_id: {value: 'a'}}
    const {actions, state} = run([{type: 'launch', task: t}])
    assert.equal(state.phase, 'finished')
    const u = actions.find((a) => a.type === 'update')
    assert.ok(u && u.type === 'update')
    assert.match(u.status.message ?? '', /TaskInfo\.data is empty/)
  })

  it('second LAUNCH message names the running task', () => {
    const {actions} = run([...RUNNING, {type: 'launch', task: task('t2')}])
    const u = actions.at(-1)
    assert.ok(u && u.type === 'update')
    assert.equal(u.status.message, 'executor already runs task t1')
  })

  it('removed member: "member was removed from the cluster", not FINISHED', () => {
    const {actions} = run([...RUNNING, {type: 'exited', code: 0, signal: null, removed: true, logTail: 'permanently removed'}])
    const u = actions.filter((a) => a.type === 'update').at(-1)
    assert.ok(u && u.type === 'update')
    assert.equal(u.status.state, 'TASK_FAILED')
    assert.equal(u.status.message, 'member was removed from the cluster')
  })

  it('crash message carries the (bounded) log tail', () => {
    const m = exitMessage({code: 2, signal: null, removed: false, logTail: `${'x'.repeat(5000)}\nlast line`})
    assert.match(m, /^etcd exited with code 2; last log lines:\n…x+\nlast line$/)
    assert.ok(m.length < 1600)
    assert.equal(exitMessage({code: null, signal: 'SIGKILL', removed: false, logTail: ''}), 'etcd killed by SIGKILL (no log output)')
  })

  it('failed reseed carries the reason', () => {
    const {actions} = run([LAUNCH, reseedMsg('op9')])
    const s = actions.at(-1)
    assert.ok(s && s.type === 'send')
    assert.equal(s.message.step, 'failed')
    assert.match(s.message.message ?? '', /etcd is not running \(executor state: starting\)/)
  })

  it('a refused re-seed names the working quorum and never stops etcd', () => {
    const {state, actions} = run([...RUNNING, reseedMsg('op7'), checked('op7', true)])
    const sends = actions.flatMap((a) => (a.type === 'send' ? [a.message] : []))
    assert.deepEqual(
      sends.map((m) => m.step),
      ['accepted', 'failed'],
    )
    const failed = sends[1]
    assert.ok(failed)
    assert.match(failed.message ?? '', /^refused: this member's cluster has a working quorum \(a linearizable read through it succeeded\)/)
    assert.equal(actions.filter((a) => a.type === 'stop-etcd' || a.type === 'start-reseed').length, 0)
    assert.equal(state.phase, 'running')
    assert.equal(state.quorumCheckOp, undefined)
    // the executor stays usable: a later forced re-seed proceeds
    const forced = step(state, reseedMsg('op8', true))
    assert.equal(forced.state.phase, 'reseeding')
    assert.ok(forced.actions.some((a) => a.type === 'start-reseed' && a.op === 'op8'))
  })

  it('grace periods', () => {
    assert.equal(shutdownGrace(5000), 4000)
    assert.equal(shutdownGrace(2000), 1600)
    assert.equal(shutdownGrace(0), 0)
    const s = {...initialState(5000), taskGraceMs: 30_000}
    assert.equal(graceFor(s, 'kill'), 30_000)
    assert.equal(graceFor(s, 'shutdown'), 4000)
    assert.equal(graceFor(s, 'kill', {grace_period: {nanoseconds: 250e6}}), 250)
  })

  it('exactly one terminal update for a launched task across kill + exit + shutdown', () => {
    const {actions} = run([
      ...RUNNING,
      {type: 'kill', taskId: 't1'},
      {type: 'shutdown'},
      {type: 'exited', code: 0, signal: null, removed: false, logTail: ''},
      {type: 'stopped'},
      {type: 'kill', taskId: 't1'},
    ])
    const terminal = actions.filter((a) => a.type === 'update' && ['TASK_KILLED', 'TASK_FAILED'].includes(a.status.state))
    assert.equal(terminal.length, 1)
    assert.equal(actions.filter((a) => a.type === 'exit').length, 1)
    assert.equal(actions.filter((a) => a.type === 'stop-etcd').length, 1)
  })

  it('start-etcd is emitted at most once whatever the events', () => {
    const {actions} = run([LAUNCH, LAUNCH, {type: 'launch', task: task('t2')}, {type: 'spawned', pid: 1}, {type: 'serving'}, LAUNCH])
    assert.equal(actions.filter((a) => a.type === 'start-etcd').length, 1)
  })
})

describe('executor core: data dir in TASK_STARTING / TASK_RUNNING (restart in place)', () => {
  const decode = (d: string | undefined): unknown => (d === undefined ? undefined : JSON.parse(Buffer.from(d, 'base64').toString('utf8')))
  it('carries {"dataDir"} resolved against the sandbox when the launch event has it', () => {
    const ev: CoreEvent[] = [
      {type: 'launch', task: task('t1'), sandbox: '/sb/t1'},
      {type: 'spawned', pid: 1},
      {type: 'serving'},
      {type: 'health', healthy: true, detail: 'ok'},
    ]
    const ups = run(ev).actions.filter((a) => a.type === 'update')
    assert.deepEqual(
      ups.map((a) => a.type === 'update' && a.status.state),
      ['TASK_STARTING', 'TASK_RUNNING', 'TASK_RUNNING'],
    )
    for (const u of ups) assert.deepEqual(u.type === 'update' && decode(u.status.data), {dataDir: '/sb/t1/etcd_data'})
    const abs = run([
      {type: 'launch', task: task('t2', encodeMemberConfig({...CFG, dataDir: '/kept/m0'})), sandbox: '/sb/t2'},
      {type: 'spawned', pid: 1},
    ])
    const st = abs.actions.find((a) => a.type === 'update')
    assert.deepEqual(st?.type === 'update' && decode(st.status.data), {dataDir: '/kept/m0'})
  })
  it('no data without a sandbox; terminal updates never carry it', () => {
    const r = run([...RUNNING, {type: 'exited', code: null, signal: 'SIGKILL', removed: false, logTail: ''}])
    for (const a of r.actions) if (a.type === 'update') assert.equal(a.status.data, undefined)
    const r2 = run([
      {type: 'launch', task: task('t1'), sandbox: '/sb/t1'},
      {type: 'spawned', pid: 1},
      {type: 'exited', code: 1, signal: null, removed: false, logTail: 'x'},
    ])
    const failed = r2.actions.find((a) => a.type === 'update' && a.status.state === 'TASK_FAILED')
    assert.ok(failed?.type === 'update' && failed.status.data === undefined)
  })
})
