/** `etcd-mesos events` (lib/cli/events.ts) against a canned admin API: once, a bad answer, and --follow (the last 20
 *  first, then new ones, a gap warned about, an unreachable scheduler tolerated, Ctrl-C ends it with 0). And the
 *  outside facts of event-sources.ts (ZooKeeper states, election news, backups). */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Event} from '../../src/scheduler/core/event-types.js'
import {renderEvent, runEvents} from '../../src/lib/cli/events.js'
import {type CliError, ExitCode} from '../../src/lib/cli/exit-codes.js'
import {EventRecorder} from '../../src/scheduler/event-recorder.js'
import {recordBackupEnded, recordElection, recordZkStates} from '../../src/scheduler/event-sources.js'
import type {Logger} from '../../src/scheduler/logger.js'
import {withCannedApi} from '../helpers/admin-harness.js'

const ev = (seq: number): Event => ({seq, at: '2026-01-01T00:00:00.000Z', kind: 'task', member: 'etcd-1', message: `m${seq}`})
const io = () => {
  const out = {log: [] as string[], warn: [] as string[]}
  return {out, io: {json: false, log: (t: string) => out.log.push(t), warn: (t: string) => out.warn.push(t)}}
}
const quiet = {debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined} as unknown as Logger

describe('events command', () => {
  it('prints the events after --since, one line each, and returns the page', async () => {
    const asked: string[] = []
    await withCannedApi(
      (_m, p) => {
        asked.push(p)
        return {status: 200, body: {events: [ev(4), ev(5)], latest: 5}}
      },
      async (client) => {
        const {out, io: cio} = io()
        const page = await runEvents(client, cio, {since: 3, follow: false, pollMs: 50})
        assert.deepEqual(asked, ['/events?since=3'])
        assert.equal(page?.latest, 5)
        assert.deepEqual(out.log, [renderEvent(ev(4)), renderEvent(ev(5))])
        assert.match(out.log[0]!, /^2026-01-01T00:00:00.000Z {2}#4 +task +etcd-1 +m4$/)
      },
    )
  })

  it('refuses an answer that is not an event log (BAD_RESPONSE, exit 3)', async () => {
    await withCannedApi(
      () => ({status: 200, body: {endpoints: []}}),
      async (client) => {
        await assert.rejects(
          runEvents(client, io().io, {follow: false, pollMs: 50}),
          (e: CliError) => e.code === 'BAD_RESPONSE' && e.exitCode === ExitCode.UNREACHABLE,
        )
      },
    )
  })

  it('--follow: the last 20, then new events; a gap is warned about, an unreachable scheduler tolerated; Ctrl-C ends it', async () => {
    let call = 0
    await withCannedApi(
      (_m, p) => {
        call++
        if (call === 1) return {status: 200, body: {events: Array.from({length: 30}, (_, i) => ev(i + 1)), latest: 30}}
        if (call === 2) return {status: 503, body: {error: 'this scheduler is a standby; the leader is at http://b/'}}
        if (p === '/events?since=30') return {status: 200, body: {events: [ev(33)], latest: 33}}
        return {status: 200, body: {events: [], latest: 33}}
      },
      async (client) => {
        const {out, io: cio} = io()
        const done = runEvents(client, cio, {follow: true, pollMs: 20})
        const end = Date.now() + 20_000
        while (!out.log.some((l) => / m33$/.test(l)) && Date.now() < end) await sleep(20)
        process.emit('SIGINT')
        assert.equal(await done, undefined)
        assert.deepEqual(
          out.log.map((l) => Number(/#(\d+)/.exec(l)![1])),
          [...Array.from({length: 20}, (_, i) => i + 11), 33],
        )
        assert.ok(out.warn.some((w) => /standby.*still trying/.test(w)))
        assert.ok(out.warn.some((w) => /events #31\.\.#32 were dropped/.test(w)))
      },
    )
  })
})

describe('events --follow with --cluster/--zk', () => {
  it('finds the new leader when the followed scheduler stands by or goes away, and goes on after the last seq seen', async () => {
    let first = 0
    const asked: string[] = []
    await withCannedApi(
      () => {
        first++
        return first === 1
          ? {status: 200, body: {events: [ev(1), ev(2)], latest: 2}}
          : {status: 503, body: {error: 'this scheduler is a standby; the leader is at http://b/'}}
      },
      async (oldLeader) =>
        withCannedApi(
          (_m, p) => {
            asked.push(p)
            return {status: 200, body: {events: [ev(3)].filter((e) => e.seq > Number(p.split('=')[1])), latest: 3}}
          },
          async (newLeader) => {
            const {out, io: cio} = io()
            const done = runEvents(oldLeader, cio, {follow: true, pollMs: 20, reopen: async () => newLeader})
            const end = Date.now() + 20_000
            while (!out.log.some((l) => / m3$/.test(l)) && Date.now() < end) await sleep(20)
            process.emit('SIGINT')
            await done
            assert.deepEqual(
              out.log.map((l) => Number(/#(\d+)/.exec(l)![1])),
              [1, 2, 3],
            )
            assert.equal(asked[0], '/events?since=2', 'the new leader is asked for what came after the last seq seen')
            assert.ok(out.warn.some((w) => w.includes(`following the scheduler at ${newLeader.baseUrl}`)))
          },
        ),
    )
  })
})

describe('event sources', () => {
  it('records ZooKeeper states, election news while leading, and the end of backups', async () => {
    const r = new EventRecorder({log: quiet})
    const zk = new EventEmitter()
    const election = Object.assign(new EventEmitter(), {id: 'me'})
    const stopZk = recordZkStates(zk, r)
    const stopEl = recordElection(election, r)
    zk.emit('state', 'disconnected')
    zk.emit('state', 'expired')
    zk.emit('state', 'connected')
    election.emit('standby', null)
    election.emit('leader')
    election.emit('standby', {id: 'other', data: {adminUrl: 'http://b:23400/'}})
    recordBackupEnded(r, {op: 'o1', status: 'succeeded', message: null, manifest: {id: 'full-1', revision: 9}})
    recordBackupEnded(r, {op: 'o2', status: 'failed', message: 'target gone', manifest: null})
    stopZk()
    stopEl()
    zk.emit('state', 'disconnected')
    assert.deepEqual(
      r.page(0).events.map((e) => [e.kind, e.message]),
      [
        ['zookeeper', 'ZooKeeper connection lost; reconnecting (the scheduler keeps running and repairing meanwhile)'],
        ['zookeeper', 'ZooKeeper session expired; a new session is opened and the election re-joined'],
        ['zookeeper', 'ZooKeeper connected'],
        ['leadership', 'our ZooKeeper election node is gone (session expired): state persistence paused until we lead again'],
        ['leadership', 'leading again in ZooKeeper with a new session; state persistence resumed'],
        ['leadership', 'another scheduler leads this cluster now (http://b:23400/)'],
        ['backup', 'backup full-1 taken at revision 9 (operation o1)'],
        ['backup', 'backup failed (operation o2): target gone'],
      ],
    )
    await r.stop()
  })
})
