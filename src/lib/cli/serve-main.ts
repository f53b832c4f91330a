/**
 * The body of `etcd-mesos serve`, shared by the oclif command (commands/serve.ts) and bin/run.js's fast path
 * (serve-fast.ts): flags → options → runServe until a signal or a fatal error. `fail` reports an error the way
 * the caller prints errors (oclif: this.error) and does not return.
 */
import {
  parseLocalAgentPorts,
  resolveAdminTls,
  resolveEtcdTls,
  resolveLogFormat,
  resolveServeOptions,
  ServeConfigError,
  type ServeFlagValues,
} from '../../scheduler/serve-flags.js'
import {runServe, ServeError} from '../../scheduler/serve.js'
import {BackupConfigError, resolveBackupSettings} from '../../scheduler/backup-policy.js'
import {RestoreFlagError, resolveRestoreFlags} from '../../scheduler/restore-flags.js'
import type {S3Options} from '../backup/s3-options.js'
import {resolveEtcdSpaceFlags, SpaceSettingsError} from '../etcd/space-settings.js'
import {DefragFlagError, resolveDefragFlags} from '../../scheduler/defrag-flags.js'
import {RolloutFlagError, resolveRolloutFlags} from '../../scheduler/rollout-flags.js'

/** --backup-s3-* flags and AWS_* env vars → S3Options, for s3:// targets only (never logged). */
async function backupS3(f: ServeFlagValues, target: string | undefined): Promise<S3Options | undefined> {
  if (!target?.startsWith('s3://')) return undefined
  const {resolveS3Options} = await import('../backup/s3-options.js')
  try {
    return resolveS3Options({
      flags: {
        ...(f['backup-s3-endpoint'] ? {endpoint: f['backup-s3-endpoint']} : {}),
        ...(f['backup-s3-region'] ? {region: f['backup-s3-region']} : {}),
        ...(f['backup-s3-credentials-file'] ? {credentialsFile: f['backup-s3-credentials-file']} : {}),
        ...(f['backup-s3-profile'] ? {profile: f['backup-s3-profile']} : {}),
        ...(f['backup-s3-ca-file'] ? {caFile: f['backup-s3-ca-file']} : {}),
        ...(f['backup-s3-path-style'] !== undefined ? {forcePathStyle: f['backup-s3-path-style']} : {}),
      },
    })
  } catch (err) {
    throw new BackupConfigError(`--backup-target ${target}: ${(err as Error).message}`)
  }
}

export async function serveMain(f: ServeFlagValues, fail: (message: string, exit: number) => never): Promise<void> {
  const ac = new AbortController()
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort())
  try {
    const o = resolveServeOptions(f)
    const space = resolveEtcdSpaceFlags(f)
    o.warnings.push(...space.warnings)
    const backup = resolveBackupSettings(f)
    const restore = resolveRestoreFlags(f, backup?.target)
    const s3 = await backupS3(f, backup?.target ?? restore.restoreFrom?.target)
    process.exitCode = await runServe(
      {
        ...o,
        adminPort: f['admin-port'],
        adminAddress: f['admin-address'],
        adminTokenFile: f['admin-token-file'],
        adminMaxConnections: f['admin-max-connections'],
        adminTls: resolveAdminTls(f),
        logFormat: resolveLogFormat(f['log-format']),
        address: f.address,
        executorBin: f['executor-bin'],
        reseedBackupsKeep: f['reseed-backups-keep'],
        etcdBin: f['etcd-bin'],
        principal: f['mesos-authentication-principal'],
        secretFile: f['mesos-authentication-secret-file'],
        singleInstancePerAgent: f['single-instance-per-slave'],
        singleInstancePerHost: f['single-instance-per-host'],
        webUri: f['framework-weburi'],
        role: f['framework-role'],
        healthIntervalSec: f['health-interval'],
        bootstrapWaitSec: f['bootstrap-wait'],
        memberGraceSec: f['member-grace'],
        volumeWaitSec: f['volume-wait'],
        leftoverGraceSec: f['leftover-grace'],
        localAgents: f['local-agents'],
        localMesosPort: f['local-mesos-port'],
        localAgentPorts: parseLocalAgentPorts(f['local-agent-ports']),
        logDir: f['log-dir'],
        verbose: f.v > 0,
        etcdTls: resolveEtcdTls(f),
        backup,
        ...(s3 ? {backupS3: s3} : {}),
        restore,
        etcdSpace: space.settings,
        defrag: resolveDefragFlags(f),
        rollout: resolveRolloutFlags(f),
      },
      ac.signal,
    )
    // Everything was closed in order; a client library's stray handle must not keep a supervised daemon alive.
    const t = setTimeout(() => {
      if (process.env.ETCD_MESOS_DEBUG_HANDLES) {
        const h = (process as unknown as {_getActiveHandles(): object[]})._getActiveHandles().map((x) => x.constructor.name)
        process.stderr.write(`active handles at exit: ${h.join(', ')}\n`)
      }
      process.exit()
    }, 2000)
    t.unref()
  } catch (err) {
    if (
      err instanceof ServeConfigError ||
      err instanceof BackupConfigError ||
      err instanceof RestoreFlagError ||
      err instanceof SpaceSettingsError ||
      err instanceof DefragFlagError ||
      err instanceof RolloutFlagError
    )
      fail(err.message, 2)
    if (err instanceof ServeError) fail(err.message, err.exitCode)
    throw err
  }
}
