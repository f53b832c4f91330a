/**
 * Validation of RESERVE, UNRESERVE, CREATE and DESTROY (and of reserved resources and volumes in tasks), with the
 * texts of Mesos 1.12: src/common/resources.cpp (Resources::validate), src/master/validation.cpp
 * (resource::validate, operation::validate), checked against fixture 13 (Surprise 37). Pure functions over
 * resources in the refinement format (../reservations.ts); each returns the problem as a string, or null.
 * `frameworkRoles` is given for a framework's ACCEPT and absent for the operator API (then resources must be
 * unallocated); `principal` is FrameworkInfo.principal (or the operator's, none here).
 */
import type {Resource} from '../../lib/mesos/types.js'
import {containsResources} from '../resources.js'
import {
  isDynamicallyReserved,
  isPersistentVolume,
  isReserved,
  mesosText,
  reservationRole,
  reservationsOf,
  unallocated,
} from '../reservations.js'
import {stringifySet, validateId, validateRole} from './validation.js'

/** Resources::validate(Resource) for the resource kinds the local Mesos knows (no revocable, no shared, no sources). */
function validateOne(r: Resource): string | null {
  if (!r.name) return 'Empty resource name'
  if (r.type === 'SCALAR') {
    if (r.scalar === undefined || r.ranges !== undefined || r.set !== undefined) return 'Invalid scalar resource'
    if (r.scalar.value !== 0 && !(r.scalar.value > 0.0005)) return 'Invalid scalar resource: value <= 0'
  } else if (r.type === 'RANGES') {
    if (r.scalar !== undefined || r.ranges === undefined || r.set !== undefined) return 'Invalid ranges resource'
    if (r.ranges.range.some((x) => x.begin > x.end)) return 'Invalid ranges resource: begin > end'
  } else if (r.type === 'SET') {
    if (r.scalar !== undefined || r.ranges !== undefined || r.set === undefined) return 'Invalid set resource'
    if (new Set(r.set.item).size !== r.set.item.length) return 'Invalid set resource: duplicated elements'
  } else {
    return 'Unsupported resource type'
  }
  if (r.disk !== undefined && r.name !== 'disk') return `DiskInfo should not be set for ${r.name} resource`
  if (r.reservations && r.reservations.length > 0) {
    for (const i of r.reservations) {
      if (i.type === undefined) return "Invalid reservation: 'Resource.ReservationInfo.type' field must be set."
      if (i.role === undefined) return "Invalid reservation: 'Resource.ReservationInfo.role' field must be set."
      const err = validateRole(i.role)
      if (err) return err
      if (i.role === '*') return 'Invalid reservation: role "*" cannot be reserved'
    }
    if (r.reservations.length > 1) {
      if (r.reservations.slice(1).some((i) => i.type === 'STATIC'))
        return 'Invalid refined reservation: A refined reservation cannot be STATIC'
    } else if (r.role !== undefined && r.role !== r.reservations[0]!.role) {
      return `Invalid resource format: 'Resource.role' field with '${r.role}' does not match the role '${r.reservations[0]!.role ?? ''}' in 'Resource.reservations'`
    }
  } else {
    const err = validateRole(r.role ?? '*')
    if (err) return err
    if (r.reservation !== undefined && (r.role ?? '*') === '*') return 'Invalid reservation: role "*" cannot be dynamically reserved'
  }
  return null
}

/** Resources::validate(resources): the first invalid resource. Also what Mesos' validateAndUpgradeResources checks. */
export function validateResources(rs: readonly Resource[]): string | null {
  for (const r of rs) {
    const err = validateOne(r)
    if (err) return `Resource '${mesosText([r])}' is invalid: ${err}`
  }
  return null
}

/** resource::validateDiskInfo. */
function validateDiskInfo(rs: readonly Resource[]): string | null {
  for (const r of rs) {
    const d = r.disk
    if (d === undefined) continue
    if (d.persistence !== undefined) {
      if (!isReserved(r)) return 'Persistent volumes cannot be created from unreserved resources'
      if (d.volume === undefined) return "Expecting 'volume' to be set for persistent volume"
      if (d.volume.host_path !== undefined) return "Expecting 'host_path' to be unset for persistent volume"
      const err = validateId(d.persistence.id ?? '')
      if (err) return `Invalid persistence ID for persistent volume: ${err}`
    } else if (d.volume !== undefined) {
      return 'Non-persistent volume not supported'
    } else if (d.source === undefined) {
      return 'DiskInfo is set but empty'
    }
  }
  return null
}

/** resource::validate (master/validation.cpp). */
export function validateResourcesForMaster(rs: readonly Resource[]): string | null {
  const err = validateResources(rs)
  if (err) return `Invalid resources: ${err}`
  const disk = validateDiskInfo(rs)
  return disk ? `Invalid DiskInfo: ${disk}` : null
}

/** resource::validateUniquePersistenceID: persistence ids are unique per role. */
export function validateUniquePersistenceIds(rs: readonly Resource[]): string | null {
  const seen = new Set<string>()
  for (const r of rs) {
    if (!isPersistentVolume(r)) continue
    const id = r.disk!.persistence!.id
    const key = `${reservationRole(r)}\u0000${id}`
    if (seen.has(key)) return `Persistence ID '${id}' is not unique`
    seen.add(key)
  }
  return null
}

/** resource::validateAllocatedToSingleRole. */
export function validateAllocatedToSingleRole(rs: readonly Resource[]): string | null {
  let role: string | undefined
  for (const r of rs) {
    const mine = r.allocation_info?.role
    if (mine === undefined) return 'The resources are not allocated to a role'
    if (role === undefined) role = mine
    else if (mine !== role)
      return `The resources have multiple allocation roles ('${mine}' and '${role}') but only one allocation role is allowed`
  }
  return null
}

/** resource::validatePersistentVolume. */
function validatePersistentVolume(rs: readonly Resource[]): string | null {
  for (const v of rs) {
    if (v.disk === undefined) return `Resource ${mesosText([v])} does not have DiskInfo`
    if (v.disk.persistence === undefined) return "'persistence' is not set in DiskInfo"
    if (v.disk.volume === undefined) return "Expecting 'volume' to be set for persistent volume"
    if (v.disk.volume.mode === 'RO') return 'Read-only persistent volume not supported'
  }
  return null
}

export function validateReserve(rs: readonly Resource[], principal: string | undefined, frameworkRoles?: readonly string[]): string | null {
  const err = validateResourcesForMaster(rs)
  if (err) return `Invalid resources: ${err}`
  for (const r of rs) {
    const text = mesosText([r])
    if (!isDynamicallyReserved(r)) return `Resource ${text} is not dynamically reserved`
    if (principal !== undefined) {
      const p = reservationsOf(r).at(-1)?.principal
      if (p === undefined) {
        return `A reserve operation was attempted by principal '${principal}', but there is a reserved resource in the request with no principal set`
      }
      if (p !== principal) {
        return `A reserve operation was attempted by authenticated principal '${principal}', which does not match a reserved resource in the request with principal '${p}'`
      }
    }
    const role = reservationRole(r)
    if (frameworkRoles !== undefined) {
      const allocated = r.allocation_info?.role
      if (allocated === undefined) {
        return `A reserve operation was attempted on unallocated resource ${text}, but frameworks can only perform reservations on allocated resources`
      }
      if (allocated !== role) {
        return `A reserve operation was attempted for a resource with role '${role}', but the resource was allocated to role '${allocated}'`
      }
      if (!frameworkRoles.includes(allocated)) {
        return `A reserve operation was attempted for a resource allocated to role '${allocated}', but the framework only has roles '${stringifySet(frameworkRoles)}'`
      }
    } else if (r.allocation_info !== undefined) {
      return 'A reserve operation was attempted with an allocated resource, but the operator API only allows reservations to be made to unallocated resources'
    }
  }
  if (frameworkRoles !== undefined) {
    const single = validateAllocatedToSingleRole(rs)
    if (single) return `Invalid reservation resources: ${single}`
  }
  return null
}

export function validateUnreserve(rs: readonly Resource[]): string | null {
  const err = validateResourcesForMaster(rs)
  if (err) return `Invalid resources: ${err}`
  for (const r of rs) {
    if (!isDynamicallyReserved(r)) return `Resource ${mesosText([r])} is not dynamically reserved`
    if (isPersistentVolume(r)) {
      return `A dynamically reserved persistent volume ${mesosText([r])} cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource`
    }
  }
  return null
}

/** `checkpointed`: the agent's total (its volumes are what persistence ids must not collide with). */
export function validateCreate(
  volumes: readonly Resource[],
  checkpointed: readonly Resource[],
  principal: string | undefined,
  frameworkRoles?: readonly string[],
): string | null {
  const err = validateResourcesForMaster(volumes)
  if (err) return `Invalid resources: ${err}`
  const pv = validatePersistentVolume(volumes)
  if (pv) return `Not a persistent volume: ${pv}`
  const unique = validateUniquePersistenceIds([...checkpointed, ...volumes])
  if (unique) return unique
  for (const v of volumes) {
    if (v.shared !== undefined)
      return `Create volume operation for '${mesosText([v])}' has been attempted by a framework with no SHARED_RESOURCES capability`
    if (principal === undefined) continue
    const p = v.disk?.persistence?.principal
    if (p === undefined) {
      return `Create volume operation attempted by principal '${principal}', but there is a volume in the operation with no principal set in 'disk.persistence'`
    }
    if (p !== principal) {
      return `Create volume operation attempted by authenticated principal '${principal}', which does not match a volume in the operation with principal '${p}' set in 'disk.persistence'`
    }
  }
  if (frameworkRoles !== undefined) {
    const single = validateAllocatedToSingleRole(volumes)
    if (single) return `Invalid volume resources: ${single}`
  }
  return null
}

/** `used`: the resources in use on the agent, one list per framework (Mesos' slave->usedResources). */
export function validateDestroy(
  volumes: readonly Resource[],
  checkpointed: readonly Resource[],
  used: readonly Resource[][],
): string | null {
  const vs = unallocated(volumes)
  const err = validateResourcesForMaster(vs)
  if (err) return `Invalid resources: ${err}`
  const pv = validatePersistentVolume(vs)
  if (pv) return `Not a persistent volume: ${pv}`
  for (const v of vs) if (!containsResources(checkpointed, [v])) return 'Persistent volumes not found'
  for (const rs of used) for (const v of vs) if (containsResources(unallocated(rs), [v])) return 'Persistent volumes in use'
  return null
}
