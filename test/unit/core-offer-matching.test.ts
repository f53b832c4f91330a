import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {Offer, Resource} from '../../src/lib/mesos/types.js'
import {matchOffer, type ResourceRequest} from '../../src/scheduler/core/offers.js'

const REQ: ResourceRequest = {cpus: 1, mem: 1024, disk: 4096, executorCpus: 0.1, executorMem: 64}

function scalar(name: string, value: number, extra: Partial<Resource> = {}): Resource {
  return {name, type: 'SCALAR', scalar: {value}, role: '*', ...extra}
}
function ports(ranges: [number, number][], extra: Partial<Resource> = {}): Resource {
  return {name: 'ports', type: 'RANGES', ranges: {range: ranges.map(([begin, end]) => ({begin, end}))}, role: '*', ...extra}
}
function offer(resources: Resource[], o: Partial<Offer> = {}): Offer {
  return {id: {value: 'O1'}, framework_id: {value: 'F'}, agent_id: {value: 'S1'}, hostname: 'agent1.example', resources, ...o}
}
const BIG = [scalar('cpus', 4), scalar('mem', 8192), scalar('disk', 10000), ports([[31000, 31010]])]
function sum(rs: Resource[], name: string): number {
  return rs.filter((r) => r.name === name).reduce((a, r) => a + (r.scalar?.value ?? 0), 0)
}

describe('matchOffer', () => {
  it('accepts a big offer and splits task vs executor resources exactly', () => {
    const m = matchOffer(offer(BIG), REQ)
    assert.equal(m.ok, true)
    if (!m.ok) return
    assert.equal(sum(m.taskResources, 'cpus'), 1)
    assert.equal(sum(m.taskResources, 'mem'), 1024)
    assert.equal(sum(m.taskResources, 'disk'), 4096)
    assert.equal(sum(m.executorResources, 'cpus'), 0.1)
    assert.equal(sum(m.executorResources, 'mem'), 64)
    assert.deepEqual([m.peerPort, m.clientPort], [31000, 31001])
    const pr = m.taskResources.filter((r) => r.name === 'ports')
    assert.deepEqual(
      pr.map((r) => r.ranges?.range),
      [[{begin: 31000, end: 31001}]],
    )
    assert.ok(m.taskResources.every((r) => r.role === '*'))
  })

  it('copies role, reservations and allocation_info, preferring reserved resources, and never emits zero amounts', () => {
    const alloc = {role: 'etcd'}
    const reserved = {role: 'etcd', reservations: [{type: 'STATIC', role: 'etcd'}], allocation_info: alloc}
    const m = matchOffer(
      offer([
        scalar('cpus', 3, {allocation_info: alloc}),
        scalar('cpus', 0.6, reserved),
        scalar('mem', 4096, reserved),
        scalar('disk', 5000, reserved),
        ports([[40000, 40000]], reserved),
        ports([[31000, 31100]], {allocation_info: alloc}),
      ]),
      REQ,
    )
    assert.equal(m.ok, true)
    if (!m.ok) return
    const all = [...m.taskResources, ...m.executorResources]
    assert.ok(
      all.every((r) => r.allocation_info?.role === 'etcd'),
      'allocation_info kept',
    )
    assert.ok(
      all.every((r) => r.type !== 'SCALAR' || (r.scalar?.value ?? 0) > 0),
      'no zero-amount resources',
    )
    // executor takes 0.1 reserved cpus first, task gets the remaining 0.5 reserved + 0.5 unreserved
    assert.deepEqual(
      m.executorResources.filter((r) => r.name === 'cpus').map((r) => [r.role, r.scalar?.value]),
      [['etcd', 0.1]],
    )
    assert.deepEqual(
      m.taskResources.filter((r) => r.name === 'cpus').map((r) => [r.role, r.scalar?.value]),
      [
        ['etcd', 0.5],
        ['*', 0.5],
      ],
    )
    const reservedCpu = m.taskResources.find((r) => r.name === 'cpus' && r.role === 'etcd')
    assert.deepEqual(reservedCpu?.reservations, [{type: 'STATIC', role: 'etcd'}])
    // ports: reserved 40000 first, then 31000 from the unreserved range: two resources
    assert.deepEqual([m.peerPort, m.clientPort], [40000, 31000])
    const pr = m.taskResources.filter((r) => r.name === 'ports')
    assert.equal(pr.length, 2)
    assert.equal(pr[0]!.role, 'etcd')
    assert.deepEqual(pr[0]!.ranges?.range, [{begin: 40000, end: 40000}])
    assert.deepEqual(pr[1]!.ranges?.range, [{begin: 31000, end: 31000}])
  })

  it('picks ports across non-contiguous single-port ranges (first range holds one port)', () => {
    const m = matchOffer(
      offer([
        scalar('cpus', 2),
        scalar('mem', 2048),
        scalar('disk', 5000),
        ports([
          [31005, 31005],
          [31000, 31000],
          [32000, 32010],
        ]),
      ]),
      REQ,
    )
    assert.equal(m.ok, true)
    if (!m.ok) return
    assert.deepEqual([m.peerPort, m.clientPort], [31000, 31005])
    assert.deepEqual(m.taskResources.find((r) => r.name === 'ports')?.ranges?.range, [
      {begin: 31000, end: 31000},
      {begin: 31005, end: 31005},
    ])
  })

  it('does not drift with fractional cpus (0.1 + 1 fits exactly 1.1)', () => {
    const m = matchOffer(offer([scalar('cpus', 1.1), scalar('mem', 1088), scalar('disk', 4096), ports([[1, 2]])]), REQ)
    assert.equal(m.ok, true)
  })

  const declines: [string, Offer, RegExp, Parameters<typeof matchOffer>[2]?][] = [
    [
      'too few cpus',
      offer([scalar('cpus', 0.5), scalar('mem', 8192), scalar('disk', 9999), ports([[1, 100]])]),
      /cpus: need 1\.1, offered 0\.5/,
    ],
    [
      'too little mem and disk',
      offer([scalar('cpus', 4), scalar('mem', 512), scalar('disk', 10), ports([[1, 100]])]),
      /mem: need 1088, offered 512; disk: need 4096, offered 10/,
    ],
    ['one port only', offer([scalar('cpus', 4), scalar('mem', 8192), scalar('disk', 9999), ports([[5, 5]])]), /ports: need 2, offered 1/],
    ['no ports at all', offer([scalar('cpus', 4), scalar('mem', 8192), scalar('disk', 9999)]), /ports: need 2, offered 0/],
    [
      'revocable cpus do not count',
      offer([scalar('cpus', 4, {revocable: {}}), scalar('mem', 8192), scalar('disk', 9999), ports([[1, 9]])]),
      /cpus: need 1\.1, offered 0/,
    ],
    [
      'volume disk does not count',
      offer([scalar('cpus', 4), scalar('mem', 8192), scalar('disk', 9999, {disk: {persistence: {id: 'v'}}}), ports([[1, 9]])]),
      /disk: need 4096, offered 0/,
    ],
    ['agent already hosts a member', offer(BIG), /agent S1 already hosts a member/, {busyAgents: new Set(['S1'])}],
    ['host already hosts a member', offer(BIG), /host agent1\.example already hosts a member/, {busyHosts: new Set(['agent1.example'])}],
    ['wrong agent for a relaunch', offer(BIG), /waiting for an offer from agent S9/, {agentId: 'S9'}],
    ['required ports missing', offer(BIG), /need 30000 and 31001/, {ports: {peer: 30000, client: 31001}}],
    ['hostname unusable in a URL', offer(BIG, {hostname: 'bad host'}), /cannot be used in an etcd URL/],
  ]
  for (const [name, o, re, c] of declines) {
    it(`declines: ${name}`, () => {
      const m = matchOffer(o, REQ, c)
      assert.equal(m.ok, false)
      if (m.ok) return
      assert.match(m.reason, re)
      assert.equal(m.offerId, 'O1')
    })
  }

  it('uses exactly the required ports when given (relaunch after add)', () => {
    const m = matchOffer(offer(BIG), REQ, {agentId: 'S1', ports: {peer: 31007, client: 31003}})
    assert.equal(m.ok, true)
    if (!m.ok) return
    assert.deepEqual([m.peerPort, m.clientPort], [31007, 31003])
    assert.deepEqual(m.taskResources.find((r) => r.name === 'ports')?.ranges?.range, [
      {begin: 31003, end: 31003},
      {begin: 31007, end: 31007},
    ])
  })

  it('omits executor resources of zero size', () => {
    const m = matchOffer(offer(BIG), {...REQ, executorCpus: 0, executorMem: 0})
    assert.equal(m.ok, true)
    if (m.ok) assert.deepEqual(m.executorResources, [])
  })
})
