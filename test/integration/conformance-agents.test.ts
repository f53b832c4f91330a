/**
 * Conformance with real Mesos 1.12 when an agent dies and comes back, driven by the recorded transcripts 08
 * (framework not PARTITION_AWARE: TASK_LOST) and 08-partition-aware (TASK_UNREACHABLE): RESCIND of the dead
 * agent's offers at once, the lost/unreachable update and FAILURE after ping timeout × max pings, explicit and
 * implicit reconciliation, /master/slaves and /master/tasks, then the agent restarting on the same work dir and
 * the task coming back as TASK_RUNNING REASON_AGENT_REREGISTERED.
 * The master runs with --agent_ping_timeout 1 s × SCALE and --max_agent_ping_timeouts 2, like the recording.
 */
import {after, before, describe, it} from 'node:test'
import type {LocalMesos} from '../../src/mesos-local/cluster.js'
import {Replayer} from '../conformance/replayer.js'
import {SCALE, assertConforms, fixture, replay, startScaledMesos, type Known} from '../conformance/scenario.js'

const KNOWN: Known[] = []

/** Our agent standing for the recording's agent on `fixturePort` (bound through the offers' url ports). */
function agentIndex(r: Replayer, mesos: LocalMesos, fixturePort: number): number {
  const port = r.bindings.port(fixturePort)
  const i = mesos.agents.findIndex((a) => Number(a.endpoint.split(':').pop()) === port)
  if (i < 0) throw new Error(`no agent of ours corresponds to the recording's agent on port ${fixturePort}`)
  return i
}

for (const file of ['08-agent-removal.json', '08-agent-removal-partition-aware.json']) {
  describe(`conformance ${file}`, {timeout: 120_000}, () => {
    let mesos: LocalMesos | undefined
    let r: Replayer
    let killed = -1
    before(async () => {
      mesos = await startScaledMesos({agents: 2, agentPingTimeoutMs: Math.round(1000 * SCALE), maxAgentPingTimeouts: 2})
      const m = mesos
      r = await replay(fixture(file), m, {
        hook: async (step, rep) => {
          if (/^SIGKILL agent1/.test(step.label)) {
            killed = agentIndex(rep, m, 5051)
            return m.stopAgent(killed, 'kill')
          }
          if (/^restart agent1/.test(step.label)) return m.startAgent(killed)
          rep.report(Replayer.label(step), 'unknown harness step', 'master')
        },
      })
    })
    after(async () => {
      await mesos?.stop()
    })
    it('the master behaves like real Mesos for every step', (t) => assertConforms(t, r, 'master', KNOWN))
    it('the agent side behaves like real Mesos', (t) => assertConforms(t, r, 'agent', KNOWN))
  })
}
