/**
 * /master/roles of the local master (fixtures 09 and 13): every framework role and every role holding reservations,
 * with quantities (scalars summed, ranges counted) of what its frameworks use and hold in offers and what is
 * reserved to it. Pure reader of the master's state (state.ts).
 */
import type {Resource} from '../../lib/mesos/types.js'
import {addResources} from '../resources.js'
import {isReserved, reservedByRole} from '../reservations.js'
import {offeredTo, totalOf, usedBy} from './accounting.js'
import type {FrameworkRec, MasterState} from './state.js'

type Json = Record<string, unknown>

function quantities(rs: readonly Resource[]): Json {
  const out: Json = {}
  for (const r of rs) {
    if (r.type === 'SCALAR') out[r.name] = ((out[r.name] as number | undefined) ?? 0) + (r.scalar?.value ?? 0)
    if (r.type === 'RANGES')
      out[r.name] = (r.ranges?.range ?? []).reduce((n, x) => n + x.end - x.begin + 1, (out[r.name] as number | undefined) ?? 0)
  }
  return out
}

/**
 * /master/roles: the frameworks' roles and the roles holding reservations. `reserved` sums the role's reservations on
 * all agents; quota.consumed = reserved + allocated unreserved resources (fixture 13).
 */
export function rolesJson(m: MasterState): Json {
  const byRole = new Map<string, FrameworkRec[]>()
  const reserved = new Map<string, Resource[]>()
  for (const a of m.agents.values()) {
    for (const [role, rs] of reservedByRole(totalOf(a))) {
      reserved.set(role, addResources(reserved.get(role) ?? [], rs))
      if (!byRole.has(role)) byRole.set(role, [])
    }
  }
  for (const fw of m.frameworks.values()) for (const r of fw.roles) byRole.set(r, [...(byRole.get(r) ?? []), fw])
  return {
    roles: [...byRole]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, fws]) => {
        const used = addResources(
          [],
          fws.flatMap((f) => usedBy(m, f.id)),
        )
        const offered = addResources(
          [],
          fws.flatMap((f) => offeredTo(m, f.id)),
        )
        const mine = reserved.get(name) ?? []
        return {
          name,
          weight: 1,
          quota: {
            role: name,
            guarantee: {},
            limit: {},
            consumed: quantities(
              addResources(
                mine,
                used.filter((r) => !isReserved(r)),
              ),
            ),
          },
          resources: quantities(addResources(used, offered)),
          allocated: quantities(used),
          offered: quantities(offered),
          reserved: quantities(mine),
          frameworks: fws.map((f) => f.id),
        }
      }),
  }
}
