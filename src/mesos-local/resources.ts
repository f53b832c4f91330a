/**
 * Mesos resources for the embedded local Mesos: parsing the agent's `--resources` text and pure
 * arithmetic on Resource[] (JSON form, see ../lib/mesos/types.ts). No I/O, no clock.
 *
 * Text grammar (a subset of Mesos' `Resources::parse`):
 *   resources = resource *(";" resource) ; resource = name ["(" role ")"] ":" value
 *   value     = number (SCALAR) | "[" range *("," range) "]" (RANGES, range = begin "-" end) |
 *               "{" item *("," item) "}" (SET)
 *   e.g. `cpus:2;mem:4096;disk:10000;ports:[31000-32000]`
 *
 * Identity: two resources are "the same kind" (and combine) when name, type, reservations (the stack of
 * ReservationInfo, read from `reservations` or from the pre-refinement `role`/`reservation`: reservationsOf),
 * DiskInfo (a persistent volume is its own kind) and revocability match; allocation_info is ignored (it says who
 * holds an offer, not what the resource is). Results keep the other fields of the left operand's first resource of
 * that kind. A persistent volume is contained only whole (Mesos' `subtractable`: volumes are equal or distinct).
 * Scalars use Mesos' fixed-point precision of 3 decimals. Ranges are kept sorted, merged and
 * non-overlapping (adjacent ranges coalesce: [1-2],[3-4] → [1-4]).
 */
import type {Range, Resource} from '../lib/mesos/types.js'
import {isPersistentVolume, reservationsOf, stableJson} from './reservations.js'

export {bareResources, isPersistentVolume, reservationsOf, withoutRole, withRole} from './reservations.js'

export class ResourceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ResourceError'
  }
}

/** Mesos keeps scalars as fixed-point with 3 decimal digits. */
export function roundScalar(v: number): number {
  return Math.round(v * 1000) / 1000
}

// ---------------------------------------------------------------- ranges

/** Sorted, merged copy of `ranges` (adjacent and overlapping ranges coalesce). */
export function normaliseRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.map((r) => ({begin: r.begin, end: r.end})).sort((a, b) => a.begin - b.begin || a.end - b.end)
  const out: Range[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end)
    else out.push(r)
  }
  return out
}

export function addRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  return normaliseRanges([...a, ...b])
}

/** `a` minus `b` (what `a` covers that `b` does not). */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let cur = normaliseRanges(a)
  for (const s of normaliseRanges(b)) {
    const next: Range[] = []
    for (const r of cur) {
      if (s.end < r.begin || s.begin > r.end) {
        next.push(r)
        continue
      }
      if (s.begin > r.begin) next.push({begin: r.begin, end: s.begin - 1})
      if (s.end < r.end) next.push({begin: s.end + 1, end: r.end})
    }
    cur = next
  }
  return cur
}

/** True iff every value in `b` is inside `a`. */
export function rangesContain(a: readonly Range[], b: readonly Range[]): boolean {
  return subtractRanges(b, a).length === 0
}

/** Mesos' text form of ranges: `[31000-31001, 31005-31005]`. */
export function formatRanges(ranges: readonly Range[]): string {
  return `[${normaliseRanges(ranges)
    .map((r) => `${r.begin}-${r.end}`)
    .join(', ')}]`
}

// ---------------------------------------------------------------- parsing

function parseRangesText(name: string, text: string): Range[] {
  const inner = text.slice(1, -1).trim()
  if (inner === '') return []
  return inner.split(',').map((part) => {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part)
    if (!m) throw new ResourceError(`Invalid range '${part.trim()}' in resource '${name}': expected <begin>-<end>`)
    const begin = Number(m[1])
    const end = Number(m[2])
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin > end) {
      throw new ResourceError(`Invalid range '${part.trim()}' in resource '${name}': begin must be <= end`)
    }
    return {begin, end}
  })
}

/**
 * Parse `cpus:2;mem:4096;disk:10000;ports:[31000-32000]` into Resource[] (one entry per name/role,
 * repeated names are added up). A role in parentheses (`cpus(*):2`) is kept only when it is not "*".
 * Throws ResourceError naming the bad part.
 */
export function parseResources(text: string): Resource[] {
  const parsed: Resource[] = []
  for (const raw of text.split(';')) {
    const part = raw.trim()
    if (part === '') continue
    const colon = part.indexOf(':')
    if (colon <= 0) throw new ResourceError(`Invalid resource '${part}': expected <name>:<value>`)
    const head = part.slice(0, colon).trim()
    const value = part.slice(colon + 1).trim()
    const m = /^([A-Za-z0-9_.\-/]+)(?:\(([^()]*)\))?$/.exec(head)
    if (!m) throw new ResourceError(`Invalid resource name '${head}'`)
    const name = m[1]!
    const role = m[2]
    const base: Resource = {name, type: 'SCALAR'}
    if (role !== undefined && role !== '*') base.role = role
    if (value.startsWith('[')) {
      if (!value.endsWith(']')) throw new ResourceError(`Invalid ranges '${value}' for resource '${name}': missing ']'`)
      parsed.push({...base, type: 'RANGES', ranges: {range: normaliseRanges(parseRangesText(name, value))}})
    } else if (value.startsWith('{')) {
      if (!value.endsWith('}')) throw new ResourceError(`Invalid set '${value}' for resource '${name}': missing '}'`)
      const items = value
        .slice(1, -1)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
      parsed.push({...base, type: 'SET', set: {item: [...new Set(items)]}})
    } else {
      if (!/^[0-9]*\.?[0-9]+$/.test(value)) {
        throw new ResourceError(`Invalid scalar '${value}' for resource '${name}': expected a non-negative number`)
      }
      parsed.push({...base, type: 'SCALAR', scalar: {value: roundScalar(Number(value))}})
    }
  }
  return addResources([], parsed)
}

// ---------------------------------------------------------------- arithmetic

function kindKey(r: Resource): string {
  const reservations = reservationsOf(r).map((i) => stableJson({type: i.type, role: i.role, principal: i.principal, labels: i.labels}))
  return [r.name, r.type, reservations.join(','), r.disk ? stableJson(r.disk) : '', r.revocable ? 'R' : ''].join('\u0000')
}

function cloneResource(r: Resource): Resource {
  return JSON.parse(JSON.stringify(r)) as Resource
}

function isEmptyResource(r: Resource): boolean {
  switch (r.type) {
    case 'SCALAR':
      return (r.scalar?.value ?? 0) <= 0
    case 'RANGES':
      return (r.ranges?.range.length ?? 0) === 0
    case 'SET':
      return (r.set?.item.length ?? 0) === 0
    default:
      return false
  }
}

function combine(into: Resource, other: Resource, sign: 1 | -1): void {
  switch (into.type) {
    case 'SCALAR':
      into.scalar = {value: roundScalar((into.scalar?.value ?? 0) + sign * (other.scalar?.value ?? 0))}
      break
    case 'RANGES': {
      const a = into.ranges?.range ?? []
      const b = other.ranges?.range ?? []
      into.ranges = {range: sign === 1 ? addRanges(a, b) : subtractRanges(a, b)}
      break
    }
    case 'SET': {
      const a = new Set(into.set?.item ?? [])
      for (const i of other.set?.item ?? []) {
        if (sign === 1) a.add(i)
        else a.delete(i)
      }
      into.set = {item: [...a]}
      break
    }
    default:
      break
  }
}

/** a + b (same kinds combined; order: a's kinds first, then new kinds of b). */
export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const out = new Map<string, Resource>()
  for (const r of [...a, ...b]) {
    const k = kindKey(r)
    const have = out.get(k)
    if (have) combine(have, r, 1)
    else out.set(k, cloneResource(r))
  }
  return [...out.values()].filter((r) => !isEmptyResource(r))
}

/** a − b; kinds that drop to zero/empty disappear. Scalars never go below zero (clamped). */
export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const out = addResources([], a)
  const byKey = new Map(out.map((r) => [kindKey(r), r] as const))
  for (const r of b) {
    const have = byKey.get(kindKey(r))
    if (!have) continue
    combine(have, r, -1)
    if (have.type === 'SCALAR' && (have.scalar?.value ?? 0) < 0) have.scalar = {value: 0}
  }
  return out.filter((r) => !isEmptyResource(r))
}

/** True iff `a` contains all of `b`. */
export function containsResources(a: readonly Resource[], b: readonly Resource[]): boolean {
  const have = new Map(addResources([], a).map((r) => [kindKey(r), r] as const))
  for (const want of addResources([], b)) {
    const h = have.get(kindKey(want))
    if (!h) return false
    switch (want.type) {
      case 'SCALAR':
        if (roundScalar((h.scalar?.value ?? 0) - (want.scalar?.value ?? 0)) < 0) return false
        if (isPersistentVolume(want) && roundScalar(h.scalar?.value ?? 0) !== roundScalar(want.scalar?.value ?? 0)) return false
        break
      case 'RANGES':
        if (!rangesContain(h.ranges?.range ?? [], want.ranges?.range ?? [])) return false
        break
      case 'SET': {
        const hs = new Set(h.set?.item ?? [])
        if (!(want.set?.item ?? []).every((i) => hs.has(i))) return false
        break
      }
      default:
        return false
    }
  }
  return true
}

export function isEmptyResources(rs: readonly Resource[]): boolean {
  return rs.every(isEmptyResource)
}

/** Total of scalar `name` (all roles). */
export function scalarOf(rs: readonly Resource[], name: string): number {
  return roundScalar(rs.filter((r) => r.name === name && r.type === 'SCALAR').reduce((s, r) => s + (r.scalar?.value ?? 0), 0))
}

/** Union of RANGES `name` (all roles). */
export function rangesOf(rs: readonly Resource[], name: string): Range[] {
  return normaliseRanges(rs.filter((r) => r.name === name && r.type === 'RANGES').flatMap((r) => r.ranges?.range ?? []))
}

/**
 * The flattened form of the /state endpoints: `{disk, mem, gpus, cpus, ...other scalars, ports: "[a-b, c-d]"}`
 * (disk/mem/gpus/cpus always present, RANGES as text, SETs as `{a,b}` text).
 */
export function flattenResources(rs: readonly Resource[]): Record<string, number | string> {
  const out: Record<string, number | string> = {disk: 0, mem: 0, gpus: 0, cpus: 0}
  for (const r of addResources([], rs)) {
    if (r.type === 'SCALAR') out[r.name] = roundScalar(Number(out[r.name] ?? 0) + (r.scalar?.value ?? 0))
  }
  const rangeNames = [...new Set(rs.filter((r) => r.type === 'RANGES').map((r) => r.name))]
  for (const n of rangeNames) {
    const rr = rangesOf(rs, n)
    if (rr.length > 0) out[n] = formatRanges(rr)
  }
  const setNames = [...new Set(rs.filter((r) => r.type === 'SET').map((r) => r.name))]
  for (const n of setNames) {
    const items = [...new Set(rs.filter((r) => r.name === n).flatMap((r) => r.set?.item ?? []))]
    if (items.length > 0) out[n] = `{${items.join(',')}}`
  }
  return out
}

/** Mesos-style text: `cpus:2; mem:4096; ports:[31000-32000]` (the reservation role shown when reserved). */
export function formatResources(rs: readonly Resource[]): string {
  return addResources([], rs)
    .map((r) => {
      const role = reservationsOf(r).at(-1)?.role
      const head = role !== undefined ? `${r.name}(${role})` : r.name
      if (r.type === 'SCALAR') return `${head}:${r.scalar?.value ?? 0}`
      if (r.type === 'RANGES') return `${head}:${formatRanges(r.ranges?.range ?? [])}`
      if (r.type === 'SET') return `${head}:{${(r.set?.item ?? []).join(',')}}`
      return `${head}:?`
    })
    .join('; ')
}
