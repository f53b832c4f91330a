/**
 * Disk space in the admin views (issue 17): /members gives each member's db size, size in use and the alarms raised
 * for it (null when unknown); /metrics the per-member sizes and the cluster's alarms; the `members` table shows them.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {Chalk} from 'chalk'
import {membersView} from '../../src/scheduler/views.js'
import {stateMetricsText} from '../helpers/exposition.js'
import {renderMembers} from '../../src/lib/cli/render.js'
import type {Member} from '../../src/lib/cli/types.js'
import type {MemberProbe} from '../../src/lib/etcd/probe.js'
import {CORE_CFG, healthyCluster} from '../helpers/core-world.js'

const MiB = 2 ** 20

/** A healthy cluster whose latest probes report the given sizes and alarm lists (by member index). */
function world(facts: {dbSize?: number; dbSizeInUse?: number; alarms?: MemberProbe['alarms']}[]) {
  const w = healthyCluster(CORE_CFG, 3)
  const probes = w.state.health.probes
  assert.equal(probes.length, 3)
  w.state.health.probes = probes.map((p, i) => {
    const f = facts[i] ?? {}
    const q: MemberProbe = {...p, status: {...p.status!}}
    delete q.alarms
    delete q.status!.dbSizeInUse
    if (f.dbSize !== undefined) q.status!.dbSize = f.dbSize
    if (f.dbSizeInUse !== undefined) q.status!.dbSizeInUse = f.dbSizeInUse
    if (f.alarms !== undefined) q.alarms = f.alarms
    return q
  })
  return w
}

describe('/members: db size, size in use, alarms', () => {
  it('each member: its sizes from its own probe; the alarms raised for it from any probe that knows the list', () => {
    const w = world([{dbSize: 20 * MiB, dbSizeInUse: 5 * MiB, alarms: []}, {dbSize: 16 * MiB, dbSizeInUse: 16 * MiB}, {dbSize: 3 * MiB}])
    const ids = w.state.health.probes.map((p) => p.status!.memberId)
    w.state.health.probes[1]!.alarms = [{memberId: ids[1]!, alarm: 'NOSPACE'}]
    const byId = new Map(membersView(w.state).map((m) => [m.member_id, m]))
    const m0 = byId.get(ids[0]!)!
    assert.equal(m0.db_size, 20 * MiB)
    assert.equal(m0.db_size_in_use, 5 * MiB)
    assert.deepEqual(m0.alarms, [])
    assert.deepEqual(byId.get(ids[1]!)!.alarms, ['NOSPACE'])
    const m2 = byId.get(ids[2]!)!
    assert.equal(m2.db_size, 3 * MiB)
    assert.equal(m2.db_size_in_use, null, 'not answered: null')
    assert.deepEqual(m2.alarms, [], 'the alarm list is the cluster’s: known through the others')
  })
  it('alarms null when no probe could list them; sizes null for a member not probed', () => {
    const w = world([{dbSize: 1}, {dbSize: 1}, {dbSize: 1}])
    w.state.health.probes = w.state.health.probes.slice(1)
    const ms = membersView(w.state)
    assert.ok(ms.every((m) => m.alarms === null))
    assert.equal(ms.filter((m) => m.db_size === null && m.db_size_in_use === null).length, 1)
  })
})

describe('/metrics: sizes per member, alarms of the cluster', () => {
  it('etcd_mesos_member_db_size_bytes / _db_size_in_use_bytes labelled by member; etcd_mesos_alarms{alarm}', async () => {
    const w = world([{dbSize: 20 * MiB, dbSizeInUse: 5 * MiB, alarms: []}, {dbSize: 16 * MiB, dbSizeInUse: 16 * MiB, alarms: []}, {}])
    const ids = w.state.health.probes.map((p) => p.status!.memberId)
    w.state.health.probes[0]!.alarms = [{memberId: ids[1]!, alarm: 'NOSPACE'}]
    const names = membersView(w.state).map((m) => m.name)
    const text = await stateMetricsText(w.state)
    assert.match(text, /^# TYPE etcd_mesos_member_db_size_bytes gauge$/m)
    const m0 = membersView(w.state).find((m) => m.member_id === ids[0])!.name
    assert.match(text, new RegExp(`^etcd_mesos_member_db_size_bytes\\{cluster="etcd",member="${m0}"\\} ${20 * MiB}$`, 'm'))
    assert.match(text, new RegExp(`^etcd_mesos_member_db_size_in_use_bytes\\{cluster="etcd",member="${m0}"\\} ${5 * MiB}$`, 'm'))
    assert.equal(text.match(/^etcd_mesos_member_db_size_in_use_bytes\{/gm)?.length, 2, 'only members that answered')
    assert.ok(names.length === 3)
    assert.match(text, /^# TYPE etcd_mesos_alarms gauge$/m)
    assert.match(text, /^etcd_mesos_alarms\{cluster="etcd",alarm="NOSPACE"\} 1$/m)
    assert.match(text, /^etcd_mesos_alarms\{cluster="etcd",alarm="CORRUPT"\} 0$/m)
  })
  it('no alarm samples while the alarm list is unknown', async () => {
    const text = await stateMetricsText(world([{}, {}, {}]).state)
    assert.match(text, /^# TYPE etcd_mesos_alarms gauge$/m)
    assert.doesNotMatch(text, /^etcd_mesos_alarms\{/m)
  })
})

describe('members table', () => {
  it('DB SIZE and IN USE columns (binary units), and the raised alarms under the table', () => {
    const w = world([{dbSize: 20 * MiB, dbSizeInUse: 5 * MiB, alarms: []}, {dbSize: 1536, dbSizeInUse: 1024}, {dbSize: 3 * 2 ** 30}])
    const ids = w.state.health.probes.map((p) => p.status!.memberId)
    w.state.health.probes[0]!.alarms = [{memberId: ids[1]!, alarm: 'NOSPACE'}]
    const view = membersView(w.state) as Member[]
    const out = renderMembers(view, new Chalk({level: 0}))
    const lines = out.split('\n')
    assert.match(lines[0]!, /\bRAFT INDEX\s+DB SIZE\s+IN USE\s+AGENT$/)
    const row = (id: string) => lines.find((l) => l.startsWith(view.find((m) => m.member_id === id)!.name))!
    assert.match(row(ids[0]!), /\s20\.0 MiB\s+5\.0 MiB\s/)
    assert.match(row(ids[1]!), /\s1\.5 KiB\s+1\.0 KiB\s/)
    assert.match(row(ids[2]!), /\s3\.0 GiB\s+-\s/)
    const name1 = view.find((m) => m.member_id === ids[1])!.name
    assert.match(out, new RegExp(`^Alarms:\\n {2}${name1}: NOSPACE$`, 'm'))
  })
  it('no size columns and no alarm lines from a scheduler that does not report them', () => {
    const w = healthyCluster(CORE_CFG, 3)
    const view = (membersView(w.state) as Member[]).map(({db_size, db_size_in_use, alarms, ...rest}) => rest as Member)
    const out = renderMembers(view, new Chalk({level: 0}))
    assert.doesNotMatch(out, /DB SIZE|Alarms/)
  })
})
