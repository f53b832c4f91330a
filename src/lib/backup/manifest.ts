/**
 * The backup manifest: one small JSON object per backup, published (atomically) only after its data object was
 * written completely and verified. Its presence in the target is what makes a backup exist. Pure (no I/O).
 *
 *   id         <UTC yyyymmddThhmmss.mmmZ>-r<revision>, e.g. 20261203T141632.123Z-r1234 (sorts by time)
 *   objects    <id>.manifest.json (this JSON) and <id>.snapshot.db (the etcd snapshot, byte for byte as
 *              `etcdctl snapshot save` writes it: the bbolt database followed by its 32-byte sha256)
 *
 * Fields (format etcd-mesos-backup/1): format, id, kind ('full'), createdAt (ISO UTC, when the snapshot was
 * requested), revision (the member's revision just before the snapshot: every write up to it is in the backup),
 * size (bytes of the data object, hash included), sha256 (hex; etcd's trailing hash, of the first size-32 bytes),
 * data (the data object's name), clusterId, memberId, endpoint (the member it came from), etcdVersion.
 *
 * Delta backups (kind 'delta', same format): the keyspace's changes recorded from a watch after a full backup.
 *   id         <UTC time of the flush>-r<toRevision>;  objects <id>.manifest.json and <id>.delta.ndjson
 *   baseId     the full backup it extends; fromRevision (exclusive) = the previous delta's toRevision, or the
 *              base's revision for the first; toRevision (inclusive) = revision (the newest revision it holds);
 *   events     the number of events (puts and deletes) it holds; size / sha256 of the whole data object (plain
 *              sha256 of the file); clusterId (the base's), memberId / endpoint (the member watched last),
 *              etcdVersion (the base's).
 */
import {BackupError} from './errors.js'

export const MANIFEST_FORMAT = 'etcd-mesos-backup/1'
export const MANIFEST_SUFFIX = '.manifest.json'
export const DATA_SUFFIX = '.snapshot.db'
export const DELTA_SUFFIX = '.delta.ndjson'

export type BackupKind = 'full' | 'delta'

interface ManifestCommon {
  format: typeof MANIFEST_FORMAT
  id: string
  createdAt: string
  revision: number
  size: number
  sha256: string
  data: string
  clusterId: string
  memberId: string
  endpoint: string
  etcdVersion: string
}

export interface FullManifest extends ManifestCommon {
  kind: 'full'
}

export interface DeltaManifest extends ManifestCommon {
  kind: 'delta'
  /** The full backup this delta extends. */
  baseId: string
  /** Exclusive: the previous delta's toRevision, or the base's revision. */
  fromRevision: number
  /** Inclusive; equals `revision`. */
  toRevision: number
  /** Puts and deletes held. */
  events: number
}

/** A full backup's or a delta's manifest; `kind` tells which. */
export type BackupManifest = FullManifest | DeltaManifest

const ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-r(\d{1,19})$/
const DEC_RE = /^\d{1,20}$/

/** The backup id for a snapshot requested at `createdAtMs` (epoch ms) at `revision`. */
export function backupId(createdAtMs: number, revision: number): string {
  if (!Number.isSafeInteger(createdAtMs) || createdAtMs < 0) throw new RangeError(`backupId: bad time ${createdAtMs}`)
  if (!Number.isSafeInteger(revision) || revision < 0) throw new RangeError(`backupId: bad revision ${revision}`)
  const iso = new Date(createdAtMs).toISOString() // 2026-12-03T14:16:32.123Z
  return `${iso.replace(/[-:]/g, '')}-r${revision}`
}

export const manifestName = (id: string): string => `${id}${MANIFEST_SUFFIX}`
export const dataName = (id: string): string => `${id}${DATA_SUFFIX}`
export const deltaDataName = (id: string): string => `${id}${DELTA_SUFFIX}`
/** True when `id` has the shape of a backup id. */
export const isBackupId = (id: string): boolean => ID_RE.test(id)

/** The id of a manifest object's name, or undefined when `name` is not a manifest's. */
export function idOfManifestName(name: string): string | undefined {
  if (!name.endsWith(MANIFEST_SUFFIX)) return undefined
  const id = name.slice(0, -MANIFEST_SUFFIX.length)
  return ID_RE.test(id) ? id : undefined
}

/** Parses and validates a manifest's JSON text; `where` names it in errors (e.g. the object name). */
export function parseManifest(text: string, where: string): BackupManifest {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new BackupError('BAD_MANIFEST', `backup manifest ${where} is not JSON: ${(err as Error).message}`)
  }
  return validateManifest(v, where)
}

export function validateManifest(v: unknown, where: string): BackupManifest {
  const bad = (problem: string): never => {
    throw new BackupError('BAD_MANIFEST', `backup manifest ${where}: ${problem}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('not a JSON object')
  const o = v as Record<string, unknown>
  const str = (k: string): string => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : bad(`'${k}' must be a non-empty string`))
  const int = (k: string): number =>
    Number.isSafeInteger(o[k]) && (o[k] as number) >= 0 ? (o[k] as number) : bad(`'${k}' must be a non-negative integer`)
  if (o.format !== MANIFEST_FORMAT) bad(`unknown format ${JSON.stringify(o.format)} (expected ${MANIFEST_FORMAT})`)
  const id = str('id')
  if (!ID_RE.test(id)) bad(`'id' ${JSON.stringify(id)} is not <yyyymmddThhmmss.mmmZ>-r<revision>`)
  if (o.kind !== 'full' && o.kind !== 'delta') bad(`unknown kind ${JSON.stringify(o.kind)} (expected 'full' or 'delta')`)
  const createdAt = str('createdAt')
  const t = Date.parse(createdAt)
  if (!Number.isFinite(t) || new Date(t).toISOString() !== createdAt) bad(`'createdAt' ${JSON.stringify(createdAt)} is not an ISO UTC time`)
  const revision = int('revision')
  if (backupId(t, revision) !== id) bad(`'id' ${id} does not match createdAt ${createdAt} and revision ${revision}`)
  const size = int('size')
  const delta = o.kind === 'delta'
  if (!delta && (size < 32 + 512 || (size - 32) % 512 !== 0)) bad(`'size' ${size} is not an etcd snapshot's (a multiple of 512, plus 32)`)
  if (delta && size === 0) bad(`'size' must be > 0`)
  const sha256 = str('sha256')
  if (!/^[0-9a-f]{64}$/.test(sha256)) bad(`'sha256' must be 64 lowercase hex digits`)
  const data = str('data')
  const expectedData = delta ? deltaDataName(id) : dataName(id)
  if (data !== expectedData) bad(`'data' ${JSON.stringify(data)} (expected ${expectedData})`)
  const clusterId = str('clusterId')
  const memberId = str('memberId')
  if (!DEC_RE.test(clusterId) || !DEC_RE.test(memberId)) bad(`'clusterId' and 'memberId' must be decimal ids`)
  const common = {
    format: MANIFEST_FORMAT,
    id,
    createdAt,
    revision,
    size,
    sha256,
    data,
    clusterId,
    memberId,
    endpoint: str('endpoint'),
    etcdVersion: typeof o.etcdVersion === 'string' ? o.etcdVersion : bad(`'etcdVersion' must be a string`),
  } as const
  if (!delta) return {...common, kind: 'full'}
  const baseId = str('baseId')
  if (!ID_RE.test(baseId)) bad(`'baseId' ${JSON.stringify(baseId)} is not a backup id`)
  const fromRevision = int('fromRevision')
  const toRevision = int('toRevision')
  if (toRevision !== revision) bad(`'toRevision' ${toRevision} differs from 'revision' ${revision}`)
  if (fromRevision >= toRevision) bad(`'fromRevision' ${fromRevision} must be below 'toRevision' ${toRevision}`)
  const baseRevision = Number(/-r(\d+)$/.exec(baseId)![1])
  if (fromRevision < baseRevision) bad(`'fromRevision' ${fromRevision} is below its base ${baseId}'s revision`)
  const events = int('events')
  if (events < 1) bad(`'events' must be >= 1`)
  return {...common, kind: 'delta', baseId, fromRevision, toRevision, events}
}
