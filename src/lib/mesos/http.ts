/**
 * The Mesos v1 clients' HTTP error types and body helpers, re-exported from http-post.ts (transport-neutral) for
 * the modules and tests that import them from here. Both clients send through node-http.ts: nothing in src/ loads
 * undici any more.
 */
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
