/**
 * The local agent's checkpoint: everything needed to recover after an agent crash, as one JSON document
 * at `<workDir>/meta/agent.json` (Mesos keeps a tree under `<work_dir>/meta`; one file is enough here).
 * Written atomically (temp file + rename). Reading validates the shape and names the problem.
 *
 * Snapshot (saveCheckpoint): the agent id and address, frameworks not being removed, executors not
 * TERMINATED, all task records, and the status update streams. Recovery from it: recovery.ts.
 *
 * The checkpointed resources (the total the master last sent: reservations, persistent volumes) are a file of
 * their own, `<workDir>/meta/resources.json`, as Mesos keeps `meta/resources/` apart from the agent's
 * `meta/slaves/`: they are kept by a clean stop and recovered by whatever agent starts on the work dir next.
 * Work dirs from before it have no such file (= no checkpointed resources).
 */
import fs from 'node:fs'
import path from 'node:path'
import type {ExecutorInfo, FrameworkID, FrameworkInfo, Resource, TaskInfo, TaskState, TaskStatus} from '../../lib/mesos/types.js'
import type {AgentState, MountedVolume} from './state.js'
import type {StreamSnapshot} from './status-updates.js'

export const CHECKPOINT_VERSION = 1

export interface CheckpointedExecutor {
  frameworkId: string
  id: string
  kind: 'custom' | 'command'
  info: ExecutorInfo
  containerId: string
  directory: string
  pid?: number
  state: 'REGISTERING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED'
  queued: TaskInfo[]
  killing?: boolean
  /** Persistent volumes linked into the sandbox (absent in checkpoints from before volumes). */
  volumes?: MountedVolume[]
}

export interface CheckpointedTask {
  frameworkId: string
  executorId: string
  info: TaskInfo
  state: TaskState
  statuses: TaskStatus[]
}

export interface AgentCheckpoint {
  version: number
  agentId: string
  ip: string
  port: number
  frameworks: (FrameworkInfo & {id: FrameworkID})[]
  executors: CheckpointedExecutor[]
  tasks: CheckpointedTask[]
  updates: StreamSnapshot[]
}

export class CheckpointError extends Error {
  constructor(file: string, problem: string) {
    super(`agent checkpoint ${file}: ${problem}`)
    this.name = 'CheckpointError'
  }
}

export function checkpointPath(workDir: string): string {
  return path.join(workDir, 'meta', 'agent.json')
}

export function writeCheckpoint(workDir: string, cp: AgentCheckpoint): void {
  writeJsonAtomically(checkpointPath(workDir), cp)
}

/** Writes `doc` as JSON to `file` atomically (a temp file renamed over it). */
function writeJsonAtomically(file: string, doc: unknown): void {
  fs.mkdirSync(path.dirname(file), {recursive: true})
  const tmp = `${file}.tmp-${process.pid}`
  fs.writeFileSync(tmp, JSON.stringify(doc))
  fs.renameSync(tmp, file)
}

/**
 * A checkpoint file's document: undefined when there is none; CheckpointError when it cannot be read, is not JSON,
 * or is not an object of CHECKPOINT_VERSION.
 */
function readVersionedJson(file: string): Record<string, unknown> | undefined {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CheckpointError(file, (e as Error).message)
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new CheckpointError(file, `not JSON (${(e as Error).message})`)
  }
  const version = (doc as {version?: unknown} | null)?.version
  if (typeof doc !== 'object' || doc === null || version !== CHECKPOINT_VERSION)
    throw new CheckpointError(file, `unsupported checkpoint version ${String(version)}, expected ${CHECKPOINT_VERSION}`)
  return doc as Record<string, unknown>
}

/** What the agent writes to its checkpoint now. */
export function checkpointSnapshot(agent: AgentState): AgentCheckpoint {
  return {
    version: CHECKPOINT_VERSION,
    agentId: agent.id,
    ip: agent.options.ip,
    port: agent.tcpPort,
    frameworks: [...agent.frameworks.values()].filter((f) => !f.removing).map((f) => f.info),
    executors: [...agent.executors.values()]
      .filter((e) => e.state !== 'TERMINATED')
      .map((e) => ({
        frameworkId: e.frameworkId,
        id: e.id,
        kind: e.kind,
        info: e.info,
        containerId: e.containerId,
        directory: e.directory,
        ...(e.pid !== undefined ? {pid: e.pid} : {}),
        state: e.state,
        queued: e.queued,
        ...(e.killing ? {killing: true} : {}),
        ...(e.volumes?.length ? {volumes: e.volumes} : {}),
      })),
    tasks: [...agent.tasks.values()],
    updates: agent.updates.snapshot(),
  }
}

/** Rewrite the checkpoint (while running and registered once). */
export function saveCheckpoint(agent: AgentState): void {
  if (!agent.running || !agent.id) return
  writeCheckpoint(agent.options.workDir, checkpointSnapshot(agent))
}

export function removeCheckpoint(workDir: string): void {
  fs.rmSync(checkpointPath(workDir), {force: true})
}

/** The checkpoint, or undefined when there is none. Throws CheckpointError when it is unreadable. */
export function readCheckpoint(workDir: string): AgentCheckpoint | undefined {
  const file = checkpointPath(workDir)
  const cp = readVersionedJson(file) as AgentCheckpoint | undefined
  if (cp === undefined) return undefined
  if (typeof cp.agentId !== 'string' || typeof cp.port !== 'number') throw new CheckpointError(file, 'missing agentId or port')
  for (const k of ['frameworks', 'executors', 'tasks', 'updates'] as const) {
    if (!Array.isArray(cp[k])) throw new CheckpointError(file, `'${k}' is not a list`)
  }
  return cp
}

export function resourcesCheckpointPath(workDir: string): string {
  return path.join(workDir, 'meta', 'resources.json')
}

/** Persist the checkpointed resources (atomically). */
export function writeResourcesCheckpoint(workDir: string, total: readonly Resource[]): void {
  writeJsonAtomically(resourcesCheckpointPath(workDir), {version: CHECKPOINT_VERSION, resources: total})
}

/** The checkpointed resources, or undefined when there are none. Throws CheckpointError when unreadable. */
export function readResourcesCheckpoint(workDir: string): Resource[] | undefined {
  const file = resourcesCheckpointPath(workDir)
  const doc = readVersionedJson(file)
  if (doc === undefined) return undefined
  const rs = doc.resources
  if (!Array.isArray(rs) || !rs.every((r) => typeof r === 'object' && r !== null && typeof (r as Resource).name === 'string')) {
    throw new CheckpointError(file, "'resources' is not a list of resources")
  }
  return rs as Resource[]
}
