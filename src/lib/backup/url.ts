/**
 * Backup target URLs. Pure (no I/O).
 *
 *   file:///absolute/dir     a directory every agent and the scheduler can reach (e.g. NFS); `file://localhost/dir`
 *                            is the same. Percent-escapes are decoded; a trailing '/' is dropped.
 *   s3://bucket[/prefix]     an S3-compatible bucket and an optional key prefix (endpoint, region and credentials
 *                            come from flags / env / a credentials file, never from the URL).
 *
 * Refused with BackupError BAD_TARGET, naming the problem: a bare path (`/data/backups`: write file:///data/backups),
 * `file://dir/x` (a host where the path should start: three slashes), a relative, root or '..' path, a query or
 * fragment, credentials or a port in an s3 URL, a bucket name S3 would refuse, empty or '.'/'..' prefix segments.
 */
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {BackupError} from './errors.js'

export type BackupTargetUrl =
  | {kind: 'file' /** absolute, normalised, no trailing '/' */; dir: string /** canonical file:// URL */; url: string}
  | {kind: 's3'; bucket: string /** '' or segments joined by '/', no leading/trailing '/' */; prefix: string; url: string}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const IPV4_RE = /^\d{1,3}(\.\d{1,3}){3}$/

/** `text` with any credentials (before the last '@' of the authority) masked, for error messages. */
const redact = (text: string): string => text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*@)/, '$1***@')

function fail(text: string, problem: string): never {
  throw new BackupError('BAD_TARGET', `invalid backup target ${JSON.stringify(redact(text))}: ${problem}`)
}

export function parseBackupTargetUrl(text: string): BackupTargetUrl {
  if (typeof text !== 'string' || text.trim() === '') fail(String(text), 'empty (expected file:///absolute/dir or s3://bucket/prefix)')
  if (text.startsWith('/')) fail(text, `a path, not a URL: write file://${text}`)
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase()
  if (scheme === 'file') return parseFile(text)
  if (scheme === 's3') return parseS3(text)
  fail(
    text,
    scheme
      ? `unsupported scheme '${scheme}:' (expected file:// or s3://)`
      : 'not a URL (expected file:///absolute/dir or s3://bucket/prefix)',
  )
}

function parseFile(text: string): BackupTargetUrl {
  if (!/^file:\/\//i.test(text)) fail(text, 'expected file:///absolute/dir (three slashes)')
  let u: URL
  try {
    u = new URL(text)
  } catch {
    fail(text, 'not a valid URL')
  }
  if (u.host !== '' && u.host !== 'localhost')
    fail(text, `'${u.host}' is read as a host: write file:///${u.host}${u.pathname} (three slashes) for an absolute path`)
  if (u.search !== '' || u.hash !== '') fail(text, 'a file:// target takes no query or fragment')
  // '..' segments are resolved away by URL parsing: check the raw text.
  const rawPath = text.replace(/^file:\/\/(localhost)?/i, '')
  if (rawPath.split('/').some((s) => s === '..' || s === '.' || /^%2e(%2e)?$/i.test(s))) fail(text, "'.' or '..' segments are not allowed")
  let dir: string
  try {
    dir = fileURLToPath(new URL(`file://${u.pathname}`))
  } catch (err) {
    fail(text, (err as Error).message)
  }
  if (!path.isAbsolute(dir)) fail(text, 'the path must be absolute')
  dir = path.normalize(dir).replace(/\/+$/, '')
  if (dir === '') fail(text, "the root directory '/' is not a backup directory")
  return {kind: 'file', dir, url: new URL(`file://${dir}`).href}
}

function parseS3(text: string): BackupTargetUrl {
  const m = /^s3:\/\/([^/?#]*)(\/[^?#]*)?([?#].*)?$/i.exec(text)
  if (!m) fail(text, 'expected s3://bucket/prefix')
  const [, authority = '', rawPrefix = '', rest] = m
  if (rest) fail(text, 'an s3:// target takes no query or fragment')
  if (authority.includes('@')) fail(text, 'credentials do not belong in the URL (use the credentials flags, env vars or file)')
  if (authority.includes(':')) fail(text, 'no port in an s3:// URL: the endpoint is given apart (s3://bucket/prefix)')
  const bucket = authority
  if (bucket === '') fail(text, 'no bucket (expected s3://bucket/prefix)')
  if (!BUCKET_RE.test(bucket) || bucket.includes('..') || IPV4_RE.test(bucket))
    fail(text, `bucket '${bucket}' is not a valid S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`)
  let prefix = rawPrefix.replace(/^\//, '').replace(/\/$/, '')
  try {
    prefix = decodeURIComponent(prefix)
  } catch {
    fail(text, 'bad percent-escape in the prefix')
  }
  if (prefix !== '') {
    const segs = prefix.split('/')
    if (segs.some((s) => s === '' || s === '.' || s === '..')) fail(text, "empty, '.' or '..' segments in the prefix")
    if (/[\u0000-\u001f\u007f\\]/.test(prefix)) fail(text, 'control characters or backslashes in the prefix')
  }
  return {kind: 's3', bucket, prefix, url: `s3://${bucket}${prefix ? `/${prefix}` : ''}`}
}
