/**
 * Pure views of the scheduler state for the admin API (the JSON contract documented in the README
 * and typed in lib/cli/types.ts): /stats, /members, /failover-status, /reseed/<op>,
 * /reseed/candidates and /metrics. No I/O: everything comes from the core's state (last probes, connection
 * facts, re-seed step log) except the election view and the time, which the caller passes.
 */
import {rolloutView} from './core/rollout-view.js'
import {rankReseedCandidates} from '../lib/etcd/verdict.js'
import type {BackupStats} from '../lib/stats.js'
import {modeOf, ready, subscribed} from './core/mode.js'
import {restoreStatsView} from './restore-views.js'
import {nospaceStatsView} from './maintenance-views.js'
import {allTasks, clientUrl, isDeadState, memberOfTask, peerUrl, type SchedulerState} from './core/state.js'
import {clusterAlarms, memberSpaceView, spaceMetricFamilies} from './space-views.js'
import {clusterFamily, type MetricFamily} from './metric-family.js'

export interface ElectionView {
  id: string
  leader: {id: string; admin_url: string | null; host: string | null; since: number | null} | null
  standbys: {id: string; admin_url: string | null; host: string | null}[]
}

/** `backup`: the backup service's status (backup-service.ts), null when backups are off. */
export function statsView(s: SchedulerState, backup: BackupStats | null = null) {
  return {
    ...s.stats,
    running_servers: allTasks(s).filter((t) => t.state === 'TASK_RUNNING').length,
    cluster_name: s.config.clusterName,
    cluster_size: s.config.clusterSize,
    mode: modeOf(s),
    livelocked: s.health.livelocked,
    backup,
    restore: restoreStatsView(s),
    nospace: nospaceStatsView(s),
    rollout: rolloutView(s),
  }
}

export function membersView(s: SchedulerState) {
  const probes = s.health.probes
  const byUrl = new Map(probes.map((p) => [p.clientUrl, p]))
  const leaders = new Set(probes.map((p) => p.status?.leader).filter((l): l is string => !!l && l !== '0'))
  const alarms = clusterAlarms(probes)
  return allTasks(s)
    .filter((t) => !isDeadState(t.state))
    .map((t) => {
      const url = clientUrl(s, t)
      const probe = byUrl.get(url)
      const member = memberOfTask(s, t)
      const memberId = probe?.status?.memberId ?? member?.id ?? null
      return {
        name: t.memberName,
        task_id: t.taskId,
        agent_id: t.agentId,
        host: t.hostname,
        client_url: url,
        peer_url: peerUrl(s, t),
        state: t.state,
        member_id: memberId,
        leader: memberId !== null && leaders.has(memberId),
        raft_index: probe?.status?.raftIndex ?? null,
        raft_term: probe?.status?.raftTerm ?? null,
        // The scheduler's own latest probe first (fresh every health interval); the executor's last report otherwise.
        healthy: probe ? probe.reachable && probe.readOk : (t.healthy ?? null),
        // Why the latest probe found it unhealthy (null when healthy or not probed yet).
        probe_error: probe?.error ?? null,
        is_learner: probe?.status?.isLearner ?? member?.isLearner ?? false,
        ...memberSpaceView(probe, memberId, alarms),
        ...volumeOf(s, t.volumeId),
      }
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** A member's persistent volume and reservation (with a role; both null without). */
function volumeOf(s: SchedulerState, id: string | undefined) {
  const v = id === undefined ? undefined : s.volumes[id]
  if (!v) return {volume: null, reservation: null}
  return {
    volume: {persistence_id: v.persistenceId, size_mb: v.reserved.disk, container_path: v.containerPath},
    reservation: {
      role: v.role,
      principal: v.principal ?? null,
      agent_id: v.agentId,
      cpus: v.reserved.cpus,
      mem: v.reserved.mem,
      disk: v.reserved.disk,
      ports: [...v.reserved.ports],
    },
  }
}

export function failoverView(s: SchedulerState, failoverTimeoutSec: number, election: ElectionView, now: number) {
  const conn = s.connection
  const pending = s.reconcile?.awaiting.length ?? 0
  const remaining = conn.disconnectedSince === null ? null : Math.max(0, failoverTimeoutSec - (now - conn.disconnectedSince) / 1000)
  return {
    framework_id: s.frameworkId,
    subscribed: subscribed(s),
    master: conn.master,
    subscribed_since: conn.subscribedSince,
    disconnected_since: conn.disconnectedSince,
    failover_timeout_seconds: failoverTimeoutSec,
    failover_remaining_seconds: remaining === null ? null : Math.round(remaining),
    mode: modeOf(s),
    reconciliation: {state: ready(s) ? 'done' : s.reconcile ? 'running' : 'pending', pending_tasks: pending},
    scheduler: election,
  }
}

export function reseedView(s: SchedulerState, op: string) {
  const rec = s.operations.find((o) => o.op === op)
  if (!rec) return null
  const active = s.reseed && s.reseed.op === op ? s.reseed : null
  const seedTask = active?.seedTaskId ? s.tasks[active.seedTaskId] : undefined
  return {
    op,
    status: rec.status,
    phase: active ? active.phase : rec.status === 'running' ? 'growing' : null,
    seed: seedTask ? seedTask.memberName : null,
    steps: s.reseedSteps[op] ?? [],
    message: rec.message,
    created_at: rec.createdAt,
    updated_at: rec.updatedAt,
  }
}

export function candidatesView(s: SchedulerState) {
  const healthy = s.health.verdict?.healthy ?? false
  const ranked = rankReseedCandidates(s.health.probes)
  const nameOf = (url: string): string => allTasks(s).find((t) => clientUrl(s, t) === url)?.memberName ?? url
  const candidates = ranked.map((c) => ({
    name: nameOf(c.clientUrl),
    client_url: c.clientUrl,
    raft_index: c.raftIndex,
    raft_term: c.raftTerm,
    revision: c.revision,
  }))
  const reason =
    candidates.length === 0
      ? 'no member answered a status request: nothing to seed from'
      : `${candidates[0].name} has the highest committed raft index (${candidates[0].raft_index}, term ${candidates[0].raft_term}) of the ${candidates.length} member(s) that answered`
  return {healthy, candidates, reason}
}

/** The /metrics families of the scheduler state (metrics.ts exposes them through prom-client). */
export function metricFamilies(s: SchedulerState): MetricFamily[] {
  const st = statsView(s)
  const families: MetricFamily[] = []
  const metric = (name: string, help: string, type: 'gauge' | 'counter', value: number): void => {
    families.push(clusterFamily(s.config.clusterName, `etcd_mesos_${name}`, help, type, value))
  }
  metric('healthy', '1 when a quorum agrees on a leader and a linearizable read succeeds.', 'gauge', st.healthy)
  const ro = s.rollout
  metric('rollout_running', '1 while a rollout relaunches members (0 paused, ended or none).', 'gauge', ro?.state === 'running' ? 1 : 0)
  metric(
    'rollout_failed',
    '1 when the last rollout failed (stats --check exits 9) until the next one starts.',
    'gauge',
    ro?.state === 'failed' ? 1 : 0,
  )
  metric('rollout_members_done', 'Members the current or last rollout relaunched with the new spec.', 'gauge', ro?.done.length ?? 0)
  metric(
    'rollout_members_pending',
    'Members the current or last rollout has still to relaunch.',
    'gauge',
    ro ? ro.members.length - ro.done.length : 0,
  )
  metric('livelocked', '1 while quorum has been lost.', 'gauge', st.livelocked ? 1 : 0)
  metric('running_servers', 'etcd tasks in TASK_RUNNING.', 'gauge', st.running_servers)
  metric('cluster_size', 'Desired number of members.', 'gauge', st.cluster_size)
  metric('launched_servers_total', 'etcd tasks launched.', 'counter', st.launched_servers)
  metric('failed_servers_total', 'etcd tasks that ended.', 'counter', st.failed_servers)
  metric('cluster_livelocks_total', 'Episodes of lost quorum.', 'counter', st.cluster_livelocks)
  metric('cluster_reseeds_total', 'Re-seeds started.', 'counter', st.cluster_reseeds)
  metric('subscribed', '1 while subscribed to a Mesos master.', 'gauge', subscribed(s) ? 1 : 0)
  metric(
    'volumes_released_total',
    'Volumes destroyed and reservations released for members removed for good.',
    'counter',
    st.volumes_released,
  )
  metric(
    'leftover_reservations_cleaned_total',
    'Reservations and volumes of this cluster unknown to the records (a crash mid-launch) released.',
    'counter',
    st.leftovers_cleaned,
  )
  metric('defrags_total', 'Member defragmentations done (routine and NOSPACE recovery).', 'counter', st.defrags)
  metric('defrag_failures_total', 'Member defragmentations that failed.', 'counter', st.defrag_failures)
  metric('nospace_episodes_total', 'NOSPACE alarm episodes the scheduler recovered from (or tried to).', 'counter', st.nospace_episodes)
  metric('nospace_active', '1 while a NOSPACE recovery is under way.', 'gauge', st.nospace.active ? 1 : 0)
  families.push(...spaceMetricFamilies(s.config.clusterName, membersView(s), clusterAlarms(s.health.probes)))
  return families
}
