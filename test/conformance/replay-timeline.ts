/**
 * The replayer's timeline and clock: the fixture's steps as entries in fixture-time order, the segment boundaries
 * (send and hook entries; closing a stream is not one), how many of them ran so far (our current segment), and
 * the pacing anchor that maps fixture time to our wall time (`scale`), re-anchored whenever we run late.
 *
 * Entries: one per scheduler/operator request step ('send'), one per test-harness / zookeeper-client step
 * ('hook'), one per stream the recording client closed itself at `closed_at_ms` ('close'). Executor steps are
 * not on it (executor-replay.ts replays them). Ties keep fixture order.
 */
import type {Fixture, FixtureStep} from './fixtures.js'
import {sleep, stepLabel} from './replay-types.js'

export interface Entry {
  kind: 'send' | 'close' | 'hook'
  at: number
  step: FixtureStep
}

export class Timeline {
  entries: Entry[] = []
  /** The send/hook entries (the segment boundaries; closing a stream is not one). */
  boundaries: Entry[] = []
  /** Boundaries passed so far = our current segment. */
  executed = 0
  /** Date.now() when each boundary ran. */
  readonly boundaryWall: number[] = []
  private anchor = {fx: 0, wall: 0}

  constructor(private readonly scale: number) {}

  /** Builds the entries from the fixture and anchors fixture time of the first one at now. */
  start(fixture: Fixture): void {
    const entries: Entry[] = []
    for (const step of fixture.steps) {
      if (step.actor === 'executor') continue
      if (step.actor === 'test-harness' || step.actor === 'zookeeper-client') entries.push({kind: 'hook', at: step.at_ms, step})
      else entries.push({kind: 'send', at: step.at_ms, step})
      if (step.streaming && step.response?.closed === 'by_client' && step.response.closed_at_ms !== undefined) {
        entries.push({kind: 'close', at: step.response.closed_at_ms, step})
      }
    }
    this.entries = entries
      .map((e, i) => ({e, i}))
      .sort((a, b) => a.e.at - b.e.at || a.i - b.i)
      .map((x) => x.e)
    this.boundaries = this.entries.filter((e) => e.kind !== 'close')
    this.anchor = {fx: this.entries[0]?.at ?? 0, wall: Date.now()}
  }

  /** Segment of a real record: how many request/hook steps real Mesos had seen before sending it. */
  segmentOf(at: number, openedBy: FixtureStep): number {
    const opener = this.boundaries.findIndex((e) => e.kind === 'send' && e.step === openedBy)
    const seg = this.boundaries.filter((e) => e.at < at).length
    return Math.max(seg, opener + 1)
  }

  /** Marks an entry as running now (a boundary moves us into the next segment). */
  enter(entry: Entry): void {
    if (entry.kind === 'close') return
    this.executed = this.boundaries.indexOf(entry) + 1
    this.boundaryWall[this.executed - 1] = Date.now()
  }

  /** Our wall time for fixture time `fxAt` on the current anchor. */
  wallOf(fxAt: number): number {
    return this.anchor.wall + (fxAt - this.anchor.fx) * this.scale
  }

  /** Sleeps until the wall time of fixture time `fxAt`. */
  async pace(fxAt: number): Promise<void> {
    await sleep(this.wallOf(fxAt) - Date.now())
  }

  /** Re-anchors at `fxAt` = now when we are behind schedule. */
  reanchor(fxAt: number): void {
    if (Date.now() > this.wallOf(fxAt)) this.anchorNow(fxAt)
  }

  /** Anchors fixture time `fxAt` at now (the next steps are timed from here). */
  anchorNow(fxAt: number): void {
    this.anchor = {fx: fxAt, wall: Date.now()}
  }

  /** Label of the last boundary that ran, or 'the start'. */
  stepBefore(): string {
    const prev = this.boundaries[this.executed - 1]
    return prev ? stepLabel(prev.step) : 'the start'
  }
}
