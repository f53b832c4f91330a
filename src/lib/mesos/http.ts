/**
 * The undici 7 transport of the Mesos v1 clients' POSTs (the scheduler's; the executor uses node-http.ts so that
 * it never loads undici). Redirects, errors and body helpers are transport-neutral and live in http-post.ts,
 * re-exported here: `postFollowingRedirects` is `postVia` with an undici `request` on `opts.dispatcher`.
 */
import {request, type Dispatcher} from 'undici'
import {postVia, type PostOptions as NeutralPostOptions, type PostResult, type Send} from './http-post.js'

export {
  discard,
  headerValue,
  MesosCallError,
  MesosNotSubscribedError,
  MesosRedirectError,
  MesosTransportError,
  readText,
  type PostResult,
} from './http-post.js'

export interface PostOptions extends NeutralPostOptions {
  dispatcher: Dispatcher
}

/** One request on an undici dispatcher. */
export function undiciSend(dispatcher: Dispatcher): Send {
  return async (url, req) => {
    const res = await request(url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      dispatcher,
      signal: req.signal,
      headersTimeout: req.headersTimeoutMs,
      bodyTimeout: req.bodyTimeoutMs,
    })
    return {statusCode: res.statusCode, headers: res.headers, body: res.body}
  }
}

export function postFollowingRedirects(opts: PostOptions): Promise<PostResult> {
  return postVia(undiciSend(opts.dispatcher), opts)
}
