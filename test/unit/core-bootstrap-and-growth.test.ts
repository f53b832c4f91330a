/** Scenario tests of the scheduler core: bootstrap, growth one member at a time, member add refusals and retries, resizing. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {CONFIG_DEFAULTS, resolveConfig} from '../../src/scheduler/core/config.js'
import {simOffer, World} from '../helpers/sim/sim.js'
import {liveTasks, modeOf, runningTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG, FAST_RECONCILE_CFG, healthyCluster, idx, launches, offerAgent} from '../helpers/core-world.js'

const CFG = {...CORE_CFG, executorCommand: {value: './etcd-mesos-executor', arguments: ['executor']}}

describe('bootstrap', () => {
  it('launches the whole cluster at once from 3 distinct agents, state new, static initial cluster', () => {
    const w = new World(CFG, 4)
    const first = w.start()
    assert.equal(first[0]!.type, 'PERSIST', 'the initial document is persisted first')
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.ok(w.actionsOf('REVIVE').length === 1)
    const acts = w.offerAll()
    const l = launches(acts)
    assert.equal(l.length, 3)
    assert.equal(new Set(l.map((x) => x.agentId)).size, 3, 'one member per agent')
    for (const {cfg} of l) {
      assert.equal(cfg.initialClusterState, 'new')
      assert.deepEqual(cfg.initialCluster.map((p) => p.name).sort(), ['etcd-1', 'etcd-2', 'etcd-3'])
      assert.equal(cfg.cluster.name, 'etcd')
    }
    assert.equal(new Set(l.map((x) => x.cfg.cluster.token)).size, 1, 'one cluster token')
    const persistAt = idx(acts, (a) => a.type === 'PERSIST')
    const acceptAt = idx(acts, (a) => a.type === 'ACCEPT')
    assert.ok(persistAt >= 0 && persistAt < acceptAt, 'task records are persisted before the ACCEPT')
    assert.ok(
      acts.some((a) => a.type === 'DECLINE' && a.offerIds[0] === 'O4'),
      'the 4th offer is declined',
    )
    assert.ok(idx(acts, (a) => a.type === 'SUPPRESS') > acceptAt, 'SUPPRESS once nothing is needed')
    const accept = acts.find((a) => a.type === 'ACCEPT')
    assert.ok(accept && accept.type === 'ACCEPT')
    const ti = accept.operations[0]!.launch!.task_infos[0]!
    assert.equal(ti.executor?.executor_id.value, ti.task_id.value)
    assert.deepEqual(ti.executor?.command, CFG.executorCommand)
    assert.match(ti.task_id.value, /^etcd-\d+\.[0-9a-f]{8}$/)
    w.advance(10_000)
    assert.equal(w.state.stats.running_servers, 3)
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.state.stats.launched_servers, 3)
  })

  it('with offers from fewer agents than clusterSize, waits bootstrapWaitMs then grows one member at a time', () => {
    const w = new World(CFG, 3)
    w.start()
    let acts = offerAgent(w, 'S1')
    assert.equal(launches(acts).length, 0, 'the offer is held while waiting for more agents')
    assert.equal(w.actionsOf('DECLINE').length, 0)
    w.advance(2_000, {offers: false})
    const first = launches(w.actions)
    assert.equal(first.length, 1)
    assert.equal(first[0]!.cfg.initialClusterState, 'new')
    assert.deepEqual(
      first[0]!.cfg.initialCluster.map((p) => p.name),
      ['etcd-1'],
    )
    w.advance(5_000, {offers: false})
    assert.equal(w.state.stats.healthy, 1)

    const mark = w.actions.length
    acts = offerAgent(w, 'S2')
    const addAt = idx(acts, (a) => a.type === 'MEMBER_ADD')
    const acceptAt = idx(acts, (a) => a.type === 'ACCEPT')
    assert.ok(addAt >= 0 && acceptAt > addAt, 'MEMBER_ADD comes before the launch')
    const add = acts[addAt]
    assert.ok(add?.type === 'MEMBER_ADD' && add.learner === true && add.peerUrls[0] === 'http://agent2.test:31100')
    const second = launches(w.actions.slice(mark))
    assert.equal(second.length, 1)
    assert.equal(second[0]!.cfg.initialClusterState, 'existing')
    assert.deepEqual(second[0]!.cfg.initialCluster.map((p) => p.name).sort(), ['etcd-1', 'etcd-2'])
    w.advance(5_000, {offers: false})
    const promotes = w.actionsOf('MEMBER_PROMOTE', mark)
    assert.ok(promotes.length >= 1, 'the learner is promoted once running')
    // A learner refuses member operations ("rpc not supported for learner"): never send its promote through it.
    for (const p of promotes)
      assert.ok(!p.via.includes('http://agent2.test:31101'), `promote not sent through the learner: ${p.via.join(',')}`)
    assert.ok(w.members.every((m) => !m.isLearner))

    offerAgent(w, 'S3')
    w.advance(5_000, {offers: false})
    const all = launches(w.actions)
    assert.equal(all.length, 3)
    assert.deepEqual(all[2]!.cfg.initialCluster.map((p) => p.name).sort(), ['etcd-1', 'etcd-2', 'etcd-3'])
    assert.equal(w.state.stats.running_servers, 3)
    assert.equal(w.members.length, 3)
    assert.ok(w.actionsOf('SUPPRESS').length >= 1)
  })

  it('never adds a second member while one add/launch is in progress (one at a time)', () => {
    const w = new World(CFG, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.respond = false
    const mark = w.actions.length
    w.feed({type: 'Offers', offers: [simOffer('A', w.agents.get('S2')!), simOffer('B', w.agents.get('S3')!)]})
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 1)
    assert.ok(
      w.actionsOf('DECLINE', mark).some((a) => a.offerIds[0] === 'B'),
      'the other offer is declined',
    )
    assert.ok(!w.actionsOf('DECLINE', mark).some((a) => a.offerIds[0] === 'A'), 'the offer for the add is held')
  })
})

describe('member add refusals', () => {
  it('retries a refused add later (holding the offer), then launches', () => {
    const w = new World({...CFG, memberAddRetryMs: 3_000}, 3) // refusals retried every 3 s here (250 ms by default)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.addRefusals = 2
    const mark = w.actions.length
    offerAgent(w, 'S2', 'HELD')
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 1)
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    assert.equal(w.actionsOf('DECLINE', mark).filter((a) => a.offerIds[0] === 'HELD').length, 0)
    w.advance(3_000, {offers: false})
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 2)
    w.advance(3_000, {offers: false})
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 3)
    const acc = w.actionsOf('ACCEPT', mark)
    assert.equal(acc.length, 1)
    assert.deepEqual(acc[0]!.offerIds, ['HELD'])
    assert.equal(launches(acc)[0]!.cfg.initialClusterState, 'existing')
  })

  it('gives up after offerHoldMs, declines the held offer, and tries again later', () => {
    const w = new World({...CFG, offerHoldMs: 10_000}, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.addRefusals = 1000
    const mark = w.actions.length
    offerAgent(w, 'S2', 'HELD')
    w.advance(11_000, {offers: false})
    assert.ok(w.actionsOf('DECLINE', mark).some((a) => a.offerIds[0] === 'HELD'))
    assert.equal(w.state.pendingAdd, null)
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    w.addRefusals = 0
    w.advance(3_000, {offers: false})
    offerAgent(w, 'S2', 'AGAIN')
    w.advance(1_000, {offers: false})
    assert.equal(launches(w.actionsOf('ACCEPT', mark)).length, 1)
  })

  it('removes a member that was added but never started (offer rescinded, no new offer) after the grace period', () => {
    const w = new World(CFG, 3)
    w.start()
    offerAgent(w, 'S1')
    w.advance(7_000, {offers: false})
    w.respond = false
    const mark = w.actions.length
    offerAgent(w, 'S2', 'HELD')
    const add = w.actionsOf('MEMBER_ADD', mark)[0]!
    w.respond = true
    // etcd applied the add; meanwhile the offer is rescinded
    w.feed({type: 'Rescind', offerId: 'HELD'})
    w.members.push({
      id: '555',
      name: '',
      peerUrl: add.peerUrls[0]!,
      clientUrl: '',
      isLearner: true,
      started: false,
      alive: true,
      raftIndex: 0,
    })
    w.feed({
      type: 'MemberAdded',
      peerUrl: add.peerUrls[0]!,
      member: {id: '555', name: '', peerUrls: add.peerUrls, clientUrls: [], isLearner: true},
    })
    assert.equal(w.state.pendingAdd?.phase, 'added')
    w.advance(29_000, {offers: false})
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0, 'not before the grace period')
    w.advance(20_000, {offers: false})
    const rm = w.actionsOf('MEMBER_REMOVE', mark)
    assert.equal(rm.length, 1)
    assert.equal(rm[0]!.memberId, '555')
    assert.ok(!w.members.some((m) => m.id === '555'))
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
  })
})

describe('member add retries', () => {
  it('defaults memberOpRetryMs to 1 s and logs only the first refusal at info', () => {
    assert.equal(CONFIG_DEFAULTS.memberOpRetryMs, 1_000)
    assert.equal(resolveConfig({clusterName: 'x', executorCommand: {value: 'e'}}).memberOpRetryMs, 1_000)
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.addRefusals = 4 // etcd refuses adds for a while after losing a peer
    const mark = w.actions.length
    w.failTask(victim.taskId)
    w.offerAll()
    w.advance(4_500)
    assert.equal(runningTasks(w.state).length, 3, 'replaced after 4 refusals in < 5 s (1 s retries)')
    const refusals = w.actionsOf('LOG', mark).filter((l) => /refused the member add/.test(l.msg))
    assert.equal(refusals.length, 4)
    assert.deepEqual(
      refusals.map((l) => l.level),
      ['info', 'debug', 'debug', 'debug'],
    )
    const adds = w.actionsOf('LOG', mark).filter((l) => /adding etcd member/.test(l.msg))
    assert.equal(adds.filter((l) => l.level === 'info').length, 1, 'the add itself is announced once')
  })

  it('defaults memberAddRetryMs to 250 ms and rejects a value that is not a positive integer', () => {
    assert.equal(CONFIG_DEFAULTS.memberAddRetryMs, 250)
    assert.equal(resolveConfig({clusterName: 'x', executorCommand: {value: 'e'}}).memberAddRetryMs, 250)
    for (const bad of [0, -1, 2.5]) {
      assert.throws(() => resolveConfig({clusterName: 'x', executorCommand: {value: 'e'}, memberAddRetryMs: bad}), /memberAddRetryMs/)
    }
  })

  it('retries an add etcd refused for now every memberAddRetryMs (250 ms), any other failure every memberOpRetryMs', () => {
    const w = healthyCluster(FAST_RECONCILE_CFG, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    const mark = w.actions.length
    w.addRefusals = 1 // etcd refuses the first add (unhealthy cluster); the test answers the later ones itself
    w.failTask(victim.taskId)
    w.offerAll()
    for (let i = 0; i < 1_000 && w.actionsOf('MEMBER_ADD', mark).length === 0; i++) w.advance(10)
    w.respond = false
    /** Waits (10 ms steps, no offers) for the next MEMBER_ADD; the ms it took. */
    const nextAdd = (): number => {
      const before = w.actionsOf('MEMBER_ADD').length
      for (let ms = 10; ms <= 3_000; ms += 10) {
        w.advance(10, {offers: false})
        if (w.actionsOf('MEMBER_ADD').length > before) return ms
      }
      return Number.POSITIVE_INFINITY
    }
    assert.ok(nextAdd() <= 250, 'the refused add is sent again within 250 ms')
    const add = w.actionsOf('MEMBER_ADD').at(-1)!
    const url = add.peerUrls[0]!
    /** Feeds a refusal of the add in flight; the ms until the core sends the next MEMBER_ADD. */
    const refuse = (code: 'UNHEALTHY_CLUSTER' | 'NO_LEADER' | 'UNREACHABLE'): number => {
      w.feed({type: 'MemberAddFailed', peerUrl: url, code, retryable: true, message: `etcd: ${code}`})
      return nextAdd()
    }
    assert.equal(refuse('UNHEALTHY_CLUSTER'), 250, 'unhealthy cluster (peers connected < 5 s): again after 250 ms')
    assert.equal(refuse('UNHEALTHY_CLUSTER'), 250)
    assert.equal(refuse('NO_LEADER'), 250, 'no leader: again after 250 ms')
    assert.equal(refuse('UNREACHABLE'), 1_000, 'unreachable (nobody answered): memberOpRetryMs')
    const refusals = w.actionsOf('LOG', mark).filter((l) => l.msg.includes('refused the member add'))
    assert.deepEqual(
      refusals.map((l) => [l.level, l.fields?.retryInMs]),
      [
        ['info', 250],
        ['debug', 250],
        ['debug', 250],
        ['debug', 250],
        ['debug', 1_000],
      ],
      'the first refusal at info, the rest at debug',
    )
    assert.equal(w.state.pendingAdd?.phase, 'adding', 'the offer is still held')
  })

  it('never retries a refused add later than memberOpRetryMs, nor before it when that is shorter; gives up after offerHoldMs', () => {
    const w = healthyCluster({...FAST_RECONCILE_CFG, memberOpRetryMs: 100, offerHoldMs: 5_000}, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.addRefusals = 1_000 // etcd keeps refusing
    const mark = w.actions.length
    w.failTask(victim.taskId)
    w.offerAll()
    for (let i = 0; i < 1_000 && w.actionsOf('MEMBER_ADD', mark).length === 0; i++) w.advance(10)
    const gaps: number[] = []
    for (let k = 0; k < 5; k++) {
      const before = w.actionsOf('MEMBER_ADD').length
      let ms = 10
      for (; ms <= 3_000; ms += 10) {
        w.advance(10, {offers: false})
        if (w.actionsOf('MEMBER_ADD').length > before) break
      }
      gaps.push(ms)
    }
    assert.deepEqual(gaps.slice(1), [100, 100, 100, 100], `every memberOpRetryMs (100 ms) when it is below memberAddRetryMs: ${gaps}`)
    w.advance(6_000, {offers: false})
    assert.ok(
      w.actionsOf('LOG', mark).some((l) => l.msg.includes('giving up on adding')),
      'the held offer is given up after offerHoldMs',
    )
  })
})

describe('resizing', () => {
  it('grows 3 → 5 one member at a time after a restart with a larger clusterSize', () => {
    const w = healthyCluster(CORE_CFG, 6)
    w.restart(5, {clusterSize: 5})
    const mark = w.actions.length
    w.advance(40_000)
    assert.equal(runningTasks(w.state).length, 5)
    assert.equal(w.members.length, 5)
    const acts = w.actions.slice(mark).filter((a) => a.type === 'MEMBER_ADD' || a.type === 'ACCEPT')
    assert.deepEqual(
      acts.map((a) => a.type),
      ['MEMBER_ADD', 'ACCEPT', 'MEMBER_ADD', 'ACCEPT'],
    )
    assert.equal(new Set(runningTasks(w.state).map((t) => t.agentId)).size, 5)
  })

  it('shrinks 5 → 3 one member at a time: MEMBER_REMOVE then KILL', () => {
    const w = healthyCluster({...CORE_CFG, clusterSize: 5}, 5)
    const mark = w.actions.length // from the restart: the tasks it loads as running are checked at once (no health timer wait)
    w.restart(5, {clusterSize: 3})
    w.advance(40_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.members.length, 3)
    const acts = w.actions.slice(mark).filter((a) => a.type === 'MEMBER_REMOVE' || a.type === 'KILL' || a.type === 'ACCEPT')
    assert.deepEqual(
      acts.map((a) => a.type),
      ['MEMBER_REMOVE', 'KILL', 'MEMBER_REMOVE', 'KILL'],
    )
    assert.equal(w.state.stats.launched_servers, 5)
  })
})
