/** The admin API's rollout endpoints (GET /rollout, POST /rollout, POST /rollout/pause|resume|abort) with fake deps. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {adminDeps, withAdminServer} from '../helpers/admin-harness.js'

describe('admin API: rollout', () => {
  it('without rollout deps: 503', async () => {
    await withAdminServer(adminDeps(), async (base) => {
      assert.equal((await fetch(`${base}/rollout`)).status, 503)
      assert.equal((await fetch(`${base}/rollout`, {method: 'POST'})).status, 503)
    })
  })

  it('GET /rollout; POST start/pause/resume/abort pass the action and answer its status; token, body and method checks', async () => {
    const calls: string[] = []
    const d = adminDeps({
      token: 'tok-1',
      rolloutStatus: () => ({rollout: null, desired: 'etcd /x', differing: []}),
      rolloutControl: (action) => {
        calls.push(action)
        return action === 'resume' ? {status: 409, body: {error: 'no rollout to resume: none ever ran'}} : {status: 202, body: {op: 'r1'}}
      },
    })
    await withAdminServer(d, async (base) => {
      const g = await fetch(`${base}/rollout`)
      assert.equal(g.status, 200)
      assert.deepEqual(await g.json(), {rollout: null, desired: 'etcd /x', differing: []})
      assert.equal((await fetch(`${base}/rollout`, {method: 'POST'})).status, 401)
      const auth = {authorization: 'Bearer tok-1'}
      const start = await fetch(`${base}/rollout`, {method: 'POST', headers: auth})
      assert.equal(start.status, 202)
      assert.equal(start.headers.get('location'), '/rollout')
      assert.equal((await fetch(`${base}/rollout/pause`, {method: 'POST', headers: auth})).status, 202)
      const resume = await fetch(`${base}/rollout/resume`, {method: 'POST', headers: auth})
      assert.equal(resume.status, 409)
      assert.match(((await resume.json()) as {error: string}).error, /no rollout to resume/)
      assert.equal((await fetch(`${base}/rollout/abort`, {method: 'POST', headers: auth, body: '{}'})).status, 202)
      assert.equal((await fetch(`${base}/rollout/abort`, {method: 'POST', headers: auth, body: '[1]'})).status, 400)
      assert.equal((await fetch(`${base}/rollout/abort`, {method: 'POST', headers: auth, body: '{x'})).status, 400)
      assert.equal((await fetch(`${base}/rollout/pause`)).status, 405)
      assert.equal((await fetch(`${base}/rollout/other`, {method: 'POST', headers: auth})).status, 404)
      assert.equal((await fetch(`${base}/rollout`, {method: 'DELETE', headers: auth})).status, 405)
    })
    assert.deepEqual(calls, ['start', 'pause', 'resume', 'abort'])
  })
})
