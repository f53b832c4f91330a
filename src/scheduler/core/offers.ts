/**
 * Pure offer matching: does this offer fit one etcd member (task + executor), and with exactly which
 * resources? Returns accept (the resources to put in TaskInfo / ExecutorInfo) or decline with a reason.
 *
 * Rules:
 * - Resources are COPIED from the offer (role, reservation(s), allocation_info and any other field kept);
 *   only amounts shrink. A request is split over several offered resources of the same name when needed
 *   (e.g. part reserved, part `*`); reserved resources are used first. Never a zero-amount resource.
 * - Revocable resources and disk resources carrying `disk` info (volumes, mount disks) are not used.
 * - Scalars are computed in thousandths (Mesos' fixed-point precision), so 0.1 + 1 never drifts.
 * - Two ports (peer, client) are picked from any offered ranges, in ascending order, without assuming
 *   contiguity or that the first range has two ports.
 * - An agent (or host, with singleInstancePerHost) already hosting a member is declined.
 */
import type {Offer, Range, Resource} from '../../lib/mesos/types.js'

export interface ResourceRequest {
  cpus: number
  mem: number
  disk: number
  executorCpus: number
  executorMem: number
}

export interface OfferConstraints {
  /** Agents that already host a member (or a pending launch). */
  busyAgents?: ReadonlySet<string>
  /** Hostnames that already host a member (only with singleInstancePerHost). */
  busyHosts?: ReadonlySet<string>
  /** Only this agent will do (relaunch for a member already added to etcd). */
  agentId?: string
  /** These exact ports are needed (relaunch for a member already added to etcd). */
  ports?: {peer: number; client: number}
}

export type OfferMatch =
  | {
      ok: true
      offerId: string
      agentId: string
      hostname: string
      peerPort: number
      clientPort: number
      taskResources: Resource[]
      executorResources: Resource[]
    }
  | {ok: false; offerId: string; agentId: string; reason: string}

const HOST_RE = /^[A-Za-z0-9.-]{1,253}$/

function milli(v: number): number {
  return Math.round(v * 1000)
}
function fmt(m: number): string {
  return String(m / 1000)
}
function isReserved(r: Resource): boolean {
  return (
    (r.role !== undefined && r.role !== '*') || (Array.isArray(r.reservations) && r.reservations.length > 0) || r.reservation !== undefined
  )
}
function usable(r: Resource): boolean {
  if (r.revocable !== undefined) return false
  if (r.name === 'disk' && r.disk !== undefined) return false
  return true
}
/** Reserved first, then in offer order (stable). */
function ordered(offer: Offer, name: string): Resource[] {
  const rs = (offer.resources ?? []).filter((r) => r.name === name && usable(r))
  return [...rs.filter(isReserved), ...rs.filter((r) => !isReserved(r))]
}

class ScalarPool {
  private readonly entries: {res: Resource; left: number}[]
  constructor(offer: Offer, name: string) {
    this.entries = ordered(offer, name)
      .filter((r) => r.type === 'SCALAR' && typeof r.scalar?.value === 'number' && r.scalar.value > 0)
      .map((res) => ({res, left: milli(res.scalar!.value)}))
  }
  total(): number {
    return this.entries.reduce((a, e) => a + e.left, 0)
  }
  /** Takes `amount` (thousandths); null if not enough. Returns copies with shrunk amounts. */
  take(amount: number): Resource[] | null {
    if (amount <= 0) return []
    if (this.total() < amount) return null
    const out: Resource[] = []
    let need = amount
    for (const e of this.entries) {
      if (need === 0) break
      const n = Math.min(need, e.left)
      if (n <= 0) continue
      e.left -= n
      need -= n
      out.push({...structuredClone(e.res), scalar: {value: n / 1000}})
    }
    return out
  }
}

function pickPorts(offer: Offer, count: number): {ports: number[]; resources: Resource[]} | null {
  const picked: {res: Resource; port: number}[] = []
  for (const res of ordered(offer, 'ports')) {
    if (res.type !== 'RANGES') continue
    const ranges = [...(res.ranges?.range ?? [])].sort((a, b) => a.begin - b.begin)
    for (const rg of ranges) {
      for (let p = Math.max(1, rg.begin); p <= Math.min(65535, rg.end) && picked.length < count; p++) {
        if (!picked.some((x) => x.port === p)) picked.push({res, port: p})
      }
      if (picked.length === count) break
    }
    if (picked.length === count) break
  }
  if (picked.length < count) return null
  return {ports: picked.map((x) => x.port), resources: portResources(picked)}
}

function portResources(picked: {res: Resource; port: number}[]): Resource[] {
  const out: Resource[] = []
  for (const res of new Set(picked.map((x) => x.res))) {
    const ports = picked
      .filter((x) => x.res === res)
      .map((x) => x.port)
      .sort((a, b) => a - b)
    const range: Range[] = []
    for (const p of ports) {
      const last = range[range.length - 1]
      if (last && last.end + 1 === p) last.end = p
      else range.push({begin: p, end: p})
    }
    out.push({...structuredClone(res), ranges: {range}})
  }
  return out
}

function findPort(offer: Offer, port: number): Resource | null {
  for (const res of ordered(offer, 'ports')) {
    if (res.type === 'RANGES' && (res.ranges?.range ?? []).some((r) => r.begin <= port && port <= r.end)) return res
  }
  return null
}

function totalPorts(offer: Offer): number {
  return ordered(offer, 'ports').reduce(
    (a, r) => a + (r.ranges?.range ?? []).reduce((b, rg) => b + Math.max(0, rg.end - rg.begin + 1), 0),
    0,
  )
}

export function matchOffer(offer: Offer, req: ResourceRequest, c: OfferConstraints = {}): OfferMatch {
  const offerId = offer.id.value
  const agentId = offer.agent_id.value
  const no = (reason: string): OfferMatch => ({ok: false, offerId, agentId, reason})
  if (c.agentId !== undefined && c.agentId !== agentId) return no(`waiting for an offer from agent ${c.agentId}`)
  if (c.busyAgents?.has(agentId)) return no(`agent ${agentId} already hosts a member`)
  if (c.busyHosts?.has(offer.hostname)) return no(`host ${offer.hostname} already hosts a member`)
  if (!HOST_RE.test(offer.hostname ?? '')) return no(`hostname ${JSON.stringify(offer.hostname)} cannot be used in an etcd URL`)

  const cpus = new ScalarPool(offer, 'cpus')
  const mem = new ScalarPool(offer, 'mem')
  const disk = new ScalarPool(offer, 'disk')
  const short: string[] = []
  const needCpus = milli(req.cpus) + milli(req.executorCpus)
  const needMem = milli(req.mem) + milli(req.executorMem)
  const needDisk = milli(req.disk)
  if (cpus.total() < needCpus) short.push(`cpus: need ${fmt(needCpus)}, offered ${fmt(cpus.total())}`)
  if (mem.total() < needMem) short.push(`mem: need ${fmt(needMem)}, offered ${fmt(mem.total())}`)
  if (disk.total() < needDisk) short.push(`disk: need ${fmt(needDisk)}, offered ${fmt(disk.total())}`)

  let ports: {ports: number[]; resources: Resource[]} | null
  if (c.ports) {
    const pr = findPort(offer, c.ports.peer)
    const cr = findPort(offer, c.ports.client)
    if (!pr || !cr) short.push(`ports: need ${c.ports.peer} and ${c.ports.client}, not both offered`)
    ports =
      pr && cr
        ? {
            ports: [c.ports.peer, c.ports.client],
            resources: portResources([
              {res: pr, port: c.ports.peer},
              {res: cr, port: c.ports.client},
            ]),
          }
        : null
  } else {
    ports = pickPorts(offer, 2)
    if (!ports) short.push(`ports: need 2, offered ${totalPorts(offer)}`)
  }
  if (short.length > 0 || !ports) return no(`insufficient resources: ${short.join('; ')}`)

  const execRes = [...cpus.take(milli(req.executorCpus))!, ...mem.take(milli(req.executorMem))!]
  const taskRes = [...cpus.take(milli(req.cpus))!, ...mem.take(milli(req.mem))!, ...disk.take(needDisk)!, ...ports.resources]
  return {
    ok: true,
    offerId,
    agentId,
    hostname: offer.hostname,
    peerPort: ports.ports[0]!,
    clientPort: ports.ports[1]!,
    taskResources: taskRes,
    executorResources: execRes,
  }
}
