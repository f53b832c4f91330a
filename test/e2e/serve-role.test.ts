/**
 * `serve --framework-role` as a user meets it (issue 14): `serve --help` says what a role other than '*' does
 * and what '*' means; an invalid role is refused before anything starts (exit 2, the flag named); the start log
 * says which mode runs ('*': no reservation, data in the sandbox).
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'
import {waitFor} from '../helpers/ports.js'
import {RUN_JS, randomPortRange, startServe, sweepCluster} from '../helpers/serve.js'

const run = (args: string[], cwd = os.tmpdir()) =>
  spawnSync(process.execPath, [RUN_JS, ...args], {cwd, encoding: 'utf8', timeout: 60_000, env: {...process.env, NO_COLOR: '1'}})

describe('serve --framework-role', () => {
  it('--help explains reservations and persistent volumes, and the * role', () => {
    const r = run(['serve', '--help'])
    assert.equal(r.status, 0, r.stderr)
    const text = r.stdout.replace(/\s+/g, ' ')
    assert.match(text, /--framework-role=<value> \[default: \*, env: FRAMEWORK_ROLE\] Mesos role to register with\. Other than '\*'/)
    assert.match(text, /dynamically reserved to it \(principal: --mesos-authentication-principal\)/)
    assert.match(text, /persistent volume that outlives its task; released when the member is removed for good/)
    assert.match(text, /'\*': no reservation, the data lives in the task's sandbox/)
  })

  for (const role of ['..', '-etcd', 'a b', 'eng/..']) {
    it(`an invalid role ${JSON.stringify(role)} exits 2 naming the flag`, () => {
      const r = run(['serve', '--master', 'local', '--cluster-name', 'roletest', '--framework-role', role])
      assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`)
      assert.match(r.stderr.replace(/\s*›\s*/g, ' '), /--framework-role .* is not a valid Mesos role/)
    })
  }

  it("role '*' says so at start: no reservation, the data in the sandbox", {timeout: 90_000}, async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'e2e-role-'))
    const [lo, hi] = randomPortRange()
    const s = await startServe(
      [
        '--master',
        'local',
        '--cluster-name',
        'rolestar',
        '--cluster-size',
        '1',
        '--local-agent-ports',
        `${lo}-${hi}`,
        '--state-file',
        path.join(cwd, 'state.json'),
      ],
      undefined,
      'serve',
      {cwd},
    )
    try {
      await waitFor('the role log line', () => /framework role '\*': no reservation, no persistent volume/.test(s.log()), 60_000, 100)
      assert.match(s.log(), /Use --framework-role for persistent volumes/)
    } finally {
      await s.stop()
      await sweepCluster('rolestar') // its member's etcd, if one was launched meanwhile (executors run detached)
    }
  })
})
