/**
 * What `serve` runs with (ServeRuntime: the resolved flags) and every check of it that can fail on bad flags or files
 * (preflight), before anything listens or launches: the role, the admin token and admin TLS files, the master and
 * ZooKeeper URLs, the Mesos secret, the etcd TLS files (read and checked: tls-material.ts). A failure is a ServeError
 * with the exit code serve ends with (2: bad flags or files).
 */
import {access, constants as fsc, readFile} from 'node:fs/promises'
import {type AdminTlsPair, expiredWarning, readAdminTls} from './admin-tls.js'
import {isValidRole} from './core/config.js'
import type {LogFormat} from './logger.js'
import type {EtcdTlsSettings, ServeOptions} from './serve-flags.js'
import {readTlsMaterial, type TlsMaterial} from './tls-material.js'

export interface ServeRuntime extends ServeOptions {
  adminPort: number
  adminAddress: string
  adminTokenFile?: string
  /** Cap on open admin API connections (default: admin-server.ts DEFAULT_ADMIN_LIMITS). */
  adminMaxConnections?: number
  /** --admin-tls-cert-file/--admin-tls-key-file (serve-flags.ts resolveAdminTls): the admin API over HTTPS. */
  adminTls?: {certFile: string; keyFile: string} | null
  /** --log-format (default text). */
  logFormat?: LogFormat
  address?: string
  executorBin?: string
  reseedBackupsKeep?: number
  etcdBin: string
  principal?: string
  secretFile?: string
  singleInstancePerAgent: boolean
  singleInstancePerHost: boolean
  webUri?: string
  role: string
  healthIntervalSec: number
  bootstrapWaitSec: number
  memberGraceSec: number
  /** With a role: seconds a dead member waits for the offer holding its volume (core volumeWaitMs). */
  volumeWaitSec?: number
  /** With a role: seconds before an unknown reservation/volume of this cluster is released (core leftoverGraceMs). */
  leftoverGraceSec?: number
  localAgents: number
  localMesosPort: number
  /** With --master local: the ports range every local agent offers. */
  localAgentPorts?: [number, number]
  logDir?: string
  verbose: boolean
  etcdTls: EtcdTlsSettings | null
  /** --backup-* (backup-policy.ts resolveBackupSettings); null/absent: no backups. */
  backup?: import('./backup-policy.js').BackupSettings | null
  /** s3:// backup targets: endpoint, region, credentials (never logged). */
  backupS3?: import('../lib/backup/s3-options.js').S3Options
  /** --auto-restore, --restore-from (restore-flags.ts resolveRestoreFlags). */
  restore?: {autoRestore: boolean; restoreFrom?: {target: string; from: string}}
  /** --etcd-quota-backend-bytes, --etcd-auto-compaction-* (lib/etcd/space-settings.ts): every member's etcd. */
  etcdSpace?: import('../lib/etcd/space-settings.js').EtcdSpaceSettings
  /** --defrag-threshold, --defrag-interval (defrag-flags.ts): routine defragmentation (core/defrag.ts). */
  defrag?: import('./defrag-flags.js').DefragSettings
  /** --auto-rollout, --rollout-member-timeout, --etcd-version (rollout-flags.ts): rolling upgrades (core/rollout.ts). */
  rollout?: import('./rollout-flags.js').RolloutSettings
}

export class ServeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

async function readSecret(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
  } catch (err) {
    throw new ServeError(`cannot read --mesos-authentication-secret-file ${file}: ${(err as Error).message}`, 2)
  }
}

/** `scheme://user:pass@host` → `scheme://user:***@host`: flag values are echoed in errors and logs. */
export function redactUrl(u: string): string {
  return u.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*):([^@/]*)@/i, '$1$2:***@')
}

export interface Preflight {
  token?: string
  adminTls?: AdminTlsPair & {warning?: string}
  authorization?: string
  zkUrl?: import('../lib/zk/url.js').ZkUrl
  etcdTlsMaterial?: TlsMaterial
}

/** Every check that can fail on bad flags or files, before anything starts listening or launching. */
export async function preflight(o: ServeRuntime): Promise<Preflight> {
  const out: Preflight = {}
  if (!isValidRole(o.role))
    throw new ServeError(`--framework-role ${JSON.stringify(o.role)} is not a valid Mesos role ('*' or names like etcd or eng/etcd)`, 2)
  if (o.adminTokenFile) {
    const t = (
      await readFile(o.adminTokenFile, 'utf8').catch((err: Error) => {
        throw new ServeError(`cannot read --admin-token-file: ${err.message}`, 2)
      })
    ).trim()
    if (t.length < 8) throw new ServeError('--admin-token-file holds a token shorter than 8 characters', 2)
    out.token = t
  }
  if (o.adminTls) {
    const pair = await readAdminTls(o.adminTls).catch((err: Error) => {
      throw new ServeError(err.message, 2)
    })
    const warning = expiredWarning(o.adminTls, pair)
    out.adminTls = {...pair, ...(warning ? {warning} : {})}
  }
  if (o.master !== 'local') {
    try {
      if (o.master.startsWith('zk://')) (await import('../lib/zk/url.js')).parseZkUrl(o.master)
      else (await import('../lib/mesos/master-address.js')).parseMasterAddress(o.master)
    } catch (err) {
      throw new ServeError(`--master ${redactUrl(o.master)}: ${(err as Error).message}`, 2)
    }
  }
  if (o.zkPersist) {
    try {
      out.zkUrl = (await import('../lib/zk/url.js')).parseZkUrl(o.zkPersist)
    } catch (err) {
      throw new ServeError(`--zk-framework-persist: ${(err as Error).message}`, 2)
    }
  }
  if (o.principal && o.secretFile)
    out.authorization = `Basic ${Buffer.from(`${o.principal}:${await readSecret(o.secretFile)}`).toString('base64')}`
  if (o.etcdTls) {
    for (const f of new Set(Object.values(o.etcdTls.client).filter((v): v is string => typeof v === 'string'))) {
      await access(f, fsc.R_OK).catch(() => {
        throw new ServeError(`etcd TLS file ${f} is not readable`, 2)
      })
    }
    // The member files are shipped to every member (tls-material.ts): read and checked now.
    out.etcdTlsMaterial = await readTlsMaterial(o.etcdTls.member).catch((err: Error) => {
      throw new ServeError(err.message, 2)
    })
  }
  return out
}
