/** The `rollout` flows (src/lib/cli/rollout.ts) against a canned admin API: outcomes and exit codes. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {withCannedApi} from '../helpers/admin-harness.js'
import {type CliError, ExitCode} from '../../src/lib/cli/exit-codes.js'
import {rolloutExitCode, runRolloutControl, runRolloutStart, runRolloutStatus} from '../../src/lib/cli/rollout.js'

const io = {json: true, log: () => {}, warn: () => {}}
const opts = {wait: true, waitTimeoutSeconds: 60, pollMs: 20, follow: false, followHint: 'follow it'}
const doc = (state: string, done: string[] = [], op = 'r1') => ({
  rollout: {
    op,
    state,
    reason: 'manual',
    step: 'next',
    message: state === 'failed' ? 'member etcd-2 did not come back' : 'm',
    target: 'etcd /new',
    members: {done, pending: [], current: null},
    currentStep: null,
    versions: {},
    clusterVersion: null,
    pauseRequested: false,
    abortRequested: false,
    startedAt: '',
    updatedAt: '',
  },
  desired: 'etcd /new',
  differing: [],
})

describe('cli rollout', () => {
  it('exit codes of the outcomes', () => {
    assert.deepEqual((['done', 'ok', 'failed', 'refused', 'not_finished'] as const).map(rolloutExitCode), [
      0,
      0,
      ExitCode.ROLLOUT_FAILED,
      ExitCode.REFUSED,
      ExitCode.UNHEALTHY,
    ])
  })

  it('start: followed to done; to failed (9)', async () => {
    for (const end of ['done', 'failed'] as const) {
      let polls = 0
      await withCannedApi(
        (m, p) =>
          m === 'POST' && p === '/rollout'
            ? {status: 202, body: {op: 'r1'}}
            : p === '/rollout'
              ? {status: 200, body: ++polls < 3 ? doc('running') : doc(end, ['etcd-1'])}
              : {status: 404, body: {error: 'no'}},
        async (client) => {
          const r = await runRolloutStart(client, opts, io)
          assert.equal(r.outcome, end)
          assert.equal(rolloutExitCode(r.outcome), end === 'done' ? 0 : 9)
          assert.ok(polls >= 3)
        },
      )
    }
  })

  it('start refused (409) → 6 with the reason; --no-wait → 4; status of a failed rollout → 9', async () => {
    await withCannedApi(
      (m) => (m === 'POST' ? {status: 409, body: {error: 'rollout refused: nothing to roll'}} : {status: 200, body: doc('failed')}),
      async (client) => {
        await assert.rejects(
          runRolloutStart(client, opts, io),
          (e: CliError) => e.exitCode === ExitCode.REFUSED && /nothing to roll/.test(e.message),
        )
        const s = await runRolloutStatus(client, io)
        assert.equal(rolloutExitCode(s.outcome), 9)
        await assert.rejects(runRolloutControl(client, 'pause', io), (e: CliError) => e.exitCode === ExitCode.REFUSED)
      },
    )
    await withCannedApi(
      (m) => (m === 'POST' ? {status: 202, body: {op: 'r1'}} : {status: 200, body: doc('running')}),
      async (client) => {
        const r = await runRolloutStart(client, {...opts, wait: false}, io)
        assert.equal(rolloutExitCode(r.outcome), 4)
        const p = await runRolloutControl(client, 'pause', io)
        assert.equal(p.outcome, 'ok')
      },
    )
  })
})
