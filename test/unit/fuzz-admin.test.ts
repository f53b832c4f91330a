/**
 * Fuzz test of the admin HTTP API (src/scheduler/admin.ts buildAdminHandler with fake deps) served on
 * 127.0.0.1, driven by raw sockets so that anything can be sent: random methods, paths (long, encoded,
 * traversal, unicode, absolute-form), headers (oversized → 431), bodies (random bytes, huge, JSON of the
 * wrong types, chunked, short of their Content-Length), pipelined garbage, and slowloris-style partial
 * requests. Properties: every answer is a 4xx/5xx with a JSON {error} body (or Node's own bare 400/408/431
 * followed by a closed connection), 2xx/3xx only on real endpoints, nothing hangs, and GET /stats still
 * works after every batch.
 *
 * The server is the one `serve` runs, built by the same function (src/scheduler/admin-server.ts
 * buildAdminServer) with the same default limits: the slowloris crowd must be cut off within a few seconds
 * of those timeouts, and connections over the cap are closed at once while the open ones keep working. The
 * random and pipelined batches use a second server from the same builder with short timeouts, so that the
 * stalled requests they generate end in a second or two instead of serve's 10-20 s.
 * Deterministic (seeded mulberry32; FUZZ_SEED overrides); each test prints how many cases it tried.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type http from 'node:http'
import net from 'node:net'
import type {AdminDeps} from '../../src/scheduler/admin.js'
import {buildAdminServer, DEFAULT_ADMIN_LIMITS} from '../../src/scheduler/admin-server.js'
import {waitFor} from '../helpers/ports.js'
import {fuzzSeed, Prng} from '../helpers/prng.js'

class StandbyError extends Error {
  override name = 'StandbyError'
}

function fakeDeps(): AdminDeps & {reseeds: boolean[]} {
  const reseeds: boolean[] = []
  return {
    reseeds,
    stats: () => ({running_servers: 3, healthy: 1, cluster_name: 'fuzz', cluster_size: 3, mode: 'MUTABLE'}),
    members: () => [{name: 'fuzz-1', client_url: 'http://10.0.0.1:31001', healthy: true}],
    healthy: () => true,
    failoverStatus: () => {
      throw new Error('the failover view blew up') // an unexpected exception inside a handler → 500 JSON
    },
    metrics: () => 'etcd_mesos_healthy{cluster="fuzz"} 1\n',
    requestReseed: (force) => {
      reseeds.push(force)
      return force ? {accepted: true, op: 'op-1'} : {accepted: false, status: 409, error: 'cluster is healthy; use force'}
    },
    reseedStatus: (op) => {
      if (op === 'standby') throw new StandbyError('this scheduler is a standby')
      return op === 'op-1' ? {op, phase: 'seeding'} : null
    },
    reseedCandidates: () => ({healthy: true, candidates: [], reason: 'x'}),
  }
}

const deps = fakeDeps()
/** serve's server: buildAdminServer with its defaults. */
let serveServer: http.Server
let servePort = 0
/** Same builder, short timeouts: the random and pipelined batches (see the header comment). */
let fastServer: http.Server
let port = 0

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return (server.address() as {port: number}).port
}
async function close(server: http.Server | undefined): Promise<void> {
  if (!server?.listening) return
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
}

before(async () => {
  serveServer = buildAdminServer(deps)
  servePort = await listen(serveServer)
  fastServer = buildAdminServer(deps, {
    limits: {headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 500, connectionsCheckingIntervalMs: 100},
  })
  port = await listen(fastServer)
})
after(async () => {
  await close(serveServer)
  await close(fastServer)
})

interface RawResult {
  data: Buffer
  closed: boolean
  timedOut: boolean
  ms: number
}
type Piece = Buffer | {delayMs: number}

/**
 * Writes the pieces (with pauses), reads until the server closes or `timeoutMs` passes (generous: it only
 * tells a hung connection from a slow machine).
 */
function raw(pieces: Piece[], timeoutMs = 30_000, to = port): Promise<RawResult> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const sock = net.connect(to, '127.0.0.1')
    const data: Buffer[] = []
    let done = false
    let pause: {timer: NodeJS.Timeout; wake: () => void} | undefined
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (pause) {
        clearTimeout(pause.timer) // a long pause must not keep the test process alive
        pause.wake()
      }
      sock.destroy()
      resolve({data: Buffer.concat(data), closed, timedOut, ms: Date.now() - t0})
    }
    const timer = setTimeout(() => finish(false, true), timeoutMs)
    sock.on('data', (d: Buffer) => data.push(d))
    sock.on('close', () => finish(true, false))
    sock.on('error', () => finish(true, false))
    sock.on('connect', async () => {
      for (const p of pieces) {
        if (done || sock.destroyed) return
        if (Buffer.isBuffer(p)) sock.write(p)
        else await new Promise<void>((r) => (pause = {timer: setTimeout(r, p.delayMs), wake: r}))
      }
    })
  })
}

interface Response {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** Parses every HTTP/1.1 response in `buf` (Content-Length or chunked bodies; the last one may run to close). */
function parseResponses(buf: Buffer, headOnly = false): Response[] {
  const out: Response[] = []
  let rest = buf
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    assert.ok(end > 0, `unterminated response head: ${JSON.stringify(rest.subarray(0, 200).toString('latin1'))}`)
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n')
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)
    assert.ok(m, `bad status line ${JSON.stringify(lines[0])}`)
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':')
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim()
    }
    let body: Buffer
    rest = rest.subarray(end + 4)
    if (headOnly) {
      body = Buffer.alloc(0)
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = []
      for (;;) {
        const nl = rest.indexOf('\r\n')
        const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16)
        rest = rest.subarray(nl + 2)
        if (size === 0) {
          rest = rest.subarray(2)
          break
        }
        parts.push(rest.subarray(0, size))
        rest = rest.subarray(size + 2)
      }
      body = Buffer.concat(parts)
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length'])
      body = rest.subarray(0, n)
      rest = rest.subarray(n)
    } else {
      body = rest
      rest = Buffer.alloc(0)
    }
    out.push({status: Number(m[1]), headers, body})
  }
  return out
}

const ROUTES = [
  '/',
  '/stats',
  '/members',
  '/membership',
  '/healthz',
  '/metrics',
  '/failover-status',
  '/reseed',
  '/reseed/candidates',
  '/reseed/op-1',
  '/reseed/op-2',
  '/reseed/standby',
]

/** Checks one answer; returns 'json-error' | 'node-error' | 'ok'. */
function checkResponse(res: Response, what: string): string {
  assert.ok(res.status >= 100 && res.status <= 599, `${what}: status ${res.status}`)
  const ct = res.headers['content-type']
  if (ct === 'application/json' && res.body.length > 0) {
    let parsed: unknown
    assert.doesNotThrow(() => (parsed = JSON.parse(res.body.toString('utf8'))), `${what}: JSON body does not parse`)
    if (res.status >= 400) assert.equal(typeof (parsed as {error?: unknown}).error, 'string', `${what}: error body without "error"`)
  }
  if (res.status < 400) return 'ok'
  if (ct === undefined) {
    // Node's own answer to an unparsable request (400, 408, 413, 414, 431, 501...): no body, connection closed.
    assert.equal(res.headers.connection, 'close', `${what}: node-level ${res.status} without Connection: close`)
    return 'node-error'
  }
  if (ct.startsWith('application/json')) return 'json-error'
  // The two text endpoints answer errors in text on purpose.
  assert.ok(res.status === 503 || res.status === 500, `${what}: ${res.status} with content-type ${ct}`)
  return 'text-error'
}

function randomMethod(r: Prng): string {
  return r.pick([
    'GET',
    'GET',
    'POST',
    'POST',
    'HEAD',
    'PUT',
    'DELETE',
    'OPTIONS',
    'PATCH',
    'TRACE',
    'get',
    'PROPFIND',
    'FOO',
    'M'.repeat(r.range(1, 300)),
    'G\u00e9T',
    'GET /x',
    '',
  ])
}

/** encodeURIComponent, with lone surrogates (which it refuses) replaced first. */
function safeEncode(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))
}

function randomPath(r: Prng): string {
  switch (r.int(10)) {
    case 0:
      return r.pick(ROUTES)
    case 1:
      return `${r.pick(ROUTES)}${r.pick(['?x=1', '?force=true', '#frag', '/', '//', '%00', '%2F', '.json', `?${'a'.repeat(3000)}`])}`
    case 2:
      return r.pick([
        '/../../etc/passwd',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/reseed/..%2f..%2fstats',
        '//stats',
        '/./stats',
        '/STATS',
        '/stats/',
        '/reseed/op-1/..',
      ])
    case 3:
      return `/${safeEncode(r.junkString(30)).replace(/%/g, r.chance(0.3) ? '%%' : '%')}`
    case 4:
      return `/reseed/${r.stringOf('abcXYZ019_-', r.pick([1, 64, 128, 129, 5000]))}`
    case 5:
      return `/${'a/'.repeat(r.range(1, 4000))}`
    case 6:
      return r.pick([
        '*',
        'http://admin.invalid/stats',
        'http://127.0.0.1/reseed',
        'stats',
        '',
        'mailto:x',
        '/\u00fcn\u00efc\u00f6d\u00e9',
        '/\u{1F600}',
      ])
    case 7:
      return `/${r.junkString(20)}`
    case 8:
      return `/reseed/${safeEncode(r.junkString(10))}`
    default:
      return `/${r.stringOf('abcdefghijklmnopqrstuvwxyz/-._~%0123456789', r.int(60))}`
  }
}

function randomBody(r: Prng): {body: Buffer; ct?: string} {
  switch (r.int(8)) {
    case 0:
      return {body: Buffer.alloc(0)}
    case 1:
      return {body: r.bytes(r.int(500)), ct: r.pick(['application/json', 'application/octet-stream', undefined])}
    case 2:
      return {body: Buffer.from(JSON.stringify(r.jsonValue(3)) ?? 'null'), ct: 'application/json'}
    case 3:
      return {
        body: Buffer.from(JSON.stringify({force: r.jsonValue(1)})),
        ct: r.pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'APPLICATION/JSON']),
      }
    case 4:
      return {body: Buffer.alloc(r.pick([64 * 1024, 64 * 1024 + 1, 300 * 1024]), 0x7b), ct: 'application/json'}
    case 5:
      return {body: Buffer.from('{"force":true}'), ct: 'application/json'}
    case 6:
      return {body: Buffer.from(r.junkString(200)), ct: 'application/json'}
    default:
      return {body: Buffer.from(`{"force":${'['.repeat(r.range(1, 20000))}`), ct: 'application/json'}
  }
}

/** One request as raw bytes; sometimes chunked, sometimes with odd or broken headers. */
function randomRequest(r: Prng): {bytes: Buffer; method: string} {
  const method = randomMethod(r)
  const path = randomPath(r)
  const {body, ct} = randomBody(r)
  const headers: string[] = ['Host: 127.0.0.1', 'Connection: close']
  if (ct) headers.push(`Content-Type: ${ct}`)
  let payload = body
  if (r.chance(0.2) && body.length > 0) {
    headers.push('Transfer-Encoding: chunked')
    const parts: Buffer[] = []
    for (const c of r.chunk(body)) if (c.length > 0) parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'))
    parts.push(Buffer.from('0\r\n\r\n'))
    payload = Buffer.concat(parts)
  } else if (body.length > 0 || r.chance(0.3)) {
    headers.push(`Content-Length: ${body.length}`)
  }
  if (r.chance(0.15))
    headers.push(
      r.pick([
        `X-Junk: ${r.junkString(50).replace(/[\r\n]/g, '')}`,
        'Authorization: Bearer nope',
        'Authorization: Basic Zm9vOmJhcg==',
        'Content-Length: 5',
        'Content-Length: -1',
        'Content-Length: 99999999999999999999',
        'Transfer-Encoding: gzip',
        'Expect: 100-continue',
        'Bad Header Without Colon',
        ': empty-name',
        `X-Long: ${'x'.repeat(r.pick([1000, 8000]))}`,
        'Host: evil.example',
      ]),
    )
  const head = `${method} ${path} HTTP/${r.chance(0.95) ? '1.1' : r.pick(['1.0', '2.0', '9.9', 'x'])}\r\n${headers.join('\r\n')}\r\n\r\n`
  return {bytes: Buffer.concat([Buffer.from(head, 'utf8'), payload]), method}
}

async function statsStillServed(what: string, to = port): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${to}/stats`, {signal: AbortSignal.timeout(15_000)})
  assert.equal(res.status, 200, `${what}: GET /stats after the batch`)
  assert.equal(((await res.json()) as {cluster_name: string}).cluster_name, 'fuzz')
}

describe('fuzz: admin HTTP API', {timeout: 180_000}, () => {
  it('random methods, paths, headers and bodies: JSON errors or a closed connection; /stats keeps working', async () => {
    const r = new Prng(fuzzSeed(0xad310001))
    const tally: Record<string, number> = {}
    const statuses: Record<number, number> = {}
    const BATCHES = 8
    const PER_BATCH = 50
    let cases = 0
    for (let b = 0; b < BATCHES; b++) {
      await Promise.all(
        Array.from({length: PER_BATCH}, async (_, j) => {
          const req = randomRequest(r)
          const what = `batch ${b} case ${j} (seed ${r.seed}): ${JSON.stringify(req.bytes.subarray(0, 120).toString('latin1'))}`
          const out = await raw([req.bytes])
          assert.ok(!out.timedOut, `${what}: no answer and no close within 30 s`)
          const responses = out.data.length > 0 ? parseResponses(out.data, req.method === 'HEAD') : []
          if (responses.length === 0) tally.closed = (tally.closed ?? 0) + 1
          for (const res of responses) {
            const kind = checkResponse(res, what)
            tally[kind] = (tally[kind] ?? 0) + 1
            statuses[res.status] = (statuses[res.status] ?? 0) + 1
          }
          cases++
        }),
      )
      await statsStillServed(`batch ${b}`)
    }
    console.log(`fuzz-admin random requests: ${cases} cases`, tally, statuses)
    assert.ok((tally['json-error'] ?? 0) > 0 && (tally['node-error'] ?? 0) > 0 && (tally.ok ?? 0) > 0)
  })

  it('targeted bad input: wrong body types, huge bodies, oversized headers, traversal, handler exceptions', async () => {
    const req = (method: string, path: string, headers: string[] = [], body: Buffer = Buffer.alloc(0)): Buffer =>
      Buffer.concat([
        Buffer.from(
          `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}${body.length ? `Content-Length: ${body.length}\r\n` : ''}\r\n`,
          'utf8',
        ),
        body,
      ])
    const json = (v: string): Buffer => Buffer.from(v) as Buffer
    const cases: [string, Buffer, number][] = [
      ['force as string', req('POST', '/reseed', ['Content-Type: application/json'], json('{"force":"true"}')), 400],
      ['force as number', req('POST', '/reseed', ['Content-Type: application/json'], json('{"force":1}')), 400],
      ['body is an array', req('POST', '/reseed', ['Content-Type: application/json'], json('[{"force":true}]')), 400],
      ['body is null', req('POST', '/reseed', ['Content-Type: application/json'], json('null')), 400],
      ['body is a string', req('POST', '/reseed', ['Content-Type: application/json'], json('"force"')), 400],
      ['invalid UTF-8 JSON', req('POST', '/reseed', ['Content-Type: application/json'], Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400],
      ['deeply nested JSON', req('POST', '/reseed', ['Content-Type: application/json'], json(`{"force":${'['.repeat(30000)}`)), 400],
      ['form body', req('POST', '/reseed', ['Content-Type: application/x-www-form-urlencoded'], json('force=true')), 415],
      ['64 KiB + 1 body', req('POST', '/reseed', ['Content-Type: application/json'], Buffer.alloc(64 * 1024 + 1, 0x20)), 413],
      ['4 MiB body', req('POST', '/reseed', ['Content-Type: application/json'], Buffer.alloc(4 * 1024 * 1024, 0x20)), 413],
      ['oversized header (20 KiB)', req('GET', '/stats', [`X-Big: ${'a'.repeat(20 * 1024)}`]), 431],
      [
        'many headers',
        req(
          'GET',
          '/stats',
          Array.from({length: 3000}, (_, i) => `X-H${i}: ${i}`),
        ),
        431,
      ],
      ['20 KiB path', req('GET', `/${'p'.repeat(20 * 1024)}`), 431],
      ['traversal', req('GET', '/../../etc/passwd'), 404],
      ['encoded traversal', req('GET', '/reseed/..%2F..%2Fetc%2Fpasswd'), 404],
      ['raw UTF-8 in the path (Node refuses it)', req('GET', '/r\u00e9seed'), 400],
      ['percent-encoded UTF-8 path', req('GET', '/r%C3%A9seed'), 404],
      ['bad percent-encoding', req('GET', '/stats%zz'), 404],
      ['op id too long', req('GET', `/reseed/${'a'.repeat(129)}`), 404],
      ['absolute-form URL', req('GET', 'http://other.invalid/stats'), 200],
      ['asterisk-form', req('OPTIONS', '*'), 404],
      ['handler throws', req('GET', '/failover-status'), 500],
      ['standby error', req('GET', '/reseed/standby'), 503],
      ['DELETE on /stats', req('DELETE', '/stats'), 405],
      ['GET on /reseed', req('GET', '/reseed'), 405],
      ['space in the path', Buffer.from('GET /st ats HTTP/1.1\r\nHost: x\r\n\r\n'), 400],
      ['HTTP/0.9-style request line (Node accepts it)', Buffer.from('GET /stats\r\n\r\n'), 200],
      ['binary request line', Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.alloc(100, 0x01)]), 400],
      [
        'conflicting length headers',
        Buffer.from('POST /reseed HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
        400,
      ],
      [
        'bad chunk size',
        Buffer.from(
          'POST /reseed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
        ),
        400,
      ],
    ]
    deps.reseeds.length = 0 // the random batch may have sent valid POST /reseed calls
    for (const [name, bytes, status] of cases) {
      const out = await raw([bytes], 30_000, servePort)
      assert.ok(!out.timedOut, `${name}: no answer within 30 s`)
      const [res] = parseResponses(out.data)
      assert.ok(res, `${name}: no response (closed after ${out.ms} ms)`)
      assert.equal(res.status, status, `${name}: ${res.body.toString('utf8').slice(0, 200)}`)
      checkResponse(res, name)
    }
    await statsStillServed('targeted cases', servePort)
    assert.deepEqual(deps.reseeds, [], 'no bad body reached requestReseed')
    console.log(`fuzz-admin targeted cases: ${cases.length}`)
  })

  it('pipelined requests with garbage after them: answers (possibly cut short by the garbage), then closed', async () => {
    const r = new Prng(fuzzSeed(0xad310002))
    let cases = 0
    let answered = 0
    for (let i = 0; i < 60; i++) {
      const good = Array.from(
        {length: r.range(1, 3)},
        () => `GET ${r.pick(['/stats', '/members', '/metrics', '/nope'])} HTTP/1.1\r\nHost: x\r\n\r\n`,
      ).join('')
      const out = await raw([Buffer.from(good), r.chance(0.5) ? r.bytes(r.range(1, 200)) : Buffer.from(`${r.junkString(30)}\r\n\r\n`)])
      assert.ok(!out.timedOut, `case ${i}: pipelined connection neither answered nor closed within 30 s`)
      assert.ok(out.closed, `case ${i}: not closed`)
      // Node answers the valid requests in order until its parser reaches the garbage, then answers 400 (or
      // just closes, dropping answers not yet written): a prefix of the answers, each one well-formed.
      const responses = parseResponses(out.data)
      const expected = good.split('HTTP/1.1\r\nHost: x\r\n\r\n').length - 1
      assert.ok(responses.length <= expected + 1, `case ${i}: ${responses.length} answers for ${expected} valid requests`)
      for (const res of responses) checkResponse(res, `pipelined case ${i}`)
      answered += responses.length
      cases++
    }
    await statsStillServed('pipelined')
    console.log(`fuzz-admin pipelined: ${cases} cases, ${answered} answers`)
  })

  it("slowloris on serve's server: trickled or stalled requests are cut off within seconds of its timeouts", async () => {
    const L = DEFAULT_ADMIN_LIMITS
    // A real slowloris never stops: each trickle lasts far longer than the timeouts (raw() stops at the close).
    const trickle = (text: string, everyMs: number): Piece[] => [...text].flatMap((c) => [Buffer.from(c), {delayMs: everyMs}])
    const long = (L.requestTimeoutMs * 3) / 200
    const cases: [string, Piece[], number][] = [
      ['request line never finished', trickle(`GET /stats${'x'.repeat(600)}`, long), L.headersTimeoutMs],
      [
        'headers never finished',
        [Buffer.from('GET /stats HTTP/1.1\r\nHost: x\r\n'), ...trickle(`X-Slow: ${'y'.repeat(600)}`, long)],
        L.headersTimeoutMs,
      ],
      ['idle after connect', [{delayMs: L.requestTimeoutMs * 3}], L.headersTimeoutMs],
      [
        'body short of its Content-Length',
        [
          Buffer.from('POST /reseed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"force":'),
          {delayMs: L.requestTimeoutMs * 3},
        ],
        L.requestTimeoutMs,
      ],
      [
        'body trickled',
        [
          Buffer.from('POST /reseed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n'),
          ...trickle(' '.repeat(600), long),
        ],
        L.requestTimeoutMs,
      ],
      [
        'chunked body never terminated',
        [
          Buffer.from(
            'POST /reseed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n',
          ),
          {delayMs: L.requestTimeoutMs * 3},
        ],
        L.requestTimeoutMs,
      ],
    ]
    // Each must be closed a few sweeps after its timeout; 15 s of slack for a loaded machine (Node's default
    // sweep, every 30 s, would leave them open up to 30 s past the timeout).
    const SLACK = 15_000
    const results = await Promise.all(
      cases.map(async ([name, pieces, limit]) => ({
        name,
        limit,
        out: await raw(pieces, limit + L.connectionsCheckingIntervalMs + SLACK, servePort),
      })),
    )
    for (const {name, limit, out} of results) {
      assert.ok(out.closed && !out.timedOut, `${name}: still open ${SLACK / 1000} s after the server's ${limit / 1000} s timeout`)
      for (const res of out.data.length ? parseResponses(out.data) : []) {
        assert.ok(res.status === 408 || res.status === 400, `${name}: status ${res.status}`)
      }
    }
    await statsStillServed('slowloris', servePort)
    console.log(`fuzz-admin slowloris: ${cases.length} cases, closed after ${results.map((x) => `${x.out.ms} ms`).join(', ')}`)
  })

  it('over the connection cap: new connections are closed at once, open ones keep working', async () => {
    const drops: (string | undefined)[] = []
    // Long timeouts: the held connections must not expire while the test runs, however slow the machine.
    const capped = buildAdminServer(deps, {
      limits: {maxConnections: 3, headersTimeoutMs: 300_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 300_000},
      onDrop: (a) => drops.push(a),
    })
    const capPort = await listen(capped)
    const socks: Conn[] = []
    try {
      for (let i = 0; i < 3; i++) socks.push(await connect(capPort))
      await waitFor('3 connections accepted', async () => (await connections(capped)) === 3, 30_000, 20)
      const over = await connect(capPort)
      socks.push(over)
      over.sock.write('GET /stats HTTP/1.1\r\nHost: x\r\n\r\n')
      await waitFor('the 4th connection to be closed by the server', () => over.closed(), 30_000, 20)
      assert.equal(over.data().length, 0, 'no answer on a refused connection')
      assert.equal(drops.length, 1, 'onDrop reported it')
      // The open ones still answer (keep-alive: twice on the same connection).
      for (const c of socks.slice(0, 3)) {
        for (let n = 1; n <= 2; n++) {
          c.sock.write('GET /stats HTTP/1.1\r\nHost: x\r\n\r\n')
          await waitFor(`answer ${n} on an open connection`, () => c.answers() === n, 30_000, 20)
        }
        assert.ok(!c.closed())
      }
      // One closes: a new connection is served again.
      socks[0]!.sock.destroy()
      await waitFor('the server to count 2 connections', async () => (await connections(capped)) === 2, 30_000, 20)
      const again = await connect(capPort)
      socks.push(again)
      again.sock.write('GET /stats HTTP/1.1\r\nHost: x\r\n\r\n')
      await waitFor('an answer on the new connection', () => again.answers() === 1 || again.closed(), 30_000, 20)
      assert.equal(again.answers(), 1, 'a connection under the cap is served')
    } finally {
      for (const c of socks) c.sock.destroy()
      await close(capped)
    }
  })
})

interface Conn {
  sock: net.Socket
  data(): Buffer
  closed(): boolean
  answers(): number
}

/** An open connection that collects what the server sends. */
function connect(to: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(to, '127.0.0.1')
    const chunks: Buffer[] = []
    let closed = false
    sock.on('data', (d: Buffer) => chunks.push(d))
    sock.on('close', () => (closed = true))
    sock.on('error', () => (closed = true))
    const data = (): Buffer => Buffer.concat(chunks)
    sock.once('connect', () =>
      resolve({
        sock,
        data,
        closed: () => closed,
        answers: () =>
          (
            data()
              .toString('latin1')
              .match(/^HTTP\/1\.1 200 /gm) ?? []
          ).length,
      }),
    )
    sock.once('error', reject)
  })
}

function connections(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
}
