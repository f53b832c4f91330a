/**
 * Flags of `etcd-mesos serve`: every flag of the original etcd-mesos-scheduler keeps its name and
 * meaning (Go-style `-flag=value` and `-log_dir` are accepted, see lib/cli/argv.ts), each with the
 * environment variable the original's container used. Validation that needs more than a type lives in
 * resolveServeOptions (pure), so that it is unit-tested and the command stays thin. The flags are plain data
 * (lib/cli/flag-spec.ts): the oclif command builds its flags from them and bin/run.js's fast path parses with them
 * without loading oclif (lib/cli/serve-fast.ts), so the two cannot drift apart.
 */
import {bool, int, type SpecValues, str} from '../lib/cli/flag-spec.js'
import {serveDefragFlags} from './defrag-flags.js'
import {serveRolloutFlags} from './rollout-flags.js'

export const serveFlags = {
  'cluster-name': str({
    summary: 'Unique name of this etcd cluster (FrameworkInfo.name, ZK node, member names).',
    aliases: ['framework-name'],
    env: 'FRAMEWORK_NAME',
    default: 'etcd',
  }),
  master: str({
    summary:
      'Mesos master: host:port, http(s)://host:port, zk://[user:pass@]h1:2181,h2:2181/mesos, or "local" for the embedded local Mesos.',
    env: 'MESOS_MASTER',
    default: '127.0.0.1:5050',
  }),
  'zk-framework-persist': str({
    summary:
      'ZooKeeper URL under which the framework persists its state, e.g. zk://zk1:2181/etcd-mesos. Required unless --master local (which then uses --state-file).',
    env: 'ZK_PERSIST',
  }),
  'state-file': str({
    summary: 'With --master local and no --zk-framework-persist: JSON file holding the persisted state.',
    env: 'ETCD_MESOS_STATE_FILE',
  }),
  'cluster-size': int({summary: 'Number of etcd members (odd, 1-7).', env: 'CLUSTER_SIZE', default: 5}),
  'admin-port': int({summary: 'Port of the admin HTTP API.', env: 'ADMIN_PORT', default: 23400, min: 0, max: 65535}),
  'admin-address': str({summary: 'Address the admin HTTP API binds to.', env: 'ADMIN_ADDRESS', default: '0.0.0.0'}),
  'admin-token-file': str({
    summary: 'File holding a bearer token required for mutating admin calls (otherwise loopback callers only).',
    env: 'ADMIN_TOKEN_FILE',
  }),
  'admin-max-connections': int({
    summary:
      'Most admin API connections open at once; further ones are closed at once (slow clients are also cut off: headers within 10 s, a request within 20 s).',
    env: 'ADMIN_MAX_CONNECTIONS',
    default: 256,
    min: 1,
    max: 65535,
  }),
  'reseed-timeout': int({
    summary: 'Seconds of lost quorum before an automatic re-seed; also the wait for a seed to become healthy.',
    env: 'RESEED_TIMEOUT',
    default: 240,
    min: 1,
  }),
  'auto-reseed': bool({
    summary: 'Re-seed automatically after --reseed-timeout seconds of lost quorum.',
    env: 'AUTO_RESEED',
    default: true,
    allowNo: true,
  }),
  'sandbox-disk-limit': str({summary: 'Disk (MB) for each etcd task.', env: 'DISK_LIMIT', default: '4096'}),
  'sandbox-cpu-limit': str({summary: 'CPUs for each etcd task.', env: 'CPU_LIMIT', default: '1'}),
  'sandbox-mem-limit': str({summary: 'Memory (MB) for each etcd task.', env: 'MEM_LIMIT', default: '2048'}),
  'executor-bin': str({
    summary:
      "Path to the etcd-mesos entry point whose `executor` command the agents run (default: this installation's lean bin/executor.js).",
    env: 'EXECUTOR_BIN',
  }),
  'reseed-backups-keep': int({
    summary:
      "Passed to each executor: copies of a member's data dir made before a re-seed to keep (the newest, the new one included; the executor's default is 2).",
    env: 'RESEED_BACKUPS_KEEP',
    min: 1,
    max: 100,
  }),
  'etcd-bin': str({summary: 'Path of the etcd binary on the agents.', env: 'ETCD_BIN', default: '/usr/bin/etcd'}),
  'etcdctl-bin': str({
    summary: 'Accepted for compatibility; not used (etcd-mesos talks the etcd v3 API itself).',
    env: 'ETCDCTL_BIN',
  }),
  address: str({
    summary: 'Host name or IP this scheduler is reachable at (for the published admin URL and the default web UI URL).',
    env: 'LIBPROCESS_IP',
  }),
  'driver-port': int({summary: 'Accepted for compatibility; not used by the v1 HTTP API.', env: 'DRIVER_PORT'}),
  'artifact-port': int({
    summary: 'Accepted for compatibility; not used (executors run this installation of etcd-mesos).',
    env: 'ARTIFACT_PORT',
  }),
  'mesos-authentication-principal': str({
    summary: 'Mesos principal (FrameworkInfo.principal, HTTP basic auth user).',
    env: 'MESOS_AUTHENTICATION_PRINCIPAL',
  }),
  'mesos-authentication-secret-file': str({
    summary: 'File holding the Mesos secret (trailing newline stripped).',
    env: 'MESOS_AUTHENTICATION_SECRET_FILE',
  }),
  'mesos-authentication-provider': str({
    summary: 'Authentication provider: "basic" (HTTP basic, the v1 API\'s) or "SASL" (taken as basic).',
    env: 'MESOS_AUTHENTICATION_PROVIDER',
    default: 'basic',
  }),
  'mesos-offer-refuse-seconds': str({
    summary: 'Filters.refuse_seconds for declined offers.',
    env: 'MESOS_OFFER_REFUSE_SECONDS',
    default: '15',
  }),
  'single-instance-per-slave': bool({
    summary: 'At most one etcd member per agent.',
    env: 'SINGLE_INSTANCE_PER_SLAVE',
    default: true,
    allowNo: true,
  }),
  'single-instance-per-host': bool({
    summary: 'At most one etcd member per host name (stricter than per agent).',
    env: 'SINGLE_INSTANCE_PER_HOST',
    default: false,
    allowNo: true,
  }),
  'failover-timeout-seconds': str({
    summary: 'FrameworkInfo.failover_timeout: how long Mesos keeps the tasks while no scheduler is connected.',
    env: 'FRAMEWORK_FAILOVER_TIMEOUT_SECONDS',
    default: '604800',
  }),
  'framework-weburi': str({summary: 'FrameworkInfo.webui_url (default: the admin URL).', env: 'WEBURI'}),
  'framework-role': str({
    summary:
      "Mesos role to register with. Other than '*': each member's resources are dynamically reserved to it (principal: --mesos-authentication-principal) and its data is on a persistent volume that outlives its task; released when the member is removed for good. '*': no reservation, the data lives in the task's sandbox.",
    env: 'FRAMEWORK_ROLE',
    default: '*',
  }),
  'health-interval': int({
    summary: 'Seconds between health checks of the etcd members.',
    env: 'HEALTH_INTERVAL',
    default: 5,
    min: 1,
  }),
  'local-agents': int({
    summary: 'With --master local: number of local agents.',
    env: 'LOCAL_AGENTS',
    default: 3,
    min: 1,
    max: 50,
  }),
  'local-agent-ports': str({
    summary:
      'With --master local: the port range LO-HI each local agent offers (etcd client and peer ports); two local schedulers on one machine need ranges that do not overlap.',
    env: 'LOCAL_AGENT_PORTS',
    default: '31000-32000',
  }),
  'local-mesos-port': int({
    summary: 'With --master local: port of the local master (0 = any free port).',
    env: 'LOCAL_MESOS_PORT',
    default: 5050,
    min: 0,
    max: 65535,
  }),
  // glog flags of the original: accepted so existing invocations keep working.
  'log-dir': str({summary: 'Directory for the log file (logs also go to stderr).', env: 'LOG_DIR'}),
  'log-format': str({
    summary: 'Log lines as text (time LEVEL message key=value) or json (one JSON object per line, for log shippers).',
    env: 'LOG_FORMAT',
    default: 'text',
  }),
  logtostderr: bool({summary: 'Accepted for compatibility (logs always go to stderr).', allowNo: true}),
  alsologtostderr: bool({summary: 'Accepted for compatibility (logs always go to stderr).', allowNo: true}),
  v: int({char: 'v', summary: 'Verbosity: 0 info, 1+ debug (glog -v).', env: 'VERBOSITY', default: 0}),
  stderrthreshold: str({summary: 'Accepted for compatibility.'}),
  vmodule: str({summary: 'Accepted for compatibility.'}),
  'log-backtrace-at': str({summary: 'Accepted for compatibility.'}),
}

export class ServeConfigError extends Error {}

/** `--local-agent-ports LO-HI` → [lo, hi]: 1024 ≤ LO < HI ≤ 65535 (a member needs two ports). */
export function parseLocalAgentPorts(raw: string): [number, number] {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(raw)
  const lo = Number(m?.[1])
  const hi = Number(m?.[2])
  if (!m || lo < 1024 || hi > 65535 || lo >= hi)
    throw new ServeConfigError(`--local-agent-ports ${JSON.stringify(raw)} must be LO-HI with 1024 <= LO < HI <= 65535, e.g. 31000-32000`)
  return [lo, hi]
}

function num(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(raw.trim())
  if (raw.trim() === '' || !Number.isFinite(v)) throw new ServeConfigError(`--${name} must be a number, not ${JSON.stringify(raw)}`)
  if (v < min || v > max) throw new ServeConfigError(`--${name} must be between ${min} and ${max}, not ${v}`)
  return v
}

export interface ServeOptions {
  clusterName: string
  master: string
  zkPersist?: string
  stateFile?: string
  clusterSize: number
  warnings: string[]
  cpus: number
  mem: number
  disk: number
  refuseSeconds: number
  failoverTimeoutSec: number
  reseedTimeoutSec: number
  autoReseed: boolean
}

/** Pure checks of the flag values that oclif's types cannot express. */
export function resolveServeOptions(f: {
  'cluster-name': string
  master: string
  'zk-framework-persist'?: string
  'state-file'?: string
  'cluster-size': number
  'sandbox-cpu-limit': string
  'sandbox-mem-limit': string
  'sandbox-disk-limit': string
  'mesos-offer-refuse-seconds': string
  'failover-timeout-seconds': string
  'reseed-timeout': number
  'auto-reseed': boolean
  'mesos-authentication-provider': string
}): ServeOptions {
  const warnings: string[] = []
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(f['cluster-name'])) {
    throw new ServeConfigError(
      `--cluster-name ${JSON.stringify(f['cluster-name'])} must be 1-63 characters of letters, digits, '.', '_' or '-' (it names etcd members and a ZooKeeper node)`,
    )
  }
  const size = f['cluster-size']
  if (size < 1 || size > 7 || size % 2 === 0) throw new ServeConfigError(`--cluster-size must be odd and between 1 and 7, not ${size}`)
  if (size !== 3 && size !== 5 && size !== 7)
    warnings.push(`--cluster-size ${size}: a cluster of 1 has no fault tolerance; 3, 5 or 7 are recommended`)
  const master = f.master.trim()
  if (master === '') throw new ServeConfigError('--master is empty')
  if (!f['zk-framework-persist'] && master !== 'local') {
    throw new ServeConfigError('--zk-framework-persist is required (e.g. zk://zk1:2181/etcd-mesos); only --master local may run without it')
  }
  const provider = f['mesos-authentication-provider'].toLowerCase()
  if (provider !== 'basic' && provider !== 'sasl')
    throw new ServeConfigError(
      `--mesos-authentication-provider must be "basic" or "SASL", not ${JSON.stringify(f['mesos-authentication-provider'])}`,
    )
  const failover = num('failover-timeout-seconds', f['failover-timeout-seconds'], 0, 365 * 24 * 3600)
  if (failover < 60)
    warnings.push(`--failover-timeout-seconds ${failover}: Mesos kills every etcd task when the scheduler is away longer than this`)
  return {
    clusterName: f['cluster-name'],
    master,
    zkPersist: f['zk-framework-persist'],
    stateFile: f['state-file'],
    clusterSize: size,
    warnings,
    cpus: num('sandbox-cpu-limit', f['sandbox-cpu-limit'], 0.01, 1024),
    mem: num('sandbox-mem-limit', f['sandbox-mem-limit'], 32, 1 << 24),
    disk: num('sandbox-disk-limit', f['sandbox-disk-limit'], 1, 1 << 30),
    refuseSeconds: num('mesos-offer-refuse-seconds', f['mesos-offer-refuse-seconds'], 0, 31536000),
    failoverTimeoutSec: failover,
    reseedTimeoutSec: f['reseed-timeout'],
    autoReseed: f['auto-reseed'],
  }
}

/** Flags of the newer behaviour (no equivalent in the original). */
export const serveTuningFlags = {
  'bootstrap-wait': int({
    summary: 'Seconds to gather offers from enough agents to launch the whole cluster at once before growing one member at a time.',
    env: 'BOOTSTRAP_WAIT',
    default: 10,
    min: 0,
  }),
  'member-grace': int({
    summary: 'Seconds before an etcd member not backed by any task is removed.',
    env: 'MEMBER_GRACE',
    default: 60,
    min: 1,
  }),
  'volume-wait': int({
    summary:
      'With a role: seconds a member whose etcd died on a live agent waits for the offer holding its persistent volume (to be relaunched there, on its data) before it is removed and replaced elsewhere.',
    env: 'VOLUME_WAIT',
    default: 120,
    min: 1,
    max: 86_400,
  }),
  'leftover-grace': int({
    summary:
      'With a role: seconds a reservation or volume of this cluster that the stored records do not know (left by a crash between reserving and storing) is seen in offers before it is destroyed and unreserved.',
    env: 'LEFTOVER_GRACE',
    default: 120,
    min: 1,
    max: 86_400,
  }),
}

/** etcd TLS: with --etcd-cert-file the members serve https on their client and peer ports. */
export const serveTlsFlags = {
  'etcd-cert-file': str({
    summary:
      'Certificate the members serve their client and peer ports with (enables https); must be valid for every agent host name and also usable as a client certificate. Read by serve and shipped to every member (README: Rotating certificates).',
    env: 'ETCD_CERT_FILE',
    helpGroup: 'ETCD TLS',
  }),
  'etcd-key-file': str({summary: 'Key of --etcd-cert-file.', env: 'ETCD_KEY_FILE', helpGroup: 'ETCD TLS'}),
  'etcd-trusted-ca-file': str({
    summary: 'CA that client and peer certificates must be signed by (enables client certificate authentication).',
    env: 'ETCD_TRUSTED_CA_FILE',
    helpGroup: 'ETCD TLS',
  }),
  'etcd-peer-cert-file': str({
    summary: 'Separate peer certificate (default: --etcd-cert-file).',
    env: 'ETCD_PEER_CERT_FILE',
    helpGroup: 'ETCD TLS',
  }),
  'etcd-peer-key-file': str({summary: 'Key of --etcd-peer-cert-file.', env: 'ETCD_PEER_KEY_FILE', helpGroup: 'ETCD TLS'}),
  'etcd-peer-trusted-ca-file': str({
    summary: 'CA for peer certificates (default: --etcd-trusted-ca-file).',
    env: 'ETCD_PEER_TRUSTED_CA_FILE',
    helpGroup: 'ETCD TLS',
  }),
  'etcd-client-cert-file': str({
    summary: 'Client certificate the scheduler uses for health checks and member changes (default: --etcd-cert-file).',
    env: 'ETCD_CLIENT_CERT_FILE',
    helpGroup: 'ETCD TLS',
  }),
  'etcd-client-key-file': str({summary: 'Key of --etcd-client-cert-file.', env: 'ETCD_CLIENT_KEY_FILE', helpGroup: 'ETCD TLS'}),
}

/** The admin API over HTTPS: with both files the admin API (and the URL published in ZooKeeper) is https. */
export const serveAdminTlsFlags = {
  'admin-tls-cert-file': str({
    summary: 'PEM certificate (chain) the admin API serves HTTPS with (needs --admin-tls-key-file); the CLI verifies it with --ca-file.',
    env: 'ADMIN_TLS_CERT_FILE',
    helpGroup: 'ADMIN TLS',
  }),
  'admin-tls-key-file': str({summary: 'PEM private key of --admin-tls-cert-file.', env: 'ADMIN_TLS_KEY_FILE', helpGroup: 'ADMIN TLS'}),
}

/** --log-format: text (default) or json. */
export function resolveLogFormat(raw: string): 'text' | 'json' {
  const v = raw.trim().toLowerCase()
  if (v !== 'text' && v !== 'json') throw new ServeConfigError(`--log-format must be text or json, not ${JSON.stringify(raw)}`)
  return v
}

/** Pure: both admin TLS files or neither; null for plain http. The files are read (and checked) by serve's preflight. */
export function resolveAdminTls(f: {
  'admin-tls-cert-file'?: string
  'admin-tls-key-file'?: string
}): {certFile: string; keyFile: string} | null {
  const cert = f['admin-tls-cert-file']
  const key = f['admin-tls-key-file']
  if (!cert && !key) return null
  if (!cert || !key) throw new ServeConfigError('--admin-tls-cert-file and --admin-tls-key-file go together')
  return {certFile: cert, keyFile: key}
}

/** Backups (issue 15): periodic and on-demand full backups plus delta backups to a file:// or s3:// target. */
export const serveBackupFlags = {
  'backup-target': str({
    summary:
      'Where backups go: file:///dir (a directory every agent and the scheduler can reach) or s3://bucket/prefix. Not set: no backups.',
    env: 'BACKUP_TARGET',
    helpGroup: 'BACKUPS',
  }),
  'backup-interval': str({
    summary: 'Time between periodic full backups, e.g. 30m, 1h (units ms, s, m, h, d); 0: only on demand (POST /backups).',
    env: 'BACKUP_INTERVAL',
    default: '1h',
    helpGroup: 'BACKUPS',
  }),
  'backup-keep': int({
    summary: 'Retention: full backups to keep (the newest; their deltas go with them). Default: no count limit.',
    env: 'BACKUP_KEEP',
    min: 1,
    max: 100000,
    helpGroup: 'BACKUPS',
  }),
  'backup-max-age': str({
    summary: 'Retention: delete full backups older than this, e.g. 7d (the newest is always kept). Default: no age limit.',
    env: 'BACKUP_MAX_AGE',
    helpGroup: 'BACKUPS',
  }),
  'backup-delta-interval': str({
    summary: 'Time between flushes of delta backups (the writes since the last full backup), e.g. 5s; 0: no delta backups.',
    env: 'BACKUP_DELTA_INTERVAL',
    default: '5s',
    helpGroup: 'BACKUPS',
  }),
  'backup-timeout': str({
    summary: 'Longest a full backup may take before it is abandoned and counted as failed, e.g. 10m.',
    env: 'BACKUP_TIMEOUT',
    default: '10m',
    helpGroup: 'BACKUPS',
  }),
  'backup-s3-endpoint': str({
    summary: 's3:// targets: http(s)://host:port of an S3-compatible store (default: AWS; also AWS_ENDPOINT_URL).',
    helpGroup: 'BACKUPS',
  }),
  'backup-s3-region': str({summary: 's3:// targets: region (also AWS_REGION; default us-east-1).', helpGroup: 'BACKUPS'}),
  'backup-s3-credentials-file': str({
    summary: 's3:// targets: an AWS-style credentials file (also AWS_SHARED_CREDENTIALS_FILE), read when no AWS_ACCESS_KEY_ID is set.',
    helpGroup: 'BACKUPS',
  }),
  'backup-s3-profile': str({
    summary: 's3:// targets: profile of the credentials file (also AWS_PROFILE; default "default").',
    helpGroup: 'BACKUPS',
  }),
  'backup-s3-ca-file': str({summary: 's3:// targets: PEM CA bundle to verify an https endpoint with.', helpGroup: 'BACKUPS'}),
  'backup-s3-path-style': bool({
    summary: 's3:// targets: path-style addressing (http://host/bucket/key); the default with --backup-s3-endpoint.',
    allowNo: true,
    helpGroup: 'BACKUPS',
  }),
}

/** Restores (issue 15; restore-flags.ts checks them against --backup-target). */
export const serveRestoreFlags = {
  'auto-restore': bool({
    summary: 'After a total loss, once --reseed-timeout has passed, restore the latest backup of --backup-target automatically.',
    env: 'AUTO_RESTORE',
    default: false,
    allowNo: true,
    helpGroup: 'BACKUPS',
  }),
  'restore-from': str({
    summary:
      'On a first start only: build the cluster from a backup: latest, a backup id (of --backup-target), a target URL (its latest) or <target URL>/<id>.manifest.json.',
    env: 'RESTORE_FROM',
    helpGroup: 'BACKUPS',
  }),
}

/** Disk space (issue 17): etcd's backend quota and auto-compaction on every member (lib/etcd/space-settings.ts). */
export const serveDiskSpaceFlags = {
  'etcd-quota-backend-bytes': str({
    summary:
      "etcd's --quota-backend-bytes on every member: bytes or a size like 2GiB, 8GB (1 MiB .. 64 GiB). Beyond it etcd raises NOSPACE and refuses writes. Default: etcd's (2 GiB).",
    env: 'ETCD_QUOTA_BACKEND_BYTES',
    helpGroup: 'DISK SPACE',
  }),
  'etcd-auto-compaction-mode': str({
    summary:
      "etcd's --auto-compaction-mode on every member: periodic (keep a time window of history) or revision (keep a number of revisions).",
    env: 'ETCD_AUTO_COMPACTION_MODE',
    default: 'periodic',
    helpGroup: 'DISK SPACE',
  }),
  'etcd-auto-compaction-retention': str({
    summary:
      "etcd's --auto-compaction-retention on every member: periodic: a duration (1h, 30m) or hours; revision: revisions to keep. Default 1h (periodic), 10000 (revision); 0: no compaction.",
    env: 'ETCD_AUTO_COMPACTION_RETENTION',
    helpGroup: 'DISK SPACE',
  }),
}

/** Every flag of `serve`. */
export const serveFlagSpecs = {
  ...serveFlags,
  ...serveTuningFlags,
  ...serveTlsFlags,
  ...serveAdminTlsFlags,
  ...serveBackupFlags,
  ...serveRestoreFlags,
  ...serveDiskSpaceFlags,
  ...serveDefragFlags,
  ...serveRolloutFlags,
}
export type ServeFlagValues = SpecValues<typeof serveFlagSpecs>

export interface EtcdTlsSettings {
  member: {
    clientCertFile: string
    clientKeyFile: string
    clientTrustedCaFile?: string
    peerCertFile?: string
    peerKeyFile?: string
    peerTrustedCaFile?: string
  }
  client: {certFile: string; keyFile: string; caFile?: string}
}

/** Pure: checks the TLS flags go together; returns null for plain http. File readability is checked by serve. */
export function resolveEtcdTls(f: {[K in keyof typeof serveTlsFlags]?: string}): EtcdTlsSettings | null {
  // Only the TLS flags count: callers pass the whole parsed flag object.
  const any = (Object.keys(serveTlsFlags) as (keyof typeof serveTlsFlags)[]).some((k) => f[k] !== undefined)
  if (!any) return null
  const cert = f['etcd-cert-file']
  const key = f['etcd-key-file']
  if (!cert || !key) throw new ServeConfigError('etcd TLS needs both --etcd-cert-file and --etcd-key-file')
  if (!!f['etcd-peer-cert-file'] !== !!f['etcd-peer-key-file'])
    throw new ServeConfigError('--etcd-peer-cert-file and --etcd-peer-key-file go together')
  if (!!f['etcd-client-cert-file'] !== !!f['etcd-client-key-file'])
    throw new ServeConfigError('--etcd-client-cert-file and --etcd-client-key-file go together')
  const member: EtcdTlsSettings['member'] = {clientCertFile: cert, clientKeyFile: key}
  if (f['etcd-trusted-ca-file']) member.clientTrustedCaFile = f['etcd-trusted-ca-file']
  if (f['etcd-peer-cert-file']) member.peerCertFile = f['etcd-peer-cert-file']
  if (f['etcd-peer-key-file']) member.peerKeyFile = f['etcd-peer-key-file']
  if (f['etcd-peer-trusted-ca-file']) member.peerTrustedCaFile = f['etcd-peer-trusted-ca-file']
  const client: EtcdTlsSettings['client'] = {certFile: f['etcd-client-cert-file'] ?? cert, keyFile: f['etcd-client-key-file'] ?? key}
  if (f['etcd-trusted-ca-file']) client.caFile = f['etcd-trusted-ca-file']
  return {member, client}
}
