/**
 * Conformance of the local Mesos master with real Mesos 1.12, driven by the recorded transcripts:
 *   01 JSON SUBSCRIBE (headers, SUBSCRIBED, immediate HEARTBEAT, one OFFERS event for all agents, heartbeats,
 *      TEARDOWN closing the stream), 02 protobuf requests and streams and Accept negotiation, 04 DECLINE filters,
 *   REVIVE and SUPPRESS. Every step of each fixture is replayed (test/conformance/replayer.ts); intervals are
 *   scaled by SCALE (order and ratios are compared, not absolute times).
 */
import {after, before, describe, it} from 'node:test'
import type {LocalMesos} from '../../src/mesos-local/cluster.js'
import type {Replayer} from '../conformance/replayer.js'
import {assertConforms, fixture, replay, startScaledMesos, type Known} from '../conformance/scenario.js'

const KNOWN: Known[] = []

for (const [file, agents] of [
  ['01-subscribe-json.json', 2],
  ['02-subscribe-protobuf.json', 1],
  ['04-decline-revive-suppress.json', 1],
] as const) {
  describe(`conformance ${file}`, {timeout: 120_000}, () => {
    let mesos: LocalMesos | undefined
    let r: Replayer
    before(async () => {
      mesos = await startScaledMesos({agents})
      r = await replay(fixture(file), mesos)
    })
    after(async () => {
      await mesos?.stop()
    })
    it('the master behaves like real Mesos for every step', (t) => assertConforms(t, r, 'master', KNOWN))
    it('the agent side behaves like real Mesos', (t) => assertConforms(t, r, 'agent', KNOWN))
  })
}
