/**
 * The resilience writer: puts one key every ~`everyMs` through any member's client URL (etcd's JSON
 * gateway, independent of the code under test), failing over between endpoints, and records every
 * ACKNOWLEDGED write {key, value, revision, at}. A put that errors or times out is not acknowledged (its
 * outcome is unknown: it may or may not be applied; the checker never counts it either way).
 *
 * Unavailability: the gaps between consecutive acknowledgements (and from the last one to stop()) —
 * `longestGapMs` is the longest window in which no write succeeded.
 * The writer does not decide which history a write belongs to: the checker does, from the re-seeds the harness
 * observed itself (rules.ts); a revision going back without one is a failure there.
 */
export interface Ack {
  key: string
  value: string
  revision: number
  at: number
  via: string
}

export interface WriterReport {
  acked: Ack[]
  attempts: number
  failures: number
  longestGapMs: number
  longestGapFrom: number | null
}

const b64 = (s: string): string => Buffer.from(s).toString('base64')

export async function putOnce(url: string, key: string, value: string, timeoutMs: number): Promise<number> {
  const res = await fetch(`${url}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key), value: b64(value)}),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`HTTP ${res.status} ${text.slice(0, 200)}`)
  const body = JSON.parse(text) as {header?: {revision?: string}}
  const rev = Number(body.header?.revision)
  if (!Number.isFinite(rev) || rev <= 0) throw new Error(`put answered without a revision: ${text.slice(0, 200)}`)
  return rev
}

export class Writer {
  readonly acked: Ack[] = []
  attempts = 0
  failures = 0
  private running = false
  private loop: Promise<void> | null = null
  private idx = 0
  private seq = 0
  private startedAt = 0
  private lastAckAt = 0
  private longest = 0
  private longestFrom: number | null = null

  constructor(
    private readonly prefix: string,
    private readonly endpoints: () => string[],
    private readonly everyMs = 20,
    private readonly timeoutMs = 1000,
  ) {}

  start(): void {
    if (this.running) return
    this.running = true
    this.startedAt = Date.now()
    this.lastAckAt = this.startedAt
    this.loop = this.run()
  }

  /** Key prefix of this writer's keys. */
  get keyPrefix(): string {
    return this.prefix
  }

  lastAck(): Ack | undefined {
    return this.acked.at(-1)
  }

  private stopped: WriterReport | null = null

  /** Stops writing; idempotent (a second call returns the first report: the gap ends at the first stop). */
  async stop(): Promise<WriterReport> {
    if (this.stopped) return this.stopped
    this.running = false
    await this.loop
    this.gap(Date.now())
    this.stopped = {
      acked: this.acked,
      attempts: this.attempts,
      failures: this.failures,
      longestGapMs: this.longest,
      longestGapFrom: this.longestFrom,
    }
    return this.stopped
  }

  private gap(now: number): void {
    const g = now - this.lastAckAt
    if (g > this.longest) {
      this.longest = g
      this.longestFrom = this.lastAckAt
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t0 = Date.now()
      const eps = this.endpoints()
      if (eps.length > 0) {
        const url = eps[this.idx % eps.length]!
        const key = `${this.prefix}${String(this.seq).padStart(7, '0')}`
        const value = `v${this.seq}-${Math.random().toString(36).slice(2, 10)}`
        this.seq++
        this.attempts++
        try {
          const revision = await putOnce(url, key, value, this.timeoutMs)
          const at = Date.now()
          this.gap(at)
          this.lastAckAt = at
          this.acked.push({key, value, revision, at, via: url})
        } catch {
          this.failures++
          this.idx++
        }
      }
      const wait = this.everyMs - (Date.now() - t0)
      await new Promise((r) => setTimeout(r, Math.max(1, wait)))
    }
  }
}
