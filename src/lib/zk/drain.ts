/**
 * One mechanism for "act on the latest children listing of a watched znode", shared by master detection
 * (src/lib/mesos/detector.ts) and leader election (election.ts): the children watch pushes listings; each is
 * processed (typically: read the child nodes) by `process`.
 *
 * States: idle → (push / refresh) running → idle; any → (stop) stopped (terminal).
 * Invariants:
 *   - coalescing: at most one `process` runs at a time; listings pushed meanwhile collapse into the latest one.
 *   - a failed `process` (or a failed re-list) is never swallowed: the children are listed afresh and processed
 *     again after a capped exponential backoff (initialDelayMs, doubling, at most maxDelayMs), until a run
 *     succeeds; a success resets the backoff. The watch alone would not help: it fires only when the list of
 *     children changes, and a failed read of a child does not change it.
 *   - a listing pushed by the watch while a re-list is in flight wins over that re-list's (older) answer, and
 *     cancels a scheduled retry (processing it is the retry).
 *   - nothing runs after stop().
 */

export interface ChildrenDrainOptions {
  /** Lists the children afresh (used for retries and refresh()). */
  list: () => Promise<string[]>
  /** Acts on one listing; throwing schedules a re-list and a new attempt after the backoff. */
  process: (children: string[]) => Promise<void>
  /** Told about every failure and the delay before the next attempt (e.g. for logging). */
  onError?: (err: unknown, retryInMs: number) => void
  /** First retry delay (default 250 ms); doubles per consecutive failure. */
  initialDelayMs?: number
  /** Cap of the retry delay (default 5000 ms). */
  maxDelayMs?: number
}

export class ChildrenDrain {
  private pending: string[] | null = null
  private running = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private failures = 0
  /** Bumped by every push: a re-list answer is used only if no push happened since it was asked. */
  private pushes = 0
  private readonly initialMs: number
  private readonly maxMs: number

  constructor(private readonly opts: ChildrenDrainOptions) {
    this.initialMs = opts.initialDelayMs ?? 250
    this.maxMs = opts.maxDelayMs ?? 5000
  }

  /** A new listing (from the watch): processed as soon as the current run ends. */
  push(children: string[]): void {
    if (this.stopped) return
    this.pushes++
    clearTimeout(this.timer)
    this.timer = undefined
    this.enqueue(children)
  }

  /** Lists the children again after `delayMs` and processes them (also when nothing changed). */
  refresh(delayMs = 0): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.relist()
    }, delayMs)
  }

  stop(): void {
    this.stopped = true
    this.pending = null
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private enqueue(children: string[]): void {
    this.pending = children
    if (!this.running) void this.drain()
  }

  private async relist(): Promise<void> {
    if (this.stopped) return
    const asked = this.pushes
    let children: string[]
    try {
      children = await this.opts.list()
    } catch (err) {
      return this.failed(err)
    }
    if (this.stopped || asked !== this.pushes) return // a newer listing came from the watch meanwhile
    this.enqueue(children)
  }

  private async drain(): Promise<void> {
    this.running = true
    while (this.pending !== null && !this.stopped) {
      const children = this.pending
      this.pending = null
      try {
        await this.opts.process(children)
        this.failures = 0
      } catch (err) {
        if (this.pending === null) this.failed(err) // a newer listing is waiting: that is the retry
      }
    }
    this.running = false
  }

  private failed(err: unknown): void {
    if (this.stopped) return
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30))
    this.failures++
    try {
      this.opts.onError?.(err, delay)
    } catch {
      /* a listener's bug must not stop the retries */
    }
    this.refresh(delay)
  }
}
