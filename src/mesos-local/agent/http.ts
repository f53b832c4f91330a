/**
 * The local agent's HTTP server, bound to the agent's own loopback ip (127.0.0.x):
 *   POST /api/v1/executor, /slave(1)/api/v1/executor  → executor API (executor-api.ts)
 *   GET  /state, /slave(1)/state                      → agent state JSON
 *   GET  /health, /slave(1)/health                    → 200, empty body, no Content-Type
 *   GET  /files/read                                  → sandbox files (files.ts)
 *   anything else                                     → 404 "404 Not Found." (text/plain)
 * Built apart from listening: `buildAgentHandler(deps)` returns the request handler.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {handleExecutorRequest, sendEmpty, sendText, type ExecutorApiBackend} from './executor-api.js'
import type {FilesAnswer} from './files.js'

export interface AgentHttpDeps {
  executor: ExecutorApiBackend
  state: () => Record<string, unknown>
  filesRead: (query: URLSearchParams) => FilesAnswer
}

export function buildAgentHandler(deps: AgentHttpDeps): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent')
    const p = url.pathname.replace(/^\/slave\(1\)(?=\/)/, '')
    if (p === '/api/v1/executor') {
      void handleExecutorRequest(req, res, deps.executor)
      return
    }
    req.resume()
    if (p === '/state') {
      const body = Buffer.from(JSON.stringify(deps.state()), 'utf8')
      res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': String(body.byteLength)})
      res.end(body)
      return
    }
    if (p === '/health') return sendEmpty(res, 200)
    if (url.pathname === '/files/read') {
      const a = deps.filesRead(url.searchParams)
      if (a.json === undefined) return sendText(res, a.status, a.text ?? '')
      const body = Buffer.from(JSON.stringify(a.json), 'utf8')
      res.writeHead(a.status, {'Content-Type': 'application/json', 'Content-Length': String(body.byteLength)})
      res.end(body)
      return
    }
    sendText(res, 404, '404 Not Found.')
  }
}

export interface AgentServer {
  readonly port: number
  /** Stop listening and break every open connection (executors' streams included). */
  close(): Promise<void>
}

/** Listen on ip:port (0 = any free port). Rejects with a message naming the address on failure. */
export async function listenAgent(handler: http.RequestListener, ip: string, port: number): Promise<AgentServer> {
  const server = http.createServer(handler)
  // No idle timeout on keep-alive connections (like libprocess); 0 also stops node:http from adding a
  // `Keep-Alive: timeout=…` header that real agents never send (same as the master, master/local-master.ts).
  server.keepAliveTimeout = 0
  server.requestTimeout = 0
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`local agent cannot listen on ${ip}:${port}: ${(e as Error).message}`)))
    server.listen({host: ip, port, exclusive: true}, () => resolve())
  })
  const bound = (server.address() as AddressInfo).port
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
