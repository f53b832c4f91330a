/**
 * Conformance of the local Mesos (master + agent + command executor) with real Mesos 1.12 for tasks, driven by
 * the recorded transcripts: 05 command task (STARTING/RUNNING, ACKs, explicit/implicit reconciliation, KILL,
 * unacknowledged-update resends at +1/+3/+7 intervals, /master/tasks while unacknowledged), 11 invalid LAUNCHes
 * (master-made TASK_ERROR / TASK_LOST / TASK_DROPPED), 12 TASK_KILLING_STATE and kill policies.
 * Intervals are scaled by SCALE (order and ratios are compared, not absolute times).
 */
import {after, before, describe, it} from 'node:test'
import type {LocalMesos} from '../../src/mesos-local/cluster.js'
import type {Replayer} from '../conformance/replayer.js'
import {SCALE, assertConforms, fixture, replay, startScaledMesos, type Known} from '../conformance/scenario.js'

const KNOWN: Known[] = []

// 11 runs in real time (scale 1): its `sleep 1`/`sleep 2` tasks and the recording client's pauses decide which
// resources are free at each allocation, and those cannot be shrunk below our (unscaled) process start-up time.
const SCENARIOS = [
  {file: '05-launch-command-task.json', agents: 1, scale: SCALE},
  {file: '11-launch-errors.json', agents: 2, scale: 1},
  {file: '12-kill-policy-killing-state.json', agents: 1, scale: SCALE},
]

for (const {file, agents, scale} of SCENARIOS) {
  describe(`conformance ${file}`, {timeout: 120_000}, () => {
    let mesos: LocalMesos | undefined
    let r: Replayer
    before(async () => {
      mesos = await startScaledMesos({agents}, scale)
      r = await replay(fixture(file, {scale}), mesos, {scale})
    })
    after(async () => {
      await mesos?.stop()
    })
    it('the master behaves like real Mesos for every step', (t) => assertConforms(t, r, 'master', KNOWN))
    it('the agent side behaves like real Mesos', (t) => assertConforms(t, r, 'agent', KNOWN))
  })
}
