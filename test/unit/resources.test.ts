import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  ResourceError,
  addRanges,
  addResources,
  bareResources,
  containsResources,
  flattenResources,
  formatRanges,
  formatResources,
  isEmptyResources,
  parseResources,
  rangesContain,
  rangesOf,
  scalarOf,
  subtractRanges,
  subtractResources,
  withRole,
  withoutRole,
} from '../../src/mesos-local/resources.js'
import type {Resource} from '../../src/lib/mesos/types.js'

const AGENT = 'cpus:2;mem:4096;disk:10000;ports:[31000-32000]'
const cpus = (v: number, extra: Partial<Resource> = {}): Resource => ({name: 'cpus', type: 'SCALAR', scalar: {value: v}, ...extra})
const ports = (...rs: [number, number][]): Resource => ({
  name: 'ports',
  type: 'RANGES',
  ranges: {range: rs.map(([begin, end]) => ({begin, end}))},
})

describe('parseResources', () => {
  it('parses the agent flag format into Mesos JSON resources', () => {
    assert.deepEqual(parseResources(AGENT), [
      {name: 'cpus', type: 'SCALAR', scalar: {value: 2}},
      {name: 'mem', type: 'SCALAR', scalar: {value: 4096}},
      {name: 'disk', type: 'SCALAR', scalar: {value: 10000}},
      {name: 'ports', type: 'RANGES', ranges: {range: [{begin: 31000, end: 32000}]}},
    ])
  })

  it('handles roles, sets, several ranges, whitespace and repeated names', () => {
    const rs = parseResources(' cpus(*):1.5 ; cpus:0.5; mem(web):64; ports:[5-6, 1-2,3-3]; zones:{a,b,a} ;')
    assert.deepEqual(rs, [
      {name: 'cpus', type: 'SCALAR', scalar: {value: 2}},
      {name: 'mem', type: 'SCALAR', scalar: {value: 64}, role: 'web'},
      {
        name: 'ports',
        type: 'RANGES',
        ranges: {
          range: [
            {begin: 1, end: 3},
            {begin: 5, end: 6},
          ],
        },
      },
      {name: 'zones', type: 'SET', set: {item: ['a', 'b']}},
    ])
  })

  it('rejects malformed text with a message naming the part', () => {
    assert.throws(
      () => parseResources('cpus'),
      (e: unknown) => e instanceof ResourceError && /Invalid resource 'cpus'/.test(e.message),
    )
    assert.throws(() => parseResources('cpus:abc'), /Invalid scalar 'abc' for resource 'cpus'/)
    assert.throws(() => parseResources('cpus:-1'), /Invalid scalar '-1'/)
    assert.throws(() => parseResources('ports:[10-5]'), /begin must be <= end/)
    assert.throws(() => parseResources('ports:[1-5'), /missing '\]'/)
    assert.throws(() => parseResources('ports:[x]'), /Invalid range 'x'/)
    assert.throws(() => parseResources('a b:1'), /Invalid resource name 'a b'/)
  })
})

describe('ranges', () => {
  it('adds, subtracts, contains and formats', () => {
    assert.deepEqual(
      addRanges(
        [{begin: 1, end: 2}],
        [
          {begin: 3, end: 4},
          {begin: 10, end: 10},
        ],
      ),
      [
        {begin: 1, end: 4},
        {begin: 10, end: 10},
      ],
    )
    assert.deepEqual(
      subtractRanges(
        [{begin: 31000, end: 32000}],
        [
          {begin: 31002, end: 31004},
          {begin: 32000, end: 32000},
        ],
      ),
      [
        {begin: 31000, end: 31001},
        {begin: 31005, end: 31999},
      ],
    )
    assert.deepEqual(subtractRanges([{begin: 1, end: 5}], [{begin: 0, end: 9}]), [])
    assert.equal(
      rangesContain(
        [{begin: 1, end: 10}],
        [
          {begin: 2, end: 3},
          {begin: 10, end: 10},
        ],
      ),
      true,
    )
    assert.equal(rangesContain([{begin: 1, end: 10}], [{begin: 9, end: 11}]), false)
    assert.equal(
      formatRanges([
        {begin: 31005, end: 31005},
        {begin: 31000, end: 31001},
      ]),
      '[31000-31001, 31005-31005]',
    )
  })
})

describe('resource arithmetic', () => {
  const total = parseResources(AGENT)
  const task = [
    cpus(0.1, {role: '*', allocation_info: {role: '*'}}),
    {name: 'mem', type: 'SCALAR', scalar: {value: 32}} as Resource,
    ports([31000, 31001]),
  ]

  it('subtract then add gives back the total (fixed-point scalars)', () => {
    let free = total
    for (let i = 0; i < 3; i++) free = subtractResources(free, task)
    assert.equal(scalarOf(free, 'cpus'), 1.7)
    assert.deepEqual(rangesOf(free, 'ports'), [{begin: 31002, end: 32000}])
    for (let i = 0; i < 3; i++) free = addResources(free, task)
    assert.equal(scalarOf(free, 'cpus'), 2)
    assert.equal(scalarOf(free, 'mem'), 4096)
    assert.deepEqual(rangesOf(free, 'ports'), [{begin: 31000, end: 32000}])
  })

  it('treats role "*" and no role as the same kind, other roles as different', () => {
    assert.equal(containsResources(total, task), true)
    assert.equal(containsResources(total, [cpus(1, {role: 'web'})]), false)
    assert.equal(containsResources(total, [cpus(2.001)]), false)
    assert.equal(containsResources(total, [ports([31999, 32001])]), false)
    assert.equal(containsResources(total, [{name: 'gpus', type: 'SCALAR', scalar: {value: 1}}]), false)
    assert.equal(containsResources(total, []), true)
  })

  it('drops kinds that reach zero and clamps scalars at zero', () => {
    const left = subtractResources([cpus(1), ports([1, 2])], [cpus(3), ports([1, 2])])
    assert.deepEqual(left, [])
    assert.equal(isEmptyResources(left), true)
    assert.equal(isEmptyResources([cpus(0)]), true)
    assert.equal(isEmptyResources([cpus(0.001)]), false)
  })

  it('does not mutate its inputs', () => {
    const a = [cpus(1)]
    const snapshot = JSON.stringify(a)
    addResources(a, [cpus(1)])
    subtractResources(a, [cpus(0.5)])
    assert.equal(JSON.stringify(a), snapshot)
  })

  it('role helpers: executor-side copies lack role, agent_info copies lack allocation_info too', () => {
    assert.deepEqual(withoutRole(task)[0], {name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}, allocation_info: {role: '*'}})
    assert.deepEqual(bareResources(task)[0], {name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}})
    assert.deepEqual(
      withRole(total, '*').map((r) => r.role),
      ['*', '*', '*', '*'],
    )
  })

  it('flattens like the /state endpoints and formats as text', () => {
    assert.deepEqual(flattenResources([...task, ports([31005, 31005])]), {
      disk: 0,
      mem: 32,
      gpus: 0,
      cpus: 0.1,
      ports: '[31000-31001, 31005-31005]',
    })
    assert.equal(formatResources([cpus(2), cpus(1, {role: 'web'}), ports([1, 3])]), 'cpus:2; cpus(web):1; ports:[1-3]')
  })
})
