/**
 * The reservation and volume leak check of the resilience matrix run with a role (issue 14): after a scenario,
 * counted from the master's own view (`/master/slaves`, whose `reserved_resources_full` lists every dynamic
 * reservation and persistent volume by role — `/master/state` has only the flattened sums), never from the
 * scheduler's report. The role is this run's alone (one local Mesos per scenario), so everything reserved to it
 * belongs to the cluster under test.
 *
 * A leak (reservationLeaks, pure):
 *  - a persistent volume on an agent where no running member of the cluster has its task;
 *  - more than one volume on one agent (the member there uses one);
 *  - resources reserved to the role on an agent where no running member has its task;
 *  - more volumes than running members.
 */
import type {MemberView} from '../helpers/serve.js'

interface SlaveResource {
  name: string
  scalar?: {value: number}
  disk?: {persistence?: {id?: string}}
}

export interface SlaveView {
  id: string
  hostname?: string
  reserved_resources_full?: Record<string, SlaveResource[]>
}

export interface Reserved {
  agentId: string
  volumes: string[]
  /** Names of the reserved resources that are not volumes (cpus, mem, disk, ports). */
  other: string[]
}

/** What is reserved to `role` on each agent that has anything reserved to it. */
export function reservedTo(slaves: readonly SlaveView[], role: string): Reserved[] {
  const out: Reserved[] = []
  for (const s of slaves) {
    const rs = s.reserved_resources_full?.[role] ?? []
    if (rs.length === 0) continue
    const volumes = rs.filter((r) => r.disk?.persistence?.id).map((r) => r.disk!.persistence!.id!)
    const other = rs.filter((r) => !r.disk?.persistence?.id).map((r) => r.name)
    out.push({agentId: s.id, volumes, other})
  }
  return out
}

export function reservationLeaks(reserved: readonly Reserved[], members: readonly MemberView[]): string[] {
  const running = new Set(members.filter((m) => m.state === 'TASK_RUNNING').map((m) => m.agent_id))
  const leaks: string[] = []
  let volumes = 0
  for (const r of reserved) {
    volumes += r.volumes.length
    if (!running.has(r.agentId)) {
      for (const v of r.volumes) leaks.push(`volume ${v} on agent ${r.agentId}, where no member runs`)
      if (r.other.length > 0) leaks.push(`${r.other.join(', ')} reserved on agent ${r.agentId}, where no member runs`)
    } else if (r.volumes.length > 1) {
      leaks.push(`${r.volumes.length} volumes on agent ${r.agentId} (${r.volumes.join(', ')}), where one member runs`)
    }
  }
  if (volumes > running.size) leaks.push(`${volumes} volumes for ${running.size} running members`)
  return leaks
}

export async function fetchSlaves(masterUrl: string): Promise<SlaveView[]> {
  const res = await fetch(`${masterUrl}/master/slaves`, {signal: AbortSignal.timeout(5000)})
  if (res.status !== 200) throw new Error(`GET /master/slaves: HTTP ${res.status}`)
  return ((await res.json()) as {slaves: SlaveView[]}).slaves
}
