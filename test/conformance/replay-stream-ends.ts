/**
 * How the replayer's streams end, and their HEARTBEATs: a stream the recording client closed is closed by us at
 * the same fixture time (and must still be open then); at the end of the scenario a stream real Mesos closed
 * (server EOF) must be closed by our master too, every HTTP chunk must hold exactly one RecordIO record, and
 * HEARTBEATs must come as real Mesos sends them: the first right after SUBSCRIBED, then one per configured
 * interval (no doubled or missed one, the right mean gap, no more than the stream's lifetime allows).
 */
import type {FixtureStep} from './fixtures.js'
import type {Ev} from './records.js'
import {sleep, type ReplayContext, type StreamState} from './replay-types.js'

/**
 * How long a stream real Mesos closed may take to be closed by ours at the end of the scenario (ms): a wait
 * for a condition (it ends when the stream closes), long enough for a loaded machine.
 */
const SERVER_CLOSE_WAIT_MS = 15_000

/** Closes our stream of `step` where the recording client closed its own. */
export function closeStream(ctx: ReplayContext, step: FixtureStep): void {
  const s = ctx.streams.get(step.seq)
  if (!s) return
  if (s.stream.closedBy === 'server') {
    ctx.report(
      s.label,
      `closed by the master before the client closed it (real Mesos kept it open until ${step.response?.closed_at_ms} ms)`,
      'master',
    )
  }
  s.stream.close()
}

/** Closes every stream and checks how it ended, its chunking and its heartbeats. */
export async function finishStreams(ctx: ReplayContext): Promise<void> {
  for (const s of ctx.streams.values()) {
    const res = s.step.response!
    if (res.closed === 'by_server') {
      const deadline = Date.now() + SERVER_CLOSE_WAIT_MS
      while (s.stream.closedBy === null && Date.now() < deadline) await sleep(5)
      if (s.stream.closedBy !== 'server') ctx.report(s.label, 'real Mesos closed this stream (server EOF); ours stayed open', 'master')
    }
    s.stream.onRecord = undefined
    s.stream.close()
    if (!s.stream.oneRecordPerChunk)
      ctx.report(s.label, 'HTTP chunks do not hold exactly one RecordIO record each (real Mesos: one chunk per record)', 'master')
    if (s.stream.error) ctx.report(s.label, s.stream.error, 'master')
    checkHeartbeats(ctx, s)
  }
}

function checkHeartbeats(ctx: ReplayContext, s: StreamState): void {
  const recs = s.step.response?.records ?? []
  const real = recs.filter((r) => (r as Ev).type === 'HEARTBEAT').length
  const ours = s.stream.records
  if (real === 0) {
    if (s.heartbeats.length > 0)
      ctx.report(s.label, `real Mesos sent no HEARTBEAT on this stream, we sent ${s.heartbeats.length}`, 'master')
    return
  }
  if ((recs[1] as Ev | undefined)?.type === 'HEARTBEAT' && (ours[1]?.event as Ev | undefined)?.type !== 'HEARTBEAT') {
    ctx.report(
      s.label,
      `the first HEARTBEAT must follow SUBSCRIBED at once (ours: ${ours
        .slice(0, 3)
        .map((r) => (r.event as Ev).type)
        .join(', ')})`,
      'master',
    )
  }
  // Gaps are measured on arrival, in a process that also runs the master: on a loaded machine a timer fires
  // late (and the next gap shrinks), so one gap may stray far from the interval without a bug. What is a bug:
  // a doubled or a missed HEARTBEAT (one gap under half or over 2.5 intervals), a wrong interval (the mean gap
  // over 4+ gaps off by more than -20 %/+50 %), or more HEARTBEATs than the stream's lifetime allows.
  const interval = ctx.opts.heartbeatSec * 1000
  const hb = s.heartbeats
  for (let i = 1; i < hb.length; i++) {
    const ratio = (hb[i]! - hb[i - 1]!) / interval
    if (ratio < 0.5 || ratio > 2.5)
      ctx.report(
        s.label,
        `HEARTBEAT gap ${hb[i]! - hb[i - 1]!} ms: a doubled or missed HEARTBEAT (interval ${interval} ms, ratio ${ratio.toFixed(2)})`,
        'master',
      )
  }
  if (hb.length >= 5) {
    const mean = (hb.at(-1)! - hb[0]!) / (hb.length - 1) / interval
    if (mean < 0.8 || mean > 1.5)
      ctx.report(
        s.label,
        `mean HEARTBEAT gap ${Math.round(mean * interval)} ms is not the interval ${interval} ms (ratio ${mean.toFixed(2)})`,
        'master',
      )
  }
  const end = s.stream.closedAt || Date.now()
  const lifetime = end - (ours[0]?.at ?? end)
  const want = Math.floor(lifetime / interval) + 1
  if (hb.length > want + 1 || hb.length < Math.floor(lifetime / (2.5 * interval)))
    ctx.report(
      s.label,
      `${hb.length} HEARTBEATs over ${lifetime} ms, expected about ${want} (one at once, then every ${interval} ms)`,
      'master',
    )
}
