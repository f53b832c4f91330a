/**
 * Raw HTTP/1.1 client for conformance tests, on a plain TCP socket so the request carries exactly the recorded
 * headers (node:http would add `Connection`), one connection per request like the recording client, and the
 * response head and chunk framing are seen as sent.
 *
 * `send()` answers {status, headers (raw names), body}. A 200 chunked answer with a `Mesos-Stream-Id` (scheduler
 * SUBSCRIBE), or any 200 chunked answer when `stream: true` (executor SUBSCRIBE), is returned open as a `Stream`
 * that decodes RecordIO records (JSON or protobuf by Content-Type) as chunks arrive and notes whether every
 * HTTP chunk held exactly one record (real Mesos writes one chunk per record).
 */
import net from 'node:net'
import {decode, type MessageName} from '../../src/lib/mesos/codec.js'
import {RecordIODecoder} from '../../src/lib/mesos/recordio.js'
import type {Json} from './fixtures.js'

export interface Reply {
  status: number
  /** Header names as received (raw case), first value of each. */
  headers: Record<string, string>
  body: Buffer
  stream?: Stream
}

export interface StreamRecord {
  event: Json
  /** Date.now() at arrival. */
  at: number
}

export class Stream {
  readonly records: StreamRecord[] = []
  closedBy: 'server' | 'client' | null = null
  closedAt = 0
  error: string | null = null
  /** false once an HTTP chunk did not hold exactly one whole RecordIO record. */
  oneRecordPerChunk = true
  private readonly decoder = new RecordIODecoder()
  onRecord: ((r: StreamRecord) => void) | undefined

  constructor(
    private readonly socket: net.Socket,
    readonly headers: Record<string, string>,
    readonly eventType: MessageName,
  ) {}

  /** Feeds one de-chunked HTTP chunk. */
  chunk(c: Buffer): void {
    try {
      const recs = this.decoder.push(c)
      if (recs.length !== 1) this.oneRecordPerChunk = false
      const protobuf = header(this.headers, 'Content-Type') === 'application/x-protobuf'
      for (const rec of recs) {
        const event = protobuf ? decode<Json>(this.eventType, rec, 'application/x-protobuf') : (JSON.parse(rec.toString('utf8')) as Json)
        const r = {event, at: Date.now()}
        this.records.push(r)
        this.onRecord?.(r)
      }
    } catch (err) {
      this.error = `undecodable record: ${String(err)}`
    }
  }

  ended(by: 'server' | 'client'): void {
    if (this.closedBy !== null) return
    this.closedBy = by
    this.closedAt = Date.now()
  }

  get streamId(): string | undefined {
    return header(this.headers, 'Mesos-Stream-Id')
  }

  close(): void {
    this.ended('client')
    this.socket.destroy()
  }
}

export function header(h: Record<string, string>, name: string): string | undefined {
  const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase())
  return k === undefined ? undefined : h[k]
}

export interface SendOptions {
  /** Treat a 200 chunked answer as a stream even without Mesos-Stream-Id (executor SUBSCRIBE). */
  stream?: boolean
  eventType?: MessageName
  timeoutMs?: number
}

/** Incremental HTTP chunked-transfer decoder: push raw bytes, get whole chunks; `done` after the 0-chunk. */
class Dechunker {
  private buf = Buffer.alloc(0)
  done = false

  push(b: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, b])
    const out: Buffer[] = []
    for (;;) {
      const eol = this.buf.indexOf('\r\n')
      if (eol < 0) return out
      const size = Number.parseInt(this.buf.subarray(0, eol).toString('latin1').split(';')[0]!, 16)
      if (Number.isNaN(size)) throw new Error(`bad chunk size line ${JSON.stringify(this.buf.subarray(0, eol).toString('latin1'))}`)
      if (this.buf.length < eol + 2 + size + 2) return out
      if (size === 0) {
        this.done = true
        return out
      }
      out.push(this.buf.subarray(eol + 2, eol + 2 + size))
      this.buf = this.buf.subarray(eol + 2 + size + 2)
    }
  }
}

/**
 * One HTTP request on its own connection: `headers` are sent in the given order after `Host`, plus
 * Content-Length when there is a body (or the method is not GET). Rejects on connection errors and when the
 * server closes the connection without answering.
 */
export function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
  opts: SendOptions = {},
): Promise<Reply> {
  const u = new URL(base)
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\n`
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
  if (payload !== undefined) head += `Content-Length: ${payload.byteLength}\r\n`
  head += '\r\n'
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: u.hostname, port: Number(u.port)})
    let raw = Buffer.alloc(0)
    let parsed: {status: number; headers: Record<string, string>} | null = null
    let dechunk: Dechunker | null = null
    let chunks: Buffer[] = []
    let length = -1
    let stream: Stream | null = null
    let settled = false
    const finish = (r: Reply | Error): void => {
      if (settled) return
      settled = true
      if (r instanceof Error) reject(r)
      else resolve(r)
    }
    socket.setTimeout(opts.timeoutMs ?? 15_000, () => {
      if (!stream) socket.destroy(new Error(`${method} ${path}: no answer within ${opts.timeoutMs ?? 15_000} ms`))
    })
    socket.on('error', (err) => finish(err))
    socket.on('close', () => {
      if (stream) stream.ended('server')
      else if (parsed && length < 0 && !dechunk) finish({...parsed, body: Buffer.concat(chunks)})
      else finish(new Error(`${method} ${path}: connection closed without a (complete) answer`))
    })
    const onBody = (b: Buffer): void => {
      if (!parsed) return
      if (dechunk) {
        for (const c of dechunk.push(b)) {
          if (stream) stream.chunk(c)
          else chunks.push(c)
        }
        if (dechunk.done) {
          if (stream) stream.ended('server')
          else finish({...parsed, body: Buffer.concat(chunks)})
          socket.destroy()
        }
        return
      }
      chunks.push(b)
      const got = Buffer.concat(chunks)
      if (length >= 0 && got.length >= length) {
        finish({...parsed, body: got.subarray(0, length)})
        socket.destroy()
      }
    }
    socket.on('data', (d: Buffer) => {
      if (parsed) return onBody(d)
      raw = Buffer.concat([raw, d])
      const end = raw.indexOf('\r\n\r\n')
      if (end < 0) return
      const lines = raw.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(lines[0]!.split(' ')[1])
      const hs: Record<string, string> = {}
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':')
        const k = line.slice(0, i)
        if (!(k in hs)) hs[k] = line.slice(i + 1).trim()
      }
      parsed = {status, headers: hs}
      const chunked = header(hs, 'Transfer-Encoding') === 'chunked'
      if (chunked) dechunk = new Dechunker()
      const cl = header(hs, 'Content-Length')
      if (cl !== undefined) length = Number(cl)
      if (status === 200 && chunked && (header(hs, 'Mesos-Stream-Id') !== undefined || opts.stream === true)) {
        stream = new Stream(socket, hs, opts.eventType ?? 'scheduler.Event')
        socket.setTimeout(0)
        finish({status, headers: hs, body: Buffer.alloc(0), stream})
      }
      const rest = raw.subarray(end + 4)
      chunks = []
      if (length === 0 && !chunked) {
        finish({status, headers: hs, body: Buffer.alloc(0)})
        socket.destroy()
        return
      }
      if (rest.length > 0) onBody(rest)
    })
    socket.write(payload ? Buffer.concat([Buffer.from(head, 'latin1'), payload]) : Buffer.from(head, 'latin1'))
  })
}
