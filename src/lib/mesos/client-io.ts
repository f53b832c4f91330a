/**
 * The undici side of the HTTP plumbing the scheduler client (scheduler-client.ts) uses; the transport-neutral
 * part (subscription classification, event decoding, call status handling, small helpers) is client-core.ts,
 * re-exported here, and shared with the executor's node:http transport (node-http.ts).
 *
 * - `openSubscription`: `subscribeVia` on its own per-attempt undici Agent (`newStreamAgent`: no body timeout);
 *   the caller owns the Agent and destroys it when the attempt ends.
 * - `postCall`: `postCallVia` on the client's keep-alive Agent (`newCallAgent`).
 */
import {Agent} from 'undici'
import {postCallVia, subscribeVia, type CallRequestBase, type SubscribeOutcome, type SubscribeRequestBase} from './client-core.js'
import {undiciSend} from './http.js'

export {decodeEvents, emitSafe, errText, type LogFn, type SubscribeOutcome} from './client-core.js'

/** The keep-alive Agent a client uses for its calls (never the stream's connection). */
export function newCallAgent(): Agent {
  return new Agent({connect: {timeout: 10_000}, keepAliveTimeout: 4_000})
}

export interface SubscribeRequest extends SubscribeRequestBase {
  /** A per-attempt Agent from `newStreamAgent` that the caller destroys. */
  dispatcher: Agent
}

/** A per-attempt Agent for one subscription stream: no body timeout, headers within `requestTimeoutMs`. */
export function newStreamAgent(requestTimeoutMs: number): Agent {
  return new Agent({connect: {timeout: 10_000}, bodyTimeout: 0, headersTimeout: requestTimeoutMs})
}

/** POST SUBSCRIBE; throws MesosTransportError/MesosRedirectError like postFollowingRedirects. */
export function openSubscription(req: SubscribeRequest): Promise<SubscribeOutcome> {
  return subscribeVia(undiciSend(req.dispatcher), req)
}

export interface CallRequest extends CallRequestBase {
  dispatcher: Agent
}

/** One call: resolves on 200/202, throws MesosCallError on any other status. */
export function postCall(req: CallRequest): Promise<void> {
  return postCallVia(undiciSend(req.dispatcher), req)
}
