import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import {buildAdminHandler, type AdminDeps} from '../../src/scheduler/admin.js'

function fakeDeps(over: Partial<AdminDeps> = {}): AdminDeps & {reseeds: boolean[]} {
  const reseeds: boolean[] = []
  return {
    reseeds,
    stats: () => ({running_servers: 3, healthy: 1}),
    members: () => [{name: 'etcd-1'}],
    healthy: () => true,
    failoverStatus: () => ({framework_id: 'f-0000'}),
    metrics: () => 'etcd_mesos_healthy 1\n',
    requestReseed: (force) => {
      reseeds.push(force)
      return force ? {accepted: true, op: 'op-1'} : {accepted: false, status: 409, error: 'cluster is healthy; use force'}
    },
    reseedStatus: (op) => (op === 'op-1' ? {op, phase: 'seeding'} : null),
    reseedCandidates: () => ({healthy: true, candidates: [], reason: 'x'}),
    ...over,
  }
}

async function withServer(deps: AdminDeps, fn: (base: string) => Promise<void>): Promise<void> {
  const srv = http.createServer(buildAdminHandler(deps))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as {port: number}).port
  try {
    await fn(`http://127.0.0.1:${port}`)
  } finally {
    await new Promise<void>((r) => srv.close(() => r()))
  }
}

describe('admin HTTP API', () => {
  it('serves the read endpoints as JSON', async () => {
    await withServer(fakeDeps(), async (base) => {
      const stats = await fetch(`${base}/stats`)
      assert.equal(stats.status, 200)
      assert.equal(stats.headers.get('content-type'), 'application/json')
      assert.deepEqual(await stats.json(), {running_servers: 3, healthy: 1})
      for (const p of ['/members', '/membership']) assert.deepEqual(await (await fetch(`${base}${p}`)).json(), [{name: 'etcd-1'}])
      assert.equal((await fetch(`${base}/healthz`)).status, 200)
      assert.match(await (await fetch(`${base}/metrics`)).text(), /etcd_mesos_healthy 1/)
      assert.deepEqual(await (await fetch(`${base}/failover-status`)).json(), {framework_id: 'f-0000'})
    })
  })

  it('answers 503 on /healthz when unhealthy', async () => {
    await withServer(fakeDeps({healthy: () => false}), async (base) => {
      assert.equal((await fetch(`${base}/healthz`)).status, 503)
    })
  })

  it('404s unknown paths and 405s wrong methods with Allow', async () => {
    await withServer(fakeDeps(), async (base) => {
      assert.equal((await fetch(`${base}/nope`)).status, 404)
      const r = await fetch(`${base}/reseed`)
      assert.equal(r.status, 405)
      assert.equal(r.headers.get('allow'), 'POST')
      assert.equal((await fetch(`${base}/stats`, {method: 'DELETE'})).status, 405)
    })
  })

  it('POST /reseed: refused without force, accepted with force, progress readable', async () => {
    const deps = fakeDeps()
    await withServer(deps, async (base) => {
      const refused = await fetch(`${base}/reseed`, {method: 'POST'})
      assert.equal(refused.status, 409)
      const ok = await fetch(`${base}/reseed`, {method: 'POST', headers: {'content-type': 'application/json'}, body: '{"force":true}'})
      assert.equal(ok.status, 202)
      assert.deepEqual(await ok.json(), {op: 'op-1', status: '/reseed/op-1'})
      assert.deepEqual(await (await fetch(`${base}/reseed/op-1`)).json(), {op: 'op-1', phase: 'seeding'})
      assert.equal((await fetch(`${base}/reseed/op-2`)).status, 404)
      assert.deepEqual(deps.reseeds, [false, true])
    })
  })

  it('rejects malformed bodies without calling the scheduler', async () => {
    const deps = fakeDeps()
    await withServer(deps, async (base) => {
      const bad = [
        {body: '{nope', ct: 'application/json', status: 400},
        {body: '[1]', ct: 'application/json', status: 400},
        {body: '{"force":"yes"}', ct: 'application/json', status: 400},
        {body: 'force=1', ct: 'application/x-www-form-urlencoded', status: 415},
        {body: 'x'.repeat(70 * 1024), ct: 'application/json', status: 413},
      ]
      for (const b of bad) {
        const r = await fetch(`${base}/reseed`, {method: 'POST', headers: {'content-type': b.ct}, body: b.body})
        assert.equal(r.status, b.status, b.body.slice(0, 20))
      }
      assert.deepEqual(deps.reseeds, [])
    })
  })

  it('needs the bearer token when one is configured', async () => {
    const deps = fakeDeps({token: 's3cret'})
    await withServer(deps, async (base) => {
      assert.equal((await fetch(`${base}/reseed`, {method: 'POST'})).status, 401)
      assert.equal((await fetch(`${base}/reseed`, {method: 'POST', headers: {authorization: 'Bearer wrong!'}})).status, 401)
      const ok = await fetch(`${base}/reseed`, {
        method: 'POST',
        headers: {authorization: 'Bearer s3cret', 'content-type': 'application/json'},
        body: '{"force":true}',
      })
      assert.equal(ok.status, 202)
      assert.equal((await fetch(`${base}/stats`)).status, 200, 'reads need no token')
    })
  })
})
