/**
 * The agent `/state` JSON, built from the agent's records (state.ts) — shape of a real agent's `/state`,
 * fixture 09 step 24: flattened resources, tasks under their executor, command tasks with `"executor_id": ""`,
 * statuses without uuid/executor_pid — and the agent's `flags`. Pure: no I/O, no clock.
 */
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Resource, TaskStatus} from '../../lib/mesos/types.js'
import {AGENT_CAPABILITIES, MESOS_VERSION} from '../mesos-version.js'
import {addResources, flattenResources, withRole} from '../resources.js'
import {type ExecutorRecord, type FrameworkRecord, isTerminal, type TaskRecord} from './state.js'

export interface AgentStateView {
  agentId: string
  pid: string
  hostname: string
  /** Reverse lookup of the registered master's ip (real agents: `net::getHostname`); absent while unknown. */
  masterHostname?: string
  startTime: number
  total: Resource[]
  flags: Record<string, string>
  frameworks: FrameworkRecord[]
  executors: ExecutorRecord[]
  tasks: TaskRecord[]
  completedExecutors: ExecutorRecord[]
}

function statusForState(s: TaskStatus): Record<string, unknown> {
  const out: Record<string, unknown> = {state: s.state, timestamp: s.timestamp}
  if (s.container_status) {
    const cs = {...s.container_status}
    delete cs.executor_pid
    out.container_status = cs
  }
  return out
}

function taskJson(t: TaskRecord, kind: 'custom' | 'command', agentId: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: t.info.task_id.value,
    name: t.info.name,
    framework_id: t.frameworkId,
    executor_id: kind === 'command' ? '' : t.executorId,
    slave_id: agentId,
    state: t.state,
    resources: flattenResources(t.info.resources ?? []),
    role: '*',
    statuses: t.statuses.map(statusForState),
  }
  if (t.info.labels) out.labels = t.info.labels.labels
  if (t.info.discovery) out.discovery = t.info.discovery
  return out
}

function executorJson(e: ExecutorRecord, tasks: TaskRecord[], agentId: string): Record<string, unknown> {
  const mine = tasks.filter((t) => t.frameworkId === e.frameworkId && t.executorId === e.id)
  const queuedIds = new Set(e.queued.map((q) => q.task_id.value))
  const resources = addResources(
    e.info.resources ?? [],
    mine.flatMap((t) => t.info.resources ?? []),
  )
  const out: Record<string, unknown> = {
    id: e.id,
    name: e.info.name ?? '',
    source: e.info.source ?? '',
    container: e.containerId,
    directory: e.directory,
    resources: flattenResources(resources),
    role: '*',
  }
  if (e.kind === 'custom') out.type = e.info.type ?? 'CUSTOM'
  if (e.info.labels) out.labels = e.info.labels.labels
  out.tasks = mine.filter((t) => !queuedIds.has(t.info.task_id.value) && !isTerminal(t.state)).map((t) => taskJson(t, e.kind, agentId))
  out.queued_tasks = mine.filter((t) => queuedIds.has(t.info.task_id.value)).map((t) => taskJson(t, e.kind, agentId))
  out.completed_tasks = mine
    .filter((t) => !queuedIds.has(t.info.task_id.value) && isTerminal(t.state))
    .map((t) => taskJson(t, e.kind, agentId))
  return out
}

/** `launcher_dir`: the folder of the local Mesos' modules (src/mesos-local or dist/mesos-local), as before the split by concept. */
const LAUNCHER_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

export interface AgentFlagValues {
  ip: string
  port: number
  hostname: string
  workDir: string
  master: string
  resources: string
  executorRegistrationTimeout: string
  executorReregistrationTimeout: string
  executorShutdownGracePeriod: string
  recoveryTimeout: string
}

/**
 * The agent's `flags`: every flag a Mesos 1.12 agent shows, with Mesos' defaults (fixture 09: the recording agent
 * ran with `--launcher=posix --isolation=posix/cpu,posix/mem --no-systemd_enable_support`), except the configured
 * addresses/timeouts and `switch_user=false` (executors run as the agent's own user).
 */
export function agentFlags(f: AgentFlagValues): Record<string, string> {
  const tmp = os.tmpdir()
  return {
    appc_simple_discovery_uri_prefix: 'http://',
    appc_store_dir: path.join(tmp, 'mesos/store/appc'),
    authenticate_http_readonly: 'false',
    authenticate_http_readwrite: 'false',
    authenticatee: 'crammd5',
    authentication_backoff_factor: '1secs',
    authentication_timeout_max: '1mins',
    authentication_timeout_min: '5secs',
    authorizer: 'local',
    cgroups_cpu_enable_pids_and_tids_count: 'false',
    cgroups_destroy_timeout: '1mins',
    cgroups_enable_cfs: 'false',
    cgroups_hierarchy: '/sys/fs/cgroup',
    cgroups_limit_swap: 'false',
    cgroups_root: 'mesos',
    container_disk_watch_interval: '15secs',
    containerizers: 'mesos',
    default_role: '*',
    disallow_sharing_agent_ipc_namespace: 'false',
    disallow_sharing_agent_pid_namespace: 'false',
    disk_watch_interval: '1mins',
    docker: 'docker',
    docker_ignore_runtime: 'false',
    docker_kill_orphans: 'true',
    docker_registry: 'https://registry-1.docker.io',
    docker_remove_delay: '6hrs',
    docker_socket: '/var/run/docker.sock',
    docker_stop_timeout: '0ns',
    docker_store_dir: path.join(tmp, 'mesos/store/docker'),
    docker_volume_checkpoint_dir: '/var/run/mesos/isolators/docker/volume',
    docker_volume_chown: 'false',
    enforce_container_disk_quota: 'false',
    executor_registration_timeout: f.executorRegistrationTimeout,
    executor_reregistration_timeout: f.executorReregistrationTimeout,
    executor_shutdown_grace_period: f.executorShutdownGracePeriod,
    fetcher_cache_dir: path.join(tmp, 'mesos/fetch'),
    fetcher_cache_size: '2GB',
    fetcher_stall_timeout: '1mins',
    frameworks_home: '',
    gc_delay: '1weeks',
    gc_disk_headroom: '0.1',
    gc_non_executor_container_sandboxes: 'false',
    help: 'false',
    hostname: f.hostname,
    hostname_lookup: 'true',
    http_command_executor: 'false',
    http_executor_domain_sockets: 'false',
    http_heartbeat_interval: '30secs',
    initialize_driver_logging: 'true',
    ip: f.ip,
    isolation: 'posix/cpu,posix/mem',
    launcher: 'posix',
    launcher_dir: LAUNCHER_DIR,
    logbufsecs: '0',
    logging_level: 'INFO',
    master: f.master,
    max_completed_executors_per_framework: '150',
    memory_profiling: 'false',
    network_cni_metrics: 'true',
    network_cni_root_dir_persist: 'false',
    oversubscribed_resources_interval: '15secs',
    perf_duration: '10secs',
    perf_interval: '1mins',
    port: String(f.port),
    qos_correction_interval_min: '0ns',
    quiet: 'false',
    reconfiguration_policy: 'equal',
    recover: 'reconnect',
    recovery_timeout: f.recoveryTimeout,
    registration_backoff_factor: '1secs',
    resources: f.resources,
    revocable_cpu_low_priority: 'true',
    runtime_dir: '/var/run/mesos',
    sandbox_directory: '/mnt/mesos/sandbox',
    strict: 'true',
    switch_user: 'false',
    systemd_enable_support: 'false',
    systemd_runtime_directory: '/run/systemd/system',
    version: 'false',
    work_dir: f.workDir,
    zk_session_timeout: '10secs',
  }
}

/** The role a resource is reserved to now (last reservation), undefined when unreserved. */
function reservedTo(r: Resource): string | undefined {
  return r.reservations?.at(-1)?.role ?? (r.role !== undefined && r.role !== '*' ? r.role : undefined)
}

/** A reserved resource as the state endpoints show it: both formats at once (`role`, `reservation`, `reservations`). */
function endpointFormat(r: Resource): Resource {
  const {name, type, scalar, ranges, set, reservations, allocation_info: _a, role: _r, reservation: _p, ...rest} = r
  const last = reservations?.at(-1)
  return {
    name,
    type,
    ...(scalar ? {scalar} : {}),
    ...(ranges ? {ranges} : {}),
    ...(set ? {set} : {}),
    role: reservedTo(r) ?? '*',
    ...(last?.type === 'DYNAMIC' ? {reservation: last.principal !== undefined ? {principal: last.principal} : {}} : {}),
    ...(reservations ? {reservations} : {}),
    ...rest,
  }
}

/** Resources per reservation role, and the unreserved rest. */
function byRole(rs: readonly Resource[]): {reserved: Map<string, Resource[]>; unreserved: Resource[]} {
  const reserved = new Map<string, Resource[]>()
  const unreserved: Resource[] = []
  for (const r of rs) {
    const role = reservedTo(r)
    if (role === undefined) unreserved.push(r)
    else reserved.set(role, [...(reserved.get(role) ?? []), r])
  }
  return {reserved, unreserved}
}

const perRole = <T>(m: Map<string, Resource[]>, f: (rs: Resource[]) => T): Record<string, T> =>
  Object.fromEntries([...m].map(([role, rs]) => [role, f(rs)]))

/** The agent `/state` document. */
export function buildAgentState(v: AgentStateView): Record<string, unknown> {
  const flat = flattenResources(v.total)
  const total = byRole(v.total)
  const allocated = byRole(
    v.executors
      .filter((e) => e.state !== 'TERMINATED')
      .flatMap((e) => [
        ...(e.info.resources ?? []),
        ...v.tasks
          .filter((t) => t.frameworkId === e.frameworkId && t.executorId === e.id && !isTerminal(t.state))
          .flatMap((t) => t.info.resources ?? []),
      ]),
  )
  return {
    version: MESOS_VERSION,
    build_date: '',
    build_time: 0,
    build_user: '',
    start_time: v.startTime,
    id: v.agentId,
    pid: v.pid,
    hostname: v.hostname,
    ...(v.masterHostname !== undefined ? {master_hostname: v.masterHostname} : {}),
    capabilities: AGENT_CAPABILITIES,
    resources: flat,
    reserved_resources: perRole(total.reserved, flattenResources),
    unreserved_resources: flattenResources(total.unreserved),
    reserved_resources_full: perRole(total.reserved, (rs) => rs.map(endpointFormat)),
    unreserved_resources_full: withRole(total.unreserved, '*'),
    reserved_resources_allocated: perRole(allocated.reserved, flattenResources),
    unreserved_resources_allocated: flattenResources(allocated.unreserved),
    resource_providers: [],
    attributes: {},
    flags: v.flags,
    frameworks: v.frameworks.map((f) => ({
      id: f.info.id.value,
      name: f.info.name,
      user: f.info.user,
      failover_timeout: f.info.failover_timeout ?? 0,
      checkpoint: f.info.checkpoint ?? false,
      hostname: f.info.hostname ?? '',
      roles: f.info.roles ?? [f.info.role ?? '*'],
      executors: v.executors
        .filter((e) => e.frameworkId === f.info.id.value && e.state !== 'TERMINATED')
        .map((e) => executorJson(e, v.tasks, v.agentId)),
      completed_executors: v.completedExecutors
        .filter((e) => e.frameworkId === f.info.id.value)
        .map((e) => executorJson(e, v.tasks, v.agentId)),
    })),
    completed_frameworks: [],
  }
}
