/**
 * Regression tests of the scheduler core for behaviours found against real processes:
 * total loss declared from reconciliation-only TASK_LOST, slow replacement (long refuse filter,
 * no REVIVE), slow member-add retries, and a re-seed proven by probe while its executor still reports.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {TaskStatus} from '../../src/lib/mesos/types.js'
import {encodeFrameworkMessage} from '../../src/lib/member-config.js'
import {CONFIG_DEFAULTS, resolveConfig} from '../../src/scheduler/core/config.js'
import {simOffer, World} from '../helpers/sim/sim.js'
import {liveTasks, modeOf, runningTasks, type TaskRecord} from '../../src/scheduler/core/state.js'

const CFG = {
  clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './etcd-mesos-executor'},
  healthIntervalMs: 5_000, bootstrapWaitMs: 2_000, memberGraceMs: 30_000, reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000, refuseSeconds: 15, reconcileBackoffMinMs: 1_000, reconcileBackoffMaxMs: 8_000,
}

function runningCluster(size = 3, agents = 4, cfg: Record<string, unknown> = {}): World {
  const w = new World({...CFG, clusterSize: size, ...cfg}, agents)
  w.start()
  w.offerAll()
  w.advance(6_000, {offers: false})
  assert.equal(runningTasks(w.state).length, size)
  assert.equal(w.state.stats.healthy, 1)
  return w
}

/** What a master that has not heard from the agents yet answers to explicit reconciliation. */
function reconciliationLost(t: TaskRecord): TaskStatus {
  return {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_LOST', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', message: 'Reconciliation: Task is unknown'}
}

/** Answers the last unanswered HEALTH_CHECK from the simulated etcd (respond=false mode). */
function answerHealth(w: World, from: number): string[] {
  const hc = w.actionsOf('HEALTH_CHECK', from).at(-1)
  assert.ok(hc, 'a HEALTH_CHECK was sent')
  w.feed({type: 'HealthObserved', probes: hc.clientUrls.map((u) => w.probe(u))})
  return hc.clientUrls
}

const url = (t: TaskRecord): string => `http://${t.hostname}:${t.clientPort}`

describe('master failover: reconciliation-only TASK_LOST while etcd answers', () => {
  it('probes the lost members, does not declare total loss, launches nothing, re-reconciles and recovers on TASK_RUNNING', () => {
    const w = runningCluster(3, 5)
    const tasks = liveTasks(w.state)
    w.respond = false
    w.feed({type: 'Disconnected', reason: 'master failover'})
    w.feed({type: 'Subscribed', frameworkId: w.state.frameworkId!})
    const mark = w.actions.length
    for (const t of tasks) w.feed({type: 'Update', status: reconciliationLost(t)})
    assert.equal(w.state.phase, 'READY')
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS', 'no total loss from master-made LOST alone')
    assert.ok(!w.actionsOf('LOG', mark).some((l) => /TOTAL CLUSTER LOSS/.test(l.msg)))
    const probed = answerHealth(w, mark)
    for (const t of tasks) assert.ok(probed.includes(url(t)), `the lost task's client URL ${url(t)} is probed`)
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS', 'etcd answers: the tasks are alive')
    assert.ok(w.actionsOf('LOG', mark).some((l) => l.level === 'warn' && /answers/.test(l.msg)))
    // offers come in: nothing is launched, added or removed for tasks whose etcd answers
    w.feed({type: 'Offers', offers: ['S4', 'S5'].map((a, i) => simOffer(`fo${i}`, w.agents.get(a)!))})
    // explicit reconciliation keeps being retried with backoff (1 s, 2 s, 4 s, 8 s, 8 s…)
    const recMark = w.actions.length
    w.advance(20_000, {offers: false})
    const recs = w.actionsOf('RECONCILE', recMark).filter((r) => r.tasks.length > 0)
    assert.ok(recs.length >= 3 && recs.length <= 6, `explicit reconciliation retried with backoff (${recs.length} in 20 s)`)
    assert.deepEqual(new Set(recs[0]!.tasks.map((x) => x.taskId)), new Set(tasks.map((t) => t.taskId)))
    assert.equal(w.actionsOf('ACCEPT', mark).length, 0)
    assert.equal(w.actionsOf('MEMBER_ADD', mark).length, 0)
    assert.equal(w.actionsOf('MEMBER_REMOVE', mark).length, 0)
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS')
    // the agents re-register: the master reports them running again
    for (const t of tasks) {
      w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION'}})
    }
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    const after = w.actions.length
    w.advance(60_000, {offers: false})
    assert.equal(w.actionsOf('RECONCILE', after).filter((r) => r.tasks.length > 0).length, 0, 'no more explicit retries once none is lost')
  })

  it('declares total loss only after a probe after the loss finds no member; keeps reconciling; TASK_RUNNING brings it back', () => {
    const w = runningCluster(3, 5)
    const tasks = liveTasks(w.state)
    w.respond = false
    w.feed({type: 'Disconnected', reason: 'master failover'})
    w.feed({type: 'Subscribed', frameworkId: w.state.frameworkId!})
    for (const m of w.members) m.alive = false // etcd really gone
    const mark = w.actions.length
    for (const t of tasks) w.feed({type: 'Update', status: reconciliationLost(t)})
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS', 'not before the probe')
    answerHealth(w, mark)
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
    const loud = w.actionsOf('LOG', mark).filter((l) => /TOTAL CLUSTER LOSS/.test(l.msg))
    assert.equal(loud.length, 1)
    assert.equal(loud[0]!.level, 'error')
    const recMark = w.actions.length
    w.advance(30_000, {offers: false})
    assert.ok(w.actionsOf('RECONCILE', recMark).filter((r) => r.tasks.length > 0).length >= 3, 'keeps reconciling explicitly in TOTAL_LOSS')
    assert.ok(w.actionsOf('HEALTH_CHECK', recMark).some((h) => h.clientUrls.includes(url(tasks[0]!))), 'keeps probing the lost members')
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
    // one agent comes back with its member
    const t = tasks[0]!
    for (const m of w.members) m.alive = true
    w.feed({type: 'Update', status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_RUNNING', source: 'SOURCE_MASTER', reason: 'REASON_AGENT_REREGISTERED'}})
    assert.notEqual(modeOf(w.state), 'TOTAL_LOSS')
    assert.equal(w.state.tasks[t.taskId]!.state, 'TASK_RUNNING')
  })

  it('a genuine agent loss (etcd gone) is still replaced', () => {
    const w = runningCluster(3, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.loseAgent('S1')
    w.advance(10_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.ok(!runningTasks(w.state).some((t) => t.taskId === victim.taskId))
    assert.equal(w.state.tasks[victim.taskId], undefined)
  })
})

describe('replacement speed: REVIVE once ready after declining a usable offer', () => {
  it('declines the freed agent\'s offer while the MEMBER_REMOVE is in flight, then REVIVEs when it can launch', () => {
    const w = runningCluster(3, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.respond = false
    const mark = w.actions.length
    w.failTask(victim.taskId)
    const rm = w.actionsOf('MEMBER_REMOVE', mark)
    assert.equal(rm.length, 1, 'removal in flight')
    assert.equal(w.actionsOf('REVIVE', mark).length, 1, 'REVIVE when a member is missing')
    const offerMark = w.actions.length
    const acts = w.feed({type: 'Offers', offers: [simOffer('freed', w.agents.get('S1')!)]})
    const dec = acts.find((a) => a.type === 'DECLINE')
    assert.ok(dec?.type === 'DECLINE' && dec.offerIds[0] === 'freed', 'not usable while the removal is in flight')
    w.feed({type: 'MemberListObserved', members: w.members.map((m) => w.toEtcd(m))}) // the list asked before the removal
    const revMark = w.actions.length
    w.members = w.members.filter((m) => m.id !== rm[0]!.memberId)
    w.respond = true // etcd answers the health check and member list that growth needs
    w.feed({type: 'MemberRemoved', memberId: rm[0]!.memberId})
    assert.ok(w.actionsOf('HEALTH_CHECK', offerMark).length > 0)
    const revives = w.actionsOf('REVIVE', revMark)
    assert.equal(revives.length, 1, 'REVIVE once ready to launch (a usable offer was declined with the long filter)')
    // the re-offered agent is used at once
    w.feed({type: 'Offers', offers: [simOffer('again', w.agents.get('S1')!)]})
    assert.equal(w.actionsOf('MEMBER_ADD', revMark).length, 1)
  })

  it('does not REVIVE for offers it declines because the cluster is full', () => {
    const w = runningCluster(3, 4)
    const mark = w.actions.length
    w.feed({type: 'Offers', offers: [simOffer('spare', w.agents.get('S4')!)]})
    w.advance(30_000, {offers: false})
    assert.equal(w.actionsOf('REVIVE', mark).length, 0)
  })
})

describe('member add retries', () => {
  it('defaults memberOpRetryMs to 1 s and logs only the first refusal at info', () => {
    assert.equal(CONFIG_DEFAULTS.memberOpRetryMs, 1_000)
    assert.equal(resolveConfig({clusterName: 'x', executorCommand: {value: 'e'}}).memberOpRetryMs, 1_000)
    const w = runningCluster(3, 4)
    const victim = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.addRefusals = 4 // etcd refuses adds for a while after losing a peer
    const mark = w.actions.length
    w.failTask(victim.taskId)
    w.offerAll()
    w.advance(4_500)
    assert.equal(runningTasks(w.state).length, 3, 'replaced after 4 refusals in < 5 s (1 s retries)')
    const refusals = w.actionsOf('LOG', mark).filter((l) => /refused the member add/.test(l.msg))
    assert.equal(refusals.length, 4)
    assert.deepEqual(refusals.map((l) => l.level), ['info', 'debug', 'debug', 'debug'])
    const adds = w.actionsOf('LOG', mark).filter((l) => /adding etcd member/.test(l.msg))
    assert.equal(adds.filter((l) => l.level === 'info').length, 1, 'the add itself is announced once')
  })
})

describe('re-seed proof waits for the executor that reports progress', () => {
  it('does not accept a probe while the executor reports progress; accepts its done', () => {
    const w = runningCluster(3, 5)
    const seed = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.holdMessages = true
    w.loseAgents(['S2', 'S3'])
    while (w.actionsOf('MESSAGE').length === 0 && w.now < 2_000_000) w.advance(1_000, {offers: false})
    const r = w.state.reseed
    assert.ok(r && r.phase === 'seeding')
    const progress = (step: 'accepted' | 'force-new-cluster' | 'serving-alone' | 'done'): void => {
      w.feed({type: 'FrameworkMessage', agentId: 'S1', executorId: seed.taskId, data: encodeFrameworkMessage({type: 'reseed-progress', op: r.op, step})})
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
    assert.ok(w.actionsOf('LOG', mark).some((l) => /re-seed proven/.test(l.msg) && (l.fields as {how: string}).how === 'executor reported done'))
  })

  it('falls back to the probe when the executor goes silent', () => {
    const w = runningCluster(3, 5)
    const seed = liveTasks(w.state).find((t) => t.agentId === 'S1')!
    w.holdMessages = true
    w.loseAgents(['S2', 'S3'])
    while (w.actionsOf('MESSAGE').length === 0 && w.now < 2_000_000) w.advance(1_000, {offers: false})
    const r = w.state.reseed!
    w.feed({type: 'FrameworkMessage', agentId: 'S1', executorId: seed.taskId, data: encodeFrameworkMessage({type: 'reseed-progress', op: r.op, step: 'accepted'})})
    w.members = w.members.filter((m) => m.id === w.memberOfTask(seed.taskId)!.id)
    w.advance(16_000, {offers: false}) // > reseedCandidateTimeoutMs / 2 of silence, < the candidate deadline
    assert.equal(w.state.reseed?.phase ?? 'done', w.state.reseed ? 'killing' : 'done')
    assert.ok(w.actionsOf('LOG').some((l) => /re-seed proven/.test(l.msg) && (l.fields as {how: string}).how === 'serves alone as leader'))
  })
})

describe('overlapping health checks answered out of order (found by the pause-leader scenario)', () => {
  it('applies the newest answer and ignores an older one arriving later', () => {
    const w = runningCluster(3, 4)
    w.respond = false
    const mark = w.actions.length
    w.advance(CFG.healthIntervalMs, {offers: false})
    w.advance(CFG.healthIntervalMs, {offers: false})
    const checks = w.actionsOf('HEALTH_CHECK', mark)
    assert.ok(checks.length >= 2, 'two checks in flight')
    const older = checks.at(-2)!
    const newer = checks.at(-1)!
    assert.ok(older.seq < newer.seq, 'each check carries a growing sequence number')
    // The newer check is answered first: all members healthy.
    w.feed({type: 'HealthObserved', probes: newer.clientUrls.map((u) => w.probe(u)), seq: newer.seq})
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.state.health.checkReq, null, 'the newest check is answered: none in flight')
    // The older check (sent while a member was paused) answers late: every read failed.
    const stale = older.clientUrls.map((u) => ({clientUrl: u, reachable: false, readOk: false, error: 'status: timed out', tookMs: 5000}))
    const logsBefore = w.actionsOf('LOG', mark).length
    w.feed({type: 'HealthObserved', probes: stale, seq: older.seq})
    assert.equal(w.state.stats.healthy, 1, 'a stale answer does not overwrite the newer verdict')
    assert.ok(w.state.health.verdict?.healthy)
    assert.ok(!w.actionsOf('LOG', mark).slice(logsBefore).some((l) => /cluster unhealthy/.test(l.msg)), 'no spurious "cluster unhealthy"')
  })

  it('an older answer still applies when no newer one has arrived (checks may be slow)', () => {
    const w = runningCluster(3, 4)
    w.respond = false
    const mark = w.actions.length
    w.advance(CFG.healthIntervalMs, {offers: false})
    w.advance(CFG.healthIntervalMs, {offers: false})
    const checks = w.actionsOf('HEALTH_CHECK', mark)
    assert.ok(checks.length >= 2, 'two checks in flight')
    const older = checks.at(-2)!
    const newer = checks.at(-1)!
    const down = older.clientUrls.map((u) => ({clientUrl: u, reachable: false, readOk: false, error: 'status: timed out', tookMs: 5000}))
    w.feed({type: 'HealthObserved', probes: down, seq: older.seq})
    assert.equal(w.state.stats.healthy, 0, 'the older answer is the newest applied so far')
    assert.equal(w.state.health.checkReq?.seq, newer.seq, 'the newer check is still in flight')
  })
})
