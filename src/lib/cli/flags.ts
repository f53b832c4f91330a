/**
 * The scheduler flags every operator command shares (--admin-url, --cluster, --zk, --timeout,
 * --admin-token-file, --ca-file), as plain data: BaseCommand declares its oclif flags from it and the fast path
 * (fast-path.ts) parses with it, so the two cannot drift apart. No imports: bin/run.js loads this for
 * every command.
 */

/** The environment variable of each scheduler flag (used when the flag is not given and the variable is not empty). */
export const SCHEDULER_FLAG_ENV = {
  'admin-url': 'ETCD_MESOS_ADMIN_URL',
  cluster: 'ETCD_MESOS_CLUSTER',
  zk: 'ETCD_MESOS_ZK',
  timeout: 'ETCD_MESOS_TIMEOUT',
  'admin-token-file': 'ETCD_MESOS_ADMIN_TOKEN_FILE',
  'ca-file': 'ETCD_MESOS_CA_FILE',
} as const

export type SchedulerFlagName = keyof typeof SCHEDULER_FLAG_ENV

/** --timeout, in seconds. */
export const TIMEOUT_SECONDS = {default: 10, min: 1, max: 3600} as const

/** The scheduler flags as parsed. */
export interface SchedulerTarget {
  'admin-url'?: string | undefined
  cluster?: string | undefined
  zk?: string | undefined
  timeout: number
  'admin-token-file'?: string | undefined
  /** PEM CA bundle an https admin URL is verified with (default: Node's built-in CAs). */
  'ca-file'?: string | undefined
}

/** Environment variables that change what oclif prints or does: with any of them set (non-empty), oclif runs. */
const OCLIF_ENV = /^(DEBUG|CLI_FLAGS_DEBUG|ETCD_MESOS_DEBUG|ETCD_MESOS_CONTENT_TYPE|ETCD_MESOS_NO_FAST_PATH|OCLIF_.*)$/

export function oclifEnvSet(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(env).some((k) => OCLIF_ENV.test(k) && env[k] !== undefined && env[k] !== '')
}
