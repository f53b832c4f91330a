/**
 * Persistent volumes and dynamic reservations in the scheduler core (with a role other than '*'): RESERVE +
 * CREATE + LAUNCH for a new member (launch.ts, volumes.ts), relaunch on the member's own volume instead of a
 * replacement (relaunch.ts), DESTROY + UNRESERVE once etcd no longer lists a member (release.ts), leftovers
 * after a restart, and the persisted volume records. The offers a real master makes after a task ends (its
 * reserved resources and its volume) are built from the ACCEPT that launched it.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {Offer, OfferOperation, Resource} from '../../src/lib/mesos/types.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import type {SchedulerConfigInput} from '../../src/scheduler/core/config.js'
import {parsePersistedDoc, serializePersistedDoc, toPersistedDoc} from '../../src/scheduler/core/persist.js'
import {liveTasks, runningTasks} from '../../src/scheduler/core/state.js'
import {request} from '../../src/scheduler/core/offer-planner.js'
import {matchNew, parsePersistenceId} from '../../src/scheduler/core/volumes.js'
import {Chalk} from 'chalk'
import {renderMembers} from '../../src/lib/cli/render.js'
import type {Member} from '../../src/lib/cli/types.js'
import {membersView, statsView} from '../../src/scheduler/views.js'
import {stateMetricsText} from '../helpers/exposition.js'
import {CORE_CFG, launches} from '../helpers/core-world.js'
import {simOffer, World} from '../helpers/sim/sim.js'

const ROLE_CFG: SchedulerConfigInput = {...CORE_CFG, role: 'etcd-pv', principal: 'pv', volumeWaitMs: 20_000, leftoverGraceMs: 30_000}

function cluster(cfg: SchedulerConfigInput = ROLE_CFG, agents = 4): World {
  const w = new World(cfg, agents)
  w.start()
  w.offerAll()
  w.advance(10_000, {offers: false})
  assert.equal(runningTasks(w.state).length, cfg.clusterSize ?? 3)
  assert.equal(w.state.stats.healthy, 1)
  return w
}

const accepts = (acts: SchedulerAction[]) => acts.filter((a): a is Extract<SchedulerAction, {type: 'ACCEPT'}> => a.type === 'ACCEPT')
const opTypes = (a: Extract<SchedulerAction, {type: 'ACCEPT'}>): string[] => a.operations.map((o) => o.type)

/** The last ACCEPT that launched `member`. */
function launchOf(w: World, member: string): {accept: Extract<SchedulerAction, {type: 'ACCEPT'}>; launch: OfferOperation} {
  for (const a of accepts(w.actions).reverse()) {
    const op = a.operations.find((o) => o.launch?.task_infos.some((ti) => ti.name === member))
    if (op) return {accept: a, launch: op}
  }
  throw new Error(`no launch of ${member}`)
}

/** What a master offers once `member`'s task has ended: its reserved resources and its volume (and nothing else). */
function volumeOffer(w: World, member: string, id: string): Offer {
  const ti = launchOf(w, member).launch.launch!.task_infos[0]!
  const a = w.agents.get(ti.agent_id.value)!
  return {
    id: {value: id},
    framework_id: {value: 'fw-1'},
    agent_id: ti.agent_id,
    hostname: a.hostname,
    resources: structuredClone([...(ti.executor?.resources ?? []), ...(ti.resources ?? [])]),
  }
}

const lastResv = (r: Resource) => r.reservations?.[r.reservations.length - 1]
const label = (r: Resource, key: string) => lastResv(r)?.labels?.labels?.find((l) => l.key === key)?.value

describe('persistent volumes (with a role)', () => {
  it('bootstrap: each member is one ACCEPT of RESERVE, CREATE, LAUNCH; reserved to the role with principal and labels; data dir = the volume', () => {
    const w = new World(ROLE_CFG, 4)
    w.start()
    w.offerAll()
    w.advance(10_000, {offers: false})
    const acc = accepts(w.actions)
    assert.equal(acc.length, 3)
    const pids = new Set<string>()
    for (const a of acc) {
      assert.deepEqual(opTypes(a), ['RESERVE', 'CREATE', 'LAUNCH'])
      const [reserve, create, launch] = a.operations as [OfferOperation, OfferOperation, OfferOperation]
      const ti = launch.launch!.task_infos[0]!
      const member = ti.name
      for (const r of reserve.reserve!.resources) {
        assert.equal(r.role, undefined, 'no pre-refinement role field')
        assert.deepEqual(
          {type: lastResv(r)?.type, role: lastResv(r)?.role, principal: lastResv(r)?.principal},
          {type: 'DYNAMIC', role: 'etcd-pv', principal: 'pv'},
        )
        assert.equal(label(r, 'etcd-mesos/cluster'), 'etcd')
        assert.equal(label(r, 'etcd-mesos/member'), member)
      }
      assert.deepEqual([...new Set(reserve.reserve!.resources.map((r) => r.name))].sort(), ['cpus', 'disk', 'mem', 'ports'])
      const vol = create.create!.volumes[0]!
      const pid = vol.disk!.persistence!.id
      assert.deepEqual(parsePersistenceId(pid), {cluster: 'etcd', member})
      assert.ok(!pids.has(pid), 'persistence ids are unique')
      pids.add(pid)
      assert.equal(vol.disk!.persistence!.principal, 'pv')
      assert.deepEqual(vol.disk!.volume, {mode: 'RW', container_path: 'etcd-data'})
      assert.equal(vol.scalar!.value, 4096)
      // the task uses the reserved resources and the volume; the executor its reserved cpus/mem
      assert.ok((ti.resources ?? []).some((r) => r.disk?.persistence?.id === pid))
      assert.ok((ti.resources ?? []).every((r) => lastResv(r)?.role === 'etcd-pv'))
      assert.ok(ti.executor!.resources!.every((r) => lastResv(r)?.role === 'etcd-pv'))
      const l = launches([a])[0]!
      assert.equal(l.cfg.dataDir, 'etcd-data')
      const rec = w.state.tasks[l.taskId] ?? Object.values(w.state.tasks).find((t) => t.memberName === member)!
      assert.equal(rec.volumeId, pid)
      assert.deepEqual(w.state.volumes[pid]?.reserved.ports, [rec.peerPort, rec.clientPort])
    }
    // persisted with the task records (the PERSIST before the first ACCEPT names the volumes)
    const first = w.actions.findIndex((a) => a.type === 'ACCEPT')
    const persist = w.actions
      .slice(0, first)
      .filter((a) => a.type === 'PERSIST')
      .pop()
    assert.ok(persist?.type === 'PERSIST')
    assert.deepEqual((persist.doc.volumes ?? []).map((v) => v.persistenceId).sort(), [...pids].sort())
  })

  it("role '*': LAUNCH alone, no volume (the sandbox data dir)", () => {
    const w = cluster({...ROLE_CFG, role: '*'})
    for (const a of accepts(w.actions)) assert.deepEqual(opTypes(a), ['LAUNCH'])
    assert.deepEqual(w.state.volumes, {})
    for (const l of launches(w.actions)) assert.equal(l.cfg.dataDir, undefined)
  })

  it('etcd dies on a live agent: no removal, no replacement; relaunched (LAUNCH only) from the offer holding its volume', () => {
    const w = cluster()
    const victim = runningTasks(w.state)[0]!
    const start = w.actions.length
    w.failTask(victim.taskId)
    w.advance(8_000) // unreserved offers from every agent, health checks, member lists
    assert.equal(w.actionsOf('MEMBER_REMOVE', start).length, 0, 'the member is not removed')
    assert.equal(w.actionsOf('MEMBER_ADD', start).length, 0, 'no replacement')
    assert.equal(launches(w.actions.slice(start)).length, 0, 'not relaunched from an offer without its volume')
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [volumeOffer(w, victim.memberName, 'V1')]})
    const acc = accepts(w.actions.slice(mid))
    assert.equal(acc.length, 1)
    assert.deepEqual(opTypes(acc[0]!), ['LAUNCH'])
    assert.deepEqual(acc[0]!.offerIds, ['V1'])
    const ti = acc[0]!.operations[0]!.launch!.task_infos[0]!
    assert.ok(
      (ti.resources ?? []).some((r) => r.disk?.persistence?.id === victim.volumeId),
      'the same volume',
    )
    const l = launches(acc)[0]!
    assert.notEqual(l.taskId, victim.taskId)
    assert.equal(l.agentId, victim.agentId)
    assert.equal(l.cfg.member.name, victim.memberName)
    assert.equal(l.cfg.member.peerPort, victim.peerPort)
    assert.equal(l.cfg.member.clientPort, victim.clientPort)
    assert.equal(l.cfg.initialClusterState, 'existing')
    assert.equal(l.cfg.dataDir, 'etcd-data')
    assert.equal(l.cfg.requireData, true)
    assert.equal(w.state.tasks[l.taskId]?.volumeId, victim.volumeId)
    w.advance(10_000)
    assert.equal(runningTasks(w.state).length, 3)
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(w.actionsOf('MEMBER_REMOVE', start).length, 0)
    assert.ok(w.members.some((m) => m.name === victim.memberName))
  })

  it('all three die: relaunched on their volumes, not a total loss', () => {
    const w = cluster()
    const dead = runningTasks(w.state)
    for (const t of dead) w.failTask(t.taskId)
    w.advance(2_000, {offers: false})
    assert.notEqual(w.state.episode, 'TOTAL_LOSS')
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: dead.map((t, i) => volumeOffer(w, t.memberName, `V${i}`))})
    assert.deepEqual(
      launches(w.actions.slice(mid))
        .map((l) => l.cfg.member.name)
        .sort(),
      dead.map((t) => t.memberName).sort(),
    )
  })

  it('no offer with its volume within volumeWaitMs: removed and replaced; then its volume is destroyed and unreserved (never before the removal)', () => {
    const w = cluster()
    const victim = runningTasks(w.state)[0]!
    const start = w.actions.length
    w.failTask(victim.taskId)
    w.advance(15_000)
    assert.equal(w.actionsOf('MEMBER_REMOVE', start).length, 0, 'still waiting for its volume')
    // an offer with its volume before the removal is used for the relaunch, never released: checked above; here none comes
    w.advance(20_000)
    assert.equal(w.actionsOf('MEMBER_REMOVE', start).length, 1, 'removed after volumeWaitMs')
    assert.ok(!w.members.some((m) => m.name === victim.memberName))
    w.advance(20_000)
    assert.equal(liveTasks(w.state).length, 3, 'replaced')
    assert.equal(w.state.volumes[victim.volumeId!]?.retiredAt !== undefined, true, 'retired once etcd no longer lists it')
    assert.equal(w.state.offersWanted, true, 'offers stay wanted (revived) while a volume waits to be released')
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [volumeOffer(w, victim.memberName, 'V9')]})
    const acc = accepts(w.actions.slice(mid))
    assert.equal(acc.length, 1)
    assert.deepEqual(opTypes(acc[0]!), ['DESTROY', 'UNRESERVE'])
    const [destroy, unreserve] = acc[0]!.operations as [OfferOperation, OfferOperation]
    assert.deepEqual(
      destroy.destroy!.volumes.map((v) => v.disk?.persistence?.id),
      [victim.volumeId],
    )
    assert.ok(unreserve.unreserve!.resources.every((r) => r.disk === undefined && label(r, 'etcd-mesos/member') === victim.memberName))
    assert.deepEqual([...new Set(unreserve.unreserve!.resources.map((r) => r.name))].sort(), ['cpus', 'disk', 'mem', 'ports'])
    assert.equal(w.state.stats.volumes_released, 1)
    assert.equal(w.state.volumes[victim.volumeId!], undefined)
    assert.equal(w.state.offersWanted, false, 'suppressed again once released')
    assert.equal(w.actionsOf('SUPPRESS', mid).length, 1)
    // DESTROY only after MEMBER_REMOVE
    const removeAt = w.actions.findIndex((a, i) => i >= start && a.type === 'MEMBER_REMOVE')
    const destroyAt = w.actions.findIndex((a) => a.type === 'ACCEPT' && a.operations.some((o) => o.type === 'DESTROY'))
    assert.ok(removeAt >= 0 && destroyAt > removeAt)
  })

  it('a member lost with its agent is replaced elsewhere; when the agent returns, its volume is released', () => {
    const w = cluster()
    const victim = runningTasks(w.state).find((t) => t.agentId === 'S1')!
    w.loseAgent('S1')
    w.advance(40_000)
    assert.equal(liveTasks(w.state).length, 3)
    assert.ok(!liveTasks(w.state).some((t) => t.agentId === 'S1'))
    assert.ok(w.state.volumes[victim.volumeId!]?.retiredAt !== undefined)
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [volumeOffer(w, victim.memberName, 'V1')]})
    assert.deepEqual(accepts(w.actions.slice(mid)).map(opTypes), [['DESTROY', 'UNRESERVE']])
  })

  it("a removed member's volume is released only with all of its reservation: not while its executor still holds a part", () => {
    const w = cluster()
    const victim = runningTasks(w.state).find((t) => t.agentId === 'S1')!
    w.loseAgent('S1')
    w.advance(40_000)
    assert.ok(w.state.volumes[victim.volumeId!]?.retiredAt !== undefined)
    // The task ended but its executor has not: the offer holds the volume and the task's part, not the executor's.
    const ti = launchOf(w, victim.memberName).launch.launch!.task_infos[0]!
    const partial = {...volumeOffer(w, victim.memberName, 'V1'), resources: structuredClone(ti.resources ?? [])}
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [partial]})
    assert.deepEqual(accepts(w.actions.slice(mid)), [], 'declined, nothing released')
    assert.equal(w.state.stats.volumes_released, 0)
    assert.ok(w.state.volumes[victim.volumeId!], 'the record kept')
    const mid2 = w.actions.length
    w.feed({type: 'Offers', offers: [volumeOffer(w, victim.memberName, 'V2')]})
    assert.deepEqual(accepts(w.actions.slice(mid2)).map(opTypes), [['DESTROY', 'UNRESERVE']])
    assert.equal(w.state.stats.volumes_released, 1)
  })

  it("an offer holding a live member's reservation (and another cluster's or role's) is declined, never released", () => {
    const w = cluster()
    const t = runningTasks(w.state)[0]!
    const o = volumeOffer(w, t.memberName, 'V1')
    const other = structuredClone(o)
    other.id = {value: 'V2'}
    for (const r of other.resources) {
      const l = lastResv(r)!.labels!.labels!.find((x) => x.key === 'etcd-mesos/cluster')!
      l.value = 'other'
    }
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [o, other]})
    w.advance(60_000, {offers: false})
    w.feed({
      type: 'Offers',
      offers: [
        {...structuredClone(o), id: {value: 'V3'}},
        {...structuredClone(other), id: {value: 'V4'}},
      ],
    })
    assert.equal(accepts(w.actions.slice(mid)).length, 0)
    assert.deepEqual(
      w
        .actionsOf('DECLINE', mid)
        .flatMap((d) => d.offerIds)
        .filter((id) => id.startsWith('V'))
        .sort(),
      ['V1', 'V2', 'V3', 'V4'],
    )
  })

  it('after a restart, a reservation of this cluster unknown to the records is released after leftoverGraceMs, and counted', () => {
    const w = cluster()
    // a crash between the ACCEPT and its PERSIST: etcd-9's reservation and volume exist, no record knows them
    const t = runningTasks(w.state)[0]!
    const o = volumeOffer(w, t.memberName, 'L1')
    const ghost = JSON.parse(JSON.stringify(o).replaceAll(t.memberName, 'etcd-9')) as Offer
    // our labels, but a volume whose persistence id names another cluster: not proven ours, never released
    const foreign = JSON.parse(JSON.stringify(o).replaceAll(t.memberName, 'etcd-8')) as Offer
    foreign.id = {value: 'F1'}
    foreign.agent_id = {value: 'S4'}
    for (const r of foreign.resources) if (r.disk?.persistence) r.disk.persistence.id = 'etcd-mesos.other.etcd-8.abcdef01'
    w.restart()
    w.advance(5_000, {offers: false})
    assert.equal(w.state.offersWanted, true, 'after a subscription, offers are wanted to see leftovers (the cluster is complete)')
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [ghost, foreign]})
    assert.equal(accepts(w.actions.slice(mid)).length, 0, 'not before the grace period')
    w.advance(31_000, {offers: false})
    w.feed({
      type: 'Offers',
      offers: [
        {...structuredClone(ghost), id: {value: 'L2'}},
        {...structuredClone(foreign), id: {value: 'F2'}},
      ],
    })
    const acc = accepts(w.actions.slice(mid))
    assert.deepEqual(acc.map(opTypes), [['DESTROY', 'UNRESERVE']])
    assert.deepEqual(acc[0]!.offerIds, ['L2'])
    assert.equal(w.state.stats.leftovers_cleaned, 1)
    assert.equal(w.state.stats.volumes_released, 0)
    w.advance(60_000, {offers: false})
    assert.equal(w.state.offersWanted, false, 'the sweep ends: SUPPRESS')
    // a leftover seen once, then never again (its agent went away), does not keep offers wanted for ever
    w.feed({type: 'Offers', offers: [{...structuredClone(ghost), id: {value: 'L3'}}]})
    w.advance(1_000, {offers: false})
    assert.equal(w.state.offersWanted, true, 'wanted while a leftover waits')
    w.advance(61_000, {offers: false})
    assert.equal(w.state.offersWanted, false, 'forgotten when unseen for leftoverGraceMs + two refuse periods')
  })

  it('volume records survive a restart (persisted, checked) and a relaunch after it uses them', () => {
    const w = cluster()
    const doc = parsePersistedDoc(serializePersistedDoc(toPersistedDoc(w.state)))
    assert.equal(doc.volumes?.length, 3)
    const victim = runningTasks(w.state)[0]!
    w.restart()
    w.advance(5_000)
    assert.deepEqual(Object.keys(w.state.volumes).sort(), doc.volumes!.map((v) => v.persistenceId).sort())
    w.failTask(victim.taskId)
    w.advance(2_000, {offers: false})
    const mid = w.actions.length
    w.feed({type: 'Offers', offers: [volumeOffer(w, victim.memberName, 'V1')]})
    assert.deepEqual(accepts(w.actions.slice(mid)).map(opTypes), [['LAUNCH']])
  })

  it('the persisted-document check names a bad volume record and a task volume id without a record', () => {
    const w = cluster()
    const good = toPersistedDoc(w.state)
    const bad = (mut: (d: Record<string, unknown>) => void, re: RegExp) => {
      const d = JSON.parse(serializePersistedDoc(good)) as Record<string, unknown>
      mut(d)
      assert.throws(() => parsePersistedDoc(JSON.stringify(d)), re)
    }
    bad((d) => {
      ;(d.volumes as Record<string, unknown>[])[0]!.persistenceId = ''
    }, /volumes\[0\]\.persistenceId/)
    bad((d) => {
      ;((d.volumes as Record<string, unknown>[])[0]!.reserved as Record<string, unknown>).ports = [1]
    }, /volumes\[0\]\.reserved\.ports/)
    bad((d) => {
      d.volumes = []
    }, /tasks\[0\]\.volumeId .* has no volume record/)
    bad((d) => {
      d.volumes = {}
    }, /volumes must be an array/)
    // a document without volumes (written before them) still loads
    const old = JSON.parse(serializePersistedDoc(toPersistedDoc(cluster({...ROLE_CFG, role: '*'}).state))) as Record<string, unknown>
    delete old.volumes
    assert.doesNotThrow(() => parsePersistedDoc(JSON.stringify(old)))
  })

  it("a new member never takes another member's reservation: only the unreserved part of an offer is matched", () => {
    const w = cluster()
    const t = runningTasks(w.state)[0]!
    const reservedOnly = volumeOffer(w, t.memberName, 'V1')
    reservedOnly.agent_id = {value: 'S4'}
    const m1 = matchNew(w.state, reservedOnly, request(w.state), {})
    assert.equal(m1.ok, false, 'reserved resources alone do not make a new member')
    const both = structuredClone(reservedOnly)
    both.resources.push(...simOffer('x', w.agents.get('S4')!).resources)
    const m2 = matchNew(w.state, both, request(w.state), {})
    assert.ok(m2.ok)
    for (const r of [...m2.taskResources, ...m2.executorResources]) {
      assert.equal(r.reservations, undefined)
      assert.equal(r.disk, undefined)
    }
  })
})

describe('volumes in the admin views (with a role)', () => {
  it("/members shows each member's volume (persistence id, size, path) and reservation; /stats and /metrics count releases", async () => {
    const w = cluster()
    const ms = membersView(w.state)
    assert.equal(ms.length, 3)
    for (const m of ms) {
      const t = w.state.tasks[m.task_id]!
      assert.deepEqual(m.volume, {persistence_id: t.volumeId, size_mb: 4096, container_path: 'etcd-data'})
      assert.deepEqual(m.reservation, {
        role: 'etcd-pv',
        principal: 'pv',
        agent_id: t.agentId,
        cpus: 1.1,
        mem: 1088,
        disk: 4096,
        ports: [t.peerPort, t.clientPort],
      })
    }
    const st = statsView(w.state)
    assert.equal(st.volumes_released, 0)
    assert.equal(st.leftovers_cleaned, 0)
    w.state.stats.volumes_released = 2
    w.state.stats.leftovers_cleaned = 1
    const text = await stateMetricsText(w.state)
    assert.match(text, /^etcd_mesos_volumes_released_total\{cluster="etcd"\} 2$/m)
    assert.match(text, /^etcd_mesos_leftover_reservations_cleaned_total\{cluster="etcd"\} 1$/m)
    // without a role: null
    const plainView = membersView(cluster({...ROLE_CFG, role: '*'}).state)
    for (const m of plainView) {
      assert.equal(m.volume, null)
      assert.equal(m.reservation, null)
    }
  })

  it('the members table gets VOLUME and SIZE columns only when a member has a volume', () => {
    const w = cluster()
    const out = renderMembers(membersView(w.state) as Member[], new Chalk({level: 0}))
    const lines = out.split('\n')
    assert.match(lines[0]!, /\bVOLUME\s+SIZE$/)
    for (const m of membersView(w.state)) assert.match(out, new RegExp(`${m.volume!.persistence_id.replaceAll('.', '\\.')}\\s+4096 MB`))
    const plainOut = renderMembers(membersView(cluster({...ROLE_CFG, role: '*'}).state) as Member[], new Chalk({level: 0}))
    assert.doesNotMatch(plainOut, /VOLUME/)
  })
})
