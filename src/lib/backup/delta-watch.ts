/**
 * A watch on the whole keyspace through etcd's JSON gateway (`POST <client URL>/v3/watch`, node:http(s), TLS
 * files as EtcdTlsOptions), without etcd3 / grpc-js. The gateway answers a create_request with a stream of JSON
 * lines, one per WatchResponse: `{"result":{"header":{…},"created":true}}`, then `{"result":{"header":{…},
 * "events":[…]}}`; a watch whose start revision was compacted is answered `{"result":{…,"canceled":true,
 * "compact_revision":"N"}}`.
 *
 * `watchKeyspace` yields each response's header and grouped events (delta-format.ts). It ends with:
 *   - BackupError CHAIN_BROKEN when etcd says the start revision was compacted (the revisions needed are gone);
 *   - BackupError SOURCE on anything else: unreachable, HTTP error, error line, cancel, cut, `signal`.
 * It ends normally (no error) after a silence longer than `idleMs`: an idle keyspace sends nothing (progress
 * notifications come every 10 minutes by default), so the caller just watches again, asking which member to
 * watch (a member cut off from its cluster is silent too).
 * Memory: one response line at a time (bounded by `maxLineBytes`).
 */
import http from 'node:http'
import type {IncomingMessage} from 'node:http'
import {readTlsFiles, type EtcdTlsOptions} from '../etcd/tls-files.js'
import {groupWatchEvents, type RevisionGroup} from './delta-format.js'
import {BackupError} from './errors.js'

export interface WatchOptions {
  tls?: EtcdTlsOptions
  signal?: AbortSignal
  /** Longest silence (ms) before the watch is given up (SOURCE); default 60 000. */
  idleMs?: number
  /** Longest response line; default 64 MiB. */
  maxLineBytes?: number
}

export interface WatchBatch {
  clusterId: string
  memberId: string
  /** The header's revision (the member's revision when it sent the response). */
  revision: number
  groups: RevisionGroup[]
}

const ALL = Buffer.from([0]).toString('base64') // key "\0" with range_end "\0": every key
const IDLE = Symbol('idle')

async function openWatch(endpoint: string, startRevision: number, opts: WatchOptions): Promise<IncomingMessage> {
  const url = new URL('/v3/watch', endpoint)
  const https = url.protocol === 'https:' ? await import('node:https') : undefined
  const request = https ? https.request : http.request
  const tls = https ? readTlsFiles(opts.tls ?? {}) : {}
  const idleMs = opts.idleMs ?? 60_000
  const body = JSON.stringify({create_request: {key: ALL, range_end: ALL, start_revision: String(startRevision), progress_notify: true}})
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, {method: 'POST', headers: {'content-type': 'application/json'}, signal: opts.signal, ...tls}, (res) => {
      res.setTimeout(idleMs, () => res.destroy(Object.assign(new Error(`no data for ${idleMs} ms`), {[IDLE]: true})))
      resolve(res)
    })
    req.setTimeout(idleMs, () => req.destroy(new Error(`no answer in ${idleMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** Watches every key from `startRevision` (inclusive) on exactly `endpoint`. */
export async function* watchKeyspace(endpoint: string, startRevision: number, opts: WatchOptions = {}): AsyncGenerator<WatchBatch> {
  const maxLine = opts.maxLineBytes ?? 64 * 1024 * 1024
  let res: IncomingMessage | undefined
  try {
    res = await openWatch(endpoint, startRevision, opts)
    if (res.statusCode !== 200) {
      let text = ''
      for await (const c of res as AsyncIterable<Buffer>) if (text.length < 2000) text += c.toString('utf8')
      throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`)
    }
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
        const batch = line.length > 0 ? decodeResponse(line, endpoint, startRevision) : undefined
        if (batch) yield batch
      }
      if (from < chunk.length) {
        parts.push(chunk.subarray(from))
        pending += chunk.length - from
      }
      if (pending > maxLine) throw new Error(`a watch response longer than ${maxLine} bytes`)
    }
    const rest = Buffer.concat(parts)
    if (rest.toString('utf8').trim() !== '') {
      const batch = decodeResponse(rest, endpoint, startRevision)
      if (batch) yield batch
    }
    throw new Error('the watch stream ended')
  } catch (err) {
    if (err instanceof BackupError) throw err
    if ((err as {[IDLE]?: boolean})[IDLE] === true) return
    const text = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || String(err) : String(err)
    throw new BackupError('SOURCE', `watch from ${endpoint} (from revision ${startRevision}) failed: ${text}`, {cause: err})
  } finally {
    res?.destroy()
  }
}

interface WatchLine {
  result?: {
    header?: {cluster_id?: unknown; member_id?: unknown; revision?: unknown}
    created?: boolean
    canceled?: boolean
    cancel_reason?: unknown
    compact_revision?: unknown
    events?: unknown
  }
  error?: {message?: unknown; error?: unknown}
}

function decodeResponse(line: Buffer, endpoint: string, startRevision: number): WatchBatch | undefined {
  let msg: WatchLine
  try {
    msg = JSON.parse(line.toString('utf8'))
  } catch {
    throw new Error(`a watch line that is not JSON: ${line.subarray(0, 200).toString('utf8')}`)
  }
  if (msg.error !== undefined) throw new Error(`etcd: ${String(msg.error.message ?? msg.error.error ?? JSON.stringify(msg.error))}`)
  const r = msg.result
  if (r === undefined) throw new Error(`a watch line without a result: ${line.subarray(0, 200).toString('utf8')}`)
  const compact = Number(r.compact_revision ?? 0)
  if (compact > 0)
    throw new BackupError(
      'CHAIN_BROKEN',
      `etcd at ${endpoint} compacted its history up to revision ${compact}: the changes from revision ${startRevision} are gone, the delta chain is broken (take a new full backup)`,
    )
  if (r.canceled) throw new Error(`etcd canceled the watch${r.cancel_reason ? `: ${String(r.cancel_reason)}` : ''}`)
  const h = r.header ?? {}
  const events = Array.isArray(r.events) ? r.events : []
  return {
    clusterId: String(h.cluster_id ?? ''),
    memberId: String(h.member_id ?? ''),
    revision: Number(h.revision ?? 0),
    groups: groupWatchEvents(events),
  }
}
