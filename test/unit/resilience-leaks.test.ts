/**
 * The reservation/volume leak check of the resilience matrix (test/resilience/leaks.ts) on `/master/slaves` bodies
 * recorded from a real Mesos (fixture 13: a volume in use, after an agent restart, after DESTROY + UNRESERVE) and on
 * synthetic ones for the cases a single agent cannot show.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import type {MemberView} from '../helpers/serve.js'
import {type Reserved, reservationLeaks, reservedTo, type SlaveView} from '../resilience/leaks.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/real-mesos/13-reservations-volumes.json', import.meta.url))
const steps = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as {steps: {label: string; response: {body: unknown}}[]}).steps
const slavesAt = (label: RegExp): SlaveView[] => {
  const s = steps.find((x) => label.test(x.label))
  assert.ok(s, `fixture step ${label}`)
  const b = typeof s.response.body === 'string' ? JSON.parse(s.response.body) : s.response.body
  return (b as {slaves: SlaveView[]}).slaves
}
const member = (agent_id: string, state = 'TASK_RUNNING'): MemberView => ({name: `m-${agent_id}`, agent_id, state}) as unknown as MemberView

describe('resilience leak check', () => {
  const inUse = slavesAt(/^GET \/master\/slaves \(volume vol-1 in use/)
  const agent = inUse[0]!.id

  it('reads the volume and the reserved resources of the role from a real /master/slaves', () => {
    const r = reservedTo(inUse, 'etcd-pv')
    assert.deepEqual(r, [{agentId: agent, volumes: ['vol-1'], other: ['cpus', 'mem']}])
    assert.deepEqual(reservedTo(inUse, 'another-role'), [])
    assert.deepEqual(reservedTo(slavesAt(/after the agent restart/), 'etcd-pv')[0]!.volumes, ['vol-1'])
  })

  it('a volume and reservations where a member runs are no leak; where none runs they are', () => {
    const r = reservedTo(inUse, 'etcd-pv')
    assert.deepEqual(reservationLeaks(r, [member(agent)]), [])
    const leaks = reservationLeaks(r, [member('elsewhere')])
    assert.equal(leaks.length, 2, leaks.join('\n'))
    assert.match(leaks[0]!, /volume vol-1 on agent .* where no member runs/)
    assert.match(leaks[1]!, /cpus, mem reserved on agent/)
    assert.match(reservationLeaks(r, [member(agent, 'TASK_FAILED')]).join('\n'), /1 volumes for 0 running members/)
  })

  it('nothing reserved after DESTROY + UNRESERVE', () => {
    assert.deepEqual(reservedTo(slavesAt(/after DESTROY \+ UNRESERVE/), 'etcd-pv'), [])
  })

  it('two volumes on one agent, and more volumes than members, are leaks', () => {
    const two: Reserved[] = [{agentId: 'a1', volumes: ['v1', 'v2'], other: []}]
    assert.match(reservationLeaks(two, [member('a1')]).join('\n'), /2 volumes on agent a1/)
    assert.match(reservationLeaks(two, [member('a1')]).join('\n'), /2 volumes for 1 running members/)
  })
})
