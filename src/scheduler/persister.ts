/**
 * Background persistence of the scheduler's document (the core's PERSIST actions): a slow or absent
 * ZooKeeper never holds up the driver's action queue, so Mesos calls, etcd repairs and acknowledgements
 * go on while it is away (the seeds' promise: "if the scheduler loses connectivity to ZK, it will continue
 * running as long as the master stays up").
 *
 * States: idle (the newest doc is saved) → saving → idle, or behind (an attempt failed: retried with
 *   backoff 500 ms → 10 s, always with the NEWEST doc: docs are coalesced, only the latest matters);
 *   paused (our ZooKeeper session expired: nothing is written until the election names us the leader
 *   again, so a scheduler that took over meanwhile never finds its fresh state overwritten by us);
 *   stopped (after stop(), or a StateConflictError: another scheduler wrote the node; no retry).
 * Invariants: one save at a time; a doc is never saved after a newer one; `offer()` never rejects, and
 *   its promise settles after the attempt that carries the doc (or at once while behind or paused), so
 *   the driver can acknowledge status updates after a durable save when ZooKeeper is there and without
 *   waiting when it is not (reconciliation, not the acknowledgement, is what recovers a crash: below).
 *
 * Why acting ahead of the stored state is safe — the in-memory state is authoritative while this process
 * runs; after a crash the next scheduler starts from an older document and Mesos reconciliation fills the gap:
 *   - an update acknowledged but not stored: explicit reconciliation of every stored task returns its
 *     latest state (a task that died meanwhile is reported dead again);
 *   - a task launched but not stored (its record, and the member counter, lost with the crash): implicit
 *     reconciliation reports it before the core becomes mutable (the implicit RECONCILE is sent first, the
 *     master answers in order on the event stream, and the core stays immutable until every stored task is
 *     accounted for), so it is a stray: its agent counts as busy (with --single-instance-per-slave, the
 *     default: never two members on one agent), it is killed, and its etcd member is removed before anything
 *     is added (never leaked, never duplicated; the member counter is older too, so a name may be reused,
 *     never a task id);
 *   - that kill takes down a member etcd counts: a crash undoes the repairs made during the outage (their
 *     members are killed and replaced again), so the quorum then holds exactly when it holds with those
 *     failures unrepaired (fewer than half of the members replaced during the outage). Holding launches
 *     back until ZooKeeper returns would not do better for 3 members (the dead ones are removed first: a
 *     second failure would leave 2 voters, one of them the killed stray) and would leave the cluster short
 *     of members for the whole outage, when a further failure is likelier than a crash. (Better still, in
 *     the core: adopt an unknown task whose etcd member is healthy instead of killing it.)
 * Fencing: the persisted node is written with compare-and-set versions (a write by another scheduler is a
 * StateConflictError, on which the core steps down: FATAL), nothing is written after our ZooKeeper session expired until we lead again
 * (pause/resume, driven by leadership.ts), and Mesos fails over the framework of a scheduler when another
 * one subscribes with its id (ERROR "Framework failed over": the driver steps down).
 */
import type {Logger} from './logger.js'
import {StateConflictError, type StateStore} from './state-store.js'

const isConflict = (err: Error): boolean => err instanceof StateConflictError || err.name === 'StateConflictError'

export class Persister {
  private gen = 0
  private savedGen = 0
  private latest: unknown = null
  private saving: Promise<void> | null = null
  private failures = 0
  private timer: NodeJS.Timeout | undefined
  private pausedFor: string | null = null
  private stopped = false
  private conflicted = false
  private waiters: (() => void)[] = []
  private storedWaiters: {gen: number; resolve: () => void}[] = []

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
    /** Another scheduler wrote the state (split brain): the driver hands it to the core (StateConflict), which steps down. */
    private readonly onConflict: (err: Error) => void,
    private readonly backoff = {minMs: 500, maxMs: 10_000},
  ) {}

  /** True while a doc waits to be saved and persistence is failing or paused. */
  get behind(): boolean {
    return this.savedGen < this.gen && (this.failures > 0 || this.pausedFor !== null)
  }

  /** Generation of the newest doc handed over (1, 2, …; 0: none yet). */
  get offeredGen(): number {
    return this.gen
  }

  /** Generation of the newest doc known to be stored. */
  get storedGen(): number {
    return this.savedGen
  }

  /** Resolves once the doc of generation `gen` (or a newer one) is stored, or persistence has stopped. */
  whenStored(gen: number): Promise<void> {
    if (this.savedGen >= gen || this.stopped) return Promise.resolve()
    return new Promise((resolve) => this.storedWaiters.push({gen, resolve}))
  }

  /** Hands over the newest doc. Resolves once the attempt carrying it (or a newer doc) ended, at once while
   *  persistence is behind or paused, and after `maxWaitMs` at the latest. Never rejects. */
  offer(doc: unknown, maxWaitMs = Infinity): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.gen++
    this.latest = doc
    if (this.behind) {
      this.kick()
      return Promise.resolve()
    }
    let timer: NodeJS.Timeout | undefined
    const p = new Promise<void>((resolve) => {
      this.waiters.push(resolve)
      if (Number.isFinite(maxWaitMs)) {
        timer = setTimeout(resolve, maxWaitMs)
        timer.unref()
      }
    })
    this.kick()
    return p.finally(() => clearTimeout(timer))
  }

  /** Stops writing (our ZooKeeper session expired) until resume(). */
  pause(reason: string): void {
    if (this.stopped) return
    if (this.pausedFor === null)
      this.log.warn('persisting the scheduler state is paused until this scheduler leads again in ZooKeeper', {reason})
    this.pausedFor = reason
    clearTimeout(this.timer)
    this.timer = undefined
    this.release()
  }

  /** Writes again (the election named us the leader with our new session); the newest doc goes first. */
  resume(): void {
    if (this.pausedFor === null || this.stopped) return
    this.pausedFor = null
    this.failures = 0
    this.log.info('persisting the scheduler state again', {store: this.store.description, pending: this.savedGen < this.gen})
    this.kick()
  }

  /** Waits for the attempt in flight, then makes one last attempt with the newest doc (unless paused). */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.saving
    if (this.pausedFor === null && this.savedGen < this.gen && !this.conflicted) {
      try {
        await this.store.save(this.latest)
        this.savedGen = this.gen
      } catch (err) {
        this.log.warn('the newest scheduler state could not be persisted before stopping; the next scheduler reconciles it with Mesos', {
          error: (err as Error).message,
        })
      }
    }
    this.release()
  }

  private release(): void {
    const w = this.waiters
    this.waiters = []
    for (const r of w) r()
    const ready = this.storedWaiters.filter((x) => this.stopped || x.gen <= this.savedGen)
    this.storedWaiters = this.storedWaiters.filter((x) => !ready.includes(x))
    for (const x of ready) x.resolve()
  }

  private kick(): void {
    if (this.saving || this.stopped || this.pausedFor !== null || this.timer || this.savedGen >= this.gen) return
    const gen = this.gen
    const doc = this.latest
    this.saving = this.store
      .save(doc)
      .then(
        () => this.saved(gen),
        (err: Error) => this.failed(err),
      )
      .catch((err: Error) => {
        this.log.error('internal error in the state persister; retrying', {error: err.stack ?? String(err)})
        this.saving = null
        this.retryLater()
      })
  }

  private saved(gen: number): void {
    this.saving = null
    if (this.failures > 0)
      this.log.info('scheduler state persisted again: the stored state caught up', {
        store: this.store.description,
        failedAttempts: this.failures,
      })
    this.failures = 0
    this.savedGen = Math.max(this.savedGen, gen)
    if (this.savedGen >= this.gen) this.release()
    else for (const x of this.storedWaiters.filter((w) => w.gen <= this.savedGen)) x.resolve()
    this.storedWaiters = this.storedWaiters.filter((w) => w.gen > this.savedGen)
    this.kick()
  }

  private failed(err: Error): void {
    this.saving = null
    if (isConflict(err)) {
      this.conflicted = true
      this.stopped = true
      this.release()
      this.onConflict(err)
      return
    }
    this.failures++
    const level = this.failures === 1 ? 'warn' : 'debug'
    this.log[level]('persisting the scheduler state failed; the scheduler keeps running and repairing, and retries with the newest state', {
      store: this.store.description,
      error: err.message,
      attempt: this.failures,
      retryInMs: this.delay(),
    })
    this.release()
    this.retryLater()
  }

  private delay(): number {
    return Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** Math.max(0, this.failures - 1))
  }

  private retryLater(): void {
    if (this.stopped || this.pausedFor !== null) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.kick()
    }, this.delay())
    this.timer.unref()
  }
}
