/**
 * Conformance with real Mesos 1.12 of the state endpoints and the operator API (fixture 09), read while two
 * tasks run (a command task with labels/discovery/port ranges and a custom-executor task): /master/state, /state,
 * /master/state-summary, /master/tasks (and ?limit=1&order=asc), /master/frameworks, /master/slaves,
 * /master/roles, /master/redirect, /redirect, /version, /health, /master/health, /master/flags,
 * /master/maintenance/status, 404s, the agent's /state and /slave(1)/state, and GET_MASTER/GET_TASKS/
 * GET_FRAMEWORKS/GET_AGENTS/GET_HEALTH/GET_VERSION. Whole bodies are compared (key sets, enums, values with
 * placeholders). The custom executor is the recording executor of test/conformance/executor-replay.ts replaying
 * the well-behaved executor of fixture 06 under this scenario's ids.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {LocalMesos} from '../../src/mesos-local/cluster.js'
import {executorPlan, executorSide, writeRecordingExecutor} from '../conformance/executor-replay.js'
import type {Replayer} from '../conformance/replayer.js'
import {SCALE, assertConforms, fixture, replay, startScaledMesos, type Known} from '../conformance/scenario.js'

const FILE = '09-master-state.json'
const KNOWN: Known[] = [
  {
    re: /\.flags\.switch_user: expected "true", got "false"$/,
    reason: 'the local agent runs executors as its own user (docs/mesos-local-differences.md)',
  },
]

describe(`conformance ${FILE}`, {timeout: 120_000}, () => {
  let mesos: LocalMesos | undefined
  let dir = ''
  let r: Replayer
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'conformance-state-'))
    const script = await writeRecordingExecutor(dir)
    // Fixture 06's well-behaved executor, renamed to this scenario's executor and task.
    const rename: [string, string][] = [
      ['custom-task-1', 'state-custom-task'],
      ['custom-exec-1', 'state-exec'],
    ]
    const side = executorSide(fixture('06-launch-custom-executor.json').extra.executor_side_custom_exec_1, {
      scale: SCALE,
      replace: rename,
      scaleSleeps: true,
    })
    await fs.writeFile(path.join(dir, 'plan.json'), JSON.stringify(executorPlan(side, 0)))
    const replace: [string, string][] = [
      [
        'python3 <rec-dir>/exec/exec_rec.py <rec-dir>/exec/out.json normal',
        `${process.execPath} ${script} ${path.join(dir, 'plan.json')} ${path.join(dir, 'out.json')} normal`,
      ],
    ]
    mesos = await startScaledMesos({agents: 2})
    r = await replay(fixture(FILE, {replace}), mesos)
  })
  after(async () => {
    await mesos?.stop()
    if (dir) await fs.rm(dir, {recursive: true, force: true})
  })
  it('the master endpoints answer like real Mesos', (t) => assertConforms(t, r, 'master', KNOWN))
  it('the agent endpoints answer like real Mesos', (t) => assertConforms(t, r, 'agent', KNOWN))
})
