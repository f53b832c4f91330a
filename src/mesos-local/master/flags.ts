/**
 * /master/flags of the local master: every flag a Mesos 1.12 master shows, with Mesos' defaults, except where
 * this master differs: the configured intervals/addresses, `registry: in_memory` (no replicated log) and no
 * `webui_dir` (no web UI). Durations are written like Mesos' (durationText).
 */
import type {MasterInfo} from '../../lib/mesos/types.js'

/** Mesos' Duration text: `1secs`, `15secs`, `500ms`, `10mins`. */
export function durationText(ms: number): string {
  const units: [number, string][] = [
    [604800000, 'weeks'],
    [86400000, 'days'],
    [3600000, 'hrs'],
    [60000, 'mins'],
    [1000, 'secs'],
    [1, 'ms'],
  ]
  for (const [size, name] of units) if (ms >= size) return `${Number((ms / size).toFixed(3))}${name}`
  return `${ms}ms`
}

/** The settings of a local master that its flags show. */
export interface MasterFlagSettings {
  ip: string
  zk?: string
  workDir?: string
  allocationIntervalMs: number
  agentPingTimeoutMs: number
  maxAgentPingTimeouts: number
  agentReregisterTimeoutMs: number
}

export function masterFlags(o: MasterFlagSettings, info: MasterInfo): Record<string, string> {
  return {
    agent_ping_timeout: durationText(o.agentPingTimeoutMs),
    agent_reregister_timeout: durationText(o.agentReregisterTimeoutMs),
    allocation_interval: durationText(o.allocationIntervalMs),
    allocator: 'hierarchical',
    allocator_agent_recovery_factor: '0.8',
    allocator_recovery_timeout: '10mins',
    authenticate_agents: 'false',
    authenticate_frameworks: 'false',
    authenticate_http_frameworks: 'false',
    authenticate_http_readonly: 'false',
    authenticate_http_readwrite: 'false',
    authentication_v0_timeout: '15secs',
    authenticators: 'crammd5',
    authorizers: 'local',
    filter_gpu_resources: 'true',
    framework_sorter: 'drf',
    help: 'false',
    hostname: info.hostname ?? o.ip,
    hostname_lookup: 'true',
    http_authenticators: 'basic',
    initialize_driver_logging: 'true',
    ip: o.ip,
    log_auto_initialize: 'true',
    logbufsecs: '0',
    logging_level: 'INFO',
    max_agent_ping_timeouts: String(o.maxAgentPingTimeouts),
    max_completed_frameworks: '50',
    max_completed_tasks_per_framework: '1000',
    max_operator_event_stream_subscribers: '1000',
    max_unreachable_tasks_per_framework: '1000',
    memory_profiling: 'false',
    min_allocatable_resources: 'cpus:0.01|mem:32',
    offer_constraints_re2_max_mem: '4KB',
    offer_constraints_re2_max_program_size: '100',
    port: String(info.port),
    publish_per_framework_metrics: 'true',
    quiet: 'false',
    ...(o.zk !== undefined ? {quorum: '1'} : {}),
    recovery_agent_removal_limit: '100%',
    registry: 'in_memory',
    registry_fetch_timeout: '1mins',
    registry_gc_interval: '15mins',
    registry_max_agent_age: '2weeks',
    registry_max_agent_count: '102400',
    registry_store_timeout: '20secs',
    registry_strict: 'false',
    require_agent_domain: 'false',
    role_sorter: 'drf',
    root_submissions: 'true',
    version: 'false',
    work_dir: o.workDir ?? '',
    ...(o.zk !== undefined ? {zk: o.zk} : {}),
    zk_session_timeout: '10secs',
  }
}
