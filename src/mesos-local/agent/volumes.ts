/**
 * Checkpointed resources and persistent volumes on the local agent (Mesos slave.cpp `checkpointResources`,
 * `syncCheckpointedResources`, the launch check in `_run`, and the posix filesystem isolator's `update`).
 *
 *   - The checkpointed total: what the master last sent (AgentPort.checkpointResources), in the refinement format,
 *     persisted in `<work dir>/meta/resources.json` (checkpoint.ts). Once there is one, it is the agent's total.
 *   - A volume (a disk with `disk.persistence.id`) lives in `<work dir>/volumes/roles/<role>/<persistence id>`,
 *     role = its last reservation's role (a `/` in it becomes a space, as in Mesos). A new volume gets its
 *     directory (an existing one is kept as it is); a volume gone from the total has its directory removed.
 *   - A launch whose task or executor uses a dynamically reserved resource or a volume that the checkpointed total
 *     does not contain is refused (unknownCheckpointed), as Mesos does with TASK_DROPPED / TASK_LOST.
 *   - An executor's "container" holds the volumes of its executor resources and of its live tasks: each one with
 *     a container path without `/` is the symlink `<sandbox>/<container_path>` → the volume directory, made
 *     before the process starts or the task is delivered, removed once no live task or the executor uses it,
 *     and when the executor ends. The data stays in the volume.
 * Invariant: nothing outside `<work dir>/volumes/roles/` is ever created or removed for a volume.
 */
import fs from 'node:fs'
import path from 'node:path'
import type {Resource} from '../../lib/mesos/types.js'
import {mesosText} from '../reservations.js'
import {writeResourcesCheckpoint} from './checkpoint.js'
import {isTerminal, type AgentState, type ExecutorRecord, type MountedVolume} from './state.js'

export const isVolume = (r: Resource): boolean => typeof r.disk?.persistence?.id === 'string'

/** Role a resource is reserved to now: its last reservation's (refinement), else `role` (pre-refinement). */
export function reservationRole(r: Resource): string | undefined {
  const rs = r.reservations
  if (rs && rs.length > 0) return rs[rs.length - 1]!.role
  return r.role !== undefined && r.role !== '*' ? r.role : undefined
}

/** Dynamically reserved or a persistent volume: what the agent must know before a task may use it (needCheckpointing). */
function needsCheckpointing(r: Resource): boolean {
  return isVolume(r) || (r.reservations ?? []).some((x) => x.type === 'DYNAMIC') || r.reservation !== undefined
}

/** `<work dir>/volumes/roles/<role>/<id>`, or undefined when the role or id would leave that directory. */
export function volumeDir(workDir: string, r: Resource): string | undefined {
  const role = reservationRole(r)
  const id = r.disk?.persistence?.id
  if (!role || !id) return undefined
  const part = role.replace(/\//g, ' ')
  const bad = (s: string): boolean => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')
  if (bad(part) || bad(id)) return undefined
  return path.join(workDir, 'volumes', 'roles', part, id)
}

function volumeDirs(agent: AgentState, total: readonly Resource[]): Map<string, Resource> {
  const out = new Map<string, Resource>()
  for (const r of total) {
    if (!isVolume(r)) continue
    const dir = volumeDir(agent.options.workDir, r)
    if (dir) out.set(dir, r)
    else agent.options.log(`Ignoring persistent volume '${r.disk?.persistence?.id}': invalid role or persistence id for a path`)
  }
  return out
}

/** The checkpointed total without allocation_info (a total is never allocated). */
function unallocated(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => {
    const {allocation_info: _a, ...rest} = r
    return rest as Resource
  })
}

/** AgentPort.checkpointResources: persist the new total, create new volumes' directories, remove dropped ones. */
export function checkpointResources(agent: AgentState, total: readonly Resource[]): void {
  const o = agent.options
  const next = unallocated(total)
  const prev = agent.checkpointed ?? []
  if (agent.checkpointed && JSON.stringify(prev) === JSON.stringify(next)) return
  const before = volumeDirs(agent, prev)
  const after = volumeDirs(agent, next)
  // As Mesos (syncCheckpointedResources, then the checkpoint): directories first, then the file and its log line.
  for (const dir of after.keys()) if (!before.has(dir)) fs.mkdirSync(dir, {recursive: true})
  for (const [dir, r] of before) {
    if (after.has(dir)) continue
    o.log(`Deleting persistent volume '${r.disk?.persistence?.id}' at '${dir}'`)
    if (!fs.existsSync(dir)) o.log(`Failed to find persistent volume '${r.disk?.persistence?.id}' at '${dir}'`)
    else fs.rmSync(dir, {recursive: true, force: true})
  }
  writeResourcesCheckpoint(o.workDir, next)
  agent.checkpointed = next
  // Like Mesos' log line, which shows only the resources that need checkpointing.
  const show = (rs: readonly Resource[]): string => (rs.some(needsCheckpointing) ? mesosText(rs.filter(needsCheckpointing)) : '{}')
  o.log(`Updated checkpointed resources from ${show(prev)} to ${show(next)}`)
}

/** The reservation stack of a resource in either format (pre-refinement: `role` + `reservation`). */
function stack(r: Resource): string {
  const rs = r.reservations ?? (r.reservation !== undefined ? [{type: 'DYNAMIC', role: r.role, principal: r.reservation.principal}] : [])
  return JSON.stringify(rs.map((x) => [x.type, x.role, x.principal ?? null]))
}

const sameReservations = (a: Resource, b: Resource): boolean => stack(a) === stack(b)

/** Is `r` (one resource a task or executor uses) within the checkpointed total? */
function contained(total: readonly Resource[], r: Resource): boolean {
  const id = r.disk?.persistence?.id
  return total.some(
    (t) =>
      t.name === r.name &&
      sameReservations(t, r) &&
      t.disk?.persistence?.id === id &&
      (r.scalar === undefined || (t.scalar !== undefined && t.scalar.value + 1e-9 >= r.scalar.value)) &&
      (r.ranges === undefined || t.ranges !== undefined),
  )
}

/** The first resource in `rs` that needs checkpointing and is unknown to the agent, if any. */
export function unknownCheckpointed(agent: AgentState, rs: readonly Resource[]): Resource | undefined {
  const total = agent.checkpointed ?? []
  return rs.filter(needsCheckpointing).find((r) => !contained(total, r))
}

/** The volumes an executor's container holds now: its own resources' and its live (or queued) tasks'. */
function containerVolumes(agent: AgentState, ex: ExecutorRecord): Resource[] {
  const tasks = [...agent.tasks.values()].filter((t) => t.frameworkId === ex.frameworkId && t.executorId === ex.id && !isTerminal(t.state))
  return [...(ex.info.resources ?? []), ...tasks.flatMap((t) => t.info.resources ?? [])].filter(isVolume)
}

/**
 * Make the executor's sandbox links match its container's volumes (posix isolator `update`): remove the links of
 * volumes no longer used, add links for new ones. Returns an error text when a link cannot be made.
 */
export function syncVolumes(agent: AgentState, ex: ExecutorRecord): string | undefined {
  const o = agent.options
  const wanted = new Map<string, {id: string; target: string; text: string}>()
  for (const r of containerVolumes(agent, ex)) {
    const cp = r.disk?.volume?.container_path ?? ''
    const target = volumeDir(o.workDir, r)
    if (cp === '' || cp.includes('/') || cp === '.' || cp === '..' || !target) {
      o.log(
        `Skipping updating symlink for persistent volume ${mesosText([r])} of container ${ex.containerId} because the container path '${cp}' contains slash`,
      )
      continue
    }
    wanted.set(path.join(ex.directory, cp), {id: r.disk!.persistence!.id, target, text: mesosText([r])})
  }
  const mounted = ex.volumes ?? []
  const kept: MountedVolume[] = []
  for (const m of mounted) {
    if (wanted.get(m.link)?.target === m.target) {
      kept.push(m)
      continue
    }
    unlink(agent, ex, m)
  }
  let error: string | undefined
  for (const [link, v] of wanted) {
    if (kept.some((m) => m.link === link)) continue
    try {
      fs.mkdirSync(ex.directory, {recursive: true})
      fs.mkdirSync(v.target, {recursive: true})
      o.log(`Adding symlink from '${v.target}' to '${link}' for persistent volume ${v.text} of container ${ex.containerId}`)
      fs.symlinkSync(v.target, link)
      kept.push({id: v.id, link, target: v.target, text: v.text})
    } catch (e) {
      error ??= `Failed to symlink persistent volume from '${v.target}' to '${link}': ${(e as Error).message}`
    }
  }
  ex.volumes = kept
  return error
}

/** The container is gone: remove every link it had (the volumes' data stays). */
export function removeVolumes(agent: AgentState, ex: ExecutorRecord): void {
  for (const m of ex.volumes ?? []) unlink(agent, ex, m)
  ex.volumes = []
}

function unlink(agent: AgentState, ex: ExecutorRecord, m: MountedVolume): void {
  agent.options.log(`Removing symlink '${m.link}' for persistent volume ${m.text ?? `'${m.id}'`} of container ${ex.containerId}`)
  try {
    fs.rmSync(m.link, {force: true})
  } catch (e) {
    agent.options.log(`Failed to remove the symlink '${m.link}': ${(e as Error).message}`)
  }
}
