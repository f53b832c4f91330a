/**
 * The transport-neutral plumbing both Mesos v1 clients share (both on node:http through node-http.ts, the
 * scheduler's by way of client-io.ts); it imports no HTTP client:
 *
 * - `subscribeVia`: POST a SUBSCRIBE call (no body timeout: events may be minutes apart) and classify the answer:
 *   a stream to read (content type + Mesos-Stream-Id) or the reason it was refused (non-200).
 * - `decodeEvents`: the RecordIO records of a subscription stream decoded one by one; a record that cannot be
 *   decoded is yielded as `{ error }` so the caller can end the stream with its own reason.
 * - `postCallVia`: one non-SUBSCRIBE call; 200/202 resolves (body discarded), any other status throws
 *   MesosCallError, transport failures throw MesosTransportError (http-post.ts). No retry here.
 * - `errText`, `emitSafe`, `LogFn`: small shared helpers.
 */
import type {EventEmitter} from 'node:events'
import {decode, type MessageName} from './codec.js'
import {discard, headerValue, MesosCallError, postVia, readText, type Send} from './http-post.js'
import {decodeRecordStream} from './recordio.js'
import {CONTENT_JSON, CONTENT_PROTOBUF, type ContentType} from './types.js'

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: object) => void

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Emit on `emitter`; a listener that throws is logged as `${what} '${event}' listener threw`, never propagated. */
export function emitSafe(emitter: EventEmitter, log: LogFn, what: string, event: string, payload?: unknown): void {
  try {
    emitter.emit(event, payload)
  } catch (err) {
    log('error', `${what} '${event}' listener threw`, {error: errText(err)})
  }
}

/** What every POST to a Mesos v1 endpoint needs (the body is an encoded Call in `contentType`). */
export interface MesosPostBase {
  url: URL
  body: Buffer
  contentType: ContentType
  headers: Record<string, string>
  signal: AbortSignal
  maxRedirects: number
}

/** POST an encoded Call, answered in its own content type. */
function postMesos(
  send: Send,
  req: MesosPostBase,
  headersTimeoutMs: number,
  bodyTimeoutMs: number,
  onRedirect?: (from: URL, to: URL) => void,
) {
  return postVia(send, {
    url: req.url,
    body: req.body,
    contentType: req.contentType,
    accept: req.contentType,
    headers: req.headers,
    signal: req.signal,
    headersTimeoutMs,
    bodyTimeoutMs,
    maxRedirects: req.maxRedirects,
    onRedirect,
  })
}

export interface SubscribeRequestBase extends MesosPostBase {
  /** Headers timeout (the stream itself has none). */
  requestTimeoutMs: number
  onRedirect?: (from: URL, to: URL) => void
  /** Name the (post-redirect) host in the refusal reason: "SUBSCRIBE to host:port answered HTTP …". */
  hostInReason?: boolean
}

export type SubscribeOutcome =
  | {ok: true; body: AsyncIterable<Uint8Array>; type: ContentType; streamId: string | undefined}
  | {ok: false; reason: string}

/** POST SUBSCRIBE through `send`; throws MesosTransportError/MesosRedirectError like postVia. */
export async function subscribeVia(send: Send, req: SubscribeRequestBase): Promise<SubscribeOutcome> {
  const res = await postMesos(send, req, req.requestTimeoutMs, 0, req.onRedirect)
  if (res.status !== 200) {
    const body = await readText(res.body)
    const who = req.hostInReason ? `SUBSCRIBE to ${res.url.host}` : 'SUBSCRIBE'
    return {ok: false, reason: `${who} answered HTTP ${res.status}${body ? `: ${body}` : ''}`}
  }
  const rct = headerValue(res.headers, 'content-type') ?? ''
  const type: ContentType = rct.startsWith(CONTENT_PROTOBUF)
    ? CONTENT_PROTOBUF
    : rct.startsWith(CONTENT_JSON)
      ? CONTENT_JSON
      : req.contentType
  return {ok: true, body: res.body, type, streamId: headerValue(res.headers, 'mesos-stream-id')}
}

/** Decoded events of a subscription stream, in order; an undecodable record is yielded as `{ error }`. */
export async function* decodeEvents<E>(
  body: AsyncIterable<Uint8Array>,
  message: MessageName,
  type: ContentType,
): AsyncGenerator<{event: E} | {error: string}> {
  for await (const rec of decodeRecordStream(body)) {
    let event: E
    try {
      event = decode<E>(message, rec, type)
    } catch (err) {
      yield {error: errText(err)}
      continue
    }
    yield {event}
  }
}

export interface CallRequestBase extends MesosPostBase {
  /** The call's type, for MesosCallError. */
  call: string
  /** Headers and body timeout. */
  timeoutMs: number
}

/** One call through `send`: resolves on 200/202, throws MesosCallError on any other status. */
export async function postCallVia(send: Send, req: CallRequestBase): Promise<void> {
  const res = await postMesos(send, req, req.timeoutMs, req.timeoutMs)
  if (res.status === 200 || res.status === 202) return discard(res.body)
  throw new MesosCallError(req.call, res.status, await readText(res.body))
}
