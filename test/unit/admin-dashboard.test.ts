import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {adminDeps, withAdminServer} from '../helpers/admin-harness.js'
import {AdminState} from '../../src/scheduler/admin-state.js'
import type {LeaderElection} from '../../src/lib/zk/election.js'
import type {Logger} from '../../src/scheduler/logger.js'

const sha = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`

describe('admin API: the dashboard page and /stats/history', () => {
  it('GET / with Accept: text/html serves the self-contained page', async () => {
    await withAdminServer(adminDeps(), async (base) => {
      const r = await fetch(`${base}/`, {headers: {accept: 'text/html,application/xhtml+xml,*/*;q=0.8'}})
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8')
      const html = await r.text()
      assert.match(html, /^<!doctype html>/i)
      assert.match(html, /<html lang="en">/)
      assert.match(html, /<title>[^<]*etcd-mesos[^<]*<\/title>/)
      assert.ok(html.length < 64 * 1024, `the page is small (${html.length} bytes)`)
      // Self-contained: nothing loaded from elsewhere (no CDN, no fonts, no external script, style or image).
      assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i)
      assert.doesNotMatch(html, /@import|url\(/i)
      // A CSP that allows only this page's own inline script and style (by hash) and same-origin requests.
      const csp = r.headers.get('content-security-policy') ?? ''
      assert.match(csp, /default-src 'none'/)
      assert.match(csp, /connect-src 'self'/)
      const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1]
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1]
      assert.ok(script && style, 'one inline script and one inline style')
      assert.ok(csp.includes(`script-src ${sha(script)}`), `script hash in ${csp}`)
      assert.ok(csp.includes(`style-src ${sha(style)}`), `style hash in ${csp}`)
      assert.equal(r.headers.get('x-frame-options'), 'DENY')
      assert.equal(r.headers.get('cache-control'), 'no-store')
      // HEAD answers the same headers
      const h = await fetch(`${base}/`, {method: 'HEAD', headers: {accept: 'text/html'}})
      assert.equal(h.status, 200)
      assert.equal(h.headers.get('content-type'), 'text/html; charset=utf-8')
    })
  })

  it('GET / without text/html in Accept keeps the JSON index (which lists /stats/history)', async () => {
    await withAdminServer(adminDeps(), async (base) => {
      for (const accept of [undefined, 'application/json', '*/*', 'text/html;q=0, application/json']) {
        const r = await fetch(`${base}/`, accept ? {headers: {accept}} : {})
        assert.equal(r.status, 200)
        assert.equal(r.headers.get('content-type'), 'application/json')
        const body = (await r.json()) as {endpoints: string[]}
        assert.ok(body.endpoints.includes('/stats'))
        assert.ok(body.endpoints.includes('/stats/history'))
      }
    })
  })

  it('GET /stats/history answers the history; 503 without one; 405 on POST', async () => {
    const history = {interval_ms: 5000, capacity: 720, fields: ['healthy'], samples: [{at: 1, healthy: 1}]}
    await withAdminServer(adminDeps({statsHistory: () => history}), async (base) => {
      const r = await fetch(`${base}/stats/history`)
      assert.equal(r.status, 200)
      assert.deepEqual(await r.json(), history)
      assert.equal((await fetch(`${base}/stats/history`, {method: 'POST'})).status, 405)
    })
    await withAdminServer(adminDeps(), async (base) => {
      const r = await fetch(`${base}/stats/history`)
      assert.equal(r.status, 503)
      assert.match(((await r.json()) as {error: string}).error, /history/)
    })
  })

  it('a standby (AdminState before it leads): what the page reads says STANDBY and names the leader; no history', async () => {
    const quiet = {debug() {}, info() {}, warn() {}, error() {}} as unknown as Logger
    const state = new AdminState({failoverTimeoutSec: 60, clusterName: 'sb'}, quiet)
    const election = {
      id: 'b',
      candidates: () => [
        {id: 'a', data: {adminUrl: 'http://leader.example:23400/', host: 'leader.example', since: 1}},
        {id: 'b', data: {adminUrl: 'http://standby.example:23400/', host: 'standby.example'}},
      ],
    }
    state.attachElection(election as unknown as LeaderElection)
    await withAdminServer(state.deps(), async (base) => {
      const fo = (await (await fetch(`${base}/failover-status`)).json()) as {mode: string; scheduler: {leader: {admin_url: string}}}
      assert.equal(fo.mode, 'STANDBY')
      assert.equal(fo.scheduler.leader.admin_url, 'http://leader.example:23400/')
      const h = await fetch(`${base}/stats/history`)
      assert.equal(h.status, 503)
      assert.match(((await h.json()) as {error: string}).error, /standby.*leader\.example/)
      assert.equal((await fetch(`${base}/`, {headers: {accept: 'text/html'}})).status, 200, 'the page itself is served')
    })
  })

  it('a scheduler still starting (no election joined, not leading) names no leader, not itself', async () => {
    const quiet = {debug() {}, info() {}, warn() {}, error() {}} as unknown as Logger
    const state = new AdminState({failoverTimeoutSec: 60, clusterName: 'sb'}, quiet)
    await withAdminServer(state.deps(), async (base) => {
      const fo = (await (await fetch(`${base}/failover-status`)).json()) as {mode: string; scheduler: {leader: unknown}}
      assert.equal(fo.mode, 'STANDBY')
      assert.equal(fo.scheduler.leader, null)
    })
  })
})
