/** The admin API's backup endpoints (POST /backups, GET /backups, GET /backups/op/<op>) with fake deps. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {adminDeps, withAdminServer} from '../helpers/admin-harness.js'
import {BackupError} from '../../src/lib/backup/errors.js'

describe('admin API: backups', () => {
  it('without a backup service: 503 for POST and GET /backups, 404 for an op', async () => {
    await withAdminServer(adminDeps(), async (base) => {
      const post = await fetch(`${base}/backups`, {method: 'POST'})
      assert.equal(post.status, 503)
      assert.match(((await post.json()) as {error: string}).error, /no --backup-target/)
      assert.equal((await fetch(`${base}/backups`)).status, 503)
      assert.equal((await fetch(`${base}/backups/op/abc`)).status, 404)
    })
  })

  it('POST /backups: 202 with the op and its status URL; 409 names the running op; the token is required', async () => {
    let running = false
    const d = adminDeps({
      token: 'secret-token-1',
      requestBackup: () => {
        if (running) return {accepted: false, status: 409, error: 'a backup is already running (operation op1)', op: 'op1'}
        running = true
        return {accepted: true, op: 'op1'}
      },
      backupStatus: (op) => (op === 'op1' ? {op, status: 'running'} : null),
    })
    await withAdminServer(d, async (base) => {
      assert.equal((await fetch(`${base}/backups`, {method: 'POST'})).status, 401)
      const auth = {authorization: 'Bearer secret-token-1'}
      const ok = await fetch(`${base}/backups`, {method: 'POST', headers: auth})
      assert.equal(ok.status, 202)
      assert.equal(ok.headers.get('location'), '/backups/op/op1')
      assert.deepEqual(await ok.json(), {op: 'op1', status: '/backups/op/op1'})
      const again = await fetch(`${base}/backups`, {method: 'POST', headers: auth})
      assert.equal(again.status, 409)
      assert.deepEqual(await again.json(), {error: 'a backup is already running (operation op1)', op: 'op1'})
      assert.deepEqual(await (await fetch(`${base}/backups/op/op1`)).json(), {op: 'op1', status: 'running'})
      const bad = await fetch(`${base}/backups`, {method: 'POST', headers: {...auth, 'content-type': 'application/json'}, body: '[1'})
      assert.equal(bad.status, 400)
      assert.equal((await fetch(`${base}/backups`, {method: 'DELETE'})).status, 405)
    })
  })

  it('GET /backups: the list; a target error is a 502 naming it', async () => {
    await withAdminServer(
      adminDeps({listBackups: async () => ({target: 'file:///b', backups: [{id: 'x'}], invalid: []})}),
      async (base) => {
        assert.deepEqual(await (await fetch(`${base}/backups`)).json(), {target: 'file:///b', backups: [{id: 'x'}], invalid: []})
      },
    )
    const failing = adminDeps({
      listBackups: async () => {
        throw new BackupError('IO', 'backup target file:///b: ENOENT')
      },
    })
    await withAdminServer(failing, async (base) => {
      const r = await fetch(`${base}/backups`)
      assert.equal(r.status, 502)
      assert.deepEqual(await r.json(), {error: 'backup target file:///b: ENOENT', code: 'IO'})
    })
  })
})
