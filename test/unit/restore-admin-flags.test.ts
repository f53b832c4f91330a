/**
 * Restore's edges, pure: POST /restore and GET /restore/<op> of the admin API (fake deps: body validation, 202/409/503,
 * the token), and serve's --restore-from / --auto-restore (restore-flags.ts).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {adminDeps, withAdminServer} from '../helpers/admin-harness.js'
import {parseRestoreFrom, resolveRestoreFlags, RestoreFlagError} from '../../src/scheduler/restore-flags.js'

const post = (base: string, body: string, headers: Record<string, string> = {'content-type': 'application/json'}) =>
  fetch(`${base}/restore`, {method: 'POST', headers, body})

describe('admin API: restore', () => {
  it('validates the body: 400 naming the field, 415 without JSON, and passes {from, toRevision, force} on', async () => {
    const seen: unknown[] = []
    const d = adminDeps({
      requestRestore: (r) => {
        seen.push(r)
        return r.force ? {accepted: true, op: 'restore-1'} : {accepted: false, status: 409, error: 'the cluster is healthy; use force'}
      },
      restoreStatus: (op) => (op === 'restore-1' ? {op, status: 'running'} : null),
    })
    await withAdminServer(d, async (base) => {
      for (const [body, re] of [
        ['', /needs a JSON body/],
        ['{', /malformed JSON/],
        ['[]', /JSON object/],
        ['{}', /"from" must be/],
        ['{"from": "../etc"}', /"from" must be/],
        ['{"from": "latest", "toRevision": 0}', /"toRevision" must be a positive integer/],
        ['{"from": "latest", "toRevision": "5"}', /"toRevision" must be a positive integer/],
        ['{"from": "latest", "force": "yes"}', /"force" must be a boolean/],
      ] as [string, RegExp][]) {
        const r = await post(base, body)
        assert.equal(r.status, 400, body)
        assert.match(((await r.json()) as {error: string}).error, re, body)
      }
      assert.equal((await post(base, '{"from": "latest"}', {'content-type': 'text/plain'})).status, 415)
      assert.deepEqual(seen, [], 'nothing reached the scheduler')
      const refused = await post(base, '{"from": "latest"}')
      assert.equal(refused.status, 409)
      assert.match(((await refused.json()) as {error: string}).error, /healthy/)
      const ok = await post(base, '{"from": "20260101T000000.000Z-r5", "toRevision": 9, "force": true}')
      assert.equal(ok.status, 202)
      assert.deepEqual(await ok.json(), {op: 'restore-1', status: '/restore/restore-1'})
      assert.equal(ok.headers.get('location'), '/restore/restore-1')
      assert.deepEqual(seen.at(-1), {from: '20260101T000000.000Z-r5', toRevision: 9, force: true})
      assert.equal((await fetch(`${base}/restore/restore-1`)).status, 200)
      assert.equal((await fetch(`${base}/restore/nope`)).status, 404)
    })
  })

  it('503 without a restore dep; the token is required when set', async () => {
    await withAdminServer(adminDeps(), async (base) => {
      assert.equal((await post(base, '{"from": "latest"}')).status, 503)
    })
    await withAdminServer(adminDeps({token: 'tok-123456', requestRestore: () => ({accepted: true, op: 'x'})}), async (base) => {
      assert.equal((await post(base, '{"from": "latest"}')).status, 401)
      assert.equal(
        (await post(base, '{"from": "latest"}', {'content-type': 'application/json', authorization: 'Bearer tok-123456'})).status,
        202,
      )
    })
  })
})

describe('serve --restore-from / --auto-restore', () => {
  it('latest or an id of --backup-target, a target URL (its latest), a manifest URL (that backup)', () => {
    assert.deepEqual(parseRestoreFrom('latest', 'file:///b'), {target: 'file:///b', from: 'latest'})
    assert.deepEqual(parseRestoreFrom('20260101T000000.000Z-r5', 's3://bkt/p'), {target: 's3://bkt/p', from: '20260101T000000.000Z-r5'})
    assert.deepEqual(parseRestoreFrom('file:///other/dir/', undefined), {target: 'file:///other/dir', from: 'latest'})
    assert.deepEqual(parseRestoreFrom('s3://bkt/a/b/20260101T000000.000Z-r5.manifest.json', undefined), {
      target: 's3://bkt/a/b',
      from: '20260101T000000.000Z-r5',
    })
  })

  it('refuses what it cannot use, naming the flag', () => {
    for (const [v, t, re] of [
      ['', 'file:///b', /empty/],
      ['not an id!', 'file:///b', /is not "latest", a backup id/],
      ['latest', undefined, /needs --backup-target/],
      ['ftp://x/y', undefined, /unsupported scheme/],
      ['/var/backups', undefined, /is not "latest", a backup id/],
      ['file:///d/bad id.manifest.json', undefined, /is not a backup id/],
      ['s3://user:secret@bkt/p', undefined, /--restore-from/],
    ] as [string, string | undefined, RegExp][]) {
      assert.throws(
        () => parseRestoreFrom(v, t),
        (e: Error) => e instanceof RestoreFlagError && re.test(e.message) && !e.message.includes('secret'),
        v,
      )
    }
    assert.throws(() => resolveRestoreFlags({'auto-restore': true}, undefined), /--auto-restore needs --backup-target/)
    assert.deepEqual(resolveRestoreFlags({'auto-restore': true}, 'file:///b'), {autoRestore: true})
    assert.deepEqual(resolveRestoreFlags({}, undefined), {autoRestore: false})
  })
})
