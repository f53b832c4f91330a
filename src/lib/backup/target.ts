/**
 * BackupTarget: where backups live. A flat namespace of named objects (names: [A-Za-z0-9._-], no leading '.'),
 * as simple as an S3 bucket prefix so that file:// and s3:// implement it alike.
 *
 * Guarantees every implementation gives:
 *   - put is atomic and durable: the object becomes visible to get/list only once all of it is written (and, for
 *     a file, fsynced); if `data` throws (e.g. verification failed) or the write fails, nothing is published;
 *   - objects are never overwritten: a put of an existing name fails with EXISTS;
 *   - get streams (never reads a whole object into memory); a missing object is NOT_FOUND;
 *   - list returns only published objects (never a temporary or half-written one), sorted by name;
 *   - delete of a missing object is not an error.
 */
import type {Readable} from 'node:stream'
import {BackupError} from './errors.js'

export interface BackupTarget {
  /** The canonical target URL (never holds credentials). */
  readonly url: string
  /** Publishes `name` from `data` atomically; resolves with the bytes written. */
  put(name: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<{size: number}>
  /** A stream of a published object. */
  get(name: string): Promise<Readable>
  /** Names of the published objects, sorted. */
  list(): Promise<string[]>
  delete(name: string): Promise<void>
}

const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/

/** Throws BAD_NAME unless `name` is a valid object name. */
export function checkObjectName(name: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name))
    throw new BackupError('BAD_NAME', `invalid backup object name ${JSON.stringify(name)} (expected [A-Za-z0-9._-], no leading '.')`)
  return name
}
