/**
 * `POST /api/v1/executor` of the local agent (Mesos src/slave/http.cpp `Http::executor`), transport only:
 * status codes, texts and the order of checks follow a real Mesos 1.12 agent (reference §4.1, Surprise 30):
 *   405 non-POST (`Allow: POST`) → 400 no Content-Type → 415 other Content-Type (compared exactly) →
 *   400 body parse / convert (codec texts) → 400 "Failed to validate Executor::Call: …" →
 *   SUBSCRIBE: 406 bad Accept → HEARTBEAT: 202 (before any id lookup) →
 *   400 "Framework cannot be found" → 400 "Executor cannot be found" →
 *   403 "Executor is not subscribed" (non-SUBSCRIBE before SUBSCRIBE) → 200 stream / 202.
 * Error bodies are text/plain; 202 has Content-Length 0 and no Content-Type. The SUBSCRIBE response is a
 * RecordIO stream with NO Mesos-Stream-Id. What the calls mean is the agent's business (ExecutorApiBackend).
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {CodecError, decode, encode} from '../../lib/mesos/codec.js'
import {encodeRecord} from '../../lib/mesos/recordio.js'
import {CONTENT_JSON, CONTENT_PROTOBUF, type ContentType, type ExecutorCall, type ExecutorEvent} from '../../lib/mesos/types.js'
import {isValidUuidBase64} from '../../lib/mesos/uuid.js'

const MAX_BODY_BYTES = 16 * 1024 * 1024

export type ExecutorLookup = 'no-framework' | 'no-executor' | 'not-subscribed' | 'ok'

export interface ExecutorApiBackend {
  lookup(frameworkId: string, executorId: string): ExecutorLookup
  subscribe(call: ExecutorCall, stream: ExecutorStream): void
  update(call: ExecutorCall): void
  message(call: ExecutorCall): void
}

/** One executor subscription: a chunked RecordIO response. */
export class ExecutorStream {
  private ended = false
  private readonly closeHandlers: (() => void)[] = []

  constructor(
    private readonly res: ServerResponse,
    readonly contentType: ContentType,
  ) {
    res.on('close', () => this.markClosed())
  }

  get closed(): boolean {
    return this.ended
  }

  /** Write one event; false if the stream is already closed. */
  send(event: ExecutorEvent): boolean {
    if (this.ended) return false
    this.res.write(encodeRecord(encode('executor.Event', event, this.contentType)))
    return true
  }

  /** Close from the agent side (EOF to the executor). */
  close(): void {
    if (this.ended) return
    this.res.end()
    this.markClosed()
  }

  /** Break the connection abruptly (agent crash). */
  destroy(): void {
    if (this.ended) return
    this.res.destroy()
    this.markClosed()
  }

  onClose(fn: () => void): void {
    if (this.ended) fn()
    else this.closeHandlers.push(fn)
  }

  private markClosed(): void {
    if (this.ended) return
    this.ended = true
    for (const fn of this.closeHandlers.splice(0)) fn()
  }
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text, 'utf8')
  res.writeHead(status, {...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.byteLength)})
  res.end(body)
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, {'Content-Length': '0'})
  res.end()
}

/** Does `accept` allow `type`? Missing header allows everything; q-values are ignored (Surprise 6). */
export function acceptsMediaType(accept: string | undefined, type: string): boolean {
  if (accept === undefined || accept.trim() === '') return true
  const [major] = type.split('/')
  return accept.split(',').some((part) => {
    const range = part.split(';')[0]!.trim().toLowerCase()
    return range === '*/*' || range === type || range === `${major}/*`
  })
}

/** validateExecutorCall (Mesos src/common/validation.cpp): an error text, or undefined when valid. */
export function validateExecutorCall(call: Partial<ExecutorCall>): string | undefined {
  if (!call.type) return "Expecting 'type' to be present"
  if (!call.executor_id) return "Expecting 'executor_id' to be present"
  if (!call.framework_id) return "Expecting 'framework_id' to be present"
  const eid = call.executor_id.value
  const fid = call.framework_id.value
  switch (call.type) {
    case 'SUBSCRIBE':
      return call.subscribe ? undefined : "Expecting 'subscribe' to be present"
    case 'UPDATE': {
      if (!call.update) return "Expecting 'update' to be present"
      const status = call.update.status
      if (!status.uuid) return "Expecting 'uuid' to be present"
      if (!isValidUuidBase64(status.uuid)) return 'Not a valid UUID'
      if (status.executor_id && status.executor_id.value !== eid) {
        return `ExecutorID of TaskStatus: ${status.executor_id.value} does not match ExecutorID of Call: ${eid}`
      }
      if (status.source !== 'SOURCE_EXECUTOR') {
        return `Received Call from executor ${eid} of framework ${fid} with invalid source, expecting 'SOURCE_EXECUTOR'`
      }
      if (status.state === 'TASK_STAGING') return `Received TASK_STAGING from executor ${eid} of framework ${fid} which is not allowed`
      return undefined
    }
    case 'MESSAGE':
      return call.message ? undefined : "Expecting 'message' to be present"
    default:
      return undefined
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    const b = c as Buffer
    size += b.byteLength
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(b)
  }
  return Buffer.concat(chunks)
}

/** Handle one request to the executor endpoint. Never throws. */
export async function handleExecutorRequest(req: IncomingMessage, res: ServerResponse, backend: ExecutorApiBackend): Promise<void> {
  try {
    if (req.method !== 'POST') {
      req.resume()
      return sendText(res, 405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${req.method ?? ''}'.`, {Allow: 'POST'})
    }
    const ct = req.headers['content-type']
    if (ct === undefined) {
      req.resume()
      return sendText(res, 400, "Expecting 'Content-Type' to be present")
    }
    if (ct !== CONTENT_JSON && ct !== CONTENT_PROTOBUF) {
      req.resume()
      return sendText(res, 415, `Expecting 'Content-Type' of ${CONTENT_JSON} or ${CONTENT_PROTOBUF}`)
    }
    const body = await readBody(req)
    if (body === undefined) return sendText(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes`)
    let call: ExecutorCall
    try {
      call = decode<ExecutorCall>('executor.Call', body, ct)
    } catch (e) {
      if (e instanceof CodecError) return sendText(res, 400, e.message)
      throw e
    }
    const invalid = validateExecutorCall(call)
    if (invalid !== undefined) return sendText(res, 400, `Failed to validate Executor::Call: ${invalid}`)

    let streamType: ContentType = CONTENT_JSON
    if (call.type === 'SUBSCRIBE') {
      const accept = req.headers.accept
      if (acceptsMediaType(accept, CONTENT_JSON)) streamType = CONTENT_JSON
      else if (acceptsMediaType(accept, CONTENT_PROTOBUF)) streamType = CONTENT_PROTOBUF
      else return sendText(res, 406, `Expecting 'Accept' to allow '${CONTENT_PROTOBUF}' or '${CONTENT_JSON}'`)
    }
    if (call.type === 'HEARTBEAT') return sendEmpty(res, 202)

    const found = backend.lookup(call.framework_id.value, call.executor_id.value)
    if (found === 'no-framework') return sendText(res, 400, 'Framework cannot be found')
    if (found === 'no-executor') return sendText(res, 400, 'Executor cannot be found')
    if (found === 'not-subscribed' && call.type !== 'SUBSCRIBE') return sendText(res, 403, 'Executor is not subscribed')

    switch (call.type) {
      case 'SUBSCRIBE': {
        res.writeHead(200, {'Content-Type': streamType})
        res.flushHeaders()
        res.socket?.setNoDelay(true)
        backend.subscribe(call, new ExecutorStream(res, streamType))
        return
      }
      case 'UPDATE':
        backend.update(call)
        return sendEmpty(res, 202)
      case 'MESSAGE':
        backend.message(call)
        return sendEmpty(res, 202)
      default:
        return sendEmpty(res, 501)
    }
  } catch (e) {
    if (!res.headersSent) sendText(res, 500, `Internal error in the local agent: ${(e as Error).message}`)
    else res.destroy()
  }
}
