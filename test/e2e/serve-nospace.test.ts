/**
 * NOSPACE recovered with no human action (issue 17), on a real `serve --master local` whose 3 real etcd members run
 * with a 16 MiB backend quota (--etcd-quota-backend-bytes): the test overwrites a few keys with 256 KiB values until
 * etcd raises NOSPACE and refuses a write ("database space exceeded"); the scheduler then compacts, defragments every
 * member and disarms the alarm by itself, writes are accepted again, the keys written before are all there, and
 * /stats (`nospace`), /metrics and the log show the episode.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {getJson, members, stats, until, waitHealthyMembers, type ServeProc} from '../helpers/serve.js'
import {fillWith256KiB, startLocalServe, tryPut} from '../helpers/serve-e2e.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

async function readValue(url: string, key: string): Promise<string | null> {
  const res = await fetch(`${url}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({key: b64(key)}),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await res.json()) as {kvs?: {value?: string}[]}
  const v = body.kvs?.[0]?.value
  return v === undefined ? null : Buffer.from(v, 'base64').toString('utf8')
}

describe('serve: NOSPACE recovered without a human', {timeout: 600_000}, () => {
  let dir: string
  let serve: ServeProc
  let admin: string

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-nospace-'))
    serve = await startLocalServe({
      cluster: 'nospace',
      size: 3,
      bootstrapWait: 3,
      args: ['--state-file', path.join(dir, 'state.json'), '--etcd-quota-backend-bytes', '16MiB'],
      healthyWithinMs: 240_000,
      cwd: dir,
    })
    admin = serve.adminUrl
  })

  after(async () => {
    await serve?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('fills the quota until etcd refuses writes; the scheduler compacts, defragments, disarms; writes are accepted again', async () => {
    const ms = await members(admin)
    const url = ms.find((m) => m.leader)?.client_url ?? ms[0]!.client_url
    assert.equal((await stats(admin)).nospace?.episodes, 0)
    const small: string[] = []
    for (let i = 0; i < 20; i++) {
      assert.equal(await tryPut(url, `keep/${i}`, `v${i}`), undefined)
      small.push(`keep/${i}`)
    }
    const refused = await fillWith256KiB(url, 'fill/', (answer) => answer !== undefined)
    assert.ok(refused, 'etcd never refused a write')
    assert.match(refused, /database space exceeded/, 'refused for NOSPACE')

    // no human action from here: writes come back by themselves
    const tookMs = await until(
      'a write accepted again',
      async () => ((await tryPut(url, 'after', 'x')) === undefined ? true : undefined),
      240_000,
      500,
    ).then(() => Date.now())
    assert.ok(tookMs > 0)
    for (const k of small) assert.equal(await readValue(url, k), `v${k.split('/')[1]}`, `${k} kept`)

    const st = await until(
      'the episode recorded in /stats',
      async () => {
        const s = await stats(admin)
        return s.nospace?.last?.outcome === 'recovered' ? s : undefined
      },
      60_000,
      300,
    )
    assert.equal(st.nospace!.active, false)
    assert.ok(st.nospace!.episodes >= 1)
    assert.match(st.nospace!.last!.message, /writes accepted again/)
    assert.ok(st.nospace!.last!.steps.some((x) => /^compact/.test(x)))
    assert.equal(st.nospace!.last!.steps.filter((x) => /^defrag .*: ok$/.test(x)).length, 3, st.nospace!.last!.steps.join('; '))
    assert.ok(st.nospace!.last!.steps.some((x) => /^alarm_disarm/.test(x)))
    assert.ok(st.defrags >= 3)
    const metrics = await getJson(`${admin}/metrics`)
    assert.match(metrics.text, /etcd_mesos_nospace_episodes_total\{cluster="nospace"\} [1-9]/)
    assert.match(metrics.text, /etcd_mesos_defrags_total\{cluster="nospace"\} [3-9]/)
    assert.match(serve.log(), /NOSPACE alarm: etcd refuses writes/)
    assert.match(serve.log(), /NOSPACE recovered: writes accepted again/)
    await waitHealthyMembers(admin, 3, 60_000)
  })
})
