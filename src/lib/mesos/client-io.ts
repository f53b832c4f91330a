/**
 * The HTTP plumbing both Mesos v1 clients (scheduler-client.ts, executor-client.ts) share, on top of http.ts:
 *
 * - `openSubscription`: POST a SUBSCRIBE call on its own per-attempt undici Agent (no body timeout: events may be
 *   minutes apart) and classify the answer: a stream to read (content type + Mesos-Stream-Id) or the reason it
 *   was refused (non-200). The caller owns the Agent and destroys it when the attempt ends.
 * - `decodeEvents`: the RecordIO records of a subscription stream decoded one by one; a record that cannot be
 *   decoded is yielded as `{ error }` so the caller can end the stream with its own reason.
 * - `postCall`: one non-SUBSCRIBE call; 200/202 resolves (body discarded), any other status throws
 *   MesosCallError, transport failures throw MesosTransportError (from http.ts). No retry here.
 * - `newCallAgent`, `errText`, `emitSafe`: small shared helpers.
 */
import type {EventEmitter} from 'node:events'
import {Agent} from 'undici'
import {decode, type MessageName} from './codec.js'
import {discard, headerValue, MesosCallError, postFollowingRedirects, readText} from './http.js'
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

/** The keep-alive Agent a client uses for its calls (never the stream's connection). */
export function newCallAgent(): Agent {
  return new Agent({connect: {timeout: 10_000}, keepAliveTimeout: 4_000})
}

/** What every POST to a Mesos v1 endpoint needs (the body is an encoded Call in `contentType`). */
interface MesosPost {
  url: URL
  body: Buffer
  contentType: ContentType
  headers: Record<string, string>
  dispatcher: Agent
  signal: AbortSignal
  maxRedirects: number
}

export interface SubscribeRequest extends MesosPost {
  /** Headers timeout; `dispatcher` is a per-attempt Agent from `newStreamAgent` that the caller destroys. */
  requestTimeoutMs: number
  onRedirect?: (from: URL, to: URL) => void
  /** Name the (post-redirect) host in the refusal reason: "SUBSCRIBE to host:port answered HTTP …". */
  hostInReason?: boolean
}

export type SubscribeOutcome =
  | {ok: true; body: AsyncIterable<Uint8Array>; type: ContentType; streamId: string | undefined}
  | {ok: false; reason: string}

/** A per-attempt Agent for one subscription stream: no body timeout, headers within `requestTimeoutMs`. */
export function newStreamAgent(requestTimeoutMs: number): Agent {
  return new Agent({connect: {timeout: 10_000}, bodyTimeout: 0, headersTimeout: requestTimeoutMs})
}

/** POST SUBSCRIBE; throws MesosTransportError/MesosRedirectError like postFollowingRedirects. */
export async function openSubscription(req: SubscribeRequest): Promise<SubscribeOutcome> {
  const res = await postFollowingRedirects({
    url: req.url,
    body: req.body,
    contentType: req.contentType,
    accept: req.contentType,
    headers: req.headers,
    dispatcher: req.dispatcher,
    signal: req.signal,
    headersTimeoutMs: req.requestTimeoutMs,
    bodyTimeoutMs: 0,
    maxRedirects: req.maxRedirects,
    onRedirect: req.onRedirect,
  })
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

export interface CallRequest extends MesosPost {
  /** The call's type, for MesosCallError. */
  call: string
  /** Headers and body timeout. */
  timeoutMs: number
}

/** One call: resolves on 200/202, throws MesosCallError on any other status. */
export async function postCall(req: CallRequest): Promise<void> {
  const res = await postFollowingRedirects({
    url: req.url,
    body: req.body,
    contentType: req.contentType,
    accept: req.contentType,
    headers: req.headers,
    dispatcher: req.dispatcher,
    signal: req.signal,
    headersTimeoutMs: req.timeoutMs,
    bodyTimeoutMs: req.timeoutMs,
    maxRedirects: req.maxRedirects,
  })
  if (res.status === 200 || res.status === 202) return discard(res.body)
  throw new MesosCallError(req.call, res.status, await readText(res.body))
}
