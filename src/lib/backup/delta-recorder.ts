/**
 * The delta recorder: between full backups, records every change of the keyspace after a full backup (`base`)
 * from a watch (delta-watch.ts) and publishes it every `flushIntervalMs` as a delta backup (`<id>.delta.ndjson`
 * then `<id>.manifest.json`, each atomic, through target.put), so that a total loss loses only the changes of
 * the last interval.
 *
 * States: watching (connected, or waiting `reconnectDelayMs`, doubling up to 30 s, to reconnect) → stopped
 * (stop() called: a last flush of what is pending) or broken (fatal; status().broken, onError(err)).
 * Invariants:
 *   - the chain is contiguous: each delta's fromRevision is the previous delta's toRevision (the base's revision
 *     for the first); its toRevision is the newest revision it holds; revisions are never skipped or repeated
 *     (a reconnect — to `endpoint()` again, which may name another member — restarts from lastRevision + 1);
 *   - a revision's events are never split between two deltas (etcd sends one revision in one watch response);
 *   - nothing is lost silently: a failed flush keeps the events pending and is retried at the next interval
 *     (status().failures, lastError, onWarning(err)); the recorder breaks (CHAIN_BROKEN) when etcd
 *     compacted the revisions it needs (what was pending is flushed first, best effort), when another cluster
 *     answers, or when more than `maxPendingBytes` of changes pile up unflushed (the target is down: they are
 *     dropped and the status says so). A broken recorder records nothing more: take a new full backup and start
 *     a new recorder from it.
 *   - leases: a key's value is recorded, not its lease (a restored key is not attached to any lease).
 * Memory: the pending events (at most maxPendingBytes, default 64 MiB) plus one watch response line.
 */
import {createHash} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'
import type {EtcdTlsOptions} from '../etcd/tls-files.js'
import {encodeGroup, groupSize, type RevisionGroup} from './delta-format.js'
import {watchKeyspace} from './delta-watch.js'
import {BackupError, toBackupError} from './errors.js'
import {backupId, deltaDataName, manifestName, MANIFEST_FORMAT, type BackupManifest, type DeltaManifest} from './manifest.js'
import type {BackupTarget} from './target.js'

export interface DeltaRecorderOptions {
  target: BackupTarget
  /** The full backup the deltas extend (its manifest). */
  base: BackupManifest
  /** The client URL of a member to watch (asked again at every reconnect), or null when none is known. */
  endpoint: () => string | null
  /** How often pending changes are published (ms, > 0). */
  flushIntervalMs: number
  tls?: EtcdTlsOptions
  onFlush?: (delta: DeltaManifest) => void
  /** The recorder broke (CHAIN_BROKEN, or an unexpected error): it records nothing more; take a new full backup. */
  onError?: (err: BackupError) => void
  /** A failure it retries by itself (watch cut / unreachable: reconnects; publish failed: retried next interval). */
  onWarning?: (err: BackupError) => void
  /** Most bytes of changes kept unflushed before the recorder breaks; default 64 MiB. */
  maxPendingBytes?: number
  /** A watch silent this long (ms) is reconnected (maybe to another member); default 60 000. */
  idleMs?: number
  /** First delay before a reconnect (ms); default 1000, doubling up to 30 s while it fails. */
  reconnectDelayMs?: number
  /** Epoch ms; default Date.now. */
  now?: () => number
}

export interface DeltaRecorderStatus {
  /** Epoch ms of the last published delta, or null. */
  lastFlushAt: number | null
  /** The newest revision received from the watch (the base's revision before any). */
  lastRevision: number
  /** The newest revision published (toRevision of the last delta, or the base's revision). */
  flushedRevision: number
  pendingEvents: number
  /** Watch and flush failures so far. */
  failures: number
  lastError: string | null
  /** True once the recorder broke (fatal error): it records nothing more. */
  broken: boolean
  /** True once stop() was called or the recorder broke. */
  stopped: boolean
}

export interface DeltaRecorder {
  /** Stops watching, publishes what is pending (one attempt) and resolves. */
  stop(): Promise<void>
  status(): DeltaRecorderStatus
}

export function startDeltaRecorder(opts: DeltaRecorderOptions): DeltaRecorder {
  if (opts.base.kind !== 'full')
    throw new BackupError('CHAIN_BROKEN', `delta recording needs a full backup as its base, not ${opts.base.id}`)
  if (!(opts.flushIntervalMs > 0)) throw new RangeError(`delta flush interval must be > 0 ms, got ${opts.flushIntervalMs}`)
  const r = new Recorder(opts)
  return {stop: () => r.stop(), status: () => r.status()}
}

class Recorder {
  private readonly pending: RevisionGroup[] = []
  private pendingBytes = 0
  private pendingEvents = 0
  private received: number
  private flushed: number
  private lastFlushAt: number | null = null
  private failures = 0
  private lastError: string | null = null
  private broken = false
  private stopped = false
  private memberId: string
  private watched: string
  private flushing: Promise<void> | undefined
  private readonly abort = new AbortController()
  private readonly timer: NodeJS.Timeout
  private readonly loop: Promise<void>
  private readonly now: () => number

  constructor(private readonly opts: DeltaRecorderOptions) {
    this.received = opts.base.revision
    this.flushed = opts.base.revision
    this.memberId = opts.base.memberId
    this.watched = opts.base.endpoint
    this.now = opts.now ?? Date.now
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs)
    this.loop = this.watchLoop().catch((err) =>
      this.breakChain(toBackupError(err, 'CHAIN_BROKEN', `delta recording for backup ${opts.base.id} failed unexpectedly`), false),
    )
  }

  status(): DeltaRecorderStatus {
    return {
      lastFlushAt: this.lastFlushAt,
      lastRevision: this.received,
      flushedRevision: this.flushed,
      pendingEvents: this.pendingEvents,
      failures: this.failures,
      lastError: this.lastError,
      broken: this.broken,
      stopped: this.stopped,
    }
  }

  async stop(): Promise<void> {
    if (!this.stopped) this.halt()
    await this.loop
    await this.flushing
    if (!this.broken) await this.flush()
  }

  private halt(): void {
    this.stopped = true
    clearInterval(this.timer)
    this.abort.abort()
  }

  private report(err: BackupError, fatal: boolean): void {
    this.failures++
    this.lastError = err.message
    try {
      if (fatal) this.opts.onError?.(err)
      else this.opts.onWarning?.(err)
    } catch {
      // A throwing callback must not stop the recorder.
    }
  }

  private async breakChain(err: BackupError, flushFirst: boolean): Promise<void> {
    if (this.broken) return
    this.halt()
    if (flushFirst) {
      await this.flushing
      await this.flush()
    }
    this.broken = true
    if (!flushFirst || this.pendingEvents > 0) this.dropPending()
    this.report(err, true)
  }

  private dropPending(): void {
    this.pending.length = 0
    this.pendingBytes = 0
    this.pendingEvents = 0
  }

  private async watchLoop(): Promise<void> {
    const first = this.opts.reconnectDelayMs ?? 1000
    let delay = first
    const {base} = this.opts
    while (!this.stopped) {
      const endpoint = this.opts.endpoint()
      try {
        if (endpoint === null) throw new BackupError('SOURCE', `delta recording for backup ${base.id}: no etcd member to watch`)
        const watch = watchKeyspace(endpoint, this.received + 1, {tls: this.opts.tls, signal: this.abort.signal, idleMs: this.opts.idleMs})
        for await (const batch of watch) {
          if (batch.clusterId !== '' && batch.clusterId !== base.clusterId)
            throw new BackupError(
              'CHAIN_BROKEN',
              `etcd at ${endpoint} belongs to cluster ${batch.clusterId}, not ${base.clusterId} of backup ${base.id}: the delta chain is broken`,
            )
          this.memberId = batch.memberId || this.memberId
          this.watched = endpoint
          delay = first
          for (const g of batch.groups) this.add(g)
          const max = this.opts.maxPendingBytes ?? 64 * 1024 * 1024
          if (this.pendingBytes > max) {
            const lost = `${this.pendingEvents} changes (revisions ${this.flushed + 1}-${this.received})`
            await this.breakChain(
              new BackupError(
                'CHAIN_BROKEN',
                `delta recording for backup ${base.id} stopped: ${lost} could not be published to ${this.opts.target.url} and exceed ${max} bytes; they are not in any delta (last error: ${this.lastError ?? 'none'}); take a new full backup`,
              ),
              false,
            )
            return
          }
        }
      } catch (err) {
        if (this.stopped) return
        const e = toBackupError(err, 'SOURCE', `delta recording for backup ${base.id}`)
        if (e.code === 'CHAIN_BROKEN') {
          await this.breakChain(e, true)
          return
        }
        this.report(e, false)
        await sleep(delay, undefined, {signal: this.abort.signal}).catch(() => undefined)
        delay = Math.min(delay * 2, 30_000)
      }
    }
  }

  private add(g: RevisionGroup): void {
    if (g.revision <= this.received) return // already recorded (a reconnect's overlap)
    this.pending.push(g)
    this.pendingBytes += groupSize(g)
    this.pendingEvents += g.events.length
    this.received = g.revision
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing
    if (this.pending.length === 0 || this.broken) return Promise.resolve()
    this.flushing = this.publish().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  private async publish(): Promise<void> {
    const {base, target} = this.opts
    const groups = this.pending.slice()
    const toRevision = groups[groups.length - 1]!.revision
    const createdAtMs = this.now()
    const id = backupId(createdAtMs, toRevision)
    const data = Buffer.from(groups.map(encodeGroup).join(''))
    let events = 0
    let bytes = 0
    for (const g of groups) {
      events += g.events.length
      bytes += groupSize(g)
    }
    const manifest: DeltaManifest = {
      format: MANIFEST_FORMAT,
      id,
      kind: 'delta',
      createdAt: new Date(createdAtMs).toISOString(),
      revision: toRevision,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      data: deltaDataName(id),
      clusterId: base.clusterId,
      memberId: this.memberId,
      endpoint: this.watched,
      etcdVersion: base.etcdVersion,
      baseId: base.id,
      fromRevision: this.flushed,
      toRevision,
      events,
    }
    try {
      await target.put(manifest.data, data)
      try {
        await target.put(manifestName(id), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`))
      } catch (err) {
        await target.delete(manifest.data).catch(() => undefined)
        throw err
      }
    } catch (err) {
      this.report(toBackupError(err, 'IO', `publishing delta ${id} of backup ${base.id} to ${target.url}`), false)
      return
    }
    this.pending.splice(0, groups.length)
    this.pendingBytes -= bytes
    this.pendingEvents -= events
    this.flushed = toRevision
    this.lastFlushAt = createdAtMs
    try {
      this.opts.onFlush?.(manifest)
    } catch {
      // A throwing callback must not stop the recorder.
    }
  }
}
