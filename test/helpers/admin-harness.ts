/**
 * Unit-test harnesses for the admin API and the CLI flows, each on a real HTTP server on 127.0.0.1 (port 0):
 *   - adminDeps / withAdminServer: the scheduler's admin handler (buildAdminHandler) with fake deps;
 *   - withCannedApi: a canned admin API (route → {status, body}) behind an AdminClient, for src/lib/cli/* flows.
 */
import http from 'node:http'
import {AdminClient} from '../../src/lib/cli/admin-client.js'
import {type AdminDeps, buildAdminHandler} from '../../src/scheduler/admin.js'

/** Fake admin deps: a healthy, empty cluster that refuses re-seeds; `over` replaces any of them. */
export function adminDeps(over: Partial<AdminDeps> = {}): AdminDeps {
  return {
    stats: () => ({}),
    members: () => [],
    healthy: () => true,
    failoverStatus: () => ({}),
    metrics: () => '',
    requestReseed: () => ({accepted: false, status: 409, error: 'x'}),
    reseedStatus: () => null,
    reseedCandidates: () => ({}),
    ...over,
  }
}

async function withServer<T>(srv: http.Server, fn: (base: string) => Promise<T>): Promise<T> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  try {
    return await fn(`http://127.0.0.1:${(srv.address() as {port: number}).port}`)
  } finally {
    await new Promise<void>((r) => srv.close(() => r()))
  }
}

/** Serves buildAdminHandler(d) while fn runs, with the server's base URL. */
export async function withAdminServer(d: AdminDeps, fn: (base: string) => Promise<void>): Promise<void> {
  await withServer(http.createServer(buildAdminHandler(d)), fn)
}

export type CannedAnswer = {status: number; body: unknown}

/** Answers every request with route(method, path) as JSON while fn runs with an AdminClient on it (5 s timeout). */
export async function withCannedApi(
  route: (method: string, path: string) => CannedAnswer,
  fn: (client: AdminClient) => Promise<void>,
): Promise<void> {
  const srv = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const a = route(req.method ?? '', req.url ?? '')
      res.writeHead(a.status, {'content-type': 'application/json'})
      res.end(JSON.stringify(a.body))
    })
  })
  await withServer(srv, (baseUrl) => fn(new AdminClient({baseUrl, timeoutMs: 5000})))
}
