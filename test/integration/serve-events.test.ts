/**
 * The event log of a real `serve` (issue 18) with two schedulers (ZooKeeper leader election, a separate local Mesos,
 * 3 members, backups to a file target): GET /events/stream shows the bootstrap, then — live — a member's etcd killed,
 * its removal and its replacement; the standby answers 503; the CLI reads the log; when the leader stops its stream
 * ends cleanly, and the standby that takes over shows the recent history with seq continued, then its own events.
 * Needs a current build (dist/).
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'
import {ZkClient} from '../../src/lib/zk/client.js'
import type {Event, EventsPage} from '../../src/scheduler/core/event-types.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {runCli} from '../helpers/serve-e2e.js'
import {
  ETCD_BIN,
  getJson,
  killEtcd,
  Logs,
  RUN_JS,
  scenario,
  serveSuite,
  startMesosLocal,
  startServe,
  sweepCluster,
  until,
  waitHealthyMembers,
  waitStandby,
} from '../helpers/serve.js'

const suite = serveSuite()
const CLUSTER = 'evha'

/** An SSE reader: the events received, and whether the server ended the stream (cleanly) or it was cut. */
function stream(url: string) {
  const st = {status: 0, events: [] as Event[], ids: [] as number[], ended: false, cut: false, req: null as http.ClientRequest | null}
  let buf = ''
  st.req = http.get(url, (res) => {
    st.status = res.statusCode ?? 0
    res.setEncoding('utf8')
    res.on('data', (d: string) => {
      buf += d
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const frame = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const id = /^id: (\d+)$/m.exec(frame)
        const data = /^data: (.*)$/m.exec(frame)
        if (id && data) {
          st.ids.push(Number(id[1]))
          st.events.push(JSON.parse(data[1]!) as Event)
        }
      }
    })
    res.on('end', () => (st.ended = true))
    res.on('aborted', () => (st.cut = true))
  })
  st.req.on('error', () => (st.cut = true))
  return st
}

const has = (evs: Event[], pred: (e: Event) => boolean): true | undefined => (evs.some(pred) ? true : undefined)

describe('serve event log with a standby scheduler', {timeout: 420_000}, () => {
  it('streams a failure and its repair live; the next leader shows the history and continues its seq', async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'it-events-'))
      suite.cleanups.push(() => rm(dir, {recursive: true, force: true}))
      const mesos = await startMesosLocal({}, logs)
      suite.cleanups.push(() => mesos.stop())
      suite.cleanups.push(() => sweepCluster(CLUSTER))
      const zkUrl = `${suite.zk().url}/etcd-mesos`
      const flags = [
        ...['--master', mesos.hostPort, '--cluster-name', CLUSTER, '--cluster-size', '3', '--health-interval', '1'],
        ...['--bootstrap-wait', '1', '--failover-timeout-seconds', '300', '--executor-bin', RUN_JS, '--etcd-bin', ETCD_BIN],
        ...['--zk-framework-persist', zkUrl, '--backup-target', `file://${dir}`, '--backup-interval', '1h', '--backup-delta-interval', '0'],
      ]
      const a = await startServe(flags, logs, 'serve A')
      suite.cleanups.push(() => a.stop())
      const before = await waitHealthyMembers(a.adminUrl, 3, 180_000)

      const s = stream(`${a.adminUrl}/events/stream`)
      suite.cleanups.push(async () => void s.req?.destroy())
      await until('the bootstrap in the stream', async () => has(s.events, (e) => /^cluster healthy/.test(e.message)), 30_000, 100)
      assert.equal(s.status, 200)
      assert.equal(s.events.filter((e) => e.kind === 'launch').length, 3, JSON.stringify(s.events, null, 1))
      assert.deepEqual(
        s.ids,
        s.events.map((e) => e.seq),
        'id: is the seq',
      )
      assert.equal(s.events[0]!.seq, 1)
      assert.match(s.events[0]!.message, /^the scheduler at http:\/\/127\.0\.0\.1:\d+\/ \(pid \d+\) leads this cluster$/)
      await until(
        'the first backup',
        async () => has(s.events, (e) => e.kind === 'backup' && /taken at revision/.test(e.message)),
        60_000,
        200,
      )

      // `events --follow --json` as an operator runs it: NDJSON lines as events come, Ctrl-C ends it with 0.
      const follow = spawnTracked(process.execPath, [
        RUN_JS,
        'events',
        '--admin-url',
        a.adminUrl,
        '--follow',
        '--json',
        '--poll-interval',
        '200',
      ])
      suite.cleanups.push(() => stopTracked(follow, 'SIGKILL'))
      let followOut = ''
      follow.stdout!.on('data', (d: Buffer) => (followOut += d.toString()))
      const followExit = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)))
      const followed = (): Event[] =>
        followOut
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Event)
      await until('the follower to print the last events', async () => (followed().length > 0 ? true : undefined), 60_000, 100)

      const victim = before[1]!.name
      const mark = s.events.length
      await killEtcd(victim)
      await until(
        'the failure and the repair, live',
        async () => {
          const live = s.events.slice(mark)
          return (
            has(live, (e) => e.kind === 'member' && e.member === victim && /removed/.test(e.message)) &&
            has(live, (e) => e.kind === 'launch' && e.member !== victim) &&
            has(live, (e) => e.kind === 'member' && /added/.test(e.message))
          )
        },
        120_000,
        200,
      )
      const live = s.events.slice(mark)
      assert.ok(
        live.some((e) => e.member === victim && (e.kind === 'task' || e.kind === 'health')),
        `the victim's failure is told: ${JSON.stringify(live, null, 1)}`,
      )
      await waitHealthyMembers(a.adminUrl, 3, 120_000)
      await until(
        'the follower to print the removal',
        async () => has(followed(), (e) => e.kind === 'member' && e.member === victim && /removed/.test(e.message)),
        30_000,
        100,
      )
      follow.kill('SIGINT')
      assert.equal(await followExit, 0, 'Ctrl-C ends events --follow with 0')
      const fseqs = followed().map((e) => e.seq)
      assert.deepEqual(
        fseqs,
        [...fseqs].sort((x, y) => x - y),
        'oldest first, each once',
      )
      assert.equal(new Set(fseqs).size, fseqs.length)

      const cli = await runCli(['events', '--admin-url', a.adminUrl, '--json', '--since', String(mark)], 60_000)
      assert.equal(cli.code, 0, cli.stderr)
      const page = JSON.parse(cli.stdout) as EventsPage
      assert.ok(page.events.length > 0 && page.events.every((e) => e.seq > mark))
      const human = await runCli(['events', '--admin-url', a.adminUrl], 60_000)
      assert.equal(human.code, 0, human.stderr)
      assert.match(human.stdout, /#1 +leadership/)
      assert.match(human.stdout, new RegExp(`member +${victim} +etcd member \\w+ removed`))

      const b = await startServe(flags, logs, 'serve B')
      suite.cleanups.push(() => b.stop())
      await waitStandby(b.adminUrl)
      const standby = await getJson(`${b.adminUrl}/events`)
      assert.equal(standby.status, 503, standby.text)
      assert.match(standby.text, /standby/)
      const viaZk = await runCli(['events', '--cluster', CLUSTER, '--zk', zkUrl, '--json'], 60_000)
      assert.equal(viaZk.code, 0, viaZk.stderr)
      assert.ok((JSON.parse(viaZk.stdout) as EventsPage).latest >= page.latest, 'the CLI finds the leader through ZooKeeper')

      // The persisted form in ZooKeeper: bounded, at most a few seconds behind.
      const zk = await ZkClient.connect(suite.zk().url)
      try {
        const node = `/etcd-mesos/${CLUSTER}/events`
        await until(
          'the history persisted',
          async () => {
            const got = await zk.get(node)
            return got && (JSON.parse(got.data.toString()) as {latest: number}).latest >= page.latest ? true : undefined
          },
          30_000,
          200,
        )
        const doc = JSON.parse((await zk.get(node))!.data.toString()) as {version: number; events: Event[]}
        assert.equal(doc.version, 1)
        assert.ok(doc.events.length <= 200)
      } finally {
        await zk.close()
      }

      const aHistory = (await getJson<EventsPage>(`${a.adminUrl}/events`)).body
      await a.stop('SIGTERM')
      await until('A to end the stream', async () => (s.ended || s.cut ? true : undefined), 30_000, 100)
      assert.equal(s.cut, false, 'the stream was ended cleanly, not cut')

      const bPage = await until(
        'B to lead with the history',
        async () => {
          const r = await getJson<EventsPage>(`${b.adminUrl}/events`)
          return r.status === 200 && r.body.events.some((e) => e.seq > aHistory.latest && /leads this cluster/.test(e.message))
            ? r.body
            : undefined
        },
        120_000,
        300,
      )
      for (const e of aHistory.events) {
        const mine = bPage.events.find((x) => x.seq === e.seq)
        assert.deepEqual(mine, e, `A's event #${e.seq} is in B's log unchanged`)
      }
      const bLead = bPage.events.find((e) => e.seq > aHistory.latest && /leads this cluster/.test(e.message))!
      assert.match(bLead.message, new RegExp(b.adminUrl.replace(/[.:/]/g, '\\$&')))
      assert.ok(
        bPage.events.some((e) => e.seq > bLead.seq && /stored scheduler state loaded: framework \S+, \d task record/.test(e.message)),
        'B loaded the stored state',
      )
    })
  })

  it('after a SIGKILLed leader: the next one shows what was persisted and never reuses a seq a client saw', async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const mesos = await startMesosLocal({}, logs)
      suite.cleanups.push(() => mesos.stop())
      suite.cleanups.push(() => sweepCluster('evkill'))
      const flags = [
        ...['--master', mesos.hostPort, '--cluster-name', 'evkill', '--cluster-size', '1', '--health-interval', '1'],
        ...['--bootstrap-wait', '1', '--failover-timeout-seconds', '300', '--executor-bin', RUN_JS, '--etcd-bin', ETCD_BIN],
        ...['--zk-framework-persist', `${suite.zk().url}/etcd-mesos`],
      ]
      const a = await startServe(flags, logs, 'serve A')
      suite.cleanups.push(() => a.stop())
      await waitHealthyMembers(a.adminUrl, 1, 120_000)
      const b = await startServe(flags, logs, 'serve B')
      suite.cleanups.push(() => b.stop())
      await until('B to stand by', async () => ((await getJson(`${b.adminUrl}/events`)).status === 503 ? true : undefined), 30_000)
      // Persisted at least once after the bootstrap (at most 3 s later), then whatever A says last is what a client saw.
      const zk = await ZkClient.connect(suite.zk().url)
      let persisted: {latest: number; reserved: number; events: Event[]}
      try {
        const seen = (await getJson<EventsPage>(`${a.adminUrl}/events`)).body.latest
        persisted = await until(
          'the bootstrap persisted',
          async () => {
            const got = await zk.get('/etcd-mesos/evkill/events')
            const doc = got ? (JSON.parse(got.data.toString()) as typeof persisted) : null
            return doc && doc.latest >= seen ? doc : undefined
          },
          30_000,
          200,
        )
      } finally {
        await zk.close()
      }
      assert.ok(persisted.reserved > persisted.latest, 'a running leader reserves seqs ahead')
      const sawLast = (await getJson<EventsPage>(`${a.adminUrl}/events`)).body.latest
      await a.stop('SIGKILL')
      const page = await until(
        'B to lead',
        async () => {
          const r = await getJson<EventsPage>(`${b.adminUrl}/events`)
          return r.status === 200 && r.body.events.some((e) => /leads this cluster/.test(e.message) && e.seq > sawLast) ? r.body : undefined
        },
        120_000,
        300,
      )
      for (const e of persisted.events)
        assert.deepEqual(
          page.events.find((x) => x.seq === e.seq),
          e,
          `#${e.seq} kept`,
        )
      // B's first event (it names B) comes after all A may have numbered: A's reservation (or a later, larger one).
      const bFirst = page.events.find((e) => e.message.includes(b.adminUrl))!
      assert.ok(bFirst.seq > persisted.reserved, `B's first event #${bFirst.seq} after A's reservation ${persisted.reserved}`)
      assert.ok(bFirst.seq > sawLast)
    })
  })
})
