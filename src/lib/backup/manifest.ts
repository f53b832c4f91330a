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
 */
import {BackupError} from './errors.js'

export const MANIFEST_FORMAT = 'etcd-mesos-backup/1'
export const MANIFEST_SUFFIX = '.manifest.json'
export const DATA_SUFFIX = '.snapshot.db'

export type BackupKind = 'full'

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT
  id: string
  kind: BackupKind
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
  if (o.kind !== 'full') bad(`unknown kind ${JSON.stringify(o.kind)} (expected 'full')`)
  const createdAt = str('createdAt')
  const t = Date.parse(createdAt)
  if (!Number.isFinite(t) || new Date(t).toISOString() !== createdAt) bad(`'createdAt' ${JSON.stringify(createdAt)} is not an ISO UTC time`)
  const revision = int('revision')
  if (backupId(t, revision) !== id) bad(`'id' ${id} does not match createdAt ${createdAt} and revision ${revision}`)
  const size = int('size')
  if (size < 32 + 512 || (size - 32) % 512 !== 0) bad(`'size' ${size} is not an etcd snapshot's (a multiple of 512, plus 32)`)
  const sha256 = str('sha256')
  if (!/^[0-9a-f]{64}$/.test(sha256)) bad(`'sha256' must be 64 lowercase hex digits`)
  const data = str('data')
  if (data !== dataName(id)) bad(`'data' ${JSON.stringify(data)} (expected ${dataName(id)})`)
  const clusterId = str('clusterId')
  const memberId = str('memberId')
  if (!DEC_RE.test(clusterId) || !DEC_RE.test(memberId)) bad(`'clusterId' and 'memberId' must be decimal ids`)
  return {
    format: MANIFEST_FORMAT,
    id,
    kind: 'full',
    createdAt,
    revision,
    size,
    sha256,
    data,
    clusterId,
    memberId,
    endpoint: str('endpoint'),
    etcdVersion: typeof o.etcdVersion === 'string' ? o.etcdVersion : bad(`'etcdVersion' must be a string`),
  }
}
