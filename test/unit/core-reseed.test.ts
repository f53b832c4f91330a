/** Scenario tests of the scheduler core: livelock episodes, automatic and manual re-seed, the proof of a seed, restart mid-re-seed. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {decodeFrameworkMessage, encodeFrameworkMessage} from '../../src/lib/member-config.js'
import type {World} from '../helpers/sim/sim.js'
import {liveTasks, modeOf, runningTasks, type TaskRecord} from '../../src/scheduler/core/state.js'
import {parsePersistedDoc, serializePersistedDoc} from '../../src/scheduler/core/persist.js'
import {CORE_CFG as CFG, FAST_RECONCILE_CFG, healthyCluster, runningCluster} from '../helpers/core-world.js'

const onAgent = (w: World, agentId: string): TaskRecord => liveTasks(w.state).find((t) => t.agentId === agentId)!

describe('livelock and automatic re-seed', () => {
  it('counts one livelock episode, re-seeds only after reseedTimeoutMs, then grows back to full size', () => {
    const w = runningCluster(CFG, 5)
    const seed = onAgent(w, 'S1')
    w.loseAgents(['S2', 'S3'])
    const mark = w.actions.length
    w.advance(55_000, {offers: false})
    assert.equal(w.state.stats.healthy, 0)
    assert.equal(w.state.stats.cluster_livelocks, 0, 'not livelocked before reseedTimeoutMs')
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0, 'no re-seed before the timeout')
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 0, 'no growth while unhealthy')
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    w.advance(10_000, {offers: false})
    assert.equal(w.state.stats.cluster_livelocks, 1)
    const msgs = w.actionsOf('MESSAGE', mark)
    assert.equal(msgs.length, 1)
    assert.equal(msgs[0]!.executorId, seed.taskId)
    assert.deepEqual(decodeFrameworkMessage(msgs[0]!.data), {type: 'reseed', op: w.state.operations[0]!.op})
    assert.equal(w.state.stats.cluster_reseeds, 1)
    w.advance(120_000)
    assert.equal(w.state.stats.cluster_livelocks, 1, 'one episode, however many failed checks')
    assert.equal(w.state.stats.cluster_reseeds, 1)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.members.length, 3)
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.state.operations[0]!.status, 'succeeded')
    assert.equal(w.state.reseed, null)
    assert.ok(
      runningTasks(w.state).some((t) => t.taskId === seed.taskId),
      'the seed survives',
    )
  })

  it('does not re-seed with autoReseed=false, but a manual request (unhealthy) does', () => {
    const w = runningCluster({...CFG, autoReseed: false}, 3)
    w.loseAgents(['S2', 'S3'])
    const mark = w.actions.length
    w.advance(300_000, {offers: false})
    assert.equal(w.state.stats.cluster_livelocks, 1)
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0)
    w.feed({type: 'ReseedRequested', op: 'manual-1', force: false})
    assert.equal(w.actionsOf('MESSAGE', mark).length, 1)
    assert.deepEqual(
      decodeFrameworkMessage(w.actionsOf('MESSAGE', mark)[0]!.data),
      {type: 'reseed', op: 'manual-1'},
      'not forced: the member checks its quorum',
    )
    assert.equal(w.state.operations.find((o) => o.op === 'manual-1')?.status, 'succeeded')
  })

  it('refuses a manual re-seed of a healthy cluster unless forced', () => {
    const w = runningCluster(CFG, 3)
    const mark = w.actions.length
    w.feed({type: 'ReseedRequested', op: 'r1', force: false})
    assert.equal(w.state.operations.find((o) => o.op === 'r1')?.status, 'refused')
    assert.match(w.state.operations.find((o) => o.op === 'r1')!.message, /healthy/)
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0)
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    w.feed({type: 'ReseedRequested', op: 'r1', force: true})
    assert.equal(w.state.operations.find((o) => o.op === 'r1')?.status, 'refused', 'an op id is used once')
    w.feed({type: 'ReseedRequested', op: 'r2', force: true})
    assert.equal(w.actionsOf('MESSAGE', mark).length, 1)
    assert.deepEqual(
      decodeFrameworkMessage(w.actionsOf('MESSAGE', mark)[0]!.data),
      {type: 'reseed', op: 'r2', force: true},
      'a forced re-seed tells the member to skip its quorum check',
    )
    assert.equal(w.state.stats.cluster_reseeds, 1)
  })
})

describe('re-seed candidates', () => {
  it('ranks by raft index, falls through to the next candidate after a timeout, kills nothing before a seed is proven', () => {
    const w = runningCluster({...CFG, clusterSize: 5}, 5)
    const [a, b] = [onAgent(w, 'S1'), onAgent(w, 'S2')]
    w.memberOfTask(a.taskId)!.raftIndex = 900
    w.memberOfTask(b.taskId)!.raftIndex = 500
    w.reseedIgnores.add(a.taskId)
    w.loseAgents(['S3', 'S4', 'S5'])
    const mark = w.actions.length
    w.advance(65_000, {offers: false})
    let msgs = w.actionsOf('MESSAGE', mark)
    assert.deepEqual(
      msgs.map((m) => m.executorId),
      [a.taskId],
      'highest raft index first',
    )
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    w.advance(21_000, {offers: false})
    msgs = w.actionsOf('MESSAGE', mark)
    assert.deepEqual(
      msgs.map((m) => m.executorId),
      [a.taskId, b.taskId],
    )
    const doneAt = w.events.findIndex((e) => e.type === 'FrameworkMessage')
    assert.ok(doneAt > 0)
    const kills = w.actionsOf('KILL', mark)
    assert.ok(
      kills.some((k) => k.taskId === a.taskId),
      'the inferior candidate is killed once the seed is proven',
    )
    assert.ok(!kills.some((k) => k.taskId === b.taskId))
    assert.equal(w.state.reseed, null)
    assert.equal(modeOf(w.state), 'MUTABLE')
  })

  it('fails without killing when no member answers status', () => {
    const w = runningCluster(CFG, 3)
    for (const m of w.members) m.alive = false // etcd processes hung: tasks still RUNNING
    const mark = w.actions.length
    w.advance(70_000, {offers: false})
    assert.equal(w.state.stats.cluster_reseeds, 1)
    assert.equal(w.state.operations[0]?.status, 'failed')
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0)
    w.advance(50_000, {offers: false})
    assert.equal(w.state.stats.cluster_reseeds, 1, 'retried only reseedTimeoutMs after the failure')
    w.advance(15_000, {offers: false})
    assert.equal(w.state.stats.cluster_reseeds, 2)
    assert.equal(w.state.stats.cluster_livelocks, 1)
  })

  it('ignores stale or foreign re-seed progress messages', () => {
    const w = runningCluster(CFG, 3)
    const t = liveTasks(w.state)[0]!
    const mark = w.actions.length
    w.feed({
      type: 'FrameworkMessage',
      agentId: t.agentId,
      executorId: t.taskId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op: 'nope', step: 'done'}),
    })
    w.feed({type: 'FrameworkMessage', agentId: t.agentId, executorId: t.taskId, data: Buffer.from('garbage').toString('base64')})
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    assert.equal(w.state.reseed, null)
  })
})

describe('restart mid-re-seed', () => {
  it('in phase seeding: re-checks the candidate instead of re-sending, then finishes', () => {
    const w = runningCluster(CFG, 6)
    const seed = onAgent(w, 'S1')
    w.reseedNoReport.add(seed.taskId) // it re-seeds, but its 'done' report is lost
    w.loseAgents(['S2', 'S3'])
    while (w.actionsOf('MESSAGE').length === 0 && w.now < 2_000_000) w.advance(1_000, {offers: false})
    assert.equal(w.actionsOf('MESSAGE').length, 1)
    assert.equal(w.persisted?.reseed?.phase, 'seeding')
    assert.deepEqual(w.persisted?.reseed?.messaged, [seed.taskId])
    const mark = w.actions.length
    w.restart()
    w.advance(30_000)
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0, 'the MESSAGE is not re-sent after a restart')
    assert.ok(w.actionsOf('LOG', mark).some((l) => /resuming the re-seed/.test(l.msg)))
    assert.ok(
      w.actionsOf('LOG', mark).some((l) => /re-seed proven/.test(l.msg) && (l.fields as {how: string}).how === 'serves alone as leader'),
    )
    w.advance(60_000)
    assert.equal(w.state.reseed, null)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.state.stats.cluster_reseeds, 1, 'stats survive the restart')
    assert.equal(w.state.stats.cluster_livelocks, 1)
  })

  it('in phase killing: finishes the kills after a restart', () => {
    const w = runningCluster({...CFG, clusterSize: 5}, 8)
    const seed = onAgent(w, 'S1')
    w.loseAgents(['S3', 'S4', 'S5'])
    w.holdMessages = true
    while (w.actionsOf('MESSAGE').length === 0 && w.now < 2_000_000) w.advance(1_000, {offers: false})
    const r = w.state.reseed
    assert.ok(r && r.phase === 'seeding')
    assert.equal(w.actionsOf('KILL').length, 0, 'nothing killed before the seed is proven')
    // the seed proves itself; the scheduler issues kills, which are not performed before it restarts
    w.respond = false
    w.feed({
      type: 'FrameworkMessage',
      agentId: 'S1',
      executorId: seed.taskId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op: r.op, step: 'done'}),
    })
    const other = onAgent(w, 'S2')
    assert.ok(w.actionsOf('KILL').some((k) => k.taskId === other.taskId))
    for (const a of w.actions) if (a.type === 'PERSIST') w.persisted = a.doc
    assert.equal(w.persisted?.reseed?.phase, 'killing')
    w.respond = true
    w.members = w.members.filter((m) => m.id === w.memberOfTask(seed.taskId)!.id) // what force-new-cluster did
    const mark = w.actions.length
    w.restart()
    assert.ok(
      w.actionsOf('KILL', mark).some((k) => k.taskId === other.taskId),
      'kills re-issued after the restart',
    )
    w.advance(90_000)
    assert.equal(w.state.reseed, null)
    assert.equal(runningTasks(w.state).length, 5)
  })
})

describe("the scheduler's own partition (it reaches only some members of a healthy cluster)", () => {
  const urlOf = (t: TaskRecord): string => `http://${t.hostname}:${t.clientPort}`

  it('sees one member whose linearizable read works: unhealthy, but no livelock and no re-seed however long', () => {
    const w = runningCluster(CFG, 4)
    const [visible, ...rest] = runningTasks(w.state)
    for (const t of rest) w.hidden.add(urlOf(t))
    const mark = w.actions.length
    w.advance(CFG.reseedTimeoutMs * 3, {offers: false})
    assert.equal(w.state.stats.healthy, 0, 'a quorum agreeing on a leader is not visible')
    assert.equal(w.state.health.verdict?.quorumEvident, true, `a read through ${visible!.memberName} proves a quorum`)
    assert.equal(w.state.stats.cluster_livelocks, 0)
    assert.equal(w.state.stats.cluster_reseeds, 0)
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0, 'no member asked to re-seed')
    assert.equal(w.actionsOf('KILL', mark).length, 0, 'nothing killed')
    assert.equal(runningTasks(w.state).length, 3)
  })

  it('refuses a manual re-seed without force while a quorum is evident', () => {
    const w = runningCluster(CFG, 4)
    for (const t of runningTasks(w.state).slice(1)) w.hidden.add(urlOf(t))
    w.advance(CFG.healthIntervalMs * 2, {offers: false})
    w.feed({type: 'ReseedRequested', op: 'op-partial', force: false})
    const op = w.state.operations.find((o) => o.op === 'op-partial')!
    assert.equal(op.status, 'refused')
    assert.match(op.message, /working quorum/)
    assert.equal(w.state.reseed, null)
  })

  it('cancels an automatic re-seed whose ranking probe shows a quorum (nothing asked, nothing killed)', () => {
    const w = runningCluster(CFG, 4)
    const tasks = runningTasks(w.state)
    for (const t of tasks) w.hidden.add(urlOf(t))
    const mark = w.actions.length
    w.respond = false
    // Livelocked: nothing answers for longer than the re-seed timeout.
    const answer = (from: number): void => {
      const hc = w.actionsOf('HEALTH_CHECK', from).at(-1)!
      w.feed({type: 'HealthObserved', probes: hc.clientUrls.map((u) => w.probe(u)), seq: hc.seq})
    }
    let t0 = w.actions.length
    for (let i = 0; i * CFG.healthIntervalMs <= CFG.reseedTimeoutMs + CFG.healthIntervalMs && w.state.reseed === null; i++) {
      w.advance(CFG.healthIntervalMs, {offers: false})
      answer(t0)
      t0 = w.actions.length
    }
    assert.ok(w.state.reseed, 'an automatic re-seed started (ranking)')
    assert.equal(w.state.reseed!.phase, 'ranking')
    // The ranking probe: the partition is gone, the members were fine all along.
    w.hidden.clear()
    answer(mark)
    assert.equal(w.state.reseed, null)
    const op = w.state.operations.at(-1)!
    assert.equal(op.status, 'failed')
    assert.match(op.message, /^cancelled: the cluster has a working quorum again/)
    assert.equal(w.actionsOf('MESSAGE', mark).length, 0)
    assert.equal(w.actionsOf('KILL', mark).length, 0)
  })
})

describe('the member refuses a non-forced re-seed of a cluster with a working quorum (defence in depth)', () => {
  it('automatic re-seed refused by the only candidate: no KILL, the operation fails naming the refusal', () => {
    const w = runningCluster(CFG, 3)
    const seed = onAgent(w, 'S1')
    w.reseedRefuses.add(seed.taskId)
    w.loseAgents(['S2', 'S3']) // what the scheduler sees; the member's own read says otherwise
    const mark = w.actions.length
    w.advance(70_000, {offers: false})
    const msgs = w.actionsOf('MESSAGE', mark)
    assert.equal(msgs.length, 1)
    assert.deepEqual(decodeFrameworkMessage(msgs[0]!.data), {type: 'reseed', op: w.state.operations[0]!.op}, 'automatic: never forced')
    assert.equal(w.state.reseed, null)
    const op = w.state.operations[0]!
    assert.equal(op.status, 'failed')
    assert.match(op.message, /no candidate proved itself \(tried 1; last answer: .+: refused: this member's cluster has a working quorum/)
    assert.equal(w.actionsOf('KILL', mark).length, 0, 'nothing killed')
    assert.equal(w.members.length, 3, 'the member was not re-seeded')
    assert.notEqual(w.state.health.lastReseedFailedAt, null, 'no immediate new attempt')
  })

  it('with several candidates a refusal moves on to the next one at once', () => {
    const w = runningCluster({...CFG, clusterSize: 5}, 5)
    const [a, b] = [onAgent(w, 'S1'), onAgent(w, 'S2')]
    w.memberOfTask(a.taskId)!.raftIndex = 900
    w.memberOfTask(b.taskId)!.raftIndex = 500
    w.reseedRefuses.add(a.taskId)
    w.reseedRefuses.add(b.taskId)
    w.loseAgents(['S3', 'S4', 'S5'])
    const mark = w.actions.length
    w.advance(66_000, {offers: false})
    assert.deepEqual(
      w.actionsOf('MESSAGE', mark).map((m) => m.executorId),
      [a.taskId, b.taskId],
    )
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    assert.equal(w.state.operations[0]!.status, 'failed')
    assert.match(w.state.operations[0]!.message, /tried 2; last answer: .*refused/)
  })

  it('a forced manual re-seed is carried as force (persisted) and not refused', () => {
    const w = runningCluster(CFG, 3)
    const seed = onAgent(w, 'S1')
    w.reseedRefuses.add(seed.taskId)
    w.holdMessages = true
    const mark = w.actions.length
    w.feed({type: 'ReseedRequested', op: 'forced-1', force: true})
    assert.equal(w.state.reseed?.force, true)
    assert.equal(w.persisted?.reseed?.force, true, 'persisted with the re-seed')
    while (w.actionsOf('MESSAGE', mark).length === 0 && w.now < 100_000) w.advance(1_000, {offers: false})
    const msg = w.actionsOf('MESSAGE', mark)[0]!
    assert.deepEqual(decodeFrameworkMessage(msg.data), {type: 'reseed', op: 'forced-1', force: true})
    w.holdMessages = false
    w.feed({
      type: 'FrameworkMessage',
      agentId: seed.agentId,
      executorId: seed.taskId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op: 'forced-1', step: 'done'}),
    })
    assert.ok(w.actionsOf('KILL', mark).length > 0, 'proven: the others are killed (forced)')
  })

  it('persisted reseed.force: optional boolean; anything else is rejected', () => {
    const w = runningCluster(CFG, 3)
    w.holdMessages = true
    w.feed({type: 'ReseedRequested', op: 'f', force: true})
    const doc = w.persisted!
    assert.ok(doc.reseed, 'a re-seed in progress')
    assert.equal(parsePersistedDoc(serializePersistedDoc(doc)).reseed?.force, true)
    const without = {...doc, reseed: {...doc.reseed!}}
    delete without.reseed.force
    assert.equal(parsePersistedDoc(serializePersistedDoc(without)).reseed?.force, undefined, 'a doc without it loads as before')
    assert.throws(
      () => parsePersistedDoc(JSON.stringify({...doc, reseed: {...doc.reseed!, force: 'yes'}})),
      /reseed\.force must be a boolean/,
    )
  })
})

describe('reseed framework message codec (force)', () => {
  const raw = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64')
  const json = (b64: string): unknown => JSON.parse(Buffer.from(b64, 'base64').toString('utf8'))
  it('encodes force only when true', () => {
    assert.deepEqual(json(encodeFrameworkMessage({type: 'reseed', op: 'o'})), {type: 'reseed', op: 'o'})
    assert.deepEqual(json(encodeFrameworkMessage({type: 'reseed', op: 'o', force: false})), {type: 'reseed', op: 'o'})
    assert.deepEqual(json(encodeFrameworkMessage({type: 'reseed', op: 'o', force: true})), {type: 'reseed', op: 'o', force: true})
  })
  it('decodes a boolean force, ignores anything else, old messages as before', () => {
    assert.deepEqual(decodeFrameworkMessage(raw({type: 'reseed', op: 'o'})), {type: 'reseed', op: 'o'})
    assert.deepEqual(decodeFrameworkMessage(raw({type: 'reseed', op: 'o', force: true})), {type: 'reseed', op: 'o', force: true})
    assert.deepEqual(decodeFrameworkMessage(raw({type: 'reseed', op: 'o', force: false})), {type: 'reseed', op: 'o'})
    for (const force of ['true', 1, null, {}, [true]]) {
      assert.deepEqual(decodeFrameworkMessage(raw({type: 'reseed', op: 'o', force})), {type: 'reseed', op: 'o'}, JSON.stringify(force))
    }
    assert.deepEqual(
      decodeFrameworkMessage(encodeFrameworkMessage({type: 'reseed', op: 'o', force: true})),
      {type: 'reseed', op: 'o', force: true},
      'round trip',
    )
  })
  it('stays strict about everything else', () => {
    assert.equal(decodeFrameworkMessage(raw({type: 'reseed', force: true})), null, 'no op')
    assert.equal(decodeFrameworkMessage(raw({type: 'reseed', op: '', force: true})), null, 'empty op')
    assert.equal(decodeFrameworkMessage(raw({type: 'reseed', op: 'x'.repeat(129), force: true})), null, 'op too long')
    assert.equal(decodeFrameworkMessage(raw({type: 'reseed-now', op: 'o', force: true})), null, 'unknown type')
    assert.equal(decodeFrameworkMessage(raw([{type: 'reseed', op: 'o'}])), null, 'not an object')
    assert.equal(decodeFrameworkMessage('%%%'), null)
    assert.deepEqual(decodeFrameworkMessage(raw({type: 'reseed-progress', op: 'o', step: 'failed', message: 'refused: x', force: true})), {
      type: 'reseed-progress',
      op: 'o',
      step: 'failed',
      message: 'refused: x',
    })
  })
})

describe('re-seed proof waits for the executor that reports progress', () => {
  it('does not accept a probe while the executor reports progress; accepts its done', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 5)
    const seed = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.holdMessages = true
    w.loseAgents(['S2', 'S3'])
    while (w.actionsOf('MESSAGE').length === 0 && w.now < 2_000_000) w.advance(1_000, {offers: false})
    const r = w.state.reseed
    assert.ok(r && r.phase === 'seeding')
    const progress = (step: 'accepted' | 'force-new-cluster' | 'serving-alone' | 'done'): void => {
      w.feed({
        type: 'FrameworkMessage',
        agentId: 'S1',
        executorId: seed.taskId,
        data: encodeFrameworkMessage({type: 'reseed-progress', op: r.op, step}),
      })
    }
    progress('accepted')
    progress('force-new-cluster')
    w.members = w.members.filter((m) => m.id === w.memberOfTask(seed.taskId)!.id) // it serves alone (forced)
    const mark = w.actions.length
    w.advance(6_000, {offers: false}) // a health probe shows it leading alone
    assert.ok(w.actionsOf('HEALTH_CHECK', mark).length > 0)
    assert.equal(w.state.reseed?.phase, 'seeding', 'not proven by probe while the executor reports progress')
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    progress('serving-alone')
    assert.equal(w.state.reseed?.phase, 'seeding')
    progress('done')
    assert.notEqual(w.state.reseed?.phase, 'seeding')
    assert.ok(
      w.actionsOf('LOG', mark).some((l) => /re-seed proven/.test(l.msg) && (l.fields as {how: string}).how === 'executor reported done'),
    )
  })

  it('falls back to the probe when the executor goes silent', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 5)
    const seed = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.holdMessages = true
    w.loseAgents(['S2', 'S3'])
    while (w.actionsOf('MESSAGE').length === 0 && w.now < 2_000_000) w.advance(1_000, {offers: false})
    const r = w.state.reseed!
    w.feed({
      type: 'FrameworkMessage',
      agentId: 'S1',
      executorId: seed.taskId,
      data: encodeFrameworkMessage({type: 'reseed-progress', op: r.op, step: 'accepted'}),
    })
    w.members = w.members.filter((m) => m.id === w.memberOfTask(seed.taskId)!.id)
    w.advance(16_000, {offers: false}) // > reseedCandidateTimeoutMs / 2 of silence, < the candidate deadline
    assert.equal(w.state.reseed?.phase ?? 'done', w.state.reseed ? 'killing' : 'done')
    assert.ok(w.actionsOf('LOG').some((l) => /re-seed proven/.test(l.msg) && (l.fields as {how: string}).how === 'serves alone as leader'))
  })
})

describe('the ranking of an automatic re-seed', () => {
  /** Loses S2 and S3 and answers every health check by hand until the livelock; returns the actions of the step that declared it. */
  function untilLivelock(w: World): {mark: number; declared: ReturnType<World['feed']>} {
    w.loseAgents(['S2', 'S3'])
    w.respond = false
    const mark = w.actions.length
    let from = mark
    for (let i = 0; i * CFG.healthIntervalMs <= 2 * CFG.reseedTimeoutMs; i++) {
      w.advance(CFG.healthIntervalMs, {offers: false})
      const hc = w.actionsOf('HEALTH_CHECK', from).at(-1)
      from = w.actions.length
      if (!hc) continue
      const declared = w.feed({type: 'HealthObserved', probes: hc.clientUrls.map((u) => w.probe(u)), seq: hc.seq})
      if (w.state.stats.cluster_livelocks > 0) return {mark, declared}
    }
    throw new Error('no livelock')
  }

  it('ranks from the probes that declared the livelock: the seed is asked in that same step, without a second probe round', () => {
    const w = runningCluster(CFG, 3)
    const seed = onAgent(w, 'S1')
    const {declared} = untilLivelock(w)
    assert.equal(w.state.stats.cluster_reseeds, 1)
    assert.equal(w.state.reseed?.phase, 'seeding')
    assert.deepEqual(
      declared.filter((a) => a.type === 'MESSAGE').map((m) => (m as {executorId: string}).executorId),
      [seed.taskId],
    )
    assert.equal(w.actionsOf('KILL').length, 0, 'nothing killed before a proof')
  })

  it('probes again when the probes that declared the livelock rank nobody (no status answered)', () => {
    const w = runningCluster(CFG, 3)
    const s1 = onAgent(w, 'S1')
    w.hidden.add(`http://${s1.hostname}:${s1.clientPort}`)
    const {declared} = untilLivelock(w)
    assert.equal(w.state.reseed?.phase, 'ranking', 'not failed: the ranking probe decides')
    assert.equal(declared.filter((a) => a.type === 'MESSAGE').length, 0)
    assert.equal(declared.filter((a) => a.type === 'HEALTH_CHECK').length, 1)
  })
})
