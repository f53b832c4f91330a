/**
 * The transport side of the scheduler client (scheduler-client.ts), on node:http (node-http.ts, as the executor's
 * client): `serve` does not load undici (0.2–0.5 s of CPU at start on a busy machine). The transport-neutral part
 * (subscription classification, event decoding, call status handling, small helpers) is client-core.ts,
 * re-exported here.
 *
 * - `openSubscription`: `subscribeVia` on its own per-attempt transport (`newStreamTransport`: no keep-alive, no
 *   body timeout, headers within `requestTimeoutMs`); the caller owns it and destroys it when the attempt ends.
 * - `postCall`: `postCallVia` on the client's keep-alive transport (`newCallTransport`).
 */
import {postCallVia, subscribeVia, type CallRequestBase, type SubscribeOutcome, type SubscribeRequestBase} from './client-core.js'
import {NodeTransport} from './node-http.js'

export {decodeEvents, emitSafe, errText, type LogFn, type SubscribeOutcome} from './client-core.js'
export {NodeTransport} from './node-http.js'

/** The keep-alive transport a client uses for its calls (never the stream's connection). */
export function newCallTransport(): NodeTransport {
  return new NodeTransport({keepAlive: true})
}

export interface SubscribeRequest extends SubscribeRequestBase {
  /** A per-attempt transport from `newStreamTransport` that the caller destroys. */
  transport: NodeTransport
}

/** A per-attempt transport for one subscription stream (its headers timeout is the request's `requestTimeoutMs`). */
export function newStreamTransport(): NodeTransport {
  return new NodeTransport({keepAlive: false})
}

/** POST SUBSCRIBE; throws MesosTransportError/MesosRedirectError like postVia. */
export function openSubscription(req: SubscribeRequest): Promise<SubscribeOutcome> {
  return subscribeVia(req.transport.send, req)
}

export interface CallRequest extends CallRequestBase {
  transport: NodeTransport
}

/** One call: resolves on 200/202, throws MesosCallError on any other status. */
export function postCall(req: CallRequest): Promise<void> {
  return postCallVia(req.transport.send, req)
}
