/**
 * Reservations and persistent volumes in Resource JSON (../lib/mesos/types.ts), and the three resource formats of
 * Mesos 1.12 (src/common/resources_utils.cpp convertResourceFormat). Pure functions, no I/O; copies, never mutation.
 *
 *   - refinement (POST_RESERVATION_REFINEMENT): reserved resources carry `reservations` (a stack of ReservationInfo,
 *     the last one is the role it is reserved to now), never `role`/`reservation`; unreserved ones carry neither.
 *     The local master keeps every resource in this format (it upgrades what it receives) and sends it to frameworks
 *     with the RESERVATION_REFINEMENT capability and to the agents.
 *   - pre-refinement (PRE_RESERVATION_REFINEMENT): `role` ("*" when unreserved) and, for a dynamic reservation,
 *     `reservation: {principal, labels}`; no `reservations`. Offers to frameworks without the capability.
 *   - endpoint (ENDPOINT): both at once, as /master/slaves and GET_AGENTS show them (Surprise 39).
 *
 * Mesos' text form of resources (`stringify(Resource)`, used in its error messages) is mesosText.
 */
import type {ReservationInfo, Resource} from '../lib/mesos/types.js'

/**
 * The reservations of a resource in the refinement format, whichever format it comes in: `reservations` when set,
 * else one reservation made from the pre-refinement `role` (not "*") and `reservation` (DYNAMIC when `reservation`
 * is set, STATIC otherwise), else none (unreserved).
 */
export function reservationsOf(r: Resource): ReservationInfo[] {
  if (r.reservations && r.reservations.length > 0) return r.reservations
  if (r.role === undefined || r.role === '*') return []
  const legacy = r.reservation as {principal?: string; labels?: ReservationInfo['labels']} | undefined
  if (legacy === undefined) return [{type: 'STATIC', role: r.role}]
  return [
    {
      type: 'DYNAMIC',
      role: r.role,
      ...(legacy.principal !== undefined ? {principal: legacy.principal} : {}),
      ...(legacy.labels !== undefined ? {labels: legacy.labels} : {}),
    },
  ]
}

/** JSON with object keys sorted (a stable identity for nested protobuf-JSON values). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

/** True iff `r` is a persistent volume (DiskInfo with a persistence id). */
export function isPersistentVolume(r: Resource): boolean {
  return r.disk?.persistence?.id !== undefined
}

export function isReserved(r: Resource): boolean {
  return reservationsOf(r).length > 0
}

/** The role `r` is reserved to now (the last reservation), "*" when unreserved (Mesos' Resources::reservationRole). */
export function reservationRole(r: Resource): string {
  return reservationsOf(r).at(-1)?.role ?? '*'
}

/** Reserved, and the last reservation is DYNAMIC. */
export function isDynamicallyReserved(r: Resource): boolean {
  return reservationsOf(r).at(-1)?.type === 'DYNAMIC'
}

/** The reserved resources of `rs` by the role they are reserved to, roles in order of appearance. */
export function reservedByRole(rs: readonly Resource[]): Map<string, Resource[]> {
  const out = new Map<string, Resource[]>()
  for (const r of rs) {
    if (!isReserved(r)) continue
    const role = reservationRole(r)
    out.set(role, [...(out.get(role) ?? []), r])
  }
  return out
}

function copy(r: Resource): Resource {
  return JSON.parse(JSON.stringify(r)) as Resource
}

/** The refinement format of one resource (a copy). */
export function toRefinement(r: Resource): Resource {
  const reservations = reservationsOf(r)
  const c = copy(r)
  delete c.role
  delete c.reservation
  if (reservations.length > 0) c.reservations = JSON.parse(JSON.stringify(reservations)) as ReservationInfo[]
  else delete c.reservations
  return c
}

/** Every resource in the refinement format (Mesos' upgradeResources). */
export function upgradeResources(rs: readonly Resource[]): Resource[] {
  return rs.map(toRefinement)
}

function withLegacyFields(r: Resource, keepReservations: boolean): Resource {
  const reservations = reservationsOf(r)
  const c = copy(r)
  delete c.reservations
  delete c.reservation
  const last = reservations.at(-1)
  c.role = last?.role ?? '*'
  if (last?.type === 'DYNAMIC') {
    c.reservation = {
      ...(last.principal !== undefined ? {principal: last.principal} : {}),
      ...(last.labels !== undefined ? {labels: last.labels} : {}),
    }
  }
  if (keepReservations && reservations.length > 0) c.reservations = JSON.parse(JSON.stringify(reservations)) as ReservationInfo[]
  // Field order as Mesos writes them: ..., role, allocation_info, reservation, reservations, disk, ...
  const {name, type, scalar, ranges, set, role, allocation_info, reservation, reservations: rr, disk, ...rest} = c
  return Object.fromEntries(
    Object.entries({name, type, scalar, ranges, set, role, allocation_info, reservation, reservations: rr, disk, ...rest}).filter(
      ([, v]) => v !== undefined,
    ),
  ) as Resource
}

/** The pre-refinement format (offers to frameworks without RESERVATION_REFINEMENT). */
export function toPreRefinement(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => withLegacyFields(r, false))
}

/** The endpoint format: `role` (and `reservation`) and `reservations` at once (/master/slaves, GET_AGENTS). */
export function toEndpoint(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => withLegacyFields(r, true))
}

/** Copies with the last reservation removed (what UNRESERVE gives back, what RESERVE consumes). */
export function popReservation(r: Resource): Resource {
  const c = toRefinement(r)
  const rest = (c.reservations ?? []).slice(0, -1)
  if (rest.length > 0) c.reservations = rest
  else delete c.reservations
  return c
}

/** A copy without the persistent volume's DiskInfo (the disk a volume is made from and goes back to). */
export function stripVolume(r: Resource): Resource {
  const c = copy(r)
  if (c.disk?.source !== undefined) {
    delete c.disk.persistence
    delete c.disk.volume
  } else {
    delete c.disk
  }
  return c
}

/** Copies without allocation_info. */
export function unallocated(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => {
    const c = copy(r)
    delete c.allocation_info
    return c
  })
}

/** Copies with `allocation_info: {role}` where they have none (Mesos' injectAllocationInfo). */
export function withAllocation(rs: readonly Resource[] | undefined, role: string): Resource[] {
  return (rs ?? []).map((r) => ({...copy(r), allocation_info: r.allocation_info ?? {role}}))
}

function scalarText(v: number): string {
  return String(Math.round(v * 1000) / 1000)
}

/**
 * Mesos' `stringify(Resource)` (src/common/resources.cpp): `disk(allocated: r)(reservations: [(DYNAMIC,r,p)])[vol-1:data]:64`;
 * a list is joined with "; " (Mesos' `stringify(Resources)`, in the given order).
 */
export function mesosText(rs: readonly Resource[]): string {
  return rs
    .map((r) => {
      let head = r.name
      if (r.allocation_info !== undefined) head += `(allocated: ${r.allocation_info.role ?? ''})`
      const reservations = reservationsOf(r)
      if (reservations.length > 0) {
        const one = (i: ReservationInfo): string => {
          let t = `${i.type ?? 'UNKNOWN'},${i.role ?? ''}`
          if (i.principal !== undefined) t += `,${i.principal}`
          if (i.labels !== undefined)
            t += `,{${(i.labels.labels ?? []).map((l) => (l.value !== undefined ? `${l.key}: ${l.value}` : l.key)).join(', ')}}`
          return `(${t})`
        }
        head += `(reservations: [${reservations.map(one).join(',')}])`
      }
      if (r.disk !== undefined) {
        let d = ''
        if (r.disk.persistence !== undefined) d += r.disk.persistence.id
        if (r.disk.volume !== undefined) d += `:${r.disk.volume.container_path}`
        head += `[${d}]`
      }
      if (r.revocable !== undefined) head += '{REV}'
      if (r.type === 'RANGES') return `${head}:[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`
      if (r.type === 'SET') return `${head}:{${(r.set?.item ?? []).join(', ')}}`
      return `${head}:${scalarText(r.scalar?.value ?? 0)}`
    })
    .join('; ')
}

// ---------------------------------------------------------------- executor/agent-side copies

/** Copies with `role` set to `role` (e.g. "*" as the master reports unreserved resources). */
export function withRole(rs: readonly Resource[], role: string): Resource[] {
  return rs.map((r) => ({...copy(r), role}))
}

/** Copies without `role` (what executors see, Surprise 29) — allocation_info is kept. */
export function withoutRole(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => {
    const c = copy(r)
    delete c.role
    return c
  })
}

/** Copies without `role` and `allocation_info` (AgentInfo.resources as executors see them). */
export function bareResources(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => {
    const c = copy(r)
    delete c.role
    delete c.allocation_info
    return c
  })
}
