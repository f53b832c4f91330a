/**
 * The persisted document (written whole, with versioned writes, by the driver) and the initial state.
 * Holds the framework id, task records (dead ones too, until their member is gone), the member
 * counter, the cluster token, re-seed progress, operation records, stats and, with a role, the members'
 * volume records (agent, persistence id, reserved resources; a task's `volumeId` must name one).
 * `serializePersistedDoc` / `parsePersistedDoc` convert to/from JSON text; parse validates and throws
 * PersistedDocError naming the first problem.
 */
import {TASK_STATES} from '../../lib/mesos/types.js'
import type {SchedulerConfig} from './config.js'
import {randomHex} from './ids.js'
import {emptyMaintenance} from './maintenance-state.js'
import {emptyStats} from './state.js'
import type {RolloutProgress} from './rollout-spec.js'
import type {OperationRecord, ReseedProgress, RestoreProgress, SchedulerState, Stats, TaskRecord, VolumeRecord} from './state.js'

export const PERSISTED_DOC_VERSION = 1

export interface PersistedDoc {
  version: 1
  clusterName: string
  frameworkId: string | null
  clusterToken: string
  bootstrapped: boolean
  nextMemberIndex: number
  tasks: TaskRecord[]
  reseed: ReseedProgress | null
  operations: OperationRecord[]
  stats: Stats
  /** Members' reservations and volumes (with a role). Absent in documents written before volumes: none. */
  volumes?: VolumeRecord[]
  /** A restore in progress (restore.ts). Absent in documents written before restores: none. */
  restore?: RestoreProgress | null
  /** The current or last rollout (rollout.ts). Absent in documents written before rollouts: none. */
  rollout?: RolloutProgress | null
}

export class PersistedDocError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PersistedDocError'
  }
}

export function initialState(config: SchedulerConfig, seed: number): SchedulerState {
  const s: SchedulerState = {
    config,
    rng: seed >>> 0,
    phase: 'LOADING',
    episode: 'MUTABLE',
    connection: {master: null, subscribedSince: null, disconnectedSince: null},
    bootstrapped: false,
    frameworkId: null,
    clusterToken: '',
    nextMemberIndex: 1,
    tasks: {},
    strays: {},
    membership: null,
    memberListReq: null,
    unbackedSince: {},
    pendingAdd: null,
    memberOp: null,
    memberOpRetryAt: 0,
    topologyGen: 0,
    offers: {},
    bootstrapWaitStart: null,
    offersWanted: null,
    reconcile: null,
    lastImplicitReconcileAt: null,
    lostReconcile: null,
    declinedWanted: false,
    memberOpFailures: 0,
    health: {
      verdict: null,
      observedAt: null,
      gen: -1,
      checkReq: null,
      seq: 0,
      appliedSeq: 0,
      inFlight: [],
      probes: [],
      probesUnplanned: false,
      lostQuorumSince: null,
      livelocked: false,
      lastReseedFailedAt: null,
    },
    reseed: null,
    restore: null,
    rollout: null,
    totalLossSince: null,
    operations: [],
    stats: emptyStats(),
    persistedJson: null,
    persistRetryAt: null,
    timers: {},
    removedAgents: {},
    inPlace: null,
    reseedSteps: {},
    volumes: {},
    leftovers: {},
    sweepUntil: null,
    maintenance: emptyMaintenance(),
  }
  s.clusterToken = `${config.clusterName}-${randomHex(s, 12)}`
  return s
}

export function toPersistedDoc(s: SchedulerState): PersistedDoc {
  return {
    version: PERSISTED_DOC_VERSION,
    clusterName: s.config.clusterName,
    frameworkId: s.frameworkId,
    clusterToken: s.clusterToken,
    bootstrapped: s.bootstrapped,
    nextMemberIndex: s.nextMemberIndex,
    tasks: Object.values(s.tasks).sort((a, b) => (a.taskId < b.taskId ? -1 : 1)),
    reseed: s.reseed,
    restore: s.restore,
    rollout: s.rollout,
    operations: s.operations,
    stats: s.stats,
    volumes: Object.values(s.volumes).sort((a, b) => (a.persistenceId < b.persistenceId ? -1 : 1)),
  }
}

export function serializePersistedDoc(doc: PersistedDoc): string {
  return JSON.stringify(doc)
}

/** Copies a loaded document into a state (used by the PersistedStateLoaded handler, which sets the mode). */
export function applyPersistedDoc(s: SchedulerState, doc: PersistedDoc): void {
  s.frameworkId = doc.frameworkId
  s.clusterToken = doc.clusterToken
  s.bootstrapped = doc.bootstrapped
  s.nextMemberIndex = doc.nextMemberIndex
  s.tasks = {}
  for (const t of doc.tasks) s.tasks[t.taskId] = {...t}
  s.reseed = doc.reseed ? {...doc.reseed, resumed: true} : null
  s.restore = doc.restore ? {...structuredClone(doc.restore), resumed: true} : null
  s.rollout = doc.rollout ? {...structuredClone(doc.rollout), requestedAt: null} : null
  s.operations = doc.operations.map((o) => ({...o}))
  s.stats = {...emptyStats(), ...doc.stats}
  s.volumes = {}
  for (const v of doc.volumes ?? []) s.volumes[v.persistenceId] = structuredClone(v)
}

const KNOWN_TASK_STATES: ReadonlySet<string> = new Set<string>(TASK_STATES)

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Parses and validates the persisted JSON text. */
export function parsePersistedDoc(text: string): PersistedDoc {
  const bad = (msg: string): never => {
    throw new PersistedDocError(`invalid persisted scheduler state: ${msg}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    return bad(`not JSON (${(err as Error).message})`)
  }
  if (!isObj(raw)) return bad('not a JSON object')
  if (raw.version !== PERSISTED_DOC_VERSION)
    return bad(`unsupported version ${JSON.stringify(raw.version)} (this scheduler reads version ${PERSISTED_DOC_VERSION})`)
  if (typeof raw.clusterName !== 'string' || raw.clusterName === '') bad('clusterName must be a non-empty string')
  if (raw.frameworkId !== null && (typeof raw.frameworkId !== 'string' || raw.frameworkId === ''))
    bad('frameworkId must be null or a non-empty string')
  if (typeof raw.clusterToken !== 'string' || raw.clusterToken === '') bad('clusterToken must be a non-empty string')
  if (typeof raw.bootstrapped !== 'boolean') bad('bootstrapped must be a boolean')
  if (!Number.isInteger(raw.nextMemberIndex) || (raw.nextMemberIndex as number) < 1) bad('nextMemberIndex must be an integer >= 1')
  if (!Array.isArray(raw.tasks)) return bad('tasks must be an array')
  raw.tasks.forEach((t, i) => {
    checkTask(t, i, bad)
  })
  if (raw.reseed !== null) checkReseed(raw.reseed, bad)
  if (raw.restore !== undefined && raw.restore !== null) checkRestore(raw.restore, bad)
  if (raw.rollout !== undefined && raw.rollout !== null) checkRollout(raw.rollout, bad)
  if (!Array.isArray(raw.operations)) bad('operations must be an array')
  if (raw.volumes !== undefined) {
    if (!Array.isArray(raw.volumes)) bad('volumes must be an array when present')
    ;(raw.volumes as unknown[]).forEach((v, i) => {
      checkVolume(v, i, bad)
    })
    const ids = new Set((raw.volumes as {persistenceId: string}[]).map((v) => v.persistenceId))
    raw.tasks.forEach((t, i) => {
      const vid = (t as Record<string, unknown>).volumeId
      if (vid !== undefined && !ids.has(vid as string)) bad(`tasks[${i}].volumeId ${JSON.stringify(vid)} has no volume record`)
    })
  }
  if (!isObj(raw.stats)) bad('stats must be an object')
  for (const [k, v] of Object.entries(raw.stats as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'number') bad(`stats.${k} must be a number or null`)
  }
  return raw as unknown as PersistedDoc
}

function checkTask(t: unknown, i: number, bad: (m: string) => never): void {
  if (!isObj(t)) bad(`tasks[${i}] must be an object`)
  const o = t as Record<string, unknown>
  for (const k of ['taskId', 'memberName', 'agentId', 'hostname']) {
    if (typeof o[k] !== 'string' || o[k] === '') bad(`tasks[${i}].${k} must be a non-empty string`)
  }
  for (const k of ['peerPort', 'clientPort']) {
    if (!Number.isInteger(o[k]) || (o[k] as number) < 1 || (o[k] as number) > 65535) bad(`tasks[${i}].${k} must be a port number`)
  }
  for (const k of ['launchedAt', 'lastUpdateAt']) if (typeof o[k] !== 'number') bad(`tasks[${i}].${k} must be a number`)
  if (typeof o.state !== 'string' || !KNOWN_TASK_STATES.has(o.state))
    bad(`tasks[${i}].state ${JSON.stringify(o.state)} is not a task state`)
  if (o.initialClusterState !== 'new' && o.initialClusterState !== 'existing')
    bad(`tasks[${i}].initialClusterState must be "new" or "existing"`)
  if (o.lostAt !== undefined && typeof o.lostAt !== 'number') bad(`tasks[${i}].lostAt must be a number when present`)
  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || !o.dataDir.startsWith('/')))
    bad(`tasks[${i}].dataDir must be an absolute path when present`)
  if (o.volumeId !== undefined && (typeof o.volumeId !== 'string' || o.volumeId === ''))
    bad(`tasks[${i}].volumeId must be a non-empty string when present`)
  if (o.inPlaceLaunchedAt !== undefined && typeof o.inPlaceLaunchedAt !== 'number')
    bad(`tasks[${i}].inPlaceLaunchedAt must be a number when present`)
}

function checkVolume(v: unknown, i: number, bad: (m: string) => never): void {
  if (!isObj(v)) bad(`volumes[${i}] must be an object`)
  const o = v as Record<string, unknown>
  for (const k of ['persistenceId', 'memberName', 'agentId', 'hostname', 'role', 'containerPath']) {
    if (typeof o[k] !== 'string' || o[k] === '') bad(`volumes[${i}].${k} must be a non-empty string`)
  }
  if (o.principal !== undefined && (typeof o.principal !== 'string' || o.principal === ''))
    bad(`volumes[${i}].principal must be a non-empty string when present`)
  if (typeof o.createdAt !== 'number') bad(`volumes[${i}].createdAt must be a number`)
  if (o.retiredAt !== undefined && typeof o.retiredAt !== 'number') bad(`volumes[${i}].retiredAt must be a number when present`)
  const r = o.reserved
  if (!isObj(r)) return bad(`volumes[${i}].reserved must be an object`)
  for (const k of ['cpus', 'mem', 'disk'])
    if (typeof r[k] !== 'number' || !((r[k] as number) >= 0)) bad(`volumes[${i}].reserved.${k} must be a number >= 0`)
  const ports = r.ports
  if (!Array.isArray(ports) || ports.length !== 2 || !ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535))
    bad(`volumes[${i}].reserved.ports must be two port numbers`)
}

function checkReseed(r: unknown, bad: (m: string) => never): void {
  if (!isObj(r)) bad('reseed must be null or an object')
  const o = r as Record<string, unknown>
  if (typeof o.op !== 'string' || o.op === '') bad('reseed.op must be a non-empty string')
  if (o.phase !== 'ranking' && o.phase !== 'seeding' && o.phase !== 'killing') bad(`reseed.phase ${JSON.stringify(o.phase)} is unknown`)
  if (!Array.isArray(o.candidates)) bad('reseed.candidates must be an array')
  if (!Number.isInteger(o.current)) bad('reseed.current must be an integer')
  if (!Array.isArray(o.messaged)) bad('reseed.messaged must be an array')
  if (typeof o.startedAt !== 'number') bad('reseed.startedAt must be a number')
  if (o.force !== undefined && typeof o.force !== 'boolean') bad('reseed.force must be a boolean when present')
}

function checkRestore(r: unknown, bad: (m: string) => never): void {
  if (!isObj(r)) bad('restore must be null or an object')
  const o = r as Record<string, unknown>
  for (const k of ['op', 'from', 'target']) if (typeof o[k] !== 'string' || o[k] === '') bad(`restore.${k} must be a non-empty string`)
  if (o.reason !== 'manual' && o.reason !== 'auto' && o.reason !== 'restore-from')
    bad(`restore.reason ${JSON.stringify(o.reason)} is unknown`)
  if (o.phase !== 'resolving' && o.phase !== 'killing' && o.phase !== 'bootstrapping')
    bad(`restore.phase ${JSON.stringify(o.phase)} is unknown`)
  if (typeof o.startedAt !== 'number') bad('restore.startedAt must be a number')
  if (o.toRevision !== null && !Number.isInteger(o.toRevision)) bad('restore.toRevision must be null or an integer')
  if (!Array.isArray(o.launched)) bad('restore.launched must be an array')
  if (o.phase !== 'resolving') {
    const p = o.plan
    if (!isObj(p)) return bad('restore.plan must be an object once resolved')
    if (typeof p.fullId !== 'string' || p.fullId === '') bad('restore.plan.fullId must be a non-empty string')
    if (!Array.isArray(p.deltaIds) || !p.deltaIds.every((d) => typeof d === 'string' && d !== ''))
      bad('restore.plan.deltaIds must be strings')
    if (!Number.isInteger(p.toRevision)) bad('restore.plan.toRevision must be an integer')
    if (typeof p.dataUntil !== 'string') bad('restore.plan.dataUntil must be a string')
  }
}

function checkRollout(r: unknown, bad: (m: string) => never): void {
  if (!isObj(r)) bad('rollout must be null or an object')
  const o = r as Record<string, unknown>
  if (typeof o.op !== 'string' || o.op === '') bad('rollout.op must be a non-empty string')
  if (!['running', 'paused', 'failed', 'done', 'refused', 'aborted'].includes(o.state as string))
    bad(`rollout.state ${JSON.stringify(o.state)} is unknown`)
  if (!['checking', 'backup', 'next', 'moving-leader', 'killing', 'launching', 'catching-up'].includes(o.step as string))
    bad(`rollout.step ${JSON.stringify(o.step)} is unknown`)
  if (!isObj(o.target) || typeof (o.target as Record<string, unknown>).etcdBin !== 'string') bad('rollout.target must be a member spec')
  for (const k of ['members', 'done']) {
    const v = o[k]
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(`rollout.${k} must be an array of member names`)
  }
  if (o.current !== null && !isObj(o.current)) bad('rollout.current must be null or an object')
  if (typeof o.startedAt !== 'number') bad('rollout.startedAt must be a number')
}
