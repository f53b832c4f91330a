/**
 * Backups on a BackupTarget: take (stream a member's snapshot, verify, publish data then manifest), list, read
 * back (stream + verify again), copy to a local file for `etcdctl snapshot restore`, delete, apply retention.
 *
 * Invariants:
 *   - a backup exists iff its manifest is published; the manifest is published only after its data object was
 *     published complete and verified (etcd's trailing sha256), so every listed backup was verified when taken;
 *   - reading never trusts the target: every read verifies the size and hash against the manifest and etcd's
 *     trailing hash while streaming, and fails with CORRUPT naming the backup and the problem;
 *   - deleting unpublishes first (manifest, then data): a crash between leaves an unlisted data object only.
 */
import {createHash, randomBytes} from 'node:crypto'
import {open, rename, unlink} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'
import {BackupError, toBackupError} from './errors.js'
import {memberStatus, snapshotChunks, type SnapshotSourceOptions} from './etcd-snapshot.js'
import {
  backupId,
  dataName,
  deltaDataName,
  idOfManifestName,
  manifestName,
  MANIFEST_FORMAT,
  parseManifest,
  type BackupManifest,
} from './manifest.js'
import {expiredBackups, type RetentionPolicy} from './retention.js'
import type {BackupTarget} from './target.js'
import {SnapshotVerifier, verified} from './verify.js'

export interface TakeBackupOptions extends SnapshotSourceOptions {
  /** The member's client URL (http(s)://host:port). */
  endpoint: string
  target: BackupTarget
  /** Epoch ms; default Date.now. */
  now?: () => number
}

/** Streams a full snapshot from `endpoint` into `target`; resolves with the published manifest. */
export async function takeBackup(opts: TakeBackupOptions): Promise<BackupManifest> {
  const {endpoint, target} = opts
  const status = await memberStatus(endpoint, opts)
  const createdAtMs = (opts.now ?? Date.now)()
  const id = backupId(createdAtMs, status.revision)
  const verifier = new SnapshotVerifier(`the snapshot streamed from ${endpoint} for backup ${id}`)
  await target.put(dataName(id), verified(snapshotChunks(endpoint, opts), verifier))
  const digest = verifier.finish()
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    id,
    kind: 'full',
    createdAt: new Date(createdAtMs).toISOString(),
    revision: status.revision,
    size: digest.size,
    sha256: digest.sha256,
    data: dataName(id),
    clusterId: status.clusterId,
    memberId: status.memberId,
    endpoint,
    etcdVersion: status.version,
  }
  try {
    await target.put(manifestName(id), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`))
  } catch (err) {
    await target.delete(dataName(id)).catch(() => undefined)
    throw err
  }
  return manifest
}

export interface BackupListing {
  /** Valid manifests, newest first. */
  backups: BackupManifest[]
  /** Manifest objects that did not parse or validate (never used, reported). */
  invalid: {name: string; error: string}[]
}

export async function listBackups(target: BackupTarget): Promise<BackupListing> {
  const names = (await target.list()).filter((n) => idOfManifestName(n) !== undefined)
  const backups: BackupManifest[] = []
  const invalid: BackupListing['invalid'] = []
  for (const name of names) {
    try {
      const m = await readManifest(target, idOfManifestName(name)!)
      backups.push(m)
    } catch (err) {
      if ((err as BackupError).code === 'NOT_FOUND') continue // deleted meanwhile
      invalid.push({name, error: (err as Error).message})
    }
  }
  backups.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1))
  return {backups, invalid}
}

export async function readManifest(target: BackupTarget, id: string): Promise<BackupManifest> {
  const name = manifestName(id)
  const stream = await target.get(name).catch((err) => {
    if ((err as BackupError).code === 'NOT_FOUND') throw new BackupError('NOT_FOUND', `backup ${id} not found in ${target.url}`)
    throw err
  })
  const parts: Buffer[] = []
  let n = 0
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length
    if (n > 64 * 1024) {
      stream.destroy()
      throw new BackupError('BAD_MANIFEST', `backup manifest ${name} is larger than 64 KiB`)
    }
    parts.push(c)
  }
  const m = parseManifest(Buffer.concat(parts).toString('utf8'), name)
  if (m.id !== id) throw new BackupError('BAD_MANIFEST', `backup manifest ${name} holds id ${m.id}`)
  return m
}

/**
 * The backup's data, verified while it streams (the stream errors with CORRUPT at its end when it does not
 * verify): a full backup's against its manifest and etcd's trailing hash, a delta's against its manifest's size
 * and sha256.
 */
export async function readBackup(target: BackupTarget, id: string): Promise<{manifest: BackupManifest; stream: Readable}> {
  const manifest = await readManifest(target, id)
  const data = await target.get(manifest.data).catch((err) => {
    if ((err as BackupError).code === 'NOT_FOUND')
      throw new BackupError('CORRUPT', `backup ${id} is corrupt: its data ${manifest.data} is missing`)
    throw err
  })
  if (manifest.kind === 'delta') return {manifest, stream: Readable.from(hashChecked(data, manifest), {objectMode: false})}
  const verifier = new SnapshotVerifier(`backup ${id}`, {size: manifest.size, sha256: manifest.sha256})
  return {manifest, stream: Readable.from(verified(data, verifier), {objectMode: false})}
}

/** Passes `data` through; throws CORRUPT when it grows past, or ends short of, the manifest's size or hash. */
export async function* hashChecked(data: AsyncIterable<Uint8Array>, m: {id: string; size: number; sha256: string}): AsyncGenerator<Buffer> {
  const hash = createHash('sha256')
  let size = 0
  for await (const c of data) {
    size += c.length
    if (size > m.size)
      throw new BackupError('CORRUPT', `backup ${m.id} is corrupt: its data is longer than the ${m.size} bytes its manifest records`)
    hash.update(c)
    yield Buffer.from(c.buffer, c.byteOffset, c.length)
  }
  if (size < m.size) throw new BackupError('CORRUPT', `backup ${m.id} is corrupt: truncated, ${size} of ${m.size} bytes`)
  const sha256 = hash.digest('hex')
  if (sha256 !== m.sha256) throw new BackupError('CORRUPT', `backup ${m.id} is corrupt: sha256 ${sha256}, its manifest records ${m.sha256}`)
}

/** Reads the whole backup back and verifies it; resolves with its manifest, or rejects CORRUPT. */
export async function verifyBackup(target: BackupTarget, id: string): Promise<BackupManifest> {
  const {manifest, stream} = await readBackup(target, id)
  for await (const _ of stream);
  return manifest
}

/**
 * Copies the verified backup to `file` (a temporary name beside it, fsync, rename): the file is an etcd snapshot
 * as `etcdctl snapshot save` writes it, ready for `etcdctl snapshot restore`. Nothing is left at `file` on error.
 */
export async function saveBackupToFile(target: BackupTarget, id: string, file: string): Promise<BackupManifest> {
  const {manifest, stream} = await readBackup(target, id)
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fh = await open(temp, 'wx', 0o600)
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let off = 0
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten
      }
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(temp, file)
  } catch (err) {
    stream.destroy()
    await unlink(temp).catch(() => undefined)
    throw toBackupError(err, 'IO', `saving backup ${id} to ${file}`)
  }
  return manifest
}

/**
 * Deletes a backup: its manifest first (it is no longer listed), then its data. Deleting a full backup deletes
 * its deltas first (newest first): a delta is never left without its base.
 */
export async function deleteBackup(target: BackupTarget, id: string): Promise<void> {
  const {backups} = await listBackups(target)
  if (backups.find((b) => b.id === id)?.kind !== 'delta')
    for (const d of backups) if (d.kind === 'delta' && d.baseId === id) await deleteObjects(target, d.id)
  await deleteObjects(target, id)
}

async function deleteObjects(target: BackupTarget, id: string): Promise<void> {
  await target.delete(manifestName(id))
  await target.delete(dataName(id))
  await target.delete(deltaDataName(id))
}

/**
 * Deletes the backups `policy` expires at `nowMs` (full backups counted; their deltas go with them, before them;
 * deltas whose base is gone go too); resolves with their ids, in deletion order.
 */
export async function applyRetention(target: BackupTarget, policy: RetentionPolicy, nowMs: number): Promise<string[]> {
  const {backups} = await listBackups(target)
  const ids = expiredBackups(backups, policy, nowMs)
  for (const id of ids) await deleteObjects(target, id)
  return ids
}
