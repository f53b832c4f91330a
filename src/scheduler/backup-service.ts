/**
 * The scheduler's backups (issue 15), driver side: run by the leading scheduler only (serve.ts starts it once this
 * process leads; a standby takes none). Decisions are pure (backup-policy.ts); this module does the I/O.
 *
 *   - periodic full backups every --backup-interval (none with 0), on demand through POST /backups (requestBackup):
 *     never two at once, each bounded by --backup-timeout, streamed from the member chooseBackupSource picks from
 *     the scheduler's latest health probes; a due backup with no healthy member waits (not counted as a failure);
 *   - after each success: retention (--backup-keep, --backup-max-age), then the delta recorder (re)started on the
 *     new full backup (startDeltaRecorder, with --backup-delta-interval); a delta chain that breaks (the recorder's
 *     onError: it records nothing more) triggers a new full backup at once;
 *   - the recovery point: everything up to the newest full backup's start, or the last delta flush, or the last
 *     moment (sampled every tick) the recorder had nothing pending and no new failure, is in the target;
 *   - status() for /stats and /metrics (backup-views.ts); the target is opened lazily, so an unreachable target at
 *     start-up is a warning and counted failures, never a reason for serve to stop.
 * The service never throws into its caller: every failure is logged, counted and reported.
 */
import {randomUUID} from 'node:crypto'
import type {EtcdTlsOptions} from '../lib/etcd/tls-files.js'
import type {MemberProbe} from '../lib/etcd/probe.js'
import type {BackupManifest} from '../lib/backup/manifest.js'
import type {BackupTarget} from '../lib/backup/target.js'
import type {S3Options} from '../lib/backup/s3-options.js'
import type {Logger} from './logger.js'
import {
  backupFailing,
  chooseBackupSource,
  coveredUntil,
  nextBackupDue,
  recoveryPointSeconds,
  type BackupHistory,
  type BackupSettings,
} from './backup-policy.js'

import type {DeltaRecorder} from '../lib/backup/delta-recorder.js'

export interface BackupServiceDeps {
  settings: BackupSettings
  s3?: S3Options
  tls?: EtcdTlsOptions
  /** The scheduler's latest health probes (driver.current.health.probes). */
  probes: () => readonly MemberProbe[]
  log: Logger
  /** Called once per full backup that ended (succeeded or failed): /metrics' etcd_mesos_backup_duration_seconds. */
  onEnded?: (op: BackupOp) => void
  now?: () => number
}

export interface BackupOp {
  op: string
  status: 'running' | 'succeeded' | 'failed'
  message: string | null
  manifest: BackupManifest | null
  created_at: number
  updated_at: number
}

/** How often a waiting service re-checks (no healthy member yet, or the next due time is far). */
const TICK_MS = 2000
const MAX_OPS = 50

export class BackupService {
  private readonly now: () => number
  private readonly history: BackupHistory
  private target: BackupTarget | null = null
  private running: Promise<void> | null = null
  private runningOp: string | null = null
  private timer: NodeJS.Timeout | null = null
  private stopped = false
  /** Aborts a running backup on stop(). */
  private readonly abort = new AbortController()
  private readonly ops = new Map<string, BackupOp>()
  private recorder: DeltaRecorder | null = null
  private chainBroken = false
  private lastDeltaFlushAt: number | null = null
  private lastDeltaId: string | null = null
  /** The last tick at which the recorder had nothing pending and no new failure: every write before it is flushed. */
  private quietAt: number | null = null
  private quietFailures = 0
  private deltaWarnedAt = 0
  private lastSuccess: {id: string; at: number; revision: number; member: string} | null = null
  private lastFailure: {at: number; message: string} | null = null
  private taken = 0
  private failuresTotal = 0
  private waitingSince: number | null = null

  constructor(private readonly deps: BackupServiceDeps) {
    this.now = deps.now ?? Date.now
    this.history = {startedAt: this.now(), lastSuccessAt: null, lastFailureAt: null, consecutiveFailures: 0}
  }

  get settings(): BackupSettings {
    return this.deps.settings
  }

  /** Opens the target once (a failure is a warning: backups are retried and fail loudly), then schedules. */
  async start(): Promise<void> {
    await this.openTarget().catch((err: Error) => {
      this.deps.log.warn('backup target not usable yet; backups will fail until it is', {target: this.settings.target, error: err.message})
    })
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.abort.abort()
    await this.running?.catch(() => undefined)
    await this.recorder?.stop().catch(() => undefined)
    this.recorder = null
  }

  /** POST /backups: an on-demand full backup, unless one is running. */
  requestBackup(): {accepted: true; op: string} | {accepted: false; status: 409; error: string; op: string} {
    if (this.running && this.runningOp)
      return {accepted: false, status: 409, error: `a backup is already running (operation ${this.runningOp})`, op: this.runningOp}
    return {accepted: true, op: this.run('on demand')}
  }

  opStatus(op: string): BackupOp | null {
    return this.ops.get(op) ?? null
  }

  async list(): Promise<{target: string; backups: BackupManifest[]; invalid: {name: string; error: string}[]}> {
    const {listBackups} = await import('../lib/backup/backups.js')
    const target = await this.openTarget()
    return {target: this.settings.target, ...(await listBackups(target))}
  }

  /** The `backup` object of /stats. */
  status() {
    const now = this.now()
    const rec = this.recorder?.status() ?? null
    const deltaFlush = rec?.lastFlushAt ?? this.lastDeltaFlushAt
    const covered = coveredUntil(this.lastSuccess?.at ?? null, Math.max(deltaFlush ?? 0, this.quietAt ?? 0) || null)
    const due = nextBackupDue(this.history, this.settings.intervalMs)
    return {
      target: this.settings.target,
      interval_seconds: this.settings.intervalMs / 1000,
      delta_interval_seconds: this.settings.deltaIntervalMs / 1000,
      running: this.runningOp,
      backups_taken: this.taken,
      failures_total: this.failuresTotal,
      consecutive_failures: this.history.consecutiveFailures,
      last_success: this.lastSuccess
        ? {
            id: this.lastSuccess.id,
            at: this.lastSuccess.at,
            revision: this.lastSuccess.revision,
            age_seconds: Math.max(0, Math.round((now - this.lastSuccess.at) / 1000)),
            member: this.lastSuccess.member,
          }
        : null,
      last_failure: this.lastFailure ? {at: this.lastFailure.at, message: this.lastFailure.message} : null,
      next_due_at: this.running ? null : due,
      waiting_for_member_since: this.waitingSince,
      deltas: {
        enabled: this.settings.deltaIntervalMs > 0,
        recording: this.recorder !== null,
        last_flush_at: deltaFlush,
        last_delta_id: this.lastDeltaId,
        revision: rec?.flushedRevision ?? null,
        pending_events: rec?.pendingEvents ?? null,
        failures: rec?.failures ?? 0,
        last_error: rec?.lastError ?? null,
      },
      recovery_point_seconds: recoveryPointSeconds(covered, now),
      failing: backupFailing(this.history, this.settings, now),
    }
  }

  private async openTarget(): Promise<BackupTarget> {
    if (this.target) return this.target
    const {openBackupTarget} = await import('../lib/backup/open.js')
    this.target = await openBackupTarget(this.settings.target, this.deps.s3 ? {s3: this.deps.s3} : {})
    return this.target
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.min(delayMs, TICK_MS)))
    this.timer.unref?.()
  }

  private tick(): void {
    this.timer = null
    this.sampleRecorder()
    if (this.stopped || this.running) return
    const due = this.chainBroken ? this.now() : nextBackupDue(this.history, this.settings.intervalMs)
    if (due === null || due > this.now()) {
      this.schedule(due === null ? TICK_MS : due - this.now())
      return
    }
    if (!chooseBackupSource(this.deps.probes())) {
      if (this.waitingSince === null) {
        this.waitingSince = this.now()
        this.deps.log.info('a backup is due; waiting for a healthy member to stream it from')
      }
      this.schedule(TICK_MS)
      return
    }
    this.run(this.chainBroken ? 'delta chain broken' : 'periodic')
  }

  /** Starts one full backup as operation `op` (GET /backups/op/<op>); returns its id. */
  private run(why: string): string {
    const op = randomUUID().replace(/-/g, '').slice(0, 16)
    this.trackOp({op, status: 'running', message: null, manifest: null, created_at: this.now(), updated_at: this.now()})
    this.runningOp = op
    this.running = this.once(op, why).finally(() => {
      this.running = null
      this.runningOp = null
      this.schedule(0)
    })
    return op
  }

  private trackOp(o: BackupOp): void {
    if (o.status !== 'running' && this.ops.get(o.op)?.status === 'running') this.deps.onEnded?.(o)
    this.ops.set(o.op, o)
    while (this.ops.size > MAX_OPS) this.ops.delete(this.ops.keys().next().value as string)
  }

  /** One full backup: take (bounded), retention, deltas. Never throws. */
  private async once(op: string, why: string): Promise<void> {
    const started = this.now()
    this.waitingSince = null
    const source = chooseBackupSource(this.deps.probes())
    try {
      if (!source) throw new Error('no healthy etcd member to stream a backup from')
      const target = await this.openTarget()
      const {takeBackup, applyRetention} = await import('../lib/backup/backups.js')
      const timeout = AbortSignal.timeout(this.settings.timeoutMs)
      const signal = AbortSignal.any([timeout, this.abort.signal])
      const manifest = await takeBackup({
        endpoint: source.clientUrl,
        target,
        signal,
        timeoutMs: Math.min(30_000, this.settings.timeoutMs),
        ...(this.deps.tls ? {tls: this.deps.tls} : {}),
        now: this.now,
      }).catch((err: Error) => {
        throw timeout.aborted
          ? new Error(`the backup took longer than --backup-timeout (${this.settings.timeoutMs / 1000} s): ${err.message}`)
          : err
      })
      this.taken++
      this.history.lastSuccessAt = started
      this.history.consecutiveFailures = 0
      this.lastSuccess = {id: manifest.id, at: Date.parse(manifest.createdAt), revision: manifest.revision, member: source.clientUrl}
      this.chainBroken = false
      this.deps.log.info('backup taken', {
        id: manifest.id,
        revision: manifest.revision,
        size: manifest.size,
        from: source.clientUrl,
        op,
        why,
      })
      this.trackOp({...this.ops.get(op)!, status: 'succeeded', manifest, updated_at: this.now()})
      await this.retention(target, applyRetention)
      await this.restartDeltas(target, manifest).catch((err: Error) => {
        this.deps.log.warn('delta backups could not start; the next full backup tries again', {error: err.message})
      })
    } catch (err) {
      const message = (err as Error).message
      this.failuresTotal++
      this.history.consecutiveFailures++
      this.history.lastFailureAt = this.now()
      this.lastFailure = {at: this.now(), message}
      // A target that failed may be reopened next time (e.g. a remounted directory).
      if ((err as {code?: string}).code === 'BAD_TARGET' || (err as {code?: string}).code === 'IO') this.target = null
      this.deps.log.warn('backup failed', {
        error: message,
        consecutiveFailures: this.history.consecutiveFailures,
        target: this.settings.target,
        op,
        why,
      })
      this.trackOp({...this.ops.get(op)!, status: 'failed', message, updated_at: this.now()})
    }
  }

  private async retention(target: BackupTarget, apply: typeof import('../lib/backup/backups.js').applyRetention): Promise<void> {
    const {keep, maxAgeMs} = this.settings
    if (keep === undefined && maxAgeMs === undefined) return
    try {
      const deleted = await apply(
        target,
        {...(keep !== undefined ? {keepCount: keep} : {}), ...(maxAgeMs !== undefined ? {maxAgeMs} : {})},
        this.now(),
      )
      if (deleted.length > 0) this.deps.log.info('backups expired by retention', {deleted})
    } catch (err) {
      this.deps.log.warn('backup retention failed (the backup itself is kept)', {error: (err as Error).message})
    }
  }

  /** Every tick: when the recorder has nothing pending and no failure since the last tick, all writes so far are flushed. */
  private sampleRecorder(): void {
    const r = this.recorder?.status()
    if (!r || r.broken || r.stopped) return
    if (r.pendingEvents === 0 && r.failures === this.quietFailures) this.quietAt = this.now()
    this.quietFailures = r.failures
  }

  private async restartDeltas(target: BackupTarget, base: BackupManifest): Promise<void> {
    await this.recorder?.stop().catch(() => undefined)
    this.recorder = null
    if (this.settings.deltaIntervalMs <= 0 || this.stopped) return
    const {startDeltaRecorder} = await import('../lib/backup/delta-recorder.js')
    if (this.stopped) return
    this.quietAt = null
    this.quietFailures = 0
    this.recorder = startDeltaRecorder({
      target,
      base,
      endpoint: () => chooseBackupSource(this.deps.probes())?.clientUrl ?? null,
      flushIntervalMs: this.settings.deltaIntervalMs,
      ...(this.deps.tls ? {tls: this.deps.tls} : {}),
      onFlush: (m) => {
        this.lastDeltaFlushAt = this.now()
        this.lastDeltaId = m.id
      },
      onWarning: (err) => {
        if (this.now() - this.deltaWarnedAt < 60_000) return
        this.deltaWarnedAt = this.now()
        this.deps.log.warn('delta backups: a failure, retried (at most one such warning a minute)', {error: err.message})
      },
      onError: (err) => {
        // The chain cannot go on (e.g. compacted past the recorded revision): a new full backup starts a new one.
        this.deps.log.warn('delta backups broke; taking a new full backup', {error: err.message})
        this.chainBroken = true
        this.schedule(0)
      },
    })
  }
}
