/**
 * Shared shapes of the step replayer (replayer.ts): its options and environment, the per-stream matching state,
 * and `ReplayContext` — the slice of the replayer the request, stream-record, timing and stream-end modules
 * (replay-requests.ts, replay-streams.ts, replay-order.ts, replay-stream-ends.ts) work on. Types and tiny helpers only.
 */
import type {Resource} from '../../src/lib/mesos/types.js'
import type {FixtureStep, Json} from './fixtures.js'
import type {Reply, Stream} from './http.js'
import type {Bindings, CompareOptions} from './matcher.js'
import type {Owner} from './records.js'
import type {Replayer} from './replayer.js'
import type {Timeline} from './replay-timeline.js'

export interface ReplayEnv {
  /** Base URLs ('http://ip:port') of our masters, for routing by port binding. */
  masters(): string[]
  /** Base URLs of our agents. */
  agents(): string[]
  /** Base URL of the current leading master (fallback route). */
  masterUrl(): string
  /** Holds our masters' allocation cycles until the returned release is called (a cycle due meanwhile runs then). */
  holdAllocations?(): () => void
}

export interface ReplayOptions {
  /** Fixture wall time → our wall time factor (the fixture's values are scaled by the loader). */
  scale: number
  /** Configured heartbeat interval of our master (seconds). */
  heartbeatSec: number
  /** Fixed routes: fixture `host:port` → our base URL (e.g. the two masters of scenario 10). */
  routes?: Record<string, () => string>
  /** Hook for test-harness and zookeeper-client steps. */
  hook?: (step: FixtureStep, r: Replayer) => Promise<void>
  barrierTimeoutMs?: number
  compare?: CompareOptions
  log?: (line: string) => void
}

/** ReplayOptions with the defaults filled in. */
export type ResolvedOptions = Required<Omit<ReplayOptions, 'routes' | 'hook' | 'compare' | 'log'>> & ReplayOptions

/**
 * One real record to be matched. An OFFERS event is split into one unit per offer (`offer` = its index): the
 * grouping of offers into events and their order inside an event depend on allocation timing.
 */
export interface Expected {
  i: number
  rec: Json
  offer?: number
  /** For an offer: the part of its resources not yet covered by our offers (ours may split or merge them). */
  remaining?: Resource[]
  /** For an offer: how many of our offers covered part of it so far. */
  pieces?: number
  at: number
  seg: number
  matched: boolean
  missing: boolean
}

export interface StreamState {
  step: FixtureStep
  label: string
  expected: Expected[]
  stream: Stream
  heartbeats: number[]
  /** Our record indexes (excluding heartbeats) in arrival order, for order checks per task. */
  lastIndexByTask: Map<string, number>
}

/** What the replayer's parts share: bindings, open streams, the timeline, options, and where mismatches go. */
export interface ReplayContext {
  readonly bindings: Bindings
  readonly env: ReplayEnv
  readonly opts: ResolvedOptions
  readonly timeline: Timeline
  /** Our streams by the seq of the fixture step that opened them. */
  readonly streams: Map<number, StreamState>
  /** Replies by step seq. */
  readonly replies: Map<number, Reply>
  /**
   * Real offer id → our offer ids that also hold part of it (when our allocator split or merged offers
   * differently); requests naming the real offer name all of them.
   */
  readonly offerPieces: Map<string, string[]>
  report(where: string, what: string, owner: Owner): void
  log(line: string): void
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)))

/** Fixture-side label of a step. */
export const stepLabel = (step: FixtureStep): string => `#${step.seq} ${step.label}`
