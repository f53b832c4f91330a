/**
 * The embedded local Mesos's work dir: a temp dir startLocalMesos made itself is removed by stop() (serve --master
 * local used to leave ~400 MB of sandboxes and etcd data in /tmp per run); a work dir given by the caller is kept.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {startLocalMesos} from '../../src/mesos-local/cluster.js'

describe('mesos-local work dir', {timeout: 60_000}, () => {
  it('a temp work dir of its own is removed on stop(); a given one is kept', async () => {
    const own = await startLocalMesos({agents: 1, port: 0})
    assert.ok(fs.existsSync(path.join(own.workDir, 'agent-1')), `agent dir under ${own.workDir}`)
    await own.stop()
    assert.equal(fs.existsSync(own.workDir), false, `${own.workDir} left behind`)

    const given = fs.mkdtempSync(path.join(os.tmpdir(), 'it-mesos-workdir-'))
    try {
      const m = await startLocalMesos({agents: 1, port: 0, workDir: given})
      await m.stop()
      assert.ok(fs.existsSync(path.join(given, 'agent-1')), 'the caller’s work dir is kept')
    } finally {
      fs.rmSync(given, {recursive: true, force: true})
    }
  })
})
