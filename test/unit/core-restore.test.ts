/**
 * Scenario tests of the scheduler core's restore (core/restore.ts): refusals, the phases resolving → killing →
 * bootstrapping (nothing killed before the plan is resolved, nothing launched before every old task is dead, every
 * 'new' member launched with the same MemberRestore and a new cluster token), the resumption after a restart,
 * the automatic restore after a total loss (only after reseedTimeoutMs) and an executor that cannot restore.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import type {MemberRestore} from '../../src/lib/member-config.js'
import {liveTasks, modeOf, runningTasks} from '../../src/scheduler/core/state.js'
import {restoreView} from '../../src/scheduler/core/restore-view.js'
import {World} from '../helpers/sim/sim.js'
import {CORE_CFG, healthyCluster} from '../helpers/core-world.js'

const CFG = {...CORE_CFG, backupTarget: 'file:///backups/etcd'}
const PLAN = {
  fullId: '20260101T000000.000Z-r10',
  deltaIds: ['20260101T000010.000Z-r12'],
  toRevision: 12,
  dataUntil: '2026-01-01T00:00:10.000Z',
}

/** The raw MemberConfig of every LAUNCH among `acts` (decoded without validation: `restore` kept as sent). */
function launched(acts: SchedulerAction[]): {taskId: string; cfg: Record<string, unknown> & {restore?: MemberRestore}}[] {
  return acts.flatMap((a) =>
    a.type === 'ACCEPT'
      ? a.operations.flatMap((op) =>
          (op.launch?.task_infos ?? []).map((ti) => ({
            taskId: ti.task_id.value,
            cfg: JSON.parse(Buffer.from(ti.data!, 'base64').toString('utf8')) as Record<string, unknown> & {restore?: MemberRestore},
          })),
        )
      : [],
  )
}

const opOf = (w: World, op: string) => w.state.operations.find((o) => o.op === op)

/** Every member task lost with its etcd (a total loss, as core-lost-tasks.test.ts makes one). */
function loseEverything(w: World): void {
  w.respond = false
  for (const m of w.members) m.alive = false
  for (const t of w.tasks.values()) t.state = 'TASK_LOST'
  for (const t of liveTasks(w.state)) {
    w.feed({
      type: 'Update',
      status: {task_id: {value: t.taskId}, agent_id: {value: t.agentId}, state: 'TASK_LOST', source: 'SOURCE_MASTER'},
    })
  }
  const probe = w.actionsOf('HEALTH_CHECK').at(-1)!
  w.feed({type: 'HealthObserved', probes: probe.clientUrls.map((u) => w.probe(u))})
  w.members = [] // the old etcd cluster is gone with its data
  w.respond = true
}

describe('restore: refusals', () => {
  it('is refused without a backup target, on a healthy cluster without force, twice with one op id, and while another runs', () => {
    const w0 = healthyCluster(CORE_CFG, 3)
    w0.feed({type: 'RestoreRequested', op: 'r0', from: 'latest', force: true})
    assert.equal(opOf(w0, 'r0')?.status, 'refused')
    assert.match(opOf(w0, 'r0')!.message, /backup target/)

    const w = healthyCluster(CFG, 3)
    const mark = w.actions.length
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', force: false})
    assert.equal(opOf(w, 'r1')?.status, 'refused')
    assert.equal(opOf(w, 'r1')?.kind, 'restore')
    assert.match(opOf(w, 'r1')!.message, /healthy.*force/)
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 0)
    assert.equal(w.actionsOf('KILL', mark).length, 0)

    w.feed({type: 'RestoreRequested', op: 'r2', from: 'latest', force: true})
    assert.equal(opOf(w, 'r2')?.status, 'running')
    assert.equal(modeOf(w.state), 'RESTORING')
    w.feed({type: 'RestoreRequested', op: 'r2', from: 'latest', force: true})
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 1, 'a repeated op id starts nothing')
    w.feed({type: 'RestoreRequested', op: 'r3', from: 'latest', force: true})
    assert.equal(opOf(w, 'r3')?.status, 'refused')
    assert.match(opOf(w, 'r3')!.message, /restore r2 is already running/)
    w.feed({type: 'ReseedRequested', op: 'rs', force: true})
    assert.equal(opOf(w, 'rs')?.status, 'refused', 'no re-seed during a restore')
  })

  it('is refused before reconciliation', () => {
    const w = healthyCluster(CFG, 3)
    w.feed({type: 'Disconnected', reason: 'test'})
    w.respond = false
    w.feed({type: 'Disconnected', reason: 'test'})
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', force: true})
    assert.equal(opOf(w, 'r1')?.status, 'refused')
    assert.match(opOf(w, 'r1')!.message, /reconciled/)
  })
})

describe('restore: phases', () => {
  it('resolves first, then kills every member, then bootstraps a new cluster from the backup; succeeds once healthy', () => {
    const w = healthyCluster(CFG, 3)
    const old = liveTasks(w.state).map((t) => t.taskId)
    const oldToken = w.state.clusterToken
    const mark = w.actions.length
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', toRevision: 12, force: true})
    const resolve = w.actionsOf('RESOLVE_RESTORE', mark)
    assert.deepEqual(resolve, [{type: 'RESOLVE_RESTORE', op: 'r1', target: 'file:///backups/etcd', from: 'latest', toRevision: 12}])
    w.advance(30_000)
    assert.equal(w.actionsOf('KILL', mark).length, 0, 'nothing is killed before the plan is resolved')
    assert.equal(runningTasks(w.state).length, 3)

    const killMark = w.actions.length
    w.respond = false
    w.feed({type: 'RestoreResolved', op: 'r1', plan: PLAN})
    assert.deepEqual(
      w
        .actionsOf('KILL', killMark)
        .map((k) => k.taskId)
        .sort(),
      [...old].sort(),
      'every live member is killed',
    )
    assert.equal(w.state.restore?.phase, 'killing')
    w.respond = true
    w.offerAll()
    assert.equal(w.actionsOf('ACCEPT', killMark).length, 0, 'no launch while an old member lives')
    for (const id of old) {
      const t = w.tasks.get(id)!
      t.state = 'TASK_KILLED'
      w.stopProcess(id)
      w.feed({
        type: 'Update',
        status: {task_id: {value: id}, agent_id: {value: t.agentId}, state: 'TASK_KILLED', source: 'SOURCE_EXECUTOR'},
      })
    }
    assert.equal(w.state.restore?.phase, 'bootstrapping')
    assert.equal(w.state.bootstrapped, false)
    assert.notEqual(w.state.clusterToken, oldToken)
    w.members = [] // the old cluster's etcd is gone
    const bootMark = w.actions.length
    w.offerAll()
    w.advance(10_000)
    const news = launched(w.actions.slice(bootMark))
    assert.equal(news.length, 3, 'the whole new cluster is launched at once')
    for (const n of news) {
      assert.equal(n.cfg.initialClusterState, 'new')
      assert.deepEqual(n.cfg.restore, {
        op: 'r1',
        target: 'file:///backups/etcd',
        fullId: PLAN.fullId,
        deltaIds: PLAN.deltaIds,
        toRevision: 12,
      })
      assert.equal((n.cfg.cluster as {token: string}).token, w.state.clusterToken)
      assert.ok(!old.includes(n.taskId))
    }
    w.advance(30_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(opOf(w, 'r1')?.status, 'succeeded')
    assert.equal(w.state.restore, null)
    assert.equal(modeOf(w.state), 'MUTABLE')
    const v = restoreView(w.state)
    assert.equal(v.running, null)
    assert.equal(v.last?.op, 'r1')
    assert.equal(v.last?.status, 'succeeded')
  })

  it('a plan that cannot be resolved fails the restore and kills nothing', () => {
    const w = healthyCluster(CFG, 3)
    const mark = w.actions.length
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'nope', force: true})
    w.feed({type: 'RestoreResolveFailed', op: 'r1', message: 'backup nope not found'})
    assert.equal(opOf(w, 'r1')?.status, 'failed')
    assert.match(opOf(w, 'r1')!.message, /nope not found/)
    assert.equal(w.actionsOf('KILL', mark).length, 0)
    assert.equal(w.state.restore, null)
    assert.equal(modeOf(w.state), 'MUTABLE')
  })

  it('resumes after a restart: resolving asks again, killing kills again, bootstrapping launches with the restore', () => {
    const w = healthyCluster(CFG, 3)
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', force: true})
    let mark = w.actions.length
    w.restart()
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 1, 'resolving: asked again after the restart')
    assert.equal(modeOf(w.state), 'RESTORING')
    w.respond = false
    const acts = w.feed({type: 'RestoreResolved', op: 'r1', plan: PLAN})
    w.persisted = acts.filter((a) => a.type === 'PERSIST').at(-1)!.doc // saved, and the scheduler died before the kills
    w.respond = true
    mark = w.actions.length
    w.restart()
    assert.equal(w.actionsOf('KILL', mark).length, 3, 'killing: every live member killed again')
    assert.equal(w.state.restore?.phase, 'bootstrapping')
    w.members = []
    mark = w.actions.length
    w.restart()
    w.offerAll()
    w.advance(40_000)
    assert.equal(launched(w.actions.slice(mark)).filter((l) => l.cfg.restore?.op === 'r1').length, 3)
    assert.equal(opOf(w, 'r1')?.status, 'succeeded')
  })

  it('an executor that cannot restore the backup fails the restore; no empty cluster is bootstrapped', () => {
    const w = healthyCluster(CFG, 3)
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', force: true})
    w.feed({type: 'RestoreResolved', op: 'r1', plan: PLAN})
    assert.equal(w.state.restore?.phase, 'bootstrapping')
    w.members = []
    w.respond = false
    const mark = w.actions.length
    w.offerAll()
    w.advance(3_000)
    const news = launched(w.actions.slice(mark))
    assert.equal(news.length, 3)
    w.respond = true
    w.feed({
      type: 'Update',
      status: {
        task_id: {value: news[0]!.taskId},
        agent_id: {value: 'S1'},
        state: 'TASK_FAILED',
        source: 'SOURCE_EXECUTOR',
        message: 'restore r1: backup 20260101T000000.000Z-r10 is corrupt (sha256 mismatch)',
      },
    })
    assert.equal(opOf(w, 'r1')?.status, 'failed')
    assert.match(opOf(w, 'r1')!.message, /corrupt/)
    const after = w.actions.length
    w.advance(60_000)
    assert.equal(launched(w.actions.slice(after)).length, 0, 'nothing launched after the failure')
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
  })
})

describe('restore: S3 secrets', () => {
  it('go to the restoring executors only: never into the persisted document or a log line', () => {
    const s3 = {endpoint: 'http://127.0.0.1:9000', accessKeyId: 'AKIDRESTORE1', secretAccessKey: 'VERY-SECRET-KEY-1'}
    const w = healthyCluster({...CFG, backupTarget: 's3://bkt/etcd', s3}, 3)
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', force: true})
    w.feed({type: 'RestoreResolved', op: 'r1', plan: PLAN})
    w.members = []
    const mark = w.actions.length
    w.offerAll()
    w.advance(30_000)
    const news = launched(w.actions.slice(mark))
    assert.equal(news.length, 3)
    for (const n of news) assert.deepEqual(n.cfg.restore?.s3, s3)
    const persisted = w.actions.filter((a) => a.type === 'PERSIST').map((a) => JSON.stringify(a))
    const logs = w.actions.filter((a) => a.type === 'LOG').map((a) => JSON.stringify(a))
    assert.ok(persisted.length > 0)
    for (const text of [...persisted, ...logs]) {
      assert.ok(!text.includes('VERY-SECRET-KEY-1') && !text.includes('AKIDRESTORE1'), text.slice(0, 200))
    }
  })
})

describe('restore with a role (persistent volumes)', () => {
  it("the old members' volumes are retired once they are dead; each new member gets a new volume and the restore", () => {
    const w = healthyCluster({...CFG, role: 'etcd-pv', principal: 'pv'}, 4)
    const oldVolumes = Object.keys(w.state.volumes)
    assert.equal(oldVolumes.length, 3)
    w.feed({type: 'RestoreRequested', op: 'r1', from: 'latest', force: true})
    assert.ok(
      Object.values(w.state.volumes).every((v) => v.retiredAt === undefined),
      'nothing retired before the kill',
    )
    w.feed({type: 'RestoreResolved', op: 'r1', plan: PLAN})
    assert.equal(w.state.restore?.phase, 'bootstrapping')
    for (const id of oldVolumes) assert.notEqual(w.state.volumes[id]?.retiredAt, undefined, `volume ${id} retired`)
    w.members = []
    const mark = w.actions.length
    w.offerAll()
    w.advance(10_000)
    const acc = w.actionsOf('ACCEPT', mark).filter((a) => a.operations.some((o) => o.type === 'LAUNCH'))
    assert.equal(acc.length, 3)
    for (const a of acc) {
      assert.deepEqual(
        a.operations.map((o) => o.type),
        ['RESERVE', 'CREATE', 'LAUNCH'],
      )
      const cfg = launched([a])[0]!.cfg
      assert.equal(cfg.restore?.op, 'r1')
      assert.equal(cfg.dataDir, 'etcd-data', 'the data dir is the new volume')
    }
    w.advance(30_000)
    assert.equal(opOf(w, 'r1')?.status, 'succeeded')
  })
})

describe('automatic restore after a total loss', () => {
  it('starts after reseedTimeoutMs in TOTAL_LOSS, from the latest backup, and reports the recovery point', () => {
    const w = healthyCluster({...CFG, autoRestore: true}, 3)
    loseEverything(w)
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
    assert.ok(w.actionsOf('LOG').some((l) => /TOTAL CLUSTER LOSS.*latest backup is restored automatically in 60 s/.test(l.msg)))
    const lossAt = w.now
    const mark = w.actions.length
    w.advance(50_000)
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 0, 'not before reseedTimeoutMs')
    w.advance(15_000)
    const rr = w.actionsOf('RESOLVE_RESTORE', mark)
    assert.equal(rr.length, 1)
    assert.equal(rr[0]!.from, 'latest')
    assert.equal(w.state.restore?.reason, 'auto')
    const dataUntil = new Date(lossAt - 7_500).toISOString()
    w.feed({type: 'RestoreResolved', op: rr[0]!.op, plan: {...PLAN, dataUntil}})
    assert.equal(w.state.restore?.recoveryPointSeconds, 7.5)
    assert.ok(w.actionsOf('LOG', mark).some((l) => /7\.5 s/.test(l.msg) && l.fields?.backup === PLAN.fullId))
    assert.equal(restoreView(w.state).running?.recoveryPointSeconds, 7.5)
    w.offerAll()
    w.advance(40_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(opOf(w, rr[0]!.op)?.status, 'succeeded')
  })

  it('an automatic restore is cancelled, nothing killed, when a member comes back before its plan is resolved', () => {
    const w = healthyCluster({...CFG, autoRestore: true}, 3)
    loseEverything(w)
    const mark = w.actions.length
    w.advance(65_000)
    const rr = w.actionsOf('RESOLVE_RESTORE', mark)
    assert.equal(rr.length, 1)
    const back = [...w.tasks.values()][0]!
    back.state = 'TASK_RUNNING'
    w.feed({
      type: 'Update',
      status: {task_id: {value: back.taskId}, agent_id: {value: back.agentId}, state: 'TASK_RUNNING', source: 'SOURCE_MASTER'},
    })
    assert.equal(opOf(w, rr[0]!.op)?.status, 'failed')
    assert.match(opOf(w, rr[0]!.op)!.message, /cancelled.*alive again/)
    w.feed({type: 'RestoreResolved', op: rr[0]!.op, plan: PLAN})
    assert.equal(w.actionsOf('KILL', mark).length, 0, 'nothing killed')
    assert.equal(w.state.restore, null)
    assert.notEqual(modeOf(w.state), 'RESTORING')
  })

  it('does not restore automatically without autoRestore', () => {
    const w = healthyCluster(CFG, 3)
    loseEverything(w)
    const mark = w.actions.length
    w.advance(300_000)
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 0)
    assert.equal(modeOf(w.state), 'TOTAL_LOSS')
  })
})

describe('serve --restore-from', () => {
  it('a first start with restoreFrom bootstraps the new cluster from the backup; a later start ignores it', () => {
    const w = new World({...CFG, restoreFrom: {target: 'file:///other', from: 'latest'}}, 3)
    w.start()
    const rr = w.actionsOf('RESOLVE_RESTORE')
    assert.equal(rr.length, 1)
    assert.equal(rr[0]!.target, 'file:///other')
    w.feed({type: 'RestoreResolved', op: rr[0]!.op, plan: PLAN})
    w.offerAll()
    w.advance(40_000)
    const news = launched(w.actions)
    assert.equal(news.length, 3)
    assert.ok(news.every((n) => n.cfg.restore?.target === 'file:///other'))
    assert.equal(opOf(w, rr[0]!.op)?.status, 'succeeded')
    const mark = w.actions.length
    w.restart()
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 0)
  })

  it('a --restore-from backup that cannot be resolved stops serve (FATAL) instead of bootstrapping an empty cluster', () => {
    const w = new World({...CFG, restoreFrom: {target: 'file:///other', from: 'nope'}}, 3)
    w.start()
    const rr = w.actionsOf('RESOLVE_RESTORE')
    w.feed({type: 'RestoreResolveFailed', op: rr[0]!.op, message: 'backup nope not found in file:///other'})
    assert.equal(w.fatal?.type, 'FATAL')
    assert.match((w.fatal as {message: string}).message, /--restore-from.*nope not found/)
    assert.equal(launched(w.actions).length, 0, 'nothing launched')
    w.fatal = null
    const mark = w.actions.length
    w.restart()
    assert.equal(w.actionsOf('RESOLVE_RESTORE', mark).length, 1, 'a restarted serve tries again')
  })
})
