/**
 * Re-seed: recover a livelocked cluster (quorum lost) from its most up-to-date live member.
 *
 * Phases (persisted in `reseed`, so a restarted scheduler finishes the job):
 *   ranking  HEALTH_CHECK of running tasks; rank by the committed raft index each member reports about
 *            itself (rankReseedCandidates). None → the attempt fails (nothing is killed). When the step that
 *            starts the re-seed applied a probe round of every running task (the verdict that declared the
 *            livelock), the ranking uses it at once if it ranks anyone, instead of probing again.
 *   seeding  MESSAGE {type:'reseed', op[, force]} to the best candidate's executor (without force the member
 *            refuses, 'failed', when a linearizable read through it succeeds); proof = its reseed-progress
 *            'done' for this op, or a probe showing it leads alone and serves reads. The probe counts only
 *            if that executor has not reported progress for this op in the last reseedCandidateTimeoutMs/2
 *            (it reports: its 'done' comes after the restart without --force-new-cluster; a member add
 *            before that would make its "serving alone" check fail), or after a restart. No proof within
 *            reseedCandidateTimeoutMs → next candidate ('failed' from the executor → next at once).
 *            A late proof from an earlier candidate of the same op is accepted too (first proven wins).
 *            After a restart/reconnection in this phase the MESSAGE is NOT re-sent: the candidate is
 *            re-checked (probe) until a fresh deadline, then the next one is tried.
 *   killing  KILL every other live task (only now, once a seed is proven); done when all are dead.
 *            Then growth back to clusterSize proceeds one member at a time (grow.ts).
 * Invariants: nothing is killed before a seed is proven; one re-seed at a time; no launch during it.
 * Manual: ReseedRequested{op, force} — refused while healthy or while a quorum is evident (a read through
 *   some member succeeded) unless force, while not reconciled, while
 *   another re-seed runs, or with no running member. autoReseed=false disables only the automatic one.
 * cluster_reseeds counts re-seeds started. Episode (mode.ts): RESEEDING from the start until done, failed
 * or cancelled; then back to QUORUM_LOST or MUTABLE (`baseEpisode`).
 * Probe answers are recorded by health.ts (`health.probes`); plan.ts hands each new answer to
 * `planReseedProbes` (ranking, proof). Executors' progress reports are logged per op in `reseedSteps`
 * (at most 100 per op, for GET /reseed/<op>; not persisted).
 */
import {healthVerdict, rankReseedCandidates} from '../../lib/etcd/verdict.js'
import {decodeFrameworkMessage, encodeFrameworkMessage} from '../../lib/member-config.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {recordOperation} from './operations.js'
import type {OperationRecord, ReseedCandidateRec} from './state.js'
import {bumpTopology, clientUrl, isDeadState, liveTasks, runningTasks} from './state.js'
import {baseEpisode, become, mayMutate, modeOf, ready} from './mode.js'
import {quorumEvidentIn} from './quorum.js'
import {sendHealthCheck} from './observe.js'

const MAX_STEPS_PER_OP = 100

function recordOp(ctx: Ctx, op: string, status: OperationRecord['status'], message: string): void {
  recordOperation(ctx, 'reseed', op, status, message)
}

export function onReseedRequested(ctx: Ctx, op: string, force: boolean): void {
  const {s} = ctx
  if (typeof op !== 'string' || op.length === 0 || op.length > 128) {
    emit(ctx, log('warn', 're-seed request with an invalid operation id ignored'))
    return
  }
  if (s.operations.some((o) => o.op === op)) {
    emit(ctx, log('info', 're-seed request repeated; already recorded', {op}))
    return
  }
  const refuse = (why: string): void => {
    recordOp(ctx, op, 'refused', why)
    emit(ctx, log('warn', `re-seed refused: ${why}`, {op}))
  }
  const mode = modeOf(s)
  if (s.reseed) return refuse(`re-seed ${s.reseed.op} is already running`)
  if (s.restore) return refuse(`restore ${s.restore.op} is running`)
  if (mode === 'TOTAL_LOSS') return refuse('no live member is left to seed from (total loss)')
  if (!mayMutate(s)) return refuse(`the scheduler is ${mode}; retry once it is subscribed and reconciled`)
  if (runningTasks(s).length === 0) return refuse('no running member to seed from')
  if (s.health.verdict?.healthy && !force) return refuse('the cluster is healthy; use force to re-seed anyway')
  if (s.health.verdict?.quorumEvident && !force) {
    return refuse(`the cluster has a working quorum (${s.health.verdict.reason}); use force to re-seed anyway`)
  }
  startReseed(ctx, op, true, force)
}

/** `force` (manual only): the MESSAGE carries it and the chosen member skips its own quorum check. */
export function startReseed(ctx: Ctx, op: string, manual: boolean, force = false): void {
  const {s, now} = ctx
  s.reseed = {
    op,
    manual,
    phase: 'ranking',
    startedAt: now,
    candidates: [],
    current: 0,
    deadline: now + s.config.memberOpTimeoutMs,
    messaged: [],
  }
  become(s, 'RESEEDING')
  if (force) s.reseed.force = true
  s.stats.cluster_reseeds++
  s.stats.last_reseed_at = now
  recordOp(ctx, op, 'running', 'ranking live members by raft index')
  emit(ctx, log('warn', `starting ${manual ? 'manual' : 'automatic'} re-seed`, {op, running: runningTasks(s).map((t) => t.memberName)}))
  // The probes applied in this very step (the verdict that declared the livelock) are as fresh as a new round
  // would be: rank from them when they cover every running task and rank someone; otherwise probe.
  const h = s.health
  const fresh = h.observedAt === now && runningTasks(s).every((t) => h.probes.some((p) => p.clientUrl === clientUrl(s, t)))
  if (fresh && rank(ctx, h.probes).length > 0) planReseedProbes(ctx)
  else probeRunning(ctx)
}

function probeRunning(ctx: Ctx): void {
  sendHealthCheck(ctx)
}

function fail(ctx: Ctx, why: string): void {
  const {s, now} = ctx
  const r = s.reseed!
  recordOp(ctx, r.op, 'failed', why)
  emit(ctx, log('error', `re-seed failed: ${why}; nothing was killed`, {op: r.op}))
  s.reseed = null
  s.health.lastReseedFailedAt = now
  become(s, baseEpisode(s))
}

/** Ends an automatic re-seed before anything was asked of a member (its operation ends as failed, "cancelled: …"). */
function cancel(ctx: Ctx, why: string): void {
  const {s, now} = ctx
  const r = s.reseed!
  recordOp(ctx, r.op, 'failed', `cancelled: ${why}; nothing was killed`)
  emit(ctx, log('warn', `re-seed cancelled: ${why}; nothing was killed`, {op: r.op}))
  s.reseed = null
  s.health.lastReseedFailedAt = now // no immediate new attempt (see plan.ts)
  become(s, baseEpisode(s))
}

/** Asks the next live candidate; `lastAnswer` (the previous candidate's 'failed' reason) ends up in the failure. */
function sendSeed(ctx: Ctx, lastAnswer?: string): void {
  const {s, now} = ctx
  const r = s.reseed!
  for (; r.current < r.candidates.length; r.current++) {
    const c = r.candidates[r.current]!
    const t = s.tasks[c.taskId]
    if (!t || isDeadState(t.state)) continue
    r.messaged.push(t.taskId)
    r.deadline = now + s.config.reseedCandidateTimeoutMs
    emit(ctx, {
      type: 'MESSAGE',
      agentId: t.agentId,
      executorId: t.taskId,
      data: encodeFrameworkMessage({type: 'reseed', op: r.op, ...(r.force ? {force: true} : {})}),
    })
    recordOp(ctx, r.op, 'running', `asked ${t.memberName} (raft index ${c.raftIndex}) to become the seed`)
    emit(
      ctx,
      log('warn', 'asking a member to become the re-seed', {op: r.op, member: t.memberName, raftIndex: c.raftIndex, raftTerm: c.raftTerm}),
    )
    return
  }
  fail(ctx, `no candidate proved itself (tried ${r.messaged.length}${lastAnswer !== undefined ? `; last answer: ${lastAnswer}` : ''})`)
}

function proven(ctx: Ctx, taskId: string, how: string): void {
  const {s, now} = ctx
  const r = s.reseed!
  r.phase = 'killing'
  r.seedTaskId = taskId
  r.deadline = now + s.config.memberOpTimeoutMs
  s.membership = null
  bumpTopology(s)
  const seed = s.tasks[taskId]
  recordOp(ctx, r.op, 'running', `seed ${seed?.memberName ?? taskId} proven (${how}); killing the other members`)
  emit(ctx, log('warn', 're-seed proven; killing every other member task', {op: r.op, seed: seed?.memberName ?? taskId, how}))
  killOthers(ctx)
}

function killOthers(ctx: Ctx): void {
  const {s, now} = ctx
  const r = s.reseed!
  for (const t of liveTasks(s)) {
    if (t.taskId === r.seedTaskId) continue
    t.killRequestedAt = now
    emit(ctx, {type: 'KILL', taskId: t.taskId, agentId: t.agentId})
  }
}

/** The running tasks whose member answered status in `probes`, best seed first (rankReseedCandidates). */
function rank(ctx: Ctx, probes: typeof ctx.s.health.probes): ReseedCandidateRec[] {
  const {s} = ctx
  const byUrl = new Map(runningTasks(s).map((t) => [clientUrl(s, t), t] as const))
  const ranked: ReseedCandidateRec[] = []
  for (const c of rankReseedCandidates(probes)) {
    const t = byUrl.get(c.clientUrl)
    if (t) {
      const {memberId, raftIndex, raftTerm, revision} = c
      ranked.push({taskId: t.taskId, clientUrl: c.clientUrl, memberId, raftIndex, raftTerm, revision})
    }
  }
  return ranked
}

/** Decides from the probe answer health.ts just recorded (`health.probes`): ranking, or a candidate's proof. */
export function planReseedProbes(ctx: Ctx): void {
  const {s} = ctx
  const r = s.reseed
  const probes = s.health.probes
  if (!r || !ready(s)) return
  if (r.phase === 'ranking') {
    // An automatic re-seed is for a lost quorum only: if the ranking probe shows one (quorum came back, or a
    // member this scheduler reaches proves it with a linearizable read), nothing is destroyed.
    const q = quorumEvidentIn(s, probes)
    if (!r.manual && q.evident) return cancel(ctx, `the cluster has a working quorum again (${q.reason})`)
    const ranked = rank(ctx, probes)
    if (ranked.length === 0) return fail(ctx, 'no live member answered a status call: nothing to seed from')
    r.candidates = ranked
    r.current = 0
    r.phase = 'seeding'
    return sendSeed(ctx)
  }
  if (r.phase === 'seeding') {
    for (const id of r.messaged) {
      const t = s.tasks[id]
      if (!t || isDeadState(t.state)) continue
      const reported = r.reports?.[id]
      if (reported !== undefined && ctx.now - reported < s.config.reseedCandidateTimeoutMs / 2) continue // wait for its 'done'
      const p = probes.find((x) => x.clientUrl === clientUrl(s, t))
      if (!p?.status || !p.readOk || p.status.leader !== p.status.memberId) continue
      const followers = probes.filter((x) => x.status && x.clientUrl !== p.clientUrl && x.status.leader === p.status!.memberId).length
      if (followers === 0 && healthVerdict(1, [p]).healthy) return proven(ctx, id, 'serves alone as leader')
    }
  }
}

/** Logs an executor's progress report under its op (stale ones too: they are what the executor did). */
function recordStep(ctx: Ctx, op: string, step: string, message?: string): void {
  const {s, now} = ctx
  for (const known of Object.keys(s.reseedSteps)) if (!s.operations.some((o) => o.op === known)) delete s.reseedSteps[known]
  if (!s.operations.some((o) => o.op === op)) return // not an operation of this cluster: GET /reseed/<op> shows nothing for it
  s.reseedSteps[op] ??= []
  const list = s.reseedSteps[op]
  if (list.length < MAX_STEPS_PER_OP) list.push({step, at: now, ...(message ? {message} : {})})
}

export function onFrameworkMessage(ctx: Ctx, executorId: string, data: string): void {
  const {s} = ctx
  const msg = decodeFrameworkMessage(data)
  if (msg?.type !== 'reseed-progress') {
    emit(ctx, log('debug', 'ignored framework message', {executorId}))
    return
  }
  recordStep(ctx, msg.op, msg.step, msg.message)
  const r = s.reseed
  if (!r || r.op !== msg.op || r.phase !== 'seeding' || !r.messaged.includes(executorId)) {
    emit(ctx, log('info', 'stale re-seed progress ignored', {op: msg.op, step: msg.step, executorId}))
    return
  }
  r.reports = {...r.reports, [executorId]: ctx.now}
  emit(
    ctx,
    log(msg.step === 'failed' ? 'warn' : 'info', 're-seed progress', {
      op: msg.op,
      step: msg.step,
      executorId,
      message: msg.message ?? null,
    }),
  )
  if (!ready(s)) return
  if (msg.step === 'done') return proven(ctx, executorId, 'executor reported done')
  if (msg.step === 'failed' && r.candidates[r.current]?.taskId === executorId) {
    r.current++
    sendSeed(ctx, `${s.tasks[executorId]?.memberName ?? executorId}: ${msg.message ?? 'failed'}`)
  }
}

/** Deadlines and resumption; called by plan.ts while RESEEDING. */
export function planReseed(ctx: Ctx): void {
  const {s, now} = ctx
  const r = s.reseed!
  if (r.resumed) {
    r.resumed = false
    delete r.reports // its reports while we were away are lost: the probe decides
    emit(ctx, log('warn', 'resuming the re-seed that was in progress', {op: r.op, phase: r.phase}))
    if (r.phase === 'killing') {
      r.deadline = now + s.config.memberOpTimeoutMs
      killOthers(ctx)
    } else {
      r.deadline = now + (r.phase === 'seeding' ? s.config.reseedCandidateTimeoutMs : s.config.memberOpTimeoutMs)
      probeRunning(ctx)
    }
    return
  }
  if (r.phase === 'killing') {
    const seed = r.seedTaskId
    const others = liveTasks(s).filter((t) => t.taskId !== seed)
    if (others.length === 0) {
      recordOp(
        ctx,
        r.op,
        'succeeded',
        `cluster re-seeded from ${s.tasks[seed ?? '']?.memberName ?? seed}; growing back one member at a time`,
      )
      emit(ctx, log('warn', 're-seed done; growing back to full size one member at a time', {op: r.op, seed: seed ?? null}))
      s.reseed = null
      s.health.livelocked = false
      s.health.lostQuorumSince = null
      s.health.verdict = null
      s.stats.healthy = 0
      become(s, baseEpisode(s))
      return
    }
    if (r.deadline !== null && now >= r.deadline) {
      r.deadline = now + s.config.memberOpTimeoutMs
      killOthers(ctx)
    }
    return
  }
  if (r.deadline === null || now < r.deadline) {
    if (r.phase === 'seeding') {
      const cur = r.candidates[r.current]
      const t = cur ? s.tasks[cur.taskId] : undefined
      if (!t || isDeadState(t.state)) {
        r.current++
        sendSeed(ctx)
      }
    }
    return
  }
  if (r.phase === 'ranking') {
    r.deadline = now + s.config.memberOpTimeoutMs
    probeRunning(ctx)
    return
  }
  r.current++
  sendSeed(ctx)
}
