/**
 * How a rollout starts and ends (rollout.ts drives it): POST /rollout (RolloutRequested, with TLS files serve re-read),
 * the automatic start once READY, MUTABLE and healthy with a member whose recorded spec differs (once per target),
 * pause / resume / abort (RolloutControl), the reasons a rollout waits or is refused (blocker), and `end`.
 * Pure: no I/O, no clock (ctx.now).
 */
import type {MemberTlsContent} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {baseEpisode, become, ready} from './mode.js'
import type {MemberSpec, RolloutProgress} from './rollout-spec.js'
import {describeSpec, desiredSpec, extraArgsProblem, specDiff} from './rollout-spec.js'
import type {SchedulerState, TaskRecord} from './state.js'
import {healthFresh, liveTasks, runningTasks} from './state.js'

const OP_RE = /^[A-Za-z0-9_-]{1,128}$/

/** A rollout that is running or paused (another may not start). */
export function rolloutActive(r: RolloutProgress | null): boolean {
  return r !== null && (r.state === 'running' || r.state === 'paused')
}

/** The trust check a certificate rotation needs (the distinct shipped certificates members run with, the target's). */
export function tlsCheckOf(s: SchedulerState, target: MemberSpec): {tls: {running: MemberTlsContent[]; target: MemberTlsContent}} | object {
  if (!target.tlsCerts) return {}
  const seen = new Set<string>([JSON.stringify(target.tlsCerts)])
  const running: MemberTlsContent[] = []
  for (const t of runningTasks(s)) {
    const c = t.spec?.tlsCerts
    if (!c || seen.has(JSON.stringify(c))) continue
    seen.add(JSON.stringify(c))
    running.push(c)
  }
  return {tls: {running, target: target.tlsCerts}}
}

/** Running members whose spec differs from `target` (unknown specs too when `unknownToo`). */
export function membersToRoll(s: SchedulerState, target: MemberSpec, unknownToo: boolean): TaskRecord[] {
  return runningTasks(s).filter((t) => (t.spec ? specDiff(t.spec, target).length > 0 : unknownToo))
}

/** Why a rollout cannot start now: {wait} passes by itself, {refuse} needs the operator. null: it may start. */
function blocker(s: SchedulerState, roll: TaskRecord[], target: MemberSpec): {wait: string} | {refuse: string} | null {
  if (!ready(s)) return {wait: 'the scheduler is not subscribed and reconciled yet'}
  if (s.reseed) return {wait: 'a re-seed is in progress'}
  if (s.restore) return {wait: 'a restore is in progress'}
  const m = (s as {maintenance?: {call: unknown; nospace: unknown}}).maintenance
  if (m && (m.call !== null || m.nospace !== null)) return {wait: 'a defragmentation or NOSPACE recovery is in progress'}
  if (s.episode !== 'MUTABLE') return {wait: `the cluster is ${s.episode}`}
  if (s.pendingAdd || s.memberOp) return {wait: 'a membership change is in progress'}
  if (liveTasks(s).length !== runningTasks(s).length || runningTasks(s).length < s.config.clusterSize)
    return {wait: 'not every member task is running'}
  if (!healthFresh(s)) return {wait: 'the cluster is not healthy (or not checked since its last change)'}
  if (roll.length === 0) return {refuse: 'nothing to roll: every member already runs the desired spec'}
  if (runningTasks(s).length < 3)
    return {refuse: 'not implemented yet: rolling a cluster of fewer than 3 members (it would lose its quorum while a member restarts)'}
  for (const t of roll) {
    const diff = t.spec ? specDiff(t.spec, target) : []
    if (diff.includes('scheme')) return {refuse: 'not implemented yet: changing the scheme (http ↔ https) by a rollout'}
    if (t.volumeId !== undefined && diff.some((d) => d === 'cpus' || d === 'mem' || d === 'disk'))
      return {refuse: 'not implemented yet: changing resources of members on reserved volumes (--role) by a rollout'}
    if (t.volumeId === undefined && t.dataDir === undefined)
      return {refuse: `member ${t.memberName}: its data dir is unknown (its executor never reported it): cannot relaunch it in place`}
  }
  const args = extraArgsProblem(target.extraArgs, target.etcdVersion)
  if (args) return {refuse: args}
  if (target.etcdVersion === null && roll.some((t) => !t.spec || t.spec.etcdBin !== target.etcdBin))
    return {
      refuse: `the version of the target etcd binary ${target.etcdBin || '(default)'} is unknown (serve could not run it with --version)`,
    }
  return null
}

function newRollout(ctx: Ctx, op: string, reason: 'auto' | 'manual', target: MemberSpec, members: string[]): RolloutProgress {
  return {
    op,
    reason,
    state: 'running',
    step: 'checking',
    target,
    members,
    done: [],
    current: null,
    versions: {},
    clusterVersion: null,
    backedUp: false,
    requestedAt: null,
    startedAt: ctx.now,
    updatedAt: ctx.now,
    message: 'reading every member’s version',
  }
}

function begin(ctx: Ctx, op: string, reason: 'auto' | 'manual', roll: TaskRecord[], target: MemberSpec): void {
  const {s} = ctx
  s.rollout = newRollout(
    ctx,
    op,
    reason,
    target,
    roll.map((t) => t.memberName),
  )
  become(s, 'ROLLING_OUT')
  emit(
    ctx,
    log('warn', 'rollout started: relaunching members one at a time with the new spec', {
      op,
      reason,
      members: s.rollout.members,
      target: describeSpec(target),
    }),
  )
}

export function end(ctx: Ctx, state: 'done' | 'failed' | 'refused' | 'aborted' | 'paused', message: string): void {
  const {s, now} = ctx
  const r = s.rollout!
  r.state = state
  r.message = message
  r.updatedAt = now
  r.requestedAt = null
  delete r.pauseRequested
  delete r.abortRequested
  if (s.episode === 'ROLLING_OUT') become(s, baseEpisode(s))
  const level = state === 'failed' || state === 'refused' ? 'error' : state === 'done' ? 'info' : 'warn'
  emit(ctx, log(level, `rollout ${state}: ${message}`, {op: r.op, done: r.done, members: r.members}))
}

/** POST /rollout. Refused (recorded as a refused rollout) unless it may start now; 409 while one is active. */
export function onRolloutRequested(ctx: Ctx, op: string, tls?: {content: MemberTlsContent; certs: MemberTlsContent; digest: string}): void {
  const {s} = ctx
  if (typeof op !== 'string' || !OP_RE.test(op)) return
  if (rolloutActive(s.rollout)) {
    emit(ctx, log('info', 'rollout request refused: a rollout is already active', {op, active: s.rollout!.op}))
    return
  }
  if (tls && tls.digest !== s.config.tlsDigest) {
    // Files replaced since serve started (checked for trust by serve): every launch from now on ships them.
    s.config = {...s.config, tlsContent: {...tls.content}, tlsCerts: {...tls.certs}, tlsDigest: tls.digest}
    emit(ctx, log('info', 'the TLS files changed: members are rolled to the new certificates', {op, digest: tls.digest.slice(0, 12)}))
  }
  const target = desiredSpec(s.config)
  const roll = membersToRoll(s, target, true)
  const b = blocker(s, roll, target)
  if (b) {
    s.rollout = {
      ...newRollout(
        ctx,
        op,
        'manual',
        target,
        roll.map((t) => t.memberName),
      ),
      state: 'refused',
      message: 'wait' in b ? b.wait : b.refuse,
    }
    emit(ctx, log('warn', `rollout refused: ${s.rollout.message}`, {op}))
    return
  }
  begin(ctx, op, 'manual', roll, target)
}

export function onRolloutControl(ctx: Ctx, action: 'pause' | 'resume' | 'abort'): void {
  const {s, now} = ctx
  const r = s.rollout
  if (!r || !rolloutActive(r)) return
  if (action === 'pause' && r.state === 'running') {
    if (r.current) r.pauseRequested = true
    else end(ctx, 'paused', 'paused by the operator')
  } else if (action === 'resume' && r.state === 'paused') {
    r.state = 'running'
    r.step = 'checking'
    r.requestedAt = null
    r.updatedAt = now
    r.message = 'resumed: reading every member’s version'
    emit(ctx, log('warn', 'rollout resumed', {op: r.op}))
  } else if (action === 'abort') {
    if (r.state === 'running' && r.current) r.abortRequested = true
    else end(ctx, 'aborted', `aborted by the operator; rolled: ${r.done.join(', ') || 'none'}`)
  }
}

export function autoStart(ctx: Ctx): void {
  const {s} = ctx
  if (!s.config.autoRollout || !s.bootstrapped) return
  const target = desiredSpec(s.config)
  const roll = membersToRoll(s, target, false)
  if (roll.length === 0) return
  const last = s.rollout
  if (last && JSON.stringify(last.target) === JSON.stringify(target) && last.state !== 'done') return // once per target
  const b = blocker(s, roll, target)
  if (b && 'wait' in b) return
  const op = `rollout-${ctx.now.toString(36)}`
  if (b) {
    s.rollout = {
      ...newRollout(
        ctx,
        op,
        'auto',
        target,
        roll.map((t) => t.memberName),
      ),
      state: 'refused',
      message: b.refuse,
    }
    emit(ctx, log('error', `rollout refused: ${b.refuse}`, {op}))
    return
  }
  begin(ctx, op, 'auto', roll, target)
}
