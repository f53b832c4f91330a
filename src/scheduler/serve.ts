/**
 * `etcd-mesos serve` lifecycle (one owner, STYLE.md 12): resolve options → (local Mesos) → state
 * store → leader election (ZooKeeper only; a standby waits and serves a standby admin view) →
 * driver + admin HTTP. SIGINT/SIGTERM stop the driver and leave the etcd tasks running (the next
 * scheduler picks them up within the failover timeout) — except in `--master local`, where the
 * embedded Mesos, and so the tasks, stop with the process.
 */
import os from 'node:os'
import path from 'node:path'
import {rename} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import type {FrameworkInfo} from '../lib/mesos/types.js'
import {createMasterDetector, type MasterDetector} from '../lib/mesos/detector.js'
import {resolveConfig} from './core/config.js'
import {buildAdminServer} from './admin-server.js'
import type {LogFormat, Logger} from './logger.js'
import {openLogger} from './log-format.js'
import {FileStateStore, ZkStateStore, type StateStore} from './state-store.js'
import {AdminState} from './admin-state.js'
import {AdminTlsWatcher, type SecureContextTarget} from './admin-tls.js'
import {SchedulerMetrics} from './metrics.js'
import {observeOperations, timedEtcd, timedMaintenance} from './metrics-observer.js'
import {followLeadership} from './leadership.js'
import {restoreResolver} from './restore-runner.js'
import {maintenanceRunner} from './maintenance-runner.js'
import {rolloutRunner} from './rollout-runner.js'
import {detectEtcdVersion} from './rollout-flags.js'
import {preflight, type Preflight, redactUrl, ServeError, type ServeRuntime} from './serve-preflight.js'

export {redactUrl, ServeError, type ServeRuntime} from './serve-preflight.js'

/**
 * The driver and its Mesos and etcd ports: the Mesos client (protobufjs and the protobuf types its SUBSCRIBE needs:
 * ~0.1 s of CPU on an idle 2-core machine, more when loaded). They are needed once the state store is open, so they
 * load, and the types are built, while ZooKeeper answers.
 */
async function loadDriver() {
  const [{SchedulerDriver}, {mesosPort}, {etcdCluster}, {mesosProtoRoot}] = await Promise.all([
    import('./driver.js'),
    import('./mesos-port.js'),
    import('./etcd-actions.js'),
    import('../lib/mesos/codec.js'),
  ])
  mesosProtoRoot('scheduler')
  return {SchedulerDriver, mesosPort, etcdCluster}
}

const EXECUTOR_JS = fileURLToPath(new URL('../../bin/executor.js', import.meta.url))

/**
 * The agents' command for an executor. Default: this installation's lean entry point bin/executor.js (no oclif:
 * it starts faster, on the path from ACCEPT to TASK_RUNNING); --executor-bin: that entry point's `executor` command.
 */
export function executorCommand(bin: string | undefined, reseedBackupsKeep?: number, logFormat: LogFormat = 'text') {
  const extra = [
    ...(reseedBackupsKeep === undefined ? [] : ['--reseed-backups-keep', String(reseedBackupsKeep)]),
    ...(logFormat === 'json' ? ['--log-format', 'json'] : []),
  ]
  // The agent builds the executor's environment from scratch (no PATH to our node): use absolute paths.
  if (bin === undefined) return {value: process.execPath, shell: false, arguments: [process.execPath, EXECUTOR_JS, ...extra]}
  const target = path.resolve(bin)
  if (target.endsWith('.js')) return {value: process.execPath, shell: false, arguments: [process.execPath, target, 'executor', ...extra]}
  return {value: target, shell: false, arguments: [target, 'executor', ...extra]}
}

export async function runServe(o: ServeRuntime, signal: AbortSignal): Promise<number> {
  const log = await openLogger({
    ...(o.logFormat ? {format: o.logFormat} : {}),
    verbose: o.verbose,
    file: o.logDir ? path.join(o.logDir, 'etcd-mesos-scheduler.log') : undefined,
  })
  for (const w of o.warnings) log.warn(w)
  const cleanups: (() => Promise<void>)[] = []
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn('a shutdown step did not finish within 20 s; going on')
          resolve()
        }, 20000)
      })
      await Promise.race([fn().catch((err: Error) => log.warn('shutdown step failed', {error: err.message})), limit])
      clearTimeout(timer)
    }
  }
  // Last resort: every promise of serve has its handler; one without is a bug, logged, and the scheduler goes on
  // (its state lives in the driver, which stays consistent) instead of Node exiting without a reason logged.
  const onUnhandled = (reason: unknown): void => {
    log.error('unhandled promise rejection (a bug); the scheduler keeps running', {
      error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    })
  }
  process.on('unhandledRejection', onUnhandled)
  cleanups.push(async () => void process.off('unhandledRejection', onUnhandled))
  try {
    const {token, authorization, zkUrl, adminTls, etcdTlsMaterial} = await preflight(o)
    if (adminTls?.warning) log.warn(adminTls.warning)
    let master = o.master
    if (master === 'local') {
      const {startLocalMesos} = await import('../mesos-local/cluster.js')
      const cpus = Math.max(2, Math.ceil(o.cpus + 0.5))
      const mem = Math.max(4096, Math.ceil(o.mem + 256))
      const disk = Math.max(10000, Math.ceil(o.disk + 100))
      const local = await startLocalMesos({
        agents: o.localAgents,
        port: o.localMesosPort,
        agentResources: `cpus:${cpus};mem:${mem};disk:${disk};ports:[${(o.localAgentPorts ?? [31000, 32000]).join('-')}]`,
        log: (l) => log.debug(l),
      })
      cleanups.push(() => local.stop())
      master = new URL(local.masterUrl).host
      log.info('started the embedded local Mesos', {master, agents: o.localAgents, workDir: local.workDir})
    }
    const detector: MasterDetector = await createMasterDetector(master).catch((err: Error) => {
      throw new ServeError(`--master ${redactUrl(master)}: ${err.message}`, 2)
    })
    cleanups.push(() => detector.close())

    const adminState = new AdminState(o, log)
    if (o.etcdTls) adminState.attachTlsFiles(o.etcdTls)
    // /metrics: this serve's own prom-client registry (metrics.ts), fed by the driver's edges (metrics-observer.ts).
    const metrics = new SchedulerMetrics({cluster: o.clusterName})
    adminState.attachMetrics(metrics)
    // Limits (admin-server.ts): slow or stalled clients are cut off, at most --admin-max-connections at once.
    let dropped = 0
    let dropLoggedAt = 0
    const server = buildAdminServer(
      {...adminState.deps(), ...(token ? {token} : {})},
      {
        ...(o.adminMaxConnections ? {limits: {maxConnections: o.adminMaxConnections}} : {}),
        ...(adminTls ? {tls: {cert: adminTls.cert, key: adminTls.key}} : {}),
        onDrop: (from) => {
          dropped++
          if (Date.now() - dropLoggedAt < 60_000) return
          dropLoggedAt = Date.now()
          log.warn('admin API: connection refused, --admin-max-connections reached', {from, refusedSoFar: dropped})
        },
      },
    )
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ServeError(`admin API cannot listen on ${o.adminAddress}:${o.adminPort}: ${err.code ?? err.message}`, 3)),
      )
      server.listen(o.adminPort, o.adminAddress, () => resolve())
    })
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections()
          server.close(() => r())
        }),
    )
    if (adminTls && o.adminTls) {
      // A renewed certificate is served without a restart (admin-tls.ts); a bad one is logged, the old one kept.
      const watcher = new AdminTlsWatcher(o.adminTls, server as SecureContextTarget, adminTls, log)
      watcher.start()
      cleanups.push(async () => watcher.stop())
      adminState.attachAdminTls(watcher)
    }
    const port = (server.address() as {port: number}).port
    const adminUrl = `${adminTls ? 'https' : 'http'}://${o.address ?? (o.adminAddress === '0.0.0.0' ? os.hostname() : o.adminAddress)}:${port}/`
    log.info('admin API listening', {url: adminUrl})

    const driverModules = loadDriver()
    driverModules.catch(() => {}) // awaited below; a failure surfaces there, unless opening the store failed first
    const {store, election, zk, eventStore} = await openStore(o, zkUrl, adminUrl, log, cleanups)
    if (election) {
      adminState.attachElection(election)
      if (!election.isLeader) {
        log.info('standing by: another scheduler leads this cluster', {leader: election.leader()?.data.adminUrl})
        await new Promise<void>((resolve) => {
          election.once('leader', () => resolve())
          signal.addEventListener('abort', () => resolve(), {once: true})
        })
        if (signal.aborted) return 0
        log.info('this scheduler is now the leader')
      }
    }

    const frameworkInfo: Omit<FrameworkInfo, 'id'> = {
      user: os.userInfo().username,
      name: o.clusterName,
      failover_timeout: o.failoverTimeoutSec,
      checkpoint: true,
      roles: [o.role],
      hostname: o.address ?? os.hostname(),
      webui_url: o.webUri ?? adminUrl,
      // With a role, reservations and volumes (issue 14): offers then come in the refinement format (no `role`).
      capabilities: o.role === '*' ? [{type: 'MULTI_ROLE'}] : [{type: 'MULTI_ROLE'}, {type: 'RESERVATION_REFINEMENT'}],
    }
    if (o.principal) frameworkInfo.principal = o.principal
    if (o.role === '*')
      log.info(
        "framework role '*': no reservation, no persistent volume; each member's data lives in its task's sandbox (a member whose etcd dies is restarted on it only while Mesos keeps that sandbox). Use --framework-role for persistent volumes",
        {role: o.role},
      )
    else
      log.info(`framework role '${o.role}': each member's resources are reserved to it and its data is on a persistent volume`, {
        role: o.role,
        principal: o.principal ?? null,
      })
    let etcdVersion = o.rollout?.etcdVersion
    if (etcdVersion === undefined) {
      const found = await detectEtcdVersion(o.etcdBin)
      if ('version' in found) etcdVersion = found.version
      else
        log.warn(
          `cannot tell the version of --etcd-bin ${o.etcdBin} on this host (${found.error}); give --etcd-version for rollouts that change it`,
        )
    }
    const config = resolveConfig({
      ...(etcdVersion !== undefined ? {etcdVersion} : {}),
      autoRollout: o.rollout?.autoRollout ?? true,
      ...(o.rollout ? {rolloutMemberTimeoutMs: o.rollout.memberTimeoutMs} : {}),
      clusterName: o.clusterName,
      clusterSize: o.clusterSize,
      cpus: o.cpus,
      mem: o.mem,
      disk: o.disk,
      refuseSeconds: o.refuseSeconds,
      singleInstancePerAgent: o.singleInstancePerAgent,
      singleInstancePerHost: o.singleInstancePerHost,
      autoReseed: o.autoReseed,
      reseedTimeoutMs: o.reseedTimeoutSec * 1000,
      reseedCandidateTimeoutMs: o.reseedTimeoutSec * 1000,
      healthIntervalMs: o.healthIntervalSec * 1000,
      bootstrapWaitMs: o.bootstrapWaitSec * 1000,
      memberGraceMs: o.memberGraceSec * 1000,
      ...(o.volumeWaitSec !== undefined ? {volumeWaitMs: o.volumeWaitSec * 1000} : {}),
      ...(o.leftoverGraceSec !== undefined ? {leftoverGraceMs: o.leftoverGraceSec * 1000} : {}),
      role: o.role,
      ...(o.principal ? {principal: o.principal} : {}),
      executorCommand: executorCommand(o.executorBin, o.reseedBackupsKeep, o.logFormat),
      etcdBin: o.etcdBin,
      ...(o.etcdSpace?.quotaBackendBytes !== undefined ? {quotaBackendBytes: o.etcdSpace.quotaBackendBytes} : {}),
      ...(o.etcdSpace?.autoCompaction ? {autoCompaction: o.etcdSpace.autoCompaction} : {}),
      ...(o.defrag ? {defragThreshold: o.defrag.threshold, defragIntervalMs: o.defrag.intervalMs} : {}),
      ...(o.etcdTls ? {scheme: 'https' as const, tls: o.etcdTls.member} : {}),
      ...(etcdTlsMaterial ? {tlsContent: etcdTlsMaterial.content, tlsCerts: etcdTlsMaterial.certs, tlsDigest: etcdTlsMaterial.digest} : {}),
      ...(o.backup ? {backupTarget: o.backup.target} : {}),
      ...(o.backupS3 ? {s3: o.backupS3} : {}),
      autoRestore: o.restore?.autoRestore ?? false,
      ...(o.restore?.restoreFrom ? {restoreFrom: o.restore.restoreFrom} : {}),
    })
    const {SchedulerDriver, mesosPort, etcdCluster} = await driverModules
    let backupService: import('./backup-service.js').BackupService | null = null
    const driver = new SchedulerDriver({
      config,
      frameworkInfo,
      store,
      log,
      mesos: mesosPort({detector, log, ...(authorization ? {authorization} : {})}),
      etcd: timedEtcd(etcdCluster(o.etcdTls?.client), metrics),
      restore: restoreResolver(o.backupS3 ? {s3: o.backupS3} : {}),
      rollout: rolloutRunner({...(o.etcdTls ? {tls: o.etcdTls.client} : {}), backups: () => backupService}),
      maintenance: timedMaintenance(
        maintenanceRunner({...(o.etcdTls ? {tls: o.etcdTls.client} : {}), defragTimeoutMs: config.defragTimeoutMs}),
        metrics,
      ),
    })
    adminState.attachDriver(driver)
    // The event log (issue 18): the history of earlier leaders continued, then what this one does (event-sources.ts).
    const {startEventLog, recordBackupEnded} = await import('./event-sources.js')
    const eventLog = await startEventLog({log, store: eventStore, zk, election, who: `the scheduler at ${adminUrl} (pid ${process.pid})`})
    adminState.attachEvents(eventLog.events)
    cleanups.push(eventLog.stop)
    const unfollowEvents = eventLog.events.followDriver(driver)
    cleanups.push(async () => unfollowEvents())
    const stopHistory = adminState.startHistory()
    cleanups.push(async () => stopHistory())
    const unobserve = observeOperations(driver, metrics)
    cleanups.push(async () => unobserve())
    cleanups.push(() => driver.stop())
    const fatal = new Promise<{message: string; exitCode: number}>((resolve) => driver.once('fatal', resolve))
    // ZooKeeper away (even past its session timeout) does not stop us; another leader does (leadership.ts).
    if (election) {
      const unfollow = followLeadership(election, driver, log)
      cleanups.push(async () => unfollow())
    }
    await driver.start()
    if (o.backup) {
      // Backups are taken by the leader only: this point is reached once this scheduler leads.
      const {BackupService} = await import('./backup-service.js')
      const backups = new BackupService({
        settings: o.backup,
        ...(o.backupS3 ? {s3: o.backupS3} : {}),
        ...(o.etcdTls ? {tls: o.etcdTls.client} : {}),
        probes: () => driver.current.health.probes,
        onEnded: (b) => {
          metrics.observeDuration('backup', b.status === 'succeeded' ? 'succeeded' : 'failed', (b.updated_at - b.created_at) / 1000)
          recordBackupEnded(eventLog.events, b)
        },
        log,
      })
      adminState.attachBackups(backups)
      backupService = backups
      cleanups.push(() => backups.stop())
      log.info('backups on', {
        target: o.backup.target,
        intervalSeconds: o.backup.intervalMs / 1000,
        deltaIntervalSeconds: o.backup.deltaIntervalMs / 1000,
        keep: o.backup.keep ?? null,
        maxAgeSeconds: o.backup.maxAgeMs === undefined ? null : o.backup.maxAgeMs / 1000,
        ...(o.backupS3 ? {s3: (await import('../lib/backup/s3-options.js')).describeS3Options(o.backupS3)} : {}),
      })
      await backups.start()
    }
    const aborted = new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), {once: true}))
    const end = await Promise.race([fatal, aborted])
    if (end === null) {
      log.info(
        o.master === 'local'
          ? 'stopping (signal); the embedded local Mesos and its etcd members stop too'
          : 'stopping (signal); the etcd tasks keep running on Mesos',
        {exitCode: 0},
      )
      return 0
    }
    log.error(`stopping after a fatal error: ${end.message}`, {exitCode: end.exitCode})
    return end.exitCode
  } finally {
    await cleanup()
  }
}

async function openStore(o: ServeRuntime, url: Preflight['zkUrl'], adminUrl: string, log: Logger, cleanups: (() => Promise<void>)[]) {
  if (!url) {
    const file = path.resolve(o.stateFile ?? path.join('.etcd-mesos-state', `${o.clusterName}.json`))
    // The embedded Mesos and its etcd tasks live only as long as this process: a state file left by an
    // earlier run describes tasks that no longer exist, so it is set aside (<file>.prev) and we start fresh.
    const moved = await rename(file, `${file}.prev`).then(
      () => true,
      () => false,
    )
    log.info('persisting scheduler state in a local file (no --zk-framework-persist; --master local only)', {
      file,
      ...(moved ? {previous: `${file}.prev`} : {}),
    })
    return {store: new FileStateStore(file) as StateStore, election: null, zk: null, eventStore: null}
  }
  const {ZkClient} = await import('../lib/zk/client.js')
  const {LeaderElection} = await import('../lib/zk/election.js')
  const {clusterZkPath} = await import('../lib/cli/locate.js')
  let zk: Awaited<ReturnType<typeof ZkClient.connect>>
  for (let attempt = 1, delay = 1000; ; attempt++, delay = Math.min(delay * 2, 15000)) {
    try {
      zk = await ZkClient.connect(url, {connectTimeoutMs: 10000})
      break
    } catch (err) {
      if (attempt >= 5)
        throw new ServeError(`cannot reach ZooKeeper at ${url.redacted} after ${attempt} attempts: ${(err as Error).message}`, 3)
      log.warn('ZooKeeper not reachable yet; retrying', {zk: url.redacted, attempt, retryInMs: delay})
      await new Promise((r) => setTimeout(r, delay))
    }
  }
  cleanups.push(() => zk.close())
  const base = clusterZkPath(url.path, o.clusterName)
  const election = new LeaderElection(zk, `${base}/election`, {adminUrl, host: os.hostname(), pid: process.pid, since: Date.now()})
  election.on('join-failed', (err: Error) =>
    log.warn('joining the leader election failed; retrying (standing by meanwhile)', {error: err.message}),
  )
  await election.start()
  cleanups.push(() => election.stop())
  // start() resolves before the first children listing: wait (bounded) until our own candidate node is listed,
  // so a lone scheduler does not report itself as a standby for a moment.
  const decided = (): boolean => election.isLeader || election.candidates().some((c) => c.id === election.id)
  if (!decided()) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        if (!decided()) return
        clearTimeout(timer)
        election.off('change', done).off('leader', done).off('standby', done)
        resolve()
      }
      const timer = setTimeout(() => {
        election.off('change', done).off('leader', done).off('standby', done)
        resolve()
      }, 5000)
      election.on('change', done).on('leader', done).on('standby', done)
    })
  }
  // The event log's newest events (event-recorder.ts) live in their own node next to the state.
  return {
    store: new ZkStateStore(zk, `${base}/state`) as StateStore,
    election,
    zk,
    eventStore: new ZkStateStore(zk, `${base}/events`) as StateStore,
  }
}
