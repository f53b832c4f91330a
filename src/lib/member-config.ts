/**
 * The contract between the scheduler and the executor.
 *
 * 1. `TaskInfo.data` (base64 of UTF-8 JSON) holds a MemberConfig: a versioned document owned by the
 *    scheduler that tells the executor which etcd member to run. `parseMemberConfig` validates it
 *    and names the first problem it finds.
 * 2. Framework MESSAGEs (base64 of UTF-8 JSON) carry re-seed instructions from the scheduler (optionally
 *    forced) and progress reports from the executor, each with an operation id.
 */
import type {S3Options} from './backup/s3-options.js'
import {parseBackupTargetUrl} from './backup/url.js'
import {type AutoCompaction, autoCompactionProblem, quotaProblem} from './etcd/space-settings.js'

export const MEMBER_CONFIG_VERSION = 1

export interface InitialPeer {
  name: string
  peerUrl: string
}

export interface MemberTls {
  /** Files on the agent (absolute paths). Client TLS: clientCert/clientKey/trustedCa. Peer TLS: peer*. */
  clientCertFile?: string
  clientKeyFile?: string
  clientTrustedCaFile?: string
  peerCertFile?: string
  peerKeyFile?: string
  peerTrustedCaFile?: string
}

export type MemberTlsKey = keyof MemberTls
export const MEMBER_TLS_KEYS: readonly MemberTlsKey[] = [
  'clientCertFile',
  'clientKeyFile',
  'clientTrustedCaFile',
  'peerCertFile',
  'peerKeyFile',
  'peerTrustedCaFile',
]
export type MemberTlsContent = Partial<Record<MemberTlsKey, string>>
/** Largest PEM file shipped in a MemberConfig (a CA bundle of a few dozen certificates fits). */
export const MAX_TLS_PEM_BYTES = 256 * 1024

export interface MemberConfig {
  version: 1
  cluster: {name: string; token: string}
  member: {name: string; host: string; peerPort: number; clientPort: number}
  /** Every member of the cluster this one starts with, itself included. */
  initialCluster: InitialPeer[]
  initialClusterState: 'new' | 'existing'
  /** Absolute, or relative to the sandbox. Default `etcd_data` in the sandbox. */
  dataDir?: string
  /** Restart in place: the executor refuses to start etcd (TASK_FAILED) when dataDir holds no etcd data (`member/`). */
  requireData?: boolean
  /** Default `/usr/bin/etcd`. */
  etcdBin?: string
  /**
   * etcd's `etcdctl`, used only to restore a backup (`restore`). Default: `etcdctl` beside etcdBin (`/usr/bin/etcdctl`
   * by default); resolved against the sandbox like etcdBin.
   */
  etcdctlBin?: string
  /** Extra etcd flags, each one argv element (never split on spaces). */
  extraArgs?: string[]
  /** etcd's --quota-backend-bytes (serve --etcd-quota-backend-bytes); etcd's default (2 GiB) when absent. */
  quotaBackendBytes?: number
  /** etcd's --auto-compaction-mode / --auto-compaction-retention (serve --etcd-auto-compaction-*); none when absent. */
  autoCompaction?: AutoCompaction
  /** `http` (default) or `https`; with https, `tls` names the certificate files. */
  scheme?: 'http' | 'https'
  tls?: MemberTls
  /**
   * The TLS files' contents (PEM), shipped by the scheduler (serve reads its --etcd-*-file flags): the executor
   * writes each into `<sandbox>/tls/<key>.pem` (mode 0600) and etcd uses those files instead of `tls`' paths. This is
   * how new certificates reach the members in a rotation (a rolling relaunch). Absent: `tls` names files on the agent.
   */
  tlsContent?: MemberTlsContent
  /**
   * Restore (issue 15): start this member from a backup instead of an empty data dir. Set by the scheduler only
   * on members launched with initialClusterState 'new' (a restore bootstraps a new cluster; members that join
   * later get the data from raft). See MemberRestore.
   */
  restore?: MemberRestore
}

/**
 * A member to be started from a backup. When the data dir holds no etcd data, the executor, before starting etcd:
 * fetches the full backup `fullId` from `target` (verifying it), and when `deltaIds` is not empty replays their
 * events up to `toRevision` on a private one-member etcd (loopback, ephemeral ports, never advertised) and takes a
 * snapshot of that; then restores the resulting snapshot into the data dir with THIS config's membership
 * (initialCluster, cluster.token, member name and peer URL), so every member launched with the same
 * MemberRestore starts from the same data. When the data dir already holds etcd data, `restore` is ignored
 * (a relaunch of a member that was already restored); it is ignored too with `requireData` (a restart in place
 * never starts from an old backup) or initialClusterState 'existing'. Any failure: TASK_FAILED with a message naming
 * the backup and the problem; nothing is left in the data dir. Needs etcd's `etcdctl` on the agent (etcdctlBin).
 */
export interface MemberRestore {
  /** The restore operation id (for logs and progress). */
  op: string
  /** The backup target URL (file:///dir or s3://bucket/prefix). */
  target: string
  /** S3 settings (endpoint, region, credentials) when target is s3://. Never logged by the executor. */
  s3?: S3Options
  /** The full backup to start from. */
  fullId: string
  /** Delta backups to replay after it, oldest first (may be empty). */
  deltaIds: string[]
  /** Replay delta events up to and including this revision; null: all events of `deltaIds`. */
  toRevision: number | null
}

export class MemberConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MemberConfigError'
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const HOST_RE = /^[A-Za-z0-9.-]{1,253}$|^\[[0-9a-fA-F:]+\]$/
/** etcd peer URLs are scheme://host:port (no path); the host follows HOST_RE, so no quotes, spaces or `$(`. */
const PEER_URL_RE = /^https?:\/\/([A-Za-z0-9.-]{1,253}|\[[0-9a-fA-F:]+\]):[0-9]{1,5}$/

function fail(msg: string): never {
  throw new MemberConfigError(`invalid member config: ${msg}`)
}
function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
function str(o: Record<string, unknown>, key: string, where: string, re?: RegExp): string {
  const v = o[key]
  if (typeof v !== 'string' || v.length === 0) fail(`${where}.${key} must be a non-empty string`)
  if (re && !re.test(v)) fail(`${where}.${key} ${JSON.stringify(v)} has invalid characters`)
  return v
}
function port(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) fail(`${where}.${key} must be a port number (1-65535)`)
  return v
}
function optStr(o: Record<string, unknown>, key: string, where: string): string | undefined {
  if (o[key] === undefined) return undefined
  return str(o, key, where)
}

/** A backup id (full or delta) as the backup library names them (manifest.ts): `<yyyymmddThhmmss.mmmZ>-r<revision>`. */
const BACKUP_ID_RE = /^\d{8}T\d{6}\.\d{3}Z-r\d{1,19}$/
const S3_STRING_KEYS = [
  'endpoint',
  'region',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'credentialsFile',
  'profile',
  'caFile',
] as const

function backupIdOf(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${where} must be a non-empty string`)
  if (!BACKUP_ID_RE.test(v)) fail(`${where} ${JSON.stringify(v.slice(0, 80))} is not a backup id (<yyyymmddThhmmss.mmmZ>-r<revision>)`)
  return v
}

/** Validates MemberConfig.restore; messages name the field, never an S3 value (secrets). */
function validateRestore(raw: unknown): MemberRestore {
  if (!isObj(raw)) fail('restore must be an object')
  const op = str(raw, 'op', 'restore')
  if (op.length > 128) fail('restore.op must be at most 128 characters')
  if (/[\u0000-\u001f\u007f]/.test(op)) fail('restore.op must not contain control characters')
  const target = str(raw, 'target', 'restore')
  try {
    parseBackupTargetUrl(target)
  } catch (err) {
    fail(`restore.target: ${(err as Error).message}`)
  }
  const fullId = backupIdOf(raw.fullId, 'restore.fullId')
  if (!Array.isArray(raw.deltaIds)) fail('restore.deltaIds must be an array of backup ids (may be empty)')
  const deltaIds = raw.deltaIds.map((d, i) => backupIdOf(d, `restore.deltaIds[${i}]`))
  if (new Set(deltaIds).size !== deltaIds.length) fail('restore.deltaIds lists a backup id twice')
  if (deltaIds.includes(fullId)) fail('restore.deltaIds lists the full backup (restore.fullId)')
  const t = raw.toRevision
  if (t !== null && !(typeof t === 'number' && Number.isSafeInteger(t) && t >= 0))
    fail('restore.toRevision must be null or a non-negative integer')
  const out: MemberRestore = {op, target, fullId, deltaIds, toRevision: t}
  if (raw.s3 !== undefined) {
    if (!isObj(raw.s3)) fail('restore.s3 must be an object')
    const s3: S3Options = {}
    for (const k of Object.keys(raw.s3)) {
      if (k !== 'forcePathStyle' && !(S3_STRING_KEYS as readonly string[]).includes(k))
        fail(`restore.s3 has an unknown field ${JSON.stringify(k.slice(0, 40))}`)
    }
    for (const k of S3_STRING_KEYS) {
      const v = raw.s3[k]
      if (v === undefined) continue
      if (typeof v !== 'string' || v.length === 0) fail(`restore.s3.${k} must be a non-empty string`)
      s3[k] = v
    }
    if (raw.s3.forcePathStyle !== undefined) {
      if (typeof raw.s3.forcePathStyle !== 'boolean') fail('restore.s3.forcePathStyle must be a boolean')
      s3.forcePathStyle = raw.s3.forcePathStyle
    }
    out.s3 = s3
  }
  return out
}

/** Validates a decoded JSON value as a MemberConfig; throws MemberConfigError naming the problem. */
export function validateMemberConfig(raw: unknown): MemberConfig {
  if (!isObj(raw)) fail('not a JSON object')
  if (raw.version !== MEMBER_CONFIG_VERSION)
    fail(`unsupported version ${JSON.stringify(raw.version)} (this executor reads version ${MEMBER_CONFIG_VERSION})`)
  if (!isObj(raw.cluster)) fail('cluster must be an object')
  const cluster = {name: str(raw.cluster, 'name', 'cluster', NAME_RE), token: str(raw.cluster, 'token', 'cluster')}
  if (!isObj(raw.member)) fail('member must be an object')
  const member = {
    name: str(raw.member, 'name', 'member', NAME_RE),
    host: str(raw.member, 'host', 'member', HOST_RE),
    peerPort: port(raw.member, 'peerPort', 'member'),
    clientPort: port(raw.member, 'clientPort', 'member'),
  }
  if (member.peerPort === member.clientPort) fail('member.peerPort and member.clientPort must differ')
  if (!Array.isArray(raw.initialCluster) || raw.initialCluster.length === 0) fail('initialCluster must be a non-empty array')
  const initialCluster: InitialPeer[] = raw.initialCluster.map((p, i) => {
    if (!isObj(p)) fail(`initialCluster[${i}] must be an object`)
    const peerUrl = str(p, 'peerUrl', `initialCluster[${i}]`)
    if (!PEER_URL_RE.test(peerUrl)) fail(`initialCluster[${i}].peerUrl ${JSON.stringify(peerUrl)} is not an http(s)://host:port URL`)
    return {name: str(p, 'name', `initialCluster[${i}]`, NAME_RE), peerUrl}
  })
  if (!initialCluster.some((p) => p.name === member.name)) fail(`initialCluster does not list the member itself (${member.name})`)
  const names = new Set(initialCluster.map((p) => p.name))
  if (names.size !== initialCluster.length) fail('initialCluster lists a name twice')
  if (raw.initialClusterState !== 'new' && raw.initialClusterState !== 'existing') fail('initialClusterState must be "new" or "existing"')
  const cfg: MemberConfig = {version: 1, cluster, member, initialCluster, initialClusterState: raw.initialClusterState}
  const dataDir = optStr(raw, 'dataDir', 'config')
  if (dataDir !== undefined) cfg.dataDir = dataDir
  if (raw.requireData !== undefined) {
    if (typeof raw.requireData !== 'boolean') fail('requireData must be a boolean')
    if (raw.requireData) cfg.requireData = true
  }
  const etcdBin = optStr(raw, 'etcdBin', 'config')
  if (etcdBin !== undefined) cfg.etcdBin = etcdBin
  const etcdctlBin = optStr(raw, 'etcdctlBin', 'config')
  if (etcdctlBin !== undefined) cfg.etcdctlBin = etcdctlBin
  if (raw.extraArgs !== undefined) {
    if (!Array.isArray(raw.extraArgs) || !raw.extraArgs.every((a) => typeof a === 'string' && a.startsWith('--'))) {
      fail('extraArgs must be an array of strings each starting with "--"')
    }
    cfg.extraArgs = raw.extraArgs as string[]
  }
  if (raw.quotaBackendBytes !== undefined) {
    const p = quotaProblem(raw.quotaBackendBytes)
    if (p) fail(p)
    cfg.quotaBackendBytes = raw.quotaBackendBytes as number
  }
  if (raw.autoCompaction !== undefined) {
    const p = autoCompactionProblem(raw.autoCompaction)
    if (p) fail(p)
    const a = raw.autoCompaction as unknown as AutoCompaction
    cfg.autoCompaction = {mode: a.mode, retention: a.retention}
  }
  if (raw.scheme !== undefined) {
    if (raw.scheme !== 'http' && raw.scheme !== 'https') fail('scheme must be "http" or "https"')
    cfg.scheme = raw.scheme
  }
  if (raw.tls !== undefined) {
    if (!isObj(raw.tls)) fail('tls must be an object')
    const tls: MemberTls = {}
    for (const k of MEMBER_TLS_KEYS) {
      const v = optStr(raw.tls, k, 'tls')
      if (v !== undefined) tls[k] = v
    }
    cfg.tls = tls
  }
  if (raw.tlsContent !== undefined) {
    if (!isObj(raw.tlsContent)) fail('tlsContent must be an object')
    const content: MemberTlsContent = {}
    for (const [k, v] of Object.entries(raw.tlsContent)) {
      if (!(MEMBER_TLS_KEYS as readonly string[]).includes(k))
        fail(`tlsContent.${k} is not a TLS file (one of ${MEMBER_TLS_KEYS.join(', ')})`)
      if (typeof v !== 'string' || !v.includes('-----BEGIN ')) fail(`tlsContent.${k} must be PEM text`)
      if (Buffer.byteLength(v) > MAX_TLS_PEM_BYTES) fail(`tlsContent.${k} is larger than ${MAX_TLS_PEM_BYTES} bytes`)
      content[k as MemberTlsKey] = v
    }
    cfg.tlsContent = content
  }
  if (raw.restore !== undefined) cfg.restore = validateRestore(raw.restore)
  return cfg
}

/** Decodes `TaskInfo.data` (base64 JSON) into a validated MemberConfig. */
export function parseMemberConfig(dataBase64: string | undefined): MemberConfig {
  if (dataBase64 === undefined || dataBase64 === '') fail('TaskInfo.data is empty')
  const text = Buffer.from(dataBase64, 'base64').toString('utf8')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    fail(`TaskInfo.data is not JSON (${(err as Error).message})`)
  }
  return validateMemberConfig(raw)
}

export function encodeMemberConfig(cfg: MemberConfig): string {
  return Buffer.from(JSON.stringify(cfg), 'utf8').toString('base64')
}

export function peerUrlOf(cfg: MemberConfig): string {
  return `${cfg.scheme ?? 'http'}://${cfg.member.host}:${cfg.member.peerPort}`
}
export function clientUrlOf(cfg: MemberConfig): string {
  return `${cfg.scheme ?? 'http'}://${cfg.member.host}:${cfg.member.clientPort}`
}

// ---- framework messages (scheduler <-> executor) ----

/**
 * Scheduler → executor. Without `force` the executor first checks its own member: when a linearizable read
 * through it succeeds, the cluster has a working quorum and the re-seed is refused ('failed'). `force: true`
 * (an operator's forced re-seed) skips that check. Encoded only when true.
 */
export type SchedulerToExecutor = {type: 'reseed'; op: string; force?: boolean}

/** Executor → scheduler: progress of a re-seed, one message per step. */
export type ReseedStep = 'accepted' | 'stopping' | 'backup' | 'force-new-cluster' | 'serving-alone' | 'restarting' | 'done' | 'failed'
export type ExecutorToScheduler = {type: 'reseed-progress'; op: string; step: ReseedStep; message?: string; revision?: number}

export function encodeFrameworkMessage(msg: SchedulerToExecutor | ExecutorToScheduler): string {
  const out = msg.type === 'reseed' ? {type: msg.type, op: msg.op, ...(msg.force === true ? {force: true} : {})} : msg
  return Buffer.from(JSON.stringify(out), 'utf8').toString('base64')
}

/** Decodes a framework message; returns null for anything that is not one of ours (never throws). */
export function decodeFrameworkMessage(dataBase64: string): SchedulerToExecutor | ExecutorToScheduler | null {
  try {
    const v = JSON.parse(Buffer.from(dataBase64, 'base64').toString('utf8')) as Record<string, unknown>
    if (!isObj(v) || typeof v.op !== 'string' || v.op.length === 0 || v.op.length > 128) return null
    if (v.type === 'reseed') return v.force === true ? {type: 'reseed', op: v.op, force: true} : {type: 'reseed', op: v.op}
    const steps: ReseedStep[] = ['accepted', 'stopping', 'backup', 'force-new-cluster', 'serving-alone', 'restarting', 'done', 'failed']
    if (v.type === 'reseed-progress' && typeof v.step === 'string' && (steps as string[]).includes(v.step)) {
      const out: ExecutorToScheduler = {type: 'reseed-progress', op: v.op, step: v.step as ReseedStep}
      if (typeof v.message === 'string') out.message = v.message
      if (typeof v.revision === 'number') out.revision = v.revision
      return out
    }
    return null
  } catch {
    return null
  }
}
