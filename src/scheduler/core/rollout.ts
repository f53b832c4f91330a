/**
 * Rollout: relaunch the members whose recorded spec (rollout-spec.ts, `TaskRecord.spec`) differs from the desired
 * one (`--etcd-bin` and its version, extra args, resources, TLS files), one at a time, each IN PLACE on its own data
 * (same agent, same ports, requireData: inplace.ts launchInPlace, or on its volume: relaunch.ts relaunch).
 *
 * States (`s.rollout`, persisted; a restarted scheduler resumes a running one):
 *   running  --every member rolled--> done
 *            --version rules refuse (before anything was touched) / the backup fails--> refused
 *            --a member not back and caught up within rolloutMemberTimeoutMs, another member's task ends, quorum
 *              lost, a re-seed/restore/total loss, a version re-check refuses, a leader move fails--> failed
 *            --pause--> paused (after the member being rolled is back) --resume--> running
 *            --abort--> aborted (after the member being rolled is back); paused --abort--> aborted
 * Steps while running: checking (ROLLOUT_VERSIONS: every member's /version → checkRollout; again before each
 *   member: the cluster version moves) → backup (once, with a backup target: ROLLOUT_BACKUP) → next (wait for a
 *   fresh healthy verdict; pick a follower, by name; only the leader left: MOVE_LEADER to a rolled member) →
 *   moving-leader (until a probe shows another leader) → killing (KILL, until its task is dead) → launching (the
 *   in-place / volume offer) → catching-up (the new task RUNNING, its probe reads, its raft index within
 *   rolloutCatchUpEntries of the leader's, a fresh healthy verdict) → checking (next member) … → done.
 * Start (rollout-start.ts): POST /rollout (RolloutRequested), or automatically (config.autoRollout) once READY, MUTABLE, healthy, with
 *   a member whose recorded spec differs (members without a recorded spec are rolled by POST /rollout only), and
 *   not for a target whose last rollout failed, was refused or aborted. Refused at once (not started) with a
 *   reason: not READY, a re-seed / restore / defragmentation / membership change under way, unhealthy, fewer than
 *   3 members (a rollout of 1 or 2 would lose quorum), a member's data dir unknown, a scheme change or a resource
 *   change with a role (not implemented yet), extra args etcd 3.5 removed, the target version unknown.
 * Episode (mode.ts): ROLLING_OUT while running (mayMutate is false: no growth, removal or in-place repair of the
 *   member we kill); the base episode when paused or ended, so that normal repair takes over a member that failed
 *   to come back. Invariants: at most one member down by our hand; never two live tasks for one member.
 */
import {checkRollout} from '../../lib/etcd/versions.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {launchInPlace} from './inplace.js'
import {baseEpisode, become} from './mode.js'
import {sendHealthCheck} from './observe.js'
import type {OfferRound} from './offer-planner.js'
import {relaunch} from './relaunch.js'
import {autoStart, end, tlsCheckOf} from './rollout-start.js'
import {describeSpec} from './rollout-spec.js'
import type {SchedulerState, TaskRecord} from './state.js'
import {clientUrl, healthFresh, isDeadState, liveTasks, runningTasks} from './state.js'

/** Fresh probes are asked for at most this often while a rollout waits on them. */
const PROBE_EVERY_MS = 1000

export function onRolloutVersions(
  ctx: Ctx,
  op: string,
  answers: {clientUrl: string; server?: string; cluster?: string | null; error?: string}[],
  tlsProblem?: string,
): void {
  const {s, now} = ctx
  const r = s.rollout
  if (!r || r.op !== op || r.state !== 'running' || r.step !== 'checking' || r.requestedAt === null) return
  const touched = r.done.length > 0 || r.current !== null
  if (typeof tlsProblem === 'string') return end(ctx, touched ? 'failed' : 'refused', tlsProblem)
  const versions: Record<string, string> = {}
  let cluster: string | null = null
  for (const a of answers) {
    const t = runningTasks(s).find((x) => clientUrl(s, x) === a.clientUrl)
    const name = t?.memberName ?? a.clientUrl
    if (a.error || !a.server)
      return end(ctx, touched ? 'failed' : 'refused', `could not read member ${name}'s version: ${a.error ?? 'no answer'}`)
    versions[name] = a.server
    if (a.cluster !== undefined && a.cluster !== null && (cluster === null || a.cluster < cluster)) cluster = a.cluster
  }
  r.versions = versions
  r.clusterVersion = cluster
  const pending = r.members.filter((m) => !r.done.includes(m))
  const changesBinary = pending.some((m) => {
    const t = runningTasks(s).find((x) => x.memberName === m)
    return !t?.spec || t.spec.etcdBin !== r.target.etcdBin
  })
  if (changesBinary || r.target.etcdVersion !== null) {
    const target = r.target.etcdVersion
    const check =
      target === null
        ? {ok: false as const, refused: 'the target etcd version is unknown'}
        : checkRollout({clusterVersion: cluster, memberVersions: versions, target})
    if (!check.ok) return end(ctx, touched ? 'failed' : 'refused', check.refused)
  }
  r.requestedAt = null
  r.updatedAt = now
  r.step = r.backedUp || s.config.backupTarget === undefined ? 'next' : 'backup'
  r.message = r.step === 'backup' ? 'taking a full backup first' : 'waiting for a healthy cluster to roll the next member'
}

export function onRolloutBackupDone(ctx: Ctx, op: string, ok: boolean, message: string): void {
  const r = ctx.s.rollout
  if (!r || r.op !== op || r.state !== 'running' || r.step !== 'backup') return
  if (!ok) return end(ctx, r.done.length > 0 ? 'failed' : 'refused', `the full backup before the rollout failed: ${message}`)
  r.backedUp = true
  r.step = 'next'
  r.requestedAt = null
  r.updatedAt = ctx.now
  r.message = `backup taken (${message}); rolling the next member`
}

export function onLeaderMoved(ctx: Ctx, op: string, ok: boolean, message: string): void {
  const r = ctx.s.rollout
  if (!r || r.op !== op || r.state !== 'running' || r.current?.step !== 'moving-leader') return
  if (!ok) return end(ctx, 'failed', `moving leadership away from ${r.current.member} failed: ${message}`)
  emit(ctx, log('info', 'rollout: leadership transfer accepted; waiting for a probe showing the new leader', {op, from: r.current.member}))
}

/** The leader as the latest probes show it: its task, and the member id. */
function leaderOf(s: SchedulerState): {task: TaskRecord; memberId: string; raftIndex: number} | null {
  for (const p of s.health.probes) {
    const st = p.status
    if (!st || st.leader === '0' || st.memberId !== st.leader) continue
    const task = runningTasks(s).find((t) => clientUrl(s, t) === p.clientUrl)
    if (task) return {task, memberId: st.memberId, raftIndex: st.raftIndex}
  }
  return null
}

function probeOf(s: SchedulerState, t: TaskRecord) {
  return s.health.probes.find((p) => p.clientUrl === clientUrl(s, t)) ?? null
}

/** Fresh probes while waiting on them (one check in flight at a time, at most every PROBE_EVERY_MS). */
function wantProbes(ctx: Ctx): void {
  const {s, now} = ctx
  if (s.health.checkReq !== null && now - s.health.checkReq.sentAt < s.config.memberOpTimeoutMs) return
  if (s.health.observedAt !== null && now - s.health.observedAt < PROBE_EVERY_MS) return
  sendHealthCheck(ctx)
}

/** Called by plan.ts once READY: starts, drives or interrupts the rollout. */
export function planRollout(ctx: Ctx, round: OfferRound): void {
  const {s, now} = ctx
  const r = s.rollout
  if (r?.state !== 'running') {
    if (s.episode === 'ROLLING_OUT') become(s, baseEpisode(s))
    if (s.episode === 'MUTABLE') autoStart(ctx)
    return
  }
  if (s.episode === 'MUTABLE') become(s, 'ROLLING_OUT') // resumed after a restart, or after a pause
  if (s.episode !== 'ROLLING_OUT') return end(ctx, 'failed', `interrupted: the cluster is ${s.episode}`)
  if (s.health.lostQuorumSince !== null) return end(ctx, 'failed', 'the cluster lost its quorum during the rollout')
  for (const name of r.members) {
    if (name === r.current?.member) continue
    if (!liveTasks(s).some((t) => t.memberName === name))
      return end(ctx, 'failed', `member ${name}'s task ended during the rollout (it is repaired as usual; the rest is untouched)`)
  }
  const cur = r.current
  if (cur && now - cur.since >= s.config.rolloutMemberTimeoutMs)
    return end(
      ctx,
      'failed',
      `member ${cur.member} did not come back and catch up within ${s.config.rolloutMemberTimeoutMs / 1000} s (step ${cur.step}); the rest is untouched`,
    )
  switch (r.step) {
    case 'checking':
      if (r.requestedAt === null) {
        r.requestedAt = now
        emit(ctx, {type: 'ROLLOUT_VERSIONS', op: r.op, clientUrls: runningTasks(s).map((t) => clientUrl(s, t)), ...tlsCheckOf(s, r.target)})
      } else if (now - r.requestedAt >= s.config.memberOpTimeoutMs)
        end(ctx, r.done.length > 0 ? 'failed' : 'refused', 'no answer reading the members’ versions')
      return
    case 'backup':
      if (r.requestedAt === null) {
        r.requestedAt = now
        emit(ctx, {type: 'ROLLOUT_BACKUP', op: r.op})
      }
      return
    case 'next':
      return next(ctx)
    default:
      return member(ctx, round)
  }
}

function next(ctx: Ctx): void {
  const {s, now} = ctx
  const r = s.rollout!
  const pending = r.members.filter((m) => !r.done.includes(m))
  if (pending.length === 0) return end(ctx, 'done', `every member runs ${describeSpec(r.target)}`)
  if (r.abortRequested) return end(ctx, 'aborted', `aborted by the operator; rolled: ${r.done.join(', ') || 'none'}`)
  if (r.pauseRequested) return end(ctx, 'paused', 'paused by the operator')
  if (!healthFresh(s)) {
    if (now - r.updatedAt >= s.config.rolloutMemberTimeoutMs)
      return end(ctx, 'failed', 'the cluster did not become healthy between two members')
    return wantProbes(ctx)
  }
  const leader = leaderOf(s)
  if (!leader) return wantProbes(ctx)
  const follower = pending.find((m) => m !== leader.task.memberName)
  if (follower) return kill(ctx, runningTasks(s).find((t) => t.memberName === follower)!)
  // Only the leader is left: move leadership to a rolled member (else any other member) first.
  const to = [...r.done, ...runningTasks(s).map((t) => t.memberName)].find((m) => m !== leader.task.memberName)
  const toTask = runningTasks(s).find((t) => t.memberName === to)
  const toId = toTask ? probeOf(s, toTask)?.status?.memberId : undefined
  if (!toTask || !toId) return wantProbes(ctx)
  r.current = {member: leader.task.memberName, taskId: leader.task.taskId, step: 'moving-leader', since: now}
  r.step = 'moving-leader'
  r.requestedAt = now
  r.updatedAt = now
  r.message = `moving leadership from ${leader.task.memberName} to ${toTask.memberName}`
  emit(ctx, {type: 'MOVE_LEADER', op: r.op, via: clientUrl(s, leader.task), targetId: toId})
  emit(ctx, log('info', `rollout: ${r.message}`, {op: r.op}))
}

function kill(ctx: Ctx, t: TaskRecord): void {
  const {s, now} = ctx
  const r = s.rollout!
  r.current = {member: t.memberName, taskId: t.taskId, step: 'killing', since: r.current?.since ?? now}
  r.step = 'killing'
  r.updatedAt = now
  r.message = `relaunching ${t.memberName} in place with the new spec`
  t.killRequestedAt = now
  emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
  emit(ctx, log('warn', `rollout: stopping ${t.memberName} to relaunch it in place on its data`, {op: r.op, taskId: t.taskId}))
}

function member(ctx: Ctx, round: OfferRound): void {
  const {s, now} = ctx
  const r = s.rollout!
  const cur = r.current!
  const t = s.tasks[cur.taskId]
  if (cur.step === 'moving-leader') {
    const leader = leaderOf(s)
    if (leader && leader.task.memberName !== cur.member && t) return kill(ctx, t)
    return wantProbes(ctx)
  }
  if (!t) return end(ctx, 'failed', `member ${cur.member}'s task record is gone`)
  if (cur.step === 'killing') {
    if (isDeadState(t.state)) {
      cur.step = r.step = 'launching'
      r.message = `waiting for an offer from ${cur.member}'s agent with its ports`
    } else if (t.killRequestedAt === undefined || now - t.killRequestedAt >= s.config.memberOpTimeoutMs) {
      t.killRequestedAt = now
      emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
      return
    } else return
  }
  if (cur.step === 'launching') {
    if (t.volumeId !== undefined) relaunch(ctx, round, t)
    else launchInPlace(ctx, round, t)
    const fresh = liveTasks(s).find((x) => x.memberName === cur.member)
    if (!fresh) return
    cur.taskId = fresh.taskId
    cur.step = r.step = 'catching-up'
    r.message = `waiting for ${cur.member} to serve and catch up`
    return
  }
  // catching-up
  if (isDeadState(t.state))
    return end(ctx, 'failed', `member ${cur.member} failed after its relaunch: ${t.reason ?? t.state}; the rest is untouched`)
  if (t.state !== 'TASK_RUNNING') return
  const p = probeOf(s, t)
  const leader = leaderOf(s)
  const caughtUp =
    p?.readOk === true &&
    p.status !== undefined &&
    leader !== null &&
    p.status.raftIndex + s.config.rolloutCatchUpEntries >= leader.raftIndex
  if (!caughtUp || !healthFresh(s)) return wantProbes(ctx)
  r.done.push(cur.member)
  emit(
    ctx,
    log('info', `rollout: ${cur.member} is back with the new spec and caught up`, {op: r.op, done: r.done.length, of: r.members.length}),
  )
  r.current = null
  r.step = 'checking'
  r.requestedAt = null
  r.updatedAt = now
  r.message = 'reading every member’s version'
}

/** When the rollout next needs the planner (for the wake timer), or null. */
export function nextRolloutWake(s: SchedulerState): number | null {
  const r = s.rollout
  if (r?.state !== 'running') return null
  const t: number[] = []
  if (r.current) t.push(r.current.since + s.config.rolloutMemberTimeoutMs)
  if (r.requestedAt !== null) t.push(r.requestedAt + s.config.memberOpTimeoutMs)
  if (s.health.observedAt !== null) t.push(s.health.observedAt + PROBE_EVERY_MS)
  t.push(r.updatedAt + s.config.rolloutMemberTimeoutMs)
  return Math.min(...t)
}
