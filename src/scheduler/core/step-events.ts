/**
 * What a step of the core did, as event-log drafts (issue 18), PURE: `eventsOfStep(prev, event, next)` compares the
 * state before and after one `step` (and reads the event that caused it) and says, in one line each, what changed
 * and why. The driver side (event-recorder.ts) stamps and numbers them.
 *
 * Kinds produced here: launch (a new task record), task (a task's Mesos state changed), member (etcd member added,
 * removed, promoted; the first failure of a run of failed membership changes), health (the verdict turned healthy
 * or unhealthy; a member started or stopped answering; quorum lost / restart in place / total loss entered),
 * livelock (entered, over), reseed and restore (started, phase changes, executor steps, outcome), rollout (started,
 * a member rolled, paused/resumed/finished), defrag (a member defragmented or failed), nospace (a recovery started,
 * its steps, its outcome), master (subscribed, disconnected, framework error/removed), leadership (another scheduler
 * leads; the stored state was written by another scheduler).
 * Invariant: a step that changes none of these yields no draft (steady probes, offers, timers add nothing).
 */
import type {SchedulerEvent} from './events.js'
import type {EventDraft} from './event-log.js'
import type {OperationRecord, SchedulerState, TaskRecord} from './state.js'

function memberName(s: SchedulerState, memberId: string): string | undefined {
  const m = s.membership?.members.find((x) => x.id === memberId)
  if (m && m.name !== '') return m.name
  return undefined
}

function nameOfClientUrl(s: SchedulerState, url: string): string | undefined {
  for (const t of Object.values(s.tasks)) if (url.endsWith(`//${t.hostname}:${t.clientPort}`)) return t.memberName
  return undefined
}

function nameOfPeerUrl(s: SchedulerState, url: string): string | undefined {
  if (s.pendingAdd && url.endsWith(`//${s.pendingAdd.hostname}:${s.pendingAdd.peerPort}`)) return s.pendingAdd.memberName
  for (const t of Object.values(s.tasks)) if (url.endsWith(`//${t.hostname}:${t.peerPort}`)) return t.memberName
  return undefined
}

function launchWhy(prev: SchedulerState, next: SchedulerState, t: TaskRecord): string {
  if (t.inPlaceLaunchedAt !== undefined) return 'restarted in place on its kept data (quorum lost)'
  if (next.restore?.launched.includes(t.taskId)) return `restoring from backup (${next.restore.op})`
  if (next.rollout?.current?.member === t.memberName && next.rollout.state === 'running')
    return `rollout ${next.rollout.op}: relaunched with the new spec`
  const before = Object.values(prev.tasks).find((x) => x.memberName === t.memberName)
  if (before && t.volumeId !== undefined) return 'relaunched on its persistent volume'
  if (t.initialClusterState === 'new') return 'bootstrapping the cluster'
  return 'joining the running cluster (replacement or growth)'
}

function tasks(prev: SchedulerState, next: SchedulerState, out: EventDraft[]): void {
  for (const t of Object.values(next.tasks)) {
    const p = prev.tasks[t.taskId]
    if (!p) {
      out.push({
        kind: 'launch',
        member: t.memberName,
        message: `launched task ${t.taskId} on ${t.hostname}: ${launchWhy(prev, next, t)}`,
      })
      continue
    }
    if (p.state !== t.state) {
      // The executor's reason may end with the etcd log's last lines: those stay in the log, the event keeps the why.
      const why = t.reason ? `: ${t.reason.replace(/;\s*last log lines:[\s\S]*$/, '')}` : ''
      out.push({kind: 'task', member: t.memberName, message: `task ${t.taskId} ${p.state} → ${t.state}${why}`})
    }
  }
}

function members(prev: SchedulerState, ev: SchedulerEvent, next: SchedulerState, out: EventDraft[]): void {
  if (ev.type === 'MemberAdded') {
    const name = ev.member.name || nameOfPeerUrl(prev, ev.peerUrl) || nameOfPeerUrl(next, ev.peerUrl)
    out.push({
      kind: 'member',
      ...(name ? {member: name} : {}),
      message: `etcd member ${ev.member.id} added${ev.member.isLearner ? ' as a learner' : ''} (peer ${ev.peerUrl})`,
    })
  } else if (ev.type === 'MemberRemoved') {
    const name = memberName(prev, ev.memberId)
    out.push({kind: 'member', ...(name ? {member: name} : {}), message: `etcd member ${ev.memberId} removed`})
  } else if (ev.type === 'MemberPromoted') {
    const name = memberName(prev, ev.memberId) ?? memberName(next, ev.memberId)
    out.push({kind: 'member', ...(name ? {member: name} : {}), message: `etcd learner ${ev.memberId} promoted to a voting member`})
  } else if (
    (ev.type === 'MemberAddFailed' || ev.type === 'MemberRemoveFailed' || ev.type === 'MemberPromoteFailed') &&
    prev.memberOpFailures === 0 &&
    next.memberOpFailures > 0
  ) {
    const what = ev.type === 'MemberAddFailed' ? 'adding' : ev.type === 'MemberRemoveFailed' ? 'removing' : 'promoting'
    out.push({kind: 'member', message: `${what} an etcd member failed (${ev.code}): ${ev.message}; retried`})
  }
}

function health(prev: SchedulerState, next: SchedulerState, out: EventDraft[]): void {
  const a = prev.health.verdict
  const b = next.health.verdict
  if (b && (a === null || a.healthy !== b.healthy)) {
    out.push({
      kind: 'health',
      message: b.healthy
        ? `cluster healthy: leader ${b.leader ?? '?'}, ${b.agreeing} agree (quorum ${b.quorum})`
        : `cluster unhealthy: ${b.reason}`,
    })
  }
  if (next.health.probes.length > 0) {
    const before = new Map(prev.health.probes.map((p) => [p.clientUrl, p.reachable]))
    for (const p of next.health.probes) {
      const was = before.get(p.clientUrl)
      if (was === undefined || was === p.reachable) continue
      const name = nameOfClientUrl(next, p.clientUrl)
      out.push({
        kind: 'health',
        ...(name ? {member: name} : {}),
        message: p.reachable
          ? `member at ${p.clientUrl} answers again`
          : `member at ${p.clientUrl} stopped answering: ${p.error ?? 'no answer'}`,
      })
    }
  }
  const alarming = ['QUORUM_LOST', 'RESTARTING_IN_PLACE', 'TOTAL_LOSS'] as const
  if (prev.episode !== next.episode && (alarming as readonly string[]).includes(next.episode))
    out.push({kind: 'health', message: `mode ${prev.episode} → ${next.episode}`})
  if (!prev.health.livelocked && next.health.livelocked)
    out.push({
      kind: 'livelock',
      message: `livelock: no quorum evident since ${since(next.health.lostQuorumSince)}${next.config.autoReseed ? '; an automatic re-seed follows' : ''}`,
    })
  else if (prev.health.livelocked && !next.health.livelocked)
    out.push({kind: 'livelock', message: 'livelock over: a quorum is evident again'})
}

function operations(prev: SchedulerState, next: SchedulerState, out: EventDraft[]): void {
  const before = new Map<string, OperationRecord>(prev.operations.map((o) => [o.op, o]))
  for (const o of next.operations) {
    const p = before.get(o.op)
    if (p && p.status === o.status && p.message === o.message) continue
    if (p && p.status === o.status && o.status === 'running') continue // progress is told by the phases below
    const what = o.kind === 'reseed' ? 're-seed' : 'restore'
    out.push({kind: o.kind, message: `${what} ${o.op} ${o.status}: ${o.message}`})
  }
}

function reseed(prev: SchedulerState, next: SchedulerState, out: EventDraft[]): void {
  const a = prev.reseed
  const b = next.reseed
  if (b && (!a || a.op !== b.op))
    out.push({kind: 'reseed', message: `${b.manual ? 'manual' : 'automatic'} re-seed ${b.op} started (${b.phase})`})
  else if (a && b && a.phase !== b.phase) {
    const seed = b.seedTaskId ? next.tasks[b.seedTaskId]?.memberName : undefined
    out.push({kind: 'reseed', ...(seed ? {member: seed} : {}), message: `re-seed ${b.op}: ${a.phase} → ${b.phase}`})
  }
  for (const [op, steps] of Object.entries(next.reseedSteps)) {
    const old = prev.reseedSteps[op] ?? []
    // Each op's log only grows (at most 100 kept): the entries past the old length are new.
    const fresh = steps.length > old.length ? steps.slice(old.length) : []
    for (const st of fresh.slice(-5)) out.push({kind: 'reseed', message: `re-seed ${op}: ${st.step}${st.message ? `: ${st.message}` : ''}`})
  }
}

function restore(prev: SchedulerState, next: SchedulerState, out: EventDraft[]): void {
  const a = prev.restore
  const b = next.restore
  if (b && (!a || a.op !== b.op)) out.push({kind: 'restore', message: `restore ${b.op} started (${b.reason}, from ${b.from})`})
  else if (a && b && a.phase !== b.phase) {
    const plan = b.plan ? ` (full backup ${b.plan.fullId} + ${b.plan.deltaIds.length} delta(s), to revision ${b.plan.toRevision})` : ''
    out.push({kind: 'restore', message: `restore ${b.op}: ${a.phase} → ${b.phase}${plan}`})
  }
}

function rollout(prev: SchedulerState, next: SchedulerState, out: EventDraft[]): void {
  const a = prev.rollout
  const b = next.rollout
  if (!b) return
  if (!a || a.op !== b.op) {
    out.push({kind: 'rollout', message: `rollout ${b.op} (${b.reason}) ${b.state}: ${b.message}`})
    return
  }
  if (b.done.length > a.done.length) {
    const m = b.done[b.done.length - 1]!
    out.push({kind: 'rollout', member: m, message: `rollout ${b.op}: ${m} rolled (${b.done.length}/${b.members.length})`})
  }
  if (a.state !== b.state) out.push({kind: 'rollout', message: `rollout ${b.op} ${a.state} → ${b.state}: ${b.message}`})
  else if (b.current && (a.current?.member !== b.current.member || a.current.step !== b.current.step))
    out.push({kind: 'rollout', member: b.current.member, message: `rollout ${b.op}: ${b.current.member} ${b.current.step}`})
}

function maintenance(prev: SchedulerState, ev: SchedulerEvent, next: SchedulerState, out: EventDraft[]): void {
  if (ev.type === 'Defragmented' && next.stats.defrags > prev.stats.defrags) {
    const name = memberName(next, ev.memberId) ?? nameOfClientUrl(next, ev.clientUrl)
    out.push({kind: 'defrag', ...(name ? {member: name} : {}), message: `etcd member ${ev.memberId} defragmented`})
  } else if (ev.type === 'DefragFailed' && next.stats.defrag_failures > prev.stats.defrag_failures) {
    const name = memberName(next, ev.memberId) ?? nameOfClientUrl(next, ev.clientUrl)
    out.push({kind: 'defrag', ...(name ? {member: name} : {}), message: `defragmenting etcd member ${ev.memberId} failed: ${ev.message}`})
  }
  const a = prev.maintenance.nospace
  const b = next.maintenance.nospace
  if (b && !a) out.push({kind: 'nospace', message: `NOSPACE alarm raised: recovery started (${b.step})`})
  else if (a && b && a.step !== b.step) out.push({kind: 'nospace', message: `NOSPACE recovery: ${a.step} → ${b.step}`})
  const last = next.maintenance.lastNospace
  if (last && last.endedAt !== prev.maintenance.lastNospace?.endedAt)
    out.push({kind: 'nospace', message: `NOSPACE recovery ${last.outcome}: ${last.message}`})
}

function connection(prev: SchedulerState, ev: SchedulerEvent, next: SchedulerState, out: EventDraft[]): void {
  const a = prev.connection
  const b = next.connection
  if (b.subscribedSince !== null && a.subscribedSince === null)
    out.push({
      kind: 'master',
      message: `subscribed to the Mesos master${b.master ? ` ${b.master}` : ''} (framework ${next.frameworkId ?? '?'})`,
    })
  if (b.disconnectedSince !== null && a.disconnectedSince === null) {
    const why = ev.type === 'Disconnected' && ev.reason ? `: ${ev.reason}` : ''
    out.push({kind: 'master', message: `disconnected from the Mesos master ${b.master ?? ''}${why}`.replace(' :', ':')})
  }
  if (ev.type === 'FrameworkError') out.push({kind: 'master', message: `Mesos ended the subscription: ${ev.message}`})
  if (ev.type === 'LeadershipLost' && prev.phase !== 'STOPPED')
    out.push({kind: 'leadership', message: `another scheduler leads this cluster (${ev.leader}): stepping down`})
  if (ev.type === 'StateConflict' && prev.phase !== 'STOPPED') out.push({kind: 'leadership', message: `stepping down: ${ev.message}`})
}

/** A time of the state (ms since the epoch) as ISO text: a value, not the clock. */
function since(ms: number | null): string {
  return ms === null ? 'an unknown time' : new Date(ms).toISOString()
}

/** The event-log drafts for one step of the core, in a stable order. */
export function eventsOfStep(prev: SchedulerState, ev: SchedulerEvent, next: SchedulerState): EventDraft[] {
  if (prev === next) return []
  // The stored state loaded (a start, a new leader): its tasks are not launches; one line says what was found.
  if (ev.type === 'PersistedStateLoaded') {
    const n = Object.keys(next.tasks).length
    return [
      {
        kind: 'leadership',
        message:
          ev.doc === null
            ? 'no stored scheduler state: a new framework and cluster'
            : `stored scheduler state loaded: framework ${next.frameworkId ?? '(none yet)'}, ${n} task record(s)`,
      },
    ]
  }
  const out: EventDraft[] = []
  connection(prev, ev, next, out)
  tasks(prev, next, out)
  members(prev, ev, next, out)
  health(prev, next, out)
  reseed(prev, next, out)
  restore(prev, next, out)
  operations(prev, next, out)
  rollout(prev, next, out)
  maintenance(prev, ev, next, out)
  return out
}
