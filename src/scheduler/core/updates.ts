/**
 * Task status updates and FAILURE events.
 *
 * Per task: STAGING → STARTING → RUNNING → KILLING (never moves backwards: stale reconciliation
 *   answers are ignored) → dead (any terminal state, or UNREACHABLE/UNKNOWN). A dead record is kept
 *   until its etcd member is gone from the membership (so the member can be removed and a returning
 *   task recognised).
 * - ACKNOWLEDGE only updates that carry a uuid; ACKs go after PERSIST in the batch.
 * - Duplicate and out-of-order updates are harmless: counters move only on live → dead transitions.
 * - TASK_LOST is not final (TASK_RUNNING REASON_AGENT_REREGISTERED may follow). Decision for a task
 *   that comes back: if its etcd member is still in the membership (so no replacement can have been
 *   launched: replacements are launched only after the dead member's removal), keep it; if the
 *   membership is unknown, keep it only while the cluster is below clusterSize; otherwise KILL it
 *   (its member was removed or replaced; the cluster must not exceed its size).
 * - An unknown non-terminal task is a stray: killed once mutable.
 * - FAILURE without executor_id (agent removed): that agent's live tasks are dead (TASK_LOST).
 * - A death reported by the MASTER (source SOURCE_MASTER, or agent removed) of a task we did not kill
 *   records `lostAt`: it is not believed before a probe after it finds the etcd member unreachable
 *   (health.ts); until then it cannot make a total loss (plan.ts).
 * - TaskStatus.data of the executor's STARTING/RUNNING updates carries {"dataDir"} (base64 JSON): recorded
 *   as the task's `dataDir` (malformed data is ignored) for restarts in place (inplace.ts).
 * - Agents removed by Mesos (FAILURE without executor id, REASON_AGENT_REMOVED, TASK_GONE*) are
 *   remembered in `removedAgents`: never restarted in place (their data is gone).
 */
import type {TaskState, TaskStatus} from '../../lib/mesos/types.js'
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {accountReconcile} from './reconcile.js'
import type {TaskRecord} from './state.js'
import {bumpTopology, isDeadState, liveTasks, memberOfTask} from './state.js'

const RANK: Partial<Record<TaskState, number>> = {TASK_STAGING: 0, TASK_STARTING: 1, TASK_RUNNING: 2, TASK_KILLING: 3}

export function onUpdate(ctx: Ctx, status: TaskStatus): void {
  const {s, now} = ctx
  const taskId = status.task_id?.value
  if (typeof taskId !== 'string' || taskId === '' || typeof status.state !== 'string') {
    emit(ctx, log('warn', 'status update without task id or state ignored'))
    return
  }
  const rec = s.tasks[taskId]
  const agentId = status.agent_id?.value ?? rec?.agentId ?? s.strays[taskId]?.agentId ?? null
  if (status.uuid) {
    if (agentId) ctx.acks.push({type: 'ACKNOWLEDGE', agentId, taskId, uuid: status.uuid})
    else emit(ctx, log('warn', 'cannot acknowledge an update without agent id', {taskId}))
  }
  accountReconcile(ctx, taskId)
  const state = status.state
  const dead = isDeadState(state)
  if (dead) delete s.strays[taskId]
  if (!rec) {
    if (dead) return
    if (!s.strays[taskId]) {
      s.strays[taskId] = {agentId, killSentAt: null}
      emit(ctx, log('warn', 'unknown task reported by Mesos: it will be killed', {taskId, state, agentId}))
    }
    return
  }
  rec.lastUpdateAt = now
  if (status.agent_id?.value) rec.agentId = status.agent_id.value
  const dataDir = decodeStatusDataDir(status.data)
  if (dataDir !== null) rec.dataDir = dataDir
  if (agentId && (status.reason === 'REASON_AGENT_REMOVED' || state === 'TASK_GONE' || state === 'TASK_GONE_BY_OPERATOR'))
    s.removedAgents[agentId] ??= now
  const why = [status.reason, status.message].filter(Boolean).join(': ')
  if (why) rec.reason = why
  if (typeof status.healthy === 'boolean') rec.healthy = status.healthy
  const wasDead = isDeadState(rec.state)
  if (dead) {
    if (!wasDead) {
      markDead(ctx, rec, state, why || state)
      if (status.source === 'SOURCE_MASTER') markLostByMaster(ctx, rec)
    } else {
      rec.state = state
    }
    return
  }
  if (wasDead) return onReturn(ctx, rec, state)
  if ((RANK[state] ?? -1) < (RANK[rec.state] ?? -1)) return // stale (e.g. a reconciliation answer)
  if (state === 'TASK_RUNNING' && rec.state !== 'TASK_RUNNING') {
    s.bootstrapped = true
    bumpTopology(s)
    emit(ctx, log('info', 'member task running', {taskId, member: rec.memberName, host: rec.hostname}))
  }
  rec.state = state
}

/** The absolute data dir in an executor's TaskStatus.data (base64 JSON {"dataDir"}); null if absent or malformed. */
export function decodeStatusDataDir(data: unknown): string | null {
  if (typeof data !== 'string' || data === '' || data.length > 8192) return null
  try {
    const doc: unknown = JSON.parse(Buffer.from(data, 'base64').toString('utf8'))
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null
    const dir = (doc as Record<string, unknown>).dataDir
    if (typeof dir !== 'string' || !dir.startsWith('/') || dir.length > 4096 || dir.includes('\0')) return null
    return dir
  } catch {
    return null
  }
}

/** The master says it is gone; etcd will be asked (unless we killed it: then it is gone by our hand). */
function markLostByMaster(ctx: Ctx, rec: TaskRecord): void {
  if (rec.killRequestedAt !== undefined || rec.decommission) return
  rec.lostAt = ctx.now
  delete rec.answering
}

export function markDead(ctx: Ctx, rec: TaskRecord, state: TaskState, why: string): void {
  const {s, now} = ctx
  rec.state = state
  rec.lastUpdateAt = now
  s.stats.failed_servers++
  s.stats.last_failure_at = now
  bumpTopology(s)
  emit(ctx, log(rec.decommission ? 'info' : 'warn', 'member task ended', {taskId: rec.taskId, member: rec.memberName, state, why}))
}

function onReturn(ctx: Ctx, rec: TaskRecord, state: TaskState): void {
  const {s} = ctx
  delete rec.lostAt
  delete rec.answering
  const member = memberOfTask(s, rec)
  const keep = member !== null || (s.membership === null && liveTasks(s).length < s.config.clusterSize)
  if (keep) {
    rec.state = state
    if (state === 'TASK_RUNNING') bumpTopology(s)
    emit(
      ctx,
      log('warn', 'a task reported dead came back; its member is still in the cluster: keeping it', {
        taskId: rec.taskId,
        member: rec.memberName,
        state,
        reason: rec.reason,
      }),
    )
    return
  }
  if (!s.strays[rec.taskId]) {
    s.strays[rec.taskId] = {agentId: rec.agentId, killSentAt: null}
    emit(
      ctx,
      log('warn', 'a task reported dead came back after its member was removed or replaced: killing it', {
        taskId: rec.taskId,
        member: rec.memberName,
      }),
    )
  }
}

export function onFailure(ctx: Ctx, agentId?: string, executorId?: string, status?: number): void {
  const {s} = ctx
  if (executorId) {
    emit(ctx, log('info', 'executor terminated (its task update follows)', {agentId: agentId ?? null, executorId, status: status ?? null}))
    return
  }
  if (!agentId) return
  s.removedAgents[agentId] ??= ctx.now
  const lost = liveTasks(s).filter((t) => t.agentId === agentId)
  emit(ctx, log('warn', 'agent removed', {agentId, tasks: lost.map((t) => t.taskId)}))
  for (const t of lost) {
    t.reason = 'agent removed (FAILURE)'
    markDead(ctx, t, 'TASK_LOST', 'agent removed')
    markLostByMaster(ctx, t)
  }
}
