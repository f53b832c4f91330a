/**
 * An etcd member's snapshot and status through etcd's JSON gateway (`POST <client URL>/v3/maintenance/...`,
 * node:http / node:https), without the etcd3 client (grpc-js costs ~0.4 s to load and ~14 MB; serve loads it
 * only for membership changes).
 *
 * The gateway streams Maintenance.Snapshot as newline-delimited JSON: `{"result":{"blob":"<base64>"}}` per gRPC
 * message (32 KiB of the database each), the last blob being the 32-byte sha256; `{"error":{…}}` on a failure.
 * `snapshotChunks` decodes one line at a time and pulls from the socket only as fast as its consumer reads, so
 * memory stays bounded by a line (~44 KB) whatever the snapshot's size. A stall longer than `timeoutMs` (no
 * byte received), an HTTP error, an error line, a cut connection or `signal` ends it with BackupError SOURCE.
 */
import http from 'node:http'
import type {IncomingMessage} from 'node:http'
import {readTlsFiles, type EtcdTlsOptions} from '../etcd/tls-files.js'
import {BackupError} from './errors.js'

export interface SnapshotSourceOptions {
  /** Longest silence (ms) before the call fails; default 30 000. */
  timeoutMs?: number
  tls?: EtcdTlsOptions
  signal?: AbortSignal
}

export interface SourceStatus {
  clusterId: string
  memberId: string
  revision: number
  version: string
}

const MAX_LINE = 1 << 20

function sourceError(endpoint: string, what: string, err: unknown): BackupError {
  if (err instanceof BackupError) return err
  const text = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || String(err) : String(err)
  return new BackupError('SOURCE', `${what} from ${endpoint} failed: ${text}`, {cause: err})
}

async function post(endpoint: string, apiPath: string, opts: SnapshotSourceOptions): Promise<IncomingMessage> {
  const url = new URL(apiPath, endpoint)
  const https = url.protocol === 'https:' ? await import('node:https') : undefined
  const request = https ? https.request : http.request
  const tls = https ? readTlsFiles(opts.tls ?? {}) : {}
  const timeoutMs = opts.timeoutMs ?? 30_000
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, {method: 'POST', headers: {'content-type': 'application/json'}, signal: opts.signal, ...tls}, (res) => {
      res.setTimeout(timeoutMs, () => res.destroy(new Error(`no data for ${timeoutMs} ms`)))
      resolve(res)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end('{}')
  })
}

async function readAll(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = []
  let n = 0
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length
    if (n > MAX_LINE) throw new Error('answer too large')
    parts.push(c)
  }
  return Buffer.concat(parts).toString('utf8')
}

function errorText(status: number | undefined, body: string): string {
  try {
    const j = JSON.parse(body) as {error?: unknown; message?: unknown}
    const e = (typeof j.error === 'object' && j.error !== null ? j.error : j) as {message?: unknown; error?: unknown}
    return `HTTP ${status}: ${String(e.message ?? e.error ?? body.slice(0, 200))}`
  } catch {
    return `HTTP ${status}: ${body.slice(0, 200)}`
  }
}

/** Maintenance.Status of exactly `endpoint`: the ids, revision and version a manifest records. */
export async function memberStatus(endpoint: string, opts: SnapshotSourceOptions = {}): Promise<SourceStatus> {
  try {
    const res = await post(endpoint, '/v3/maintenance/status', opts)
    const body = await readAll(res)
    if (res.statusCode !== 200) throw new Error(errorText(res.statusCode, body))
    const s = JSON.parse(body) as {header?: {cluster_id?: string; member_id?: string; revision?: string}; version?: string}
    const h = s.header ?? {}
    if (!h.cluster_id || !h.member_id) throw new Error(`status without cluster/member id: ${body.slice(0, 200)}`)
    return {
      clusterId: String(h.cluster_id),
      memberId: String(h.member_id),
      revision: Number(h.revision ?? 0),
      version: String(s.version ?? ''),
    }
  } catch (err) {
    throw sourceError(endpoint, 'status', err)
  }
}

/** The member's snapshot as raw chunks: the database then its sha256 (verify with SnapshotVerifier). */
export async function* snapshotChunks(endpoint: string, opts: SnapshotSourceOptions = {}): AsyncGenerator<Buffer> {
  let res: IncomingMessage | undefined
  try {
    res = await post(endpoint, '/v3/maintenance/snapshot', opts)
    if (res.statusCode !== 200) throw new Error(errorText(res.statusCode, await readAll(res)))
    // A line's pieces are joined once, when its newline arrives (not at every socket read).
    let parts: Buffer[] = []
    let pending = 0
    for await (const chunk of res as AsyncIterable<Buffer>) {
      let from = 0
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
        const piece = chunk.subarray(from, nl)
        const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece])
        parts = []
        pending = 0
        from = nl + 1
        if (line.length > 0) yield decodeLine(line)
      }
      if (from < chunk.length) {
        parts.push(chunk.subarray(from))
        pending += chunk.length - from
      }
      if (pending > MAX_LINE) throw new Error(`a stream line longer than ${MAX_LINE} bytes`)
    }
    const rest = Buffer.concat(parts)
    if (rest.toString('utf8').trim() !== '') yield decodeLine(rest)
    if (!res.complete) throw new Error('the stream was cut')
  } catch (err) {
    throw sourceError(endpoint, 'snapshot', err)
  } finally {
    res?.destroy()
  }
}

const BLOB_PREFIX = Buffer.from('{"result":{"blob":"')

function decodeLine(line: Buffer): Buffer {
  // The usual message, {"result":{"blob":"<base64>"}}, is decoded without parsing the JSON (base64 holds no '"').
  if (line.subarray(0, BLOB_PREFIX.length).equals(BLOB_PREFIX)) {
    const end = line.indexOf(34, BLOB_PREFIX.length)
    if (end > 0 && line.toString('latin1', end) === '"}}') return Buffer.from(line.toString('latin1', BLOB_PREFIX.length, end), 'base64')
  }
  let msg: {result?: {blob?: unknown}; error?: {message?: unknown; error?: unknown}}
  try {
    msg = JSON.parse(line.toString('utf8'))
  } catch {
    throw new Error(`a stream line that is not JSON: ${line.subarray(0, 200).toString('utf8')}`)
  }
  if (msg.error !== undefined) throw new Error(`etcd: ${String(msg.error.message ?? msg.error.error ?? JSON.stringify(msg.error))}`)
  const blob = msg.result?.blob
  if (blob === undefined) return Buffer.alloc(0)
  if (typeof blob !== 'string') throw new Error('a stream message whose blob is not base64')
  return Buffer.from(blob, 'base64')
}
