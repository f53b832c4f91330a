/**
 * Glue between the running scheduler and the admin API: AdminDeps built from the driver's current core
 * state (which holds the last probes, the connection facts and the re-seed step logs) and the leader
 * election. Before this process leads (a
 * standby) the read endpoints answer 503 naming the leader, and POST /reseed is refused.
 */
import {randomUUID} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {rotationProblemAll} from '../lib/etcd/tls-trust.js'
import {runningTasks} from './core/state.js'
import type {MemberTlsContent} from '../lib/member-config.js'
import type {EtcdTlsSettings} from './serve-flags.js'
import {readTlsMaterial, type TlsMaterial} from './tls-material.js'
import type {LeaderElection} from '../lib/zk/election.js'
import type {AdminDeps} from './admin.js'
import type {SchedulerDriver} from './driver.js'
import type {Logger} from './logger.js'
import {candidatesView, failoverView, membersView, metricFamilies, reseedView, statsView, type ElectionView} from './views.js'
import type {BackupService} from './backup-service.js'
import type {EventRecorder} from './event-recorder.js'
import {backupListEntry, backupMetricFamilies} from './backup-views.js'
import {certificateMetricFamily} from './cert-views.js'
import type {SchedulerMetrics} from './metrics.js'
import {restoreOpView} from './restore-views.js'
import {rolloutStatus, rolloutView} from './core/rollout-view.js'
import {type StatsHistory, startStatsSampler} from './stats-history.js'

export class StandbyError extends Error {
  override name = 'StandbyError'
}

export class AdminState {
  private driver: SchedulerDriver | null = null
  private election: LeaderElection | null = null

  constructor(
    private readonly opts: {failoverTimeoutSec: number; clusterName: string},
    private readonly log: Logger,
  ) {}

  attachElection(e: LeaderElection): void {
    this.election = e
  }

  attachDriver(d: SchedulerDriver): void {
    this.driver = d
  }

  private history: StatsHistory | null = null
  /** Samples /stats every 5 s for GET /stats/history (serve.ts, once this scheduler leads); returns the stop. */
  startHistory(): () => void {
    const sampler = startStatsSampler(() => (this.driver ? statsView(this.driver.current) : null))
    this.history = sampler.history
    return sampler.stop
  }

  private tlsFiles: EtcdTlsSettings | null = null
  /** serve's etcd TLS flags: POST /rollout re-reads the member files and ships them when they changed. */
  attachTlsFiles(t: EtcdTlsSettings): void {
    this.tlsFiles = t
  }

  /** The member TLS files read again; when they changed, checked for trust against what the members run (else refused). */
  private async rereadTls(
    d: SchedulerDriver,
  ): Promise<{tls?: {content: MemberTlsContent; certs: MemberTlsContent; digest: string}} | {refused: string}> {
    if (!this.tlsFiles) return {}
    let m: TlsMaterial
    try {
      m = await readTlsMaterial(this.tlsFiles.member)
    } catch (err) {
      return {refused: `rollout refused: ${(err as Error).message}`}
    }
    const s = d.current
    if (m.digest === s.config.tlsDigest) return {}
    let clientCert: string | undefined
    try {
      clientCert = await readFile(this.tlsFiles.client.certFile, 'utf8')
    } catch (err) {
      return {refused: `rollout refused: cannot read the scheduler's client certificate: ${(err as Error).message}`}
    }
    const running = runningTlsCerts(s)
    const problem = rotationProblemAll(running, m.certs, clientCert)
    if (problem) {
      this.log.warn(problem)
      return {refused: problem}
    }
    this.log.info('POST /rollout: the TLS files changed since they were last read; rolling the members to them', {
      digest: m.digest.slice(0, 12),
    })
    return {tls: {content: m.content, certs: m.certs, digest: m.digest}}
  }

  private events: EventRecorder | null = null
  /** The leader's event log (serve.ts, once this scheduler leads): GET /events, /events/stream. */
  attachEvents(r: EventRecorder): void {
    this.events = r
  }

  private backups: BackupService | null = null
  /** The leader's backup service (serve.ts, with --backup-target). */
  attachBackups(b: BackupService): void {
    this.backups = b
  }

  private adminTls: {current: {notAfter: number}} | null = null
  /** The admin API's certificate watcher (admin-tls.ts, with --admin-tls-*): its expiry is on /metrics. */
  attachAdminTls(w: {current: {notAfter: number}}): void {
    this.adminTls = w
  }

  private metrics: SchedulerMetrics | null = null
  /** This serve's registry (metrics.ts): its etcd_mesos_* state families come from the driver and the backups. */
  attachMetrics(m: SchedulerMetrics): void {
    this.metrics = m
    m.source = () => {
      const d = this.driver
      const adminNotAfter = this.adminTls?.current.notAfter ?? null
      // A standby (no driver) still shows its admin certificate's expiry.
      if (!d) return adminNotAfter === null ? [] : [certificateMetricFamily(this.opts.clusterName, [], adminNotAfter)]
      const s = d.current
      const families = [...metricFamilies(s), certificateMetricFamily(s.config.clusterName, runningTlsCerts(s), adminNotAfter)]
      return this.backups ? [...families, ...backupMetricFamilies(this.backups.status(), s.config.clusterName)] : families
    }
  }

  private electionView(): ElectionView {
    const e = this.election
    // No election: leading once the driver runs (no ZooKeeper: the only scheduler); before that, still starting.
    if (!e)
      return {
        id: `${process.pid}`,
        leader: this.driver ? {id: `${process.pid}`, admin_url: null, host: null, since: null} : null,
        standbys: [],
      }
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
    const [leader, ...standbys] = e.candidates()
    return {
      id: e.id,
      leader: leader
        ? {
            id: leader.id,
            admin_url: str(leader.data.adminUrl),
            host: str(leader.data.host),
            since: typeof leader.data.since === 'number' ? leader.data.since : null,
          }
        : null,
      standbys: standbys.map((c) => ({id: c.id, admin_url: str(c.data.adminUrl), host: str(c.data.host)})),
    }
  }

  private requireDriver(): SchedulerDriver {
    if (this.driver) return this.driver
    const leader = this.electionView().leader
    throw new StandbyError(`this scheduler is a standby${leader?.admin_url ? `; the leader is at ${leader.admin_url}` : ''}`)
  }

  deps(): AdminDeps {
    return {
      stats: () => statsView(this.requireDriver().current, this.backups?.status() ?? null),
      statsHistory: () => {
        this.requireDriver()
        if (!this.history) throw new StandbyError('no stats history yet')
        return this.history.view()
      },
      members: () => membersView(this.requireDriver().current),
      eventLog: () => {
        this.requireDriver()
        if (!this.events) throw new StandbyError('no event log yet')
        return this.events
      },
      healthy: () => this.driver !== null && this.driver.current.stats.healthy === 1,
      failoverStatus: () => {
        const d = this.driver
        if (!d) return {framework_id: null, subscribed: false, mode: 'STANDBY', scheduler: this.electionView()}
        return failoverView(d.current, this.opts.failoverTimeoutSec, this.electionView(), Date.now())
      },
      // A standby: the process metrics and the (empty) histograms, no etcd_mesos_* state samples.
      metrics: () => (this.metrics ? this.metrics.render() : '# no metrics registry\n'),
      requestReseed: (force) => {
        if (!this.driver) return {accepted: false, status: 503, error: 'this scheduler is a standby'}
        const op = randomUUID().replace(/-/g, '').slice(0, 16)
        this.driver.dispatch({type: 'ReseedRequested', op, force})
        const rec = this.driver.current.operations.find((o) => o.op === op)
        this.log.info('re-seed requested through the admin API', {op, force, outcome: rec?.status ?? 'unknown'})
        if (!rec || rec.status === 'refused') return {accepted: false, status: 409, error: rec?.message ?? 're-seed refused'}
        return {accepted: true, op}
      },
      reseedStatus: (op) => (this.driver ? reseedView(this.driver.current, op) : null),
      reseedCandidates: () => candidatesView(this.requireDriver().current),
      requestBackup: () => {
        this.requireDriver()
        if (!this.backups) return {accepted: false, status: 503, error: 'backups are not configured (no --backup-target)'}
        const r = this.backups.requestBackup()
        this.log.info('backup requested through the admin API', r.accepted ? {op: r.op} : {refused: r.error})
        return r
      },
      backupStatus: (op) => this.backups?.opStatus(op) ?? null,
      requestRestore: ({from, toRevision, force}) => {
        if (!this.driver) return {accepted: false, status: 503, error: 'this scheduler is a standby'}
        if (this.driver.current.config.backupTarget === undefined)
          return {accepted: false, status: 503, error: 'restores need a backup target (serve --backup-target)'}
        const op = `restore-${randomUUID().replace(/-/g, '').slice(0, 12)}`
        this.driver.dispatch({type: 'RestoreRequested', op, from, ...(toRevision !== undefined ? {toRevision} : {}), force})
        const rec = this.driver.current.operations.find((o) => o.op === op)
        this.log.info('restore requested through the admin API', {
          op,
          from,
          toRevision: toRevision ?? null,
          force,
          outcome: rec?.status ?? 'unknown',
        })
        if (!rec || rec.status === 'refused') return {accepted: false, status: 409, error: rec?.message ?? 'restore refused'}
        return {accepted: true, op}
      },
      restoreStatus: (op) => (this.driver ? restoreOpView(this.driver.current, op) : null),
      rolloutStatus: () => rolloutStatus(this.requireDriver().current),
      rolloutControl: async (action) => {
        if (!this.driver) return {status: 503, body: {error: 'this scheduler is a standby'}}
        const d = this.driver
        const before = d.current.rollout
        if (action === 'start') {
          const op = `rollout-${randomUUID().replace(/-/g, '').slice(0, 12)}`
          const tls = await this.rereadTls(d)
          if ('refused' in tls) return {status: 409, body: {error: tls.refused}}
          d.dispatch({type: 'RolloutRequested', op, ...tls})
          const r = d.current.rollout
          this.log.info('rollout requested through the admin API', {op, outcome: r?.op === op ? r.state : 'refused'})
          if (r?.op === op && r.state === 'running') return {status: 202, body: {op, status: '/rollout', rollout: rolloutView(d.current)}}
          if (r?.op === op) return {status: 409, body: {error: `rollout refused: ${r.message}`, rollout: rolloutView(d.current)}}
          return {status: 409, body: {error: `a rollout is already ${r?.state ?? 'active'} (operation ${r?.op ?? '?'})`, op: r?.op ?? null}}
        }
        const allowed =
          action === 'resume'
            ? before?.state === 'paused'
            : before?.state === 'running' || (action === 'abort' && before?.state === 'paused')
        if (!before || !allowed)
          return {status: 409, body: {error: `no rollout to ${action}: ${before ? `the last one is ${before.state}` : 'none ever ran'}`}}
        d.dispatch({type: 'RolloutControl', action})
        this.log.info(`rollout ${action} requested through the admin API`, {op: before.op})
        return {status: 202, body: {op: before.op, rollout: rolloutView(d.current)}}
      },
      listBackups: async () => {
        this.requireDriver()
        if (!this.backups) throw new StandbyError('backups are not configured (no --backup-target)')
        const {target, backups, invalid} = await this.backups.list()
        return {target, backups: backups.map(backupListEntry), invalid}
      },
    }
  }
}

/** The member TLS certificates and CAs (no keys) each running member runs with (its task record's spec). */
function runningTlsCerts(s: SchedulerDriver['current']): MemberTlsContent[] {
  return runningTasks(s)
    .map((t) => t.spec?.tlsCerts)
    .filter((c): c is MemberTlsContent => c !== undefined)
}
