/**
 * Glue for the conformance tests: start a local Mesos whose intervals are Mesos' defaults times SCALE, replay a
 * fixture against it, and split the differences into documented ("known") and unexpected ones.
 *
 * SCALE (env CONFORMANCE_SCALE, default 0.1) shrinks every wait: --allocation_interval 1 s → 100 ms, heartbeats
 * 15 s → 1.5 s, status update resends 10 s → 1 s, agent ping timeout, the default refuse_seconds 5 s → 0.5 s, and
 * (through the fixture loader) refuse_seconds / failover_timeout / kill grace periods / `sleep N` in the requests.
 * Comparisons are therefore about ORDER and relative ratios, never absolute times.
 */
import assert from 'node:assert/strict'
import {startLocalMesos, type LocalMesos, type LocalMesosOptions} from '../../src/mesos-local/cluster.js'
import {holdAllocations} from '../../src/mesos-local/master/offers.js'
import {loadFixture, type Fixture, type LoadOptions} from './fixtures.js'
import {Replayer, mismatchText, type Mismatch, type Owner, type ReplayEnv, type ReplayOptions} from './replayer.js'

export const SCALE = Number(process.env.CONFORMANCE_SCALE ?? '0.1')

/** A documented difference: mismatches whose text matches `re` are tolerated (docs/mesos-local-differences.md). */
export interface Known {
  re: RegExp
  reason: string
}

/** Differences every scenario shows (transport details of node:http). */
export const COMMON_KNOWN: Known[] = [
  {
    re: /extra headers: Connection: keep-alive$/,
    reason: 'node:http always sends Connection: keep-alive on HTTP/1.1 answers; libprocess sends no Connection header (same semantics)',
  },
  {re: /\.flags: keys differ: missing \{webui_dir\}$/, reason: 'no web UI, so no webui_dir flag'},
  {re: /\.flags\.registry: expected "replicated_log", got "in_memory"$/, reason: 'no registry: master state lives in memory only'},
  {
    re: /\.flags\.(allocation_interval|agent_ping_timeout|max_agent_ping_timeouts): expected "[^"]+", got "[^"]+"$/,
    reason: 'the tests run the master with scaled intervals (flags show the configured values)',
  },
]

export function scaledMesosOptions(extra: LocalMesosOptions = {}, scale = SCALE): LocalMesosOptions {
  return {
    allocationIntervalMs: Math.round(1000 * scale),
    heartbeatIntervalSec: 15 * scale,
    defaultRefuseSeconds: 5 * scale,
    ...extra,
    agentOptions: {statusUpdateRetryMinMs: Math.round(10_000 * scale), ...extra.agentOptions},
  }
}

export async function startScaledMesos(extra: LocalMesosOptions = {}, scale = SCALE): Promise<LocalMesos> {
  return startLocalMesos(scaledMesosOptions(extra, scale))
}

export function envOf(mesos: LocalMesos): ReplayEnv {
  return {
    masters: () => mesos.masters.map((m) => m.url),
    agents: () => mesos.agents.filter((a) => a.running).map((a) => `http://${a.endpoint}`),
    masterUrl: () => mesos.masterUrl,
    holdAllocations: () => {
      const releases = mesos.masters.map((m) => holdAllocations(m.state))
      return () => {
        for (const release of releases) release()
      }
    },
  }
}

export function fixture(file: string, opts: LoadOptions = {}): Fixture {
  return loadFixture(file, {scale: SCALE, ...opts})
}

/** Replays `fx` against `mesos`; returns the finished replayer (mismatches collected, nothing asserted). */
export async function replay(
  fx: Fixture,
  mesos: LocalMesos,
  opts: Partial<ReplayOptions> & {setup?: (r: Replayer) => void} = {},
): Promise<Replayer> {
  const scale = opts.scale ?? SCALE
  const r = new Replayer(fx, envOf(mesos), {
    scale,
    heartbeatSec: 15 * scale,
    log: process.env.CONFORMANCE_LOG ? (l) => console.error(l) : undefined,
    ...opts,
  })
  opts.setup?.(r)
  await r.run()
  return r
}

export interface Split {
  unexpected: Mismatch[]
  tolerated: {m: Mismatch; reason: string}[]
  unusedKnown: Known[]
}

export function split(mismatches: Mismatch[], known: Known[], owner: Owner): Split {
  const all = [...COMMON_KNOWN, ...known]
  const used = new Set<Known>()
  const unexpected: Mismatch[] = []
  const tolerated: {m: Mismatch; reason: string}[] = []
  for (const m of mismatches.filter((x) => x.owner === owner)) {
    const k = all.find((x) => x.re.test(mismatchText(m)))
    if (k) {
      used.add(k)
      tolerated.push({m, reason: k.reason})
    } else {
      unexpected.push(m)
    }
  }
  return {unexpected, tolerated, unusedKnown: known.filter((k) => !used.has(k))}
}

/** Asserts that `owner`'s mismatches are all documented; reports the tolerated ones as diagnostics. */
export function assertConforms(t: {diagnostic: (m: string) => void}, r: Replayer, owner: Owner, known: Known[]): void {
  const s = split(r.mismatches, known, owner)
  for (const {m, reason} of s.tolerated) t.diagnostic(`known difference: ${mismatchText(m)} — ${reason}`)
  assert.deepEqual(s.unexpected.map(mismatchText), [], `${r.fixture.file}: ${owner}-side differences from real Mesos 1.12`)
}
