/**
 * The local master's resource operations as pure functions: the formats of reserved resources
 * (src/mesos-local/reservations.ts), the validation texts of RESERVE / UNRESERVE / CREATE / DESTROY
 * (master/operation-validation.ts, Mesos 1.12's src/master/validation.cpp) and their conversions (master/operations.ts).
 * The texts fixture 13 records are checked end to end in test/integration/mesos-local-reservations.test.ts.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {Resource} from '../../src/lib/mesos/types.js'
import {validateCreate, validateDestroy, validateReserve, validateUnreserve} from '../../src/mesos-local/master/operation-validation.js'
import {applyConversions, conversions} from '../../src/mesos-local/master/operations.js'
import {containsResources, subtractResources} from '../../src/mesos-local/resources.js'
import {mesosText, reservationsOf, toEndpoint, toPreRefinement, upgradeResources} from '../../src/mesos-local/reservations.js'

const R = 'etcd-pv'
const P = 'fixture-pv'
const res = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({name, type: 'SCALAR', scalar: {value}, ...extra})
const reserved = (name: string, value: number, extra: Partial<Resource> = {}): Resource =>
  res(name, value, {allocation_info: {role: R}, reservations: [{type: 'DYNAMIC', role: R, principal: P}], ...extra})
const volume = (id: string, size: number, extra: Partial<Resource> = {}): Resource =>
  reserved('disk', size, {disk: {persistence: {id, principal: P}, volume: {mode: 'RW', container_path: 'data'}}, ...extra})

describe('reserved resources: formats and identity', () => {
  it('reads the pre-refinement format as the refinement one and writes both formats back', () => {
    const legacy = res('cpus', 1, {role: R, reservation: {principal: P}})
    assert.deepEqual(reservationsOf(legacy), [{type: 'DYNAMIC', role: R, principal: P}])
    assert.deepEqual(upgradeResources([legacy]), [res('cpus', 1, {reservations: [{type: 'DYNAMIC', role: R, principal: P}]})])
    const refined = upgradeResources([legacy])
    assert.deepEqual(toPreRefinement(refined), [{name: 'cpus', type: 'SCALAR', scalar: {value: 1}, role: R, reservation: {principal: P}}])
    assert.deepEqual(toEndpoint(refined)[0]!.reservations, [{type: 'DYNAMIC', role: R, principal: P}])
    assert.deepEqual(toPreRefinement([res('mem', 32)]), [{name: 'mem', type: 'SCALAR', scalar: {value: 32}, role: '*'}])
  })

  it('keeps reserved, unreserved and volume resources apart; a volume is contained only whole', () => {
    const total = [res('disk', 100), reserved('disk', 64), volume('v', 32)]
    assert.equal(containsResources(total, [reserved('disk', 65)]), false)
    assert.equal(containsResources(total, [res('disk', 100)]), true)
    assert.equal(containsResources(total, [volume('v', 16)]), false)
    assert.equal(containsResources(total, [volume('v', 32)]), true)
    assert.deepEqual(subtractResources(total, [reserved('disk', 64)]), [res('disk', 100), volume('v', 32)])
  })

  it("writes Mesos' text form", () => {
    assert.equal(
      mesosText([volume('vol-1', 64), res('ports', 0, {type: 'RANGES', scalar: undefined, ranges: {range: [{begin: 1, end: 2}]}})]),
      'disk(allocated: etcd-pv)(reservations: [(DYNAMIC,etcd-pv,fixture-pv)])[vol-1:data]:64; ports:[1-2]',
    )
  })
})

describe('operation validation (Mesos 1.12 texts)', () => {
  it('RESERVE', () => {
    assert.equal(validateReserve([reserved('cpus', 1)], P, [R]), null)
    assert.equal(
      validateReserve([res('cpus', 1, {allocation_info: {role: R}})], P, [R]),
      `Resource cpus(allocated: ${R}):1 is not dynamically reserved`,
    )
    assert.equal(
      validateReserve([reserved('cpus', 1, {reservations: [{type: 'DYNAMIC', role: R}]})], P, [R]),
      `A reserve operation was attempted by principal '${P}', but there is a reserved resource in the request with no principal set`,
    )
    assert.equal(
      validateReserve([reserved('cpus', 1, {reservations: [{type: 'DYNAMIC', role: R, principal: 'x'}]})], P, [R]),
      `A reserve operation was attempted by authenticated principal '${P}', which does not match a reserved resource in the request with principal 'x'`,
    )
    assert.equal(
      validateReserve([reserved('cpus', 1, {reservations: [{type: 'DYNAMIC', role: 'other', principal: P}]})], P, [R]),
      `A reserve operation was attempted for a resource with role 'other', but the resource was allocated to role '${R}'`,
    )
    assert.equal(
      validateReserve([reserved('cpus', 1, {reservations: [{type: 'DYNAMIC', role: '*', principal: P}]})], P, [R]),
      `Invalid resources: Invalid resources: Resource 'cpus(allocated: ${R})(reservations: [(DYNAMIC,*,${P})]):1' is invalid: Invalid reservation: role "*" cannot be reserved`,
    )
    assert.equal(
      validateReserve([reserved('cpus', 1)], undefined),
      'A reserve operation was attempted with an allocated resource, but the operator API only allows reservations to be made to unallocated resources',
    )
  })

  it('UNRESERVE', () => {
    assert.equal(validateUnreserve([reserved('cpus', 1)]), null)
    assert.equal(validateUnreserve([res('cpus', 1)]), 'Resource cpus:1 is not dynamically reserved')
    assert.match(
      validateUnreserve([volume('v', 1)]) ?? '',
      /^A dynamically reserved persistent volume .*\[v:data\]:1 cannot be unreserved directly/,
    )
  })

  it('CREATE', () => {
    assert.equal(validateCreate([volume('v', 8)], [], P, [R]), null)
    assert.equal(
      validateCreate([volume('v', 8, {reservations: undefined})], [], P, [R]),
      'Invalid resources: Invalid DiskInfo: Persistent volumes cannot be created from unreserved resources',
    )
    assert.equal(validateCreate([volume('v', 8), volume('v', 4)], [], P, [R]), "Persistence ID 'v' is not unique")
    assert.equal(validateCreate([volume('v', 8)], [volume('v', 2)], P, [R]), "Persistence ID 'v' is not unique")
    assert.equal(
      validateCreate(
        [reserved('disk', 8, {disk: {persistence: {id: 'v', principal: P}, volume: {mode: 'RO', container_path: 'd'}}})],
        [],
        P,
        [R],
      ),
      'Not a persistent volume: Read-only persistent volume not supported',
    )
    assert.equal(
      validateCreate([reserved('disk', 8, {disk: {persistence: {id: 'v'}, volume: {mode: 'RW', container_path: 'd'}}})], [], P, [R]),
      `Create volume operation attempted by principal '${P}', but there is a volume in the operation with no principal set in 'disk.persistence'`,
    )
  })

  it('DESTROY', () => {
    const total = upgradeResources([volume('v', 8, {allocation_info: undefined})])
    assert.equal(validateDestroy([volume('v', 8)], total, []), null)
    assert.equal(validateDestroy([volume('w', 8)], total, []), 'Persistent volumes not found')
    assert.equal(validateDestroy([volume('v', 8)], total, [[volume('v', 8)]]), 'Persistent volumes in use')
    assert.equal(
      validateDestroy([reserved('disk', 8)], total, []),
      `Not a persistent volume: Resource disk(reservations: [(DYNAMIC,${R},${P})]):8 does not have DiskInfo`,
    )
  })
})

describe('operation conversions', () => {
  it('RESERVE then CREATE turn unreserved disk into a volume; DESTROY then UNRESERVE give it back', () => {
    const start = [res('cpus', 2, {allocation_info: {role: R}}), res('disk', 100, {allocation_info: {role: R}})]
    let cur = start
    for (const [type, rs] of [
      ['RESERVE', [reserved('disk', 64)]],
      ['CREATE', [volume('v', 64)]],
    ] as const) {
      const r = applyConversions(cur, conversions(type, rs))
      assert.ok('resources' in r)
      cur = r.resources
    }
    assert.equal(containsResources(cur, [volume('v', 64)]), true)
    assert.equal(containsResources(cur, [res('disk', 37)]), false)
    const bad = applyConversions(cur, conversions('UNRESERVE', [reserved('disk', 64)]))
    assert.deepEqual(bad, {
      error: `cpus(allocated: ${R}):2; disk(allocated: ${R}):36; disk(allocated: ${R})(reservations: [(DYNAMIC,${R},${P})])[v:data]:64 does not contain disk(allocated: ${R})(reservations: [(DYNAMIC,${R},${P})]):64`,
    })
    for (const [type, rs] of [
      ['DESTROY', [volume('v', 64)]],
      ['UNRESERVE', [reserved('disk', 64)]],
    ] as const) {
      const r = applyConversions(cur, conversions(type, rs))
      assert.ok('resources' in r)
      cur = r.resources
    }
    assert.deepEqual(cur, start)
  })
})
