/**
 * Test harness: a small real HTTP server on 127.0.0.1 speaking the scheduler admin API contract
 * (src/lib/cli/types.ts), with every answer under the test's control. It stands in for `serve` in the
 * CLI e2e tests and the CLI start-up bench.
 *
 *   GET  /stats /members /failover-status /healthz /reseed/candidates   the documents in `state`
 *   POST /reseed {force}   401 without the bearer token (when `token` is set); 409 when `refuseReseed` is
 *                          set, or the cluster is healthy and force is false; else 202 {op, status}
 *   GET  /reseed/<op>      each read advances the operation one step through `reseedScript.steps`; after
 *                          the last step it ends with `reseedScript.final` ('running' = never ends)
 * `delayMs` delays every answer (timeouts); `requests` records what was asked.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import type {FailoverStatus, Member, ReseedCandidates, ReseedOperation, ReseedPhase, Stats} from '../../src/lib/cli/types.js'

export interface ScriptStep {
  phase: ReseedPhase
  step: string
  message?: string
}

export interface ReseedScript {
  steps: ScriptStep[]
  final: 'succeeded' | 'failed' | 'running'
  finalMessage: string
  seed: string
}

export interface RecordedRequest {
  method: string
  path: string
  authorization: string | undefined
  body: string
}

export interface FakeAdminState {
  stats: Stats
  members: Member[]
  candidates: ReseedCandidates
  failover: FailoverStatus
  reseedScript: ReseedScript
  /** When set, POST /reseed answers 409 with this error. */
  refuseReseed: string | null
  /** Bearer token POST /reseed requires; undefined = none. */
  token: string | undefined
  delayMs: number
}

export interface FakeAdmin {
  url: string
  state: FakeAdminState
  requests: RecordedRequest[]
  ops: Map<string, {reads: number; created_at: number; script: ReseedScript}>
  /** Sets stats.healthy, candidates.healthy and the health times consistently. */
  setHealthy(healthy: boolean): void
  close(): Promise<void>
}

export const DEFAULT_SCRIPT: ReseedScript = {
  steps: [
    {phase: 'ranking', step: 'ranking', message: 'asked 3 members for their raft status'},
    {phase: 'seeding', step: 'seeding', message: 'restarting m1 with --force-new-cluster'},
    {phase: 'killing', step: 'killing', message: 'killed m0, m2'},
    {phase: 'growing', step: 'growing', message: 'added m3'},
    {phase: 'growing', step: 'growing', message: 'added m4'},
  ],
  final: 'succeeded',
  finalMessage: 'cluster re-seeded from m1 and back to 3 members',
  seed: 'm1',
}

export function sampleMember(name: string, i: number, over: Partial<Member> = {}): Member {
  return {
    name,
    task_id: `etcd-${name}-task`,
    agent_id: `agent-${i}`,
    host: '127.0.0.1',
    client_url: `http://127.0.0.1:${3379 + 10 * i}`,
    peer_url: `http://127.0.0.1:${3380 + 10 * i}`,
    state: 'TASK_RUNNING',
    member_id: `8e9e05c52164694${i}`,
    leader: i === 1,
    raft_index: 1000 + i,
    raft_term: 4,
    healthy: true,
    is_learner: false,
    ...over,
  }
}

export function defaultState(now = Date.now()): FakeAdminState {
  return {
    stats: {
      running_servers: 3,
      launched_servers: 4,
      failed_servers: 1,
      cluster_livelocks: 0,
      cluster_reseeds: 0,
      healthy: 1,
      healthy_since: now - 300_000,
      unhealthy_since: null,
      last_livelock_at: null,
      last_reseed_at: null,
      last_launch_at: now - 360_000,
      last_failure_at: now - 400_000,
      stats_since: now - 3_600_000,
      volumes_released: 0,
      leftovers_cleaned: 0,
      defrags: 0,
      defrag_failures: 0,
      nospace_episodes: 0,
      cluster_name: 'e2e',
      cluster_size: 3,
      mode: 'MUTABLE',
      livelocked: false,
    },
    // deliberately not sorted by name
    members: [sampleMember('m2', 2), sampleMember('m0', 0), sampleMember('m1', 1)],
    candidates: {
      healthy: true,
      candidates: [
        {name: 'm1', client_url: 'http://127.0.0.1:3389', raft_index: 1001, raft_term: 4, revision: 77},
        {name: 'm0', client_url: 'http://127.0.0.1:3379', raft_index: 1000, raft_term: 4, revision: 76},
      ],
      reason: 'm1 has the highest raft index (1001, term 4)',
    },
    failover: {
      framework_id: 'fw-e2e-0001',
      subscribed: true,
      master: '127.0.0.1:5050',
      subscribed_since: now - 120_000,
      disconnected_since: null,
      failover_timeout_seconds: 604_800,
      failover_remaining_seconds: null,
      mode: 'MUTABLE',
      reconciliation: {state: 'done', pending_tasks: 0},
      scheduler: {
        id: 'sched-a',
        leader: {id: 'sched-a', admin_url: 'http://127.0.0.1:23400', host: 'host-a', since: now - 600_000},
        standbys: [{id: 'sched-b', admin_url: 'http://127.0.0.1:23401', host: 'host-b'}],
      },
    },
    reseedScript: structuredClone(DEFAULT_SCRIPT),
    refuseReseed: null,
    token: undefined,
    delayMs: 0,
  }
}

function operation(op: string, rec: {reads: number; created_at: number; script: ReseedScript}): ReseedOperation {
  const {script} = rec
  const shown = script.steps.slice(0, rec.reads)
  const done = rec.reads > script.steps.length && script.final !== 'running'
  const last = shown.at(-1)
  const at = (i: number): number => rec.created_at + 1000 * (i + 1)
  return {
    op,
    status: done ? script.final : 'running',
    phase: done && script.final === 'succeeded' ? null : (last?.phase ?? 'ranking'),
    seed: shown.some((s) => s.phase !== 'ranking') ? script.seed : null,
    steps: shown.map((s, i) => ({step: s.step, at: at(i), ...(s.message ? {message: s.message} : {})})),
    message: done ? script.finalMessage : (last?.message ?? 'starting'),
    created_at: rec.created_at,
    updated_at: shown.length > 0 ? at(shown.length - 1) : rec.created_at,
  }
}

export async function startFakeAdmin(over: Partial<FakeAdminState> = {}): Promise<FakeAdmin> {
  const state: FakeAdminState = {...defaultState(), ...over}
  const requests: RecordedRequest[] = []
  const ops = new Map<string, {reads: number; created_at: number; script: ReseedScript}>()
  let seq = 0

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    res.writeHead(status, {'content-type': typeof body === 'string' ? 'text/plain' : 'application/json'})
    res.end(text)
  }

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    const get = req.method === 'GET'
    if (get && path === '/stats') return send(res, 200, state.stats)
    if (get && (path === '/members' || path === '/membership')) return send(res, 200, state.members)
    if (get && path === '/failover-status') return send(res, 200, state.failover)
    if (get && path === '/healthz')
      return state.stats.healthy === 1 ? send(res, 200, 'cluster is healthy\n') : send(res, 503, 'cluster is not healthy\n')
    if (get && path === '/reseed/candidates') return send(res, 200, state.candidates)
    if (req.method === 'POST' && path === '/reseed') {
      if (state.token !== undefined && req.headers.authorization !== `Bearer ${state.token}`) {
        return send(res, 401, {error: 'this call needs Authorization: Bearer <admin token>'})
      }
      let force = false
      try {
        force = body.trim() === '' ? false : (JSON.parse(body) as {force?: unknown}).force === true
      } catch {
        return send(res, 400, {error: 'malformed JSON body'})
      }
      if (state.refuseReseed !== null) return send(res, 409, {error: state.refuseReseed})
      if (state.stats.healthy === 1 && !force) return send(res, 409, {error: 'the cluster is healthy; re-seeding needs force'})
      const op = `op-${++seq}`
      ops.set(op, {reads: 0, created_at: Date.now(), script: structuredClone(state.reseedScript)})
      return send(res, 202, {op, status: `/reseed/${op}`})
    }
    const m = /^\/reseed\/([A-Za-z0-9_-]+)$/.exec(path)
    if (get && m) {
      const rec = ops.get(m[1]!)
      if (!rec) return send(res, 404, {error: `no re-seed operation ${m[1]}`})
      rec.reads++
      return send(res, 200, operation(m[1]!, rec))
    }
    send(res, 404, {error: `no such endpoint: ${path}`})
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      requests.push({method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body})
      const go = (): void => {
        try {
          handle(req, res, body)
        } catch (err) {
          send(res, 500, {error: String(err)})
        }
      }
      if (state.delayMs > 0) setTimeout(go, state.delayMs)
      else go()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    requests,
    ops,
    setHealthy(healthy: boolean) {
      const now = Date.now()
      state.stats.healthy = healthy ? 1 : 0
      state.stats.healthy_since = healthy ? now - 300_000 : null
      state.stats.unhealthy_since = healthy ? null : now - 90_000
      state.candidates.healthy = healthy
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
