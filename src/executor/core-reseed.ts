/**
 * The re-seed half of the executor's pure core (see the state machine in core.ts): the framework MESSAGE
 * asking for a re-seed, the quorum check that guards a non-forced one, and the supervisor's progress
 * (`reseed-step`) and outcome (`reseed-finished`). Every progress message sent is also remembered in
 * `reseedHistory` (bounded), so a repeated request for a known op id is answered with its last step again.
 * Pure like core.ts: no I/O, no timers, no clock.
 */
import {decodeFrameworkMessage, type ExecutorToScheduler, type ReseedStep} from '../lib/member-config.js'
import {EXIT_TASK_FAILED, update, type CoreAction, type CoreEvent, type CoreState, type StepResult} from './core-types.js'

const HISTORY_LIMIT = 32

function progress(s: CoreState, msg: ExecutorToScheduler): {state: CoreState; action: CoreAction} {
  const history = [...s.reseedHistory.filter((m) => m.op !== msg.op), msg].slice(-HISTORY_LIMIT)
  return {state: {...s, reseedHistory: history}, action: {type: 'send', message: msg}}
}

export function onMessage(s: CoreState, data: string): StepResult {
  const msg = decodeFrameworkMessage(data)
  if (msg === null || msg.type !== 'reseed') {
    return {state: s, actions: [{type: 'log', line: 'ignoring a framework message that is not a reseed request'}]}
  }
  const known = s.reseedHistory.find((m) => m.op === msg.op)
  if (known)
    return {
      state: s,
      actions: [
        {type: 'log', line: `reseed ${msg.op}: duplicate request, resending step ${known.step}`},
        {type: 'send', message: known},
      ],
    }
  let reason: string | undefined
  if (s.phase === 'reseeding') reason = `another re-seed (${s.reseedOp ?? '?'}) is in progress`
  else if (s.quorumCheckOp !== undefined) reason = `another re-seed (${s.quorumCheckOp}) is in progress (checking quorum)`
  else if (s.phase !== 'running') reason = `etcd is not running (executor state: ${s.phase})`
  if (reason !== undefined) return failOp(s, msg.op, reason)
  if (msg.force) {
    const p = progress(s, {type: 'reseed-progress', op: msg.op, step: 'accepted', message: 'forced: no quorum check'})
    return {
      state: {...p.state, phase: 'reseeding', reseedOp: msg.op},
      actions: [{type: 'log', line: `reseed ${msg.op} accepted (forced: no quorum check)`}, p.action, {type: 'start-reseed', op: msg.op}],
    }
  }
  const p = progress(s, {type: 'reseed-progress', op: msg.op, step: 'accepted', message: "checking this member's quorum first"})
  return {
    state: {...p.state, quorumCheckOp: msg.op},
    actions: [
      {type: 'log', line: `reseed ${msg.op} accepted; checking first whether a linearizable read through this member succeeds`},
      p.action,
      {type: 'check-quorum', op: msg.op},
    ],
  }
}

function failOp(s: CoreState, op: string, reason: string): StepResult {
  const p = progress(s, {type: 'reseed-progress', op, step: 'failed', message: reason})
  return {state: p.state, actions: [{type: 'log', line: `reseed ${op} refused: ${reason}`}, p.action]}
}

export const QUORUM_REFUSAL =
  "refused: this member's cluster has a working quorum (a linearizable read through it succeeded); " +
  'not re-seeding a healthy cluster (the scheduler may see only part of it)'

export function onQuorumChecked(s: CoreState, e: {op: string; ok: boolean; detail: string}): StepResult {
  if (e.op !== s.quorumCheckOp) return {state: s, actions: []}
  const st: CoreState = {...s}
  delete st.quorumCheckOp
  if (st.phase !== 'running') return failOp(st, e.op, `etcd is not running (executor state: ${st.phase})`)
  if (e.ok) return failOp(st, e.op, QUORUM_REFUSAL)
  return {
    state: {...st, phase: 'reseeding', reseedOp: e.op},
    actions: [
      {type: 'log', line: `reseed ${e.op}: no working quorum through this member (${e.detail}); re-seeding`},
      {type: 'start-reseed', op: e.op},
    ],
  }
}

export function onReseedStep(s: CoreState, e: Extract<CoreEvent, {type: 'reseed-step'}>): StepResult {
  if (s.phase !== 'reseeding' || e.op !== s.reseedOp) return {state: s, actions: []}
  const msg: ExecutorToScheduler = {type: 'reseed-progress', op: e.op, step: e.step}
  if (e.message !== undefined) msg.message = e.message
  if (e.revision !== undefined) msg.revision = e.revision
  const p = progress(s, msg)
  return {state: p.state, actions: [{type: 'log', line: `reseed ${e.op}: ${e.step}${e.message ? ` (${e.message})` : ''}`}, p.action]}
}

export function onReseedFinished(s: CoreState, e: Extract<CoreEvent, {type: 'reseed-finished'}>): StepResult {
  const id = s.taskId ?? ''
  if (e.op !== s.reseedOp) return {state: s, actions: []}
  const last = s.reseedHistory.find((m) => m.op === e.op)
  const wanted: ReseedStep = e.ok ? 'done' : 'failed'
  let st: CoreState = {...s}
  delete st.reseedOp
  const actions: CoreAction[] = []
  if (last?.step !== wanted) {
    const msg: ExecutorToScheduler = {type: 'reseed-progress', op: e.op, step: wanted}
    if (!e.ok) msg.message = e.error ?? 're-seed failed'
    const p = progress(st, msg)
    st = p.state
    actions.push(p.action)
  }
  actions.unshift({type: 'log', line: `reseed ${e.op} ${e.ok ? 'done' : `failed: ${e.error ?? '?'}`}`})
  if (s.phase !== 'reseeding') return {state: st, actions} // killed meanwhile: the kill path reports
  if (e.ok && st.healthy !== true) {
    // reseedMember's 'done' means a one-member cluster with a linearizable read: healthy.
    actions.push(
      update(id, 'TASK_RUNNING', {
        healthy: true,
        message: 're-seeded: serving as a one-member cluster',
        reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
      }),
    )
    st = {...st, healthy: true}
  }
  if (e.etcdRunning) return {state: {...st, phase: 'running'}, actions}
  const message = `re-seed failed and etcd is not running: ${e.error ?? 'unknown error'}`
  return {
    state: {...st, phase: 'finished'},
    actions: [...actions, update(id, 'TASK_FAILED', {message}), {type: 'exit', code: EXIT_TASK_FAILED}],
  }
}
