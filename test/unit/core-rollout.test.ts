/**
 * Rollouts in the core (rollout.ts): a serve restarted with another etcd binary relaunches the members in place one
 * at a time, followers first, the leader last after MoveLeader; version rules refuse before anything is touched;
 * pause / resume / abort; a restarted scheduler resumes; a member that does not come back stops the rollout.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import type {SchedulerEvent} from '../../src/scheduler/core/events.js'
import type {SchedulerConfigInput} from '../../src/scheduler/core/config.js'
import {rolloutView} from '../../src/scheduler/core/rollout-view.js'
import {liveTasks, runningTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG, launches} from '../helpers/core-world.js'
import {World} from '../helpers/sim/sim.js'

const OLD = {etcdBin: '/old/etcd', etcdVersion: '3.4.23'}
const NEW = {etcdBin: '/new/etcd', etcdVersion: '3.5.16'}
const VERSION_OF: Record<string, string> = {'/old/etcd': '3.4.23', '/new/etcd': '3.5.16', '/newer/etcd': '3.6.0'}

/** The sim world answering the rollout's driver actions: /version from the binary each task was launched with. */
class RolloutWorld extends World {
  moves: string[] = []
  backups = 0
  /** The TLS checks ROLLOUT_VERSIONS asked for, and the problem the runner answers (tls-trust.ts stands in). */
  tlsChecks: NonNullable<Extract<SchedulerAction, {type: 'ROLLOUT_VERSIONS'}>['tls']>[] = []
  tlsProblem: string | undefined
  protected override answerEtcd(a: SchedulerAction): SchedulerEvent | undefined {
    if (a.type === 'ROLLOUT_VERSIONS') {
      if (a.tls) this.tlsChecks.push(a.tls)
      return {
        type: 'RolloutVersionsObserved',
        op: a.op,
        ...(a.tls && this.tlsProblem ? {tlsProblem: this.tlsProblem} : {}),
        versions: a.clientUrls.map((u) => {
          const t = [...this.tasks.values()].find(
            (x) => `http://${x.cfg.member.host}:${x.cfg.member.clientPort}` === u && x.state === 'TASK_RUNNING',
          )
          if (!t) return {clientUrl: u, error: 'connection refused'}
          const versions = this.liveTasks().map((x) => VERSION_OF[x.cfg.etcdBin ?? '']!)
          const minor = versions.map((v) => v.split('.').slice(0, 2).join('.')).sort()[0]
          return {clientUrl: u, server: VERSION_OF[t.cfg.etcdBin ?? '']!, cluster: `${minor}.0`}
        }),
      }
    }
    if (a.type === 'MOVE_LEADER') {
      this.moves.push(a.targetId)
      this.preferredLeader = a.targetId
      return {type: 'LeaderMoved', op: a.op, ok: true, message: 'ok'}
    }
    if (a.type === 'ROLLOUT_BACKUP') {
      this.backups++
      return {type: 'RolloutBackupDone', op: a.op, ok: true, message: 'backup b-1'}
    }
    return super.answerEtcd(a)
  }
  leaderTask(): string {
    const p = runningTasks(this.state).map((t) => this.probe(`http://${t.hostname}:${t.clientPort}`))
    const l = p.find((x) => x.status && x.status.memberId === x.status.leader)!
    return runningTasks(this.state).find((t) => `http://${t.hostname}:${t.clientPort}` === l.clientUrl)!.memberName
  }
}

function cluster(extra: Partial<SchedulerConfigInput> = {}): RolloutWorld {
  const w = new RolloutWorld({...CORE_CFG, ...OLD, ...extra}, 3)
  w.start()
  w.offerAll()
  w.advance(6_000, {offers: false})
  w.advance(10_000)
  assert.equal(runningTasks(w.state).length, 3)
  assert.equal(w.state.stats.healthy, 1)
  return w
}

/** Member names in the order the rollout KILLed them (from `from` on), checking one member down at a time. */
function killOrder(w: RolloutWorld, from: number): string[] {
  return w.actions
    .slice(from)
    .filter((a): a is Extract<SchedulerAction, {type: 'KILL'}> => a.type === 'KILL')
    .map((a) => a.taskId.replace(/\.[0-9a-f]+$/, '').replace(/^(.*-\d+).*$/, '$1'))
}

describe('core rollout', () => {
  it('a serve restarted with a new etcd binary rolls followers first, the leader last after MoveLeader, one at a time, in place', () => {
    const w = cluster()
    const before = new Map(runningTasks(w.state).map((t) => [t.memberName, t]))
    const leader = w.leaderTask()
    const from = w.actions.length
    w.restart(99, NEW)
    // one member down at a time: every time a KILL is emitted, the other two members' tasks run
    const origFeed = w.feed.bind(w)
    let maxDown = 0
    w.feed = (ev) => {
      const out = origFeed(ev)
      const down = 3 - runningTasks(w.state).length
      maxDown = Math.max(maxDown, down)
      return out
    }
    for (let i = 0; i < 40 && w.state.rollout?.state !== 'done'; i++) w.advance(5_000)
    const r = w.state.rollout!
    assert.equal(r.state, 'done', r.message)
    assert.equal(r.reason, 'auto')
    assert.ok(maxDown <= 1, `at most one member down at a time (saw ${maxDown})`)
    const kills = w.actions.slice(from).filter((a) => a.type === 'KILL') as Extract<SchedulerAction, {type: 'KILL'}>[]
    const killed = kills.map((k) => before.get([...before.keys()].find((n) => before.get(n)!.taskId === k.taskId)!)!.memberName)
    assert.equal(killed.length, 3)
    assert.equal(killed[2], leader, 'the leader last')
    const moveIdx = w.actions.findIndex((a, i) => i >= from && a.type === 'MOVE_LEADER')
    const leaderKillIdx = w.actions.findIndex((a, i) => i >= from && a.type === 'KILL' && a.taskId === before.get(leader)!.taskId)
    assert.ok(moveIdx > 0 && moveIdx < leaderKillIdx, 'MoveLeader before the leader is stopped')
    // relaunched in place: same agent, same ports, on its data, with the new binary
    for (const l of launches(w.actions.slice(from))) {
      const old = before.get(l.cfg.member.name)!
      assert.equal(l.agentId, old.agentId)
      assert.equal(l.cfg.member.peerPort, old.peerPort)
      assert.equal(l.cfg.member.clientPort, old.clientPort)
      assert.equal(l.cfg.requireData, true)
      assert.equal(l.cfg.etcdBin, NEW.etcdBin)
      assert.equal(l.cfg.initialClusterState, 'existing')
    }
    assert.equal(launches(w.actions.slice(from)).length, 3)
    for (const t of liveTasks(w.state)) assert.equal(t.spec?.etcdBin, NEW.etcdBin)
    assert.equal(w.state.episode, 'MUTABLE')
    assert.equal(rolloutView(w.state)?.state, 'done')
    // nothing more to roll: no second rollout
    const n = w.actions.length
    w.advance(30_000)
    assert.equal(w.actions.slice(n).filter((a) => a.type === 'KILL').length, 0)
    void killOrder
  })

  it('refuses by the version rules before touching anything (3.4 → 3.6), in the state and the log', () => {
    const w = cluster()
    const from = w.actions.length
    w.restart(99, {etcdBin: '/newer/etcd', etcdVersion: '3.6.0'})
    w.advance(20_000)
    const r = w.state.rollout!
    assert.equal(r.state, 'refused')
    assert.match(r.message, /one minor version at a time/)
    assert.equal(w.actions.slice(from).filter((a) => a.type === 'KILL' || a.type === 'MOVE_LEADER').length, 0)
    assert.ok(w.actions.slice(from).some((a) => a.type === 'LOG' && /rollout refused: .*one minor version/.test(a.msg)))
    // not retried automatically for the same target
    w.advance(60_000)
    assert.equal(w.actions.slice(from).filter((a) => a.type === 'ROLLOUT_VERSIONS').length, 1)
  })

  it('takes a full backup first when a backup target is configured', () => {
    const w = cluster({backupTarget: 'file:///tmp/b'})
    w.restart(99, NEW)
    for (let i = 0; i < 40 && w.state.rollout?.state !== 'done'; i++) w.advance(5_000)
    assert.equal(w.state.rollout?.state, 'done')
    assert.equal(w.backups, 1)
    const firstKill = w.actions.findIndex((a) => a.type === 'KILL')
    const backup = w.actions.findIndex((a) => a.type === 'ROLLOUT_BACKUP')
    assert.ok(backup >= 0 && backup < firstKill)
  })

  it('POST /rollout with auto-rollout off; pause after the current member, resume, abort', () => {
    const w = cluster({autoRollout: false})
    w.restart(99, {...NEW, autoRollout: false})
    w.advance(20_000)
    assert.equal(w.state.rollout as unknown, null, 'no automatic rollout')
    w.feed({type: 'RolloutRequested', op: 'r1'})
    assert.equal(w.state.rollout?.state, 'running')
    assert.equal(w.state.episode, 'ROLLING_OUT')
    // run until the first member is being relaunched, then pause
    for (let i = 0; i < 20 && !w.state.rollout!.current; i++) w.advance(1_000)
    assert.ok(w.state.rollout!.current)
    w.feed({type: 'RolloutControl', action: 'pause'})
    for (let i = 0; i < 20 && w.state.rollout!.state === 'running'; i++) w.advance(2_000)
    assert.equal(w.state.rollout!.state, 'paused')
    assert.equal(w.state.rollout!.done.length, 1, 'the member being rolled was finished first')
    assert.equal(w.state.episode, 'MUTABLE')
    const n = w.actions.length
    w.advance(60_000)
    assert.equal(w.actions.slice(n).filter((a) => a.type === 'KILL').length, 0, 'nothing rolled while paused')
    // a second POST while paused: refused (still active)
    w.feed({type: 'RolloutRequested', op: 'r2'})
    assert.equal(w.state.rollout!.op, 'r1')
    w.feed({type: 'RolloutControl', action: 'resume'})
    assert.equal(w.state.rollout!.state, 'running')
    for (let i = 0; i < 400 && !w.state.rollout!.current; i++) w.advance(200)
    assert.equal(w.state.rollout!.done.length, 1)
    w.feed({type: 'RolloutControl', action: 'abort'})
    for (let i = 0; i < 20 && w.state.rollout!.state === 'running'; i++) w.advance(2_000)
    assert.equal(w.state.rollout!.state, 'aborted')
    assert.equal(w.state.rollout!.done.length, 2, 'the member being rolled when aborted was finished, the last one untouched')
    assert.equal(runningTasks(w.state).length, 3)
  })

  it('a restarted scheduler resumes a running rollout without rolling a member twice', () => {
    const w = cluster()
    w.restart(99, NEW)
    for (let i = 0; i < 400 && (w.state.rollout?.done.length ?? 0) < 1; i++) w.advance(200)
    const done = [...w.state.rollout!.done]
    assert.equal(done.length, 1)
    const doneTask = liveTasks(w.state).find((t) => t.memberName === done[0])!.taskId
    w.restart(123, NEW)
    assert.equal(w.state.rollout?.state as string, 'running')
    for (let i = 0; i < 40 && w.state.rollout?.state !== 'done'; i++) w.advance(5_000)
    assert.equal(w.state.rollout?.state, 'done', w.state.rollout?.message)
    assert.ok(
      liveTasks(w.state).some((t) => t.taskId === doneTask),
      'the member rolled before the restart was not rolled again',
    )
    for (const t of liveTasks(w.state)) assert.equal(t.spec?.etcdBin, NEW.etcdBin)
  })

  it('a member that does not come back fails the rollout and leaves the rest untouched', () => {
    const w = cluster({rolloutMemberTimeoutMs: 60_000})
    for (const agent of w.agents.values()) agent.ports = [[40000, 40010]] // the members' ports are never offered again
    const from = w.actions.length
    w.restart(99, {...NEW, rolloutMemberTimeoutMs: 60_000})
    for (let i = 0; i < 40 && !w.state.rollout?.current; i++) w.advance(500)
    const cur = w.state.rollout!.current!
    for (let i = 0; i < 40 && w.state.rollout?.state === 'running'; i++) w.advance(5_000)
    const r = w.state.rollout!
    assert.equal(r.state, 'failed')
    assert.match(r.message, new RegExp(`member ${cur.member} did not come back`))
    assert.deepEqual(r.done, [])
    const killed = w.actions.slice(from).filter((a) => a.type === 'KILL').length
    assert.equal(killed, 1, 'no other member stopped')
    assert.notEqual(w.state.episode, 'ROLLING_OUT', 'normal repair takes over')
    assert.equal(rolloutView(w.state)?.state, 'failed')
  })

  const A = {
    content: {clientCertFile: '-----BEGIN A', clientKeyFile: '-----BEGIN KA'},
    certs: {clientCertFile: '-----BEGIN A'},
    digest: 'a'.repeat(64),
  }
  const B = {
    content: {clientCertFile: '-----BEGIN B', clientKeyFile: '-----BEGIN KB'},
    certs: {clientCertFile: '-----BEGIN B'},
    digest: 'b'.repeat(64),
  }
  const withTls = (m: typeof A) => ({autoRollout: false, tlsContent: m.content, tlsCerts: m.certs, tlsDigest: m.digest})

  it('POST /rollout with changed TLS files: every member relaunched with the new files, the trust check asked with what runs', () => {
    const w = cluster(withTls(A))
    assert.ok(launches(w.actions).every((l) => l.cfg.tlsContent?.clientCertFile === '-----BEGIN A'))
    assert.equal(runningTasks(w.state)[0]!.spec?.tlsDigest, A.digest)
    assert.deepEqual(runningTasks(w.state)[0]!.spec?.tlsCerts, A.certs, 'the public part is recorded; the key is not')
    const n = w.actions.length
    w.feed({type: 'RolloutRequested', op: 'tls1', tls: B})
    assert.equal(w.state.rollout?.state, 'running')
    assert.equal(w.state.config.tlsDigest, B.digest)
    for (let i = 0; i < 300 && w.state.rollout!.state === 'running'; i++) w.advance(500)
    assert.equal(w.state.rollout!.state, 'done', w.state.rollout!.message)
    assert.deepEqual(w.tlsChecks[0], {running: [A.certs], target: B.certs})
    const relaunched = launches(w.actions.slice(n))
    assert.equal(relaunched.length, 3)
    assert.ok(relaunched.every((l) => l.cfg.tlsContent?.clientKeyFile === '-----BEGIN KB'))
    assert.ok(runningTasks(w.state).every((t) => t.spec?.tlsDigest === B.digest))
    assert.ok(!JSON.stringify(w.state.tasks).includes('-----BEGIN K'), 'no key in the persisted task records')
  })

  it('a rotation the trust check refuses touches no member', () => {
    const w = cluster(withTls(A))
    w.tlsProblem = 'certificate rotation refused: the members not yet rolled trust only their current CA file'
    const n = w.actions.length
    w.feed({type: 'RolloutRequested', op: 'tls2', tls: B})
    for (let i = 0; i < 40 && w.state.rollout!.state === 'running'; i++) w.advance(500)
    assert.equal(w.state.rollout!.state, 'refused')
    assert.match(w.state.rollout!.message, /certificate rotation refused/)
    assert.equal(w.actions.slice(n).filter((a) => a.type === 'KILL').length, 0)
  })
})
