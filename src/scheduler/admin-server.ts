/**
 * The admin HTTP server `serve` runs, built apart from listening (STYLE.md 11): the handler of admin.ts
 * inside a node:http server with the limits that keep slow, stalled or too many clients from holding the
 * scheduler's sockets:
 *   - headers within `headersTimeoutMs`, a whole request within `requestTimeoutMs` (slowloris), idle
 *     keep-alive connections closed after `keepAliveTimeoutMs`;
 *   - the two request timeouts are enforced by a sweep every `connectionsCheckingIntervalMs` (Node's
 *     default is 30 s, so a stalled client would keep its socket up to 30 s past the timeout);
 *   - at most `maxConnections` open connections: the next ones are closed at once by the server (Node's
 *     'drop' event), existing connections keep working.
 * With `tls` ({cert, key}: --admin-tls-cert-file/--admin-tls-key-file) it is a node:https server with the same
 * limits (a TLS handshake must also finish within headersTimeoutMs), so the admin token never crosses a network in clear.
 * Tests build the same server (test/unit/fuzz-admin.test.ts, test/integration/admin-tls.test.ts), with the same defaults.
 */
import http from 'node:http'
import https from 'node:https'
import {buildAdminHandler, type AdminDeps} from './admin.js'

export interface AdminServerLimits {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  connectionsCheckingIntervalMs: number
  maxConnections: number
}

export const DEFAULT_ADMIN_LIMITS: Readonly<AdminServerLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 1_000,
  // The operator commands, a proxy or two and a metrics scraper need a handful; the load bench uses 64.
  maxConnections: 256,
})

export interface AdminServerOptions {
  limits?: Partial<AdminServerLimits>
  /** Called when a connection is refused because `maxConnections` are open. */
  onDrop?: (remoteAddress: string | undefined) => void
  /** Serve HTTPS with this certificate (chain) and key (PEM). */
  tls?: {cert: string | Buffer; key: string | Buffer}
}

/** The admin server with its limits, not listening yet. */
export function buildAdminServer(deps: AdminDeps, opts: AdminServerOptions = {}): http.Server | https.Server {
  const l: AdminServerLimits = {...DEFAULT_ADMIN_LIMITS, ...opts.limits}
  const options: http.ServerOptions = {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: l.connectionsCheckingIntervalMs,
  }
  const handler = buildAdminHandler(deps)
  const server = opts.tls
    ? // A client that never finishes the TLS handshake is cut off within headersTimeout too (Node's default: 120 s).
      https.createServer({...options, handshakeTimeout: l.headersTimeoutMs, cert: opts.tls.cert, key: opts.tls.key}, handler)
    : http.createServer(options, handler)
  server.maxConnections = l.maxConnections
  if (opts.onDrop) {
    const onDrop = opts.onDrop
    server.on('drop', (d?: {remoteAddress?: string}) => onDrop(d?.remoteAddress))
  }
  return server
}
