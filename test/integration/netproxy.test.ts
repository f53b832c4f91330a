/**
 * The resilience TCP proxy (test/resilience/netproxy.ts) with plain sockets, and the etcd wrapper
 * (test/resilience/etcd-wrapper.ts) in front of a real single-member etcd: flag rewriting, the control
 * file, signal/exit propagation, the executor's bind-retry wording and pdeathsig.
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {createRequire} from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {ChildProcess} from 'node:child_process'
import {NetProxy, NetProxyError, parseMode} from '../resilience/netproxy.js'
import {freePorts, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {alive, etcdPids, killEtcd} from '../helpers/serve.js'

const H = '127.0.0.1'

/** An echo server that also records what it received per connection. */
async function echoServer(): Promise<{port: number; received: () => string; sockets: net.Socket[]; close(): Promise<void>}> {
  const sockets: net.Socket[] = []
  let received = ''
  const srv = net.createServer((s) => {
    sockets.push(s)
    s.on('error', () => undefined)
    s.on('data', (b) => {
      received += b.toString()
      s.write(b)
    })
  })
  await new Promise<void>((r) => srv.listen(0, H, r))
  return {
    port: (srv.address() as net.AddressInfo).port,
    received: () => received,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        srv.close(() => r())
      }),
  }
}

interface Client {
  sock: net.Socket
  data: () => string
  closed: () => boolean
}

async function connect(port: number): Promise<Client> {
  const sock = net.connect({host: H, port})
  let data = ''
  let closed = false
  sock.on('data', (b) => (data += b.toString()))
  sock.on('error', () => undefined)
  sock.on('close', () => (closed = true))
  await new Promise<void>((r, j) => {
    sock.once('connect', () => r())
    sock.once('error', j)
  })
  return {sock, data: () => data, closed: () => closed}
}

describe('NetProxy', {timeout: 60_000}, () => {
  const cleanups: (() => Promise<void> | void)[] = []
  after(async () => {
    for (const c of cleanups.reverse()) await c()
  })
  async function setup(): Promise<{echo: Awaited<ReturnType<typeof echoServer>>; proxy: NetProxy}> {
    const echo = await echoServer()
    const proxy = new NetProxy({listenHost: H, listenPort: 0, targetHost: H, targetPort: echo.port})
    await proxy.start()
    cleanups.push(
      () => proxy.close(),
      () => echo.close(),
    )
    return {echo, proxy}
  }

  it('forwards both ways in normal mode and passes a close on', async () => {
    const {echo, proxy} = await setup()
    const c = await connect(proxy.port)
    c.sock.write('hello')
    await waitFor('the echo', () => c.data() === 'hello', 5000, 10)
    await waitFor('the server connection', () => echo.sockets.length === 1, 5000, 10)
    echo.sockets[0]!.end()
    await waitFor('the client to see the close', () => c.closed(), 5000, 10)
  })

  it('blackhole: keeps the connection, forwards nothing; back to normal resets it, new connections work', async () => {
    const {echo, proxy} = await setup()
    const c = await connect(proxy.port)
    c.sock.write('a')
    await waitFor('the echo', () => c.data() === 'a', 5000, 10)
    proxy.setMode({mode: 'blackhole'})
    c.sock.write('bcd')
    await waitFor('the proxy to discard 3 bytes', () => proxy.stats().bytesDiscarded === 3, 5000, 10)
    const c2 = await connect(proxy.port) // accepted while blackholed
    c2.sock.write('xy')
    await waitFor('the proxy to discard 5 bytes', () => proxy.stats().bytesDiscarded === 5, 5000, 10)
    assert.equal(echo.received(), 'a', 'the server got nothing while blackholed')
    assert.equal(c.closed() || c2.closed(), false)
    proxy.setMode({mode: 'normal'})
    await waitFor('both tainted connections to be reset', () => c.closed() && c2.closed(), 5000, 10)
    assert.equal(proxy.stats().resets, 2)
    const c3 = await connect(proxy.port)
    c3.sock.write('z')
    await waitFor('the echo through a new connection', () => c3.data() === 'z', 5000, 10)
  })

  it('a connection that carried nothing during a blackhole is not reset', async () => {
    const {proxy} = await setup()
    const c = await connect(proxy.port)
    proxy.setMode({mode: 'blackhole'})
    proxy.setMode({mode: 'normal'})
    c.sock.write('q')
    await waitFor('the echo', () => c.data() === 'q', 5000, 10)
    assert.equal(proxy.stats().resets, 0)
  })

  it('delay: every chunk arrives at least ms - jitter later, in order', async () => {
    const {proxy} = await setup()
    const c = await connect(proxy.port)
    proxy.setMode({mode: 'delay', ms: 150, jitterMs: 50})
    const t0 = Date.now()
    const parts = ['1', '2', '3', '4', '5', '6']
    for (const p of parts) {
      c.sock.write(p)
      await new Promise((r) => setTimeout(r, 15))
    }
    await waitFor('all chunks echoed', () => c.data().length === parts.length, 5000, 5)
    // Each chunk goes through the proxy twice (request and echo): at least 2 × (150 - 50) ms.
    assert.ok(Date.now() - t0 >= 200, `the echo came back after ${Date.now() - t0} ms`)
    assert.equal(c.data(), parts.join(''), 'order preserved')
    proxy.setMode({mode: 'normal'})
    c.sock.write('7')
    await waitFor('the echo in normal mode', () => c.data() === '1234567', 5000, 5)
    assert.equal(proxy.stats().resets, 0, 'delay loses nothing: no reset')
  })

  it('drop-responses: the server gets the request, the client no answer; back to normal resets the connection', async () => {
    const {echo, proxy} = await setup()
    const c = await connect(proxy.port)
    proxy.setMode({mode: 'drop-responses'})
    c.sock.write('req')
    await waitFor('the server to get the request', () => echo.received() === 'req', 5000, 10)
    await waitFor('the answer to be discarded', () => proxy.stats().bytesDiscarded === 3, 5000, 10)
    assert.equal(c.data(), '')
    proxy.setMode({mode: 'normal'})
    await waitFor('the connection to be reset', () => c.closed(), 5000, 10)
    const c2 = await connect(proxy.port)
    c2.sock.write('ok')
    await waitFor('the echo through a new connection', () => c2.data() === 'ok', 5000, 10)
  })

  it('drop-responses-after: normal until the request stream carries the match (split across chunks), then drops answers', async () => {
    const echo = await echoServer()
    const fired: string[] = []
    const proxy = new NetProxy({listenHost: H, listenPort: 0, targetHost: H, targetPort: echo.port, onTrigger: (m) => fired.push(m)})
    await proxy.start()
    cleanups.push(
      () => proxy.close(),
      () => echo.close(),
    )
    proxy.setMode({mode: 'drop-responses-after', match: 'MemberAdd'})
    const c = await connect(proxy.port)
    c.sock.write('status')
    await waitFor('the echo before the match', () => c.data() === 'status', 5000, 10)
    c.sock.write('..Memb')
    await waitFor('the echo of the first half', () => c.data() === 'status..Memb', 5000, 10)
    assert.deepEqual(fired, [])
    c.sock.write('erAdd!')
    await waitFor('the trigger', () => fired.length === 1, 5000, 10)
    await waitFor('the server to get the request', () => echo.received() === 'status..MemberAdd!', 5000, 10)
    await waitFor('its answer to be discarded', () => proxy.stats().bytesDiscarded === 6, 5000, 10)
    assert.equal(c.data(), 'status..Memb')
    assert.deepEqual(proxy.mode, {mode: 'drop-responses'})
    proxy.setMode({mode: 'normal'})
    await waitFor('the connection to be reset', () => c.closed(), 5000, 10)
  })

  it('an unreachable target closes the accepted connection', async () => {
    const [dead] = await freePorts(1)
    const proxy = new NetProxy({listenHost: H, listenPort: 0, targetHost: H, targetPort: dead!})
    await proxy.start()
    cleanups.push(() => proxy.close())
    const c = await connect(proxy.port)
    await waitFor('the client connection to close', () => c.closed(), 5000, 10)
  })

  it('start() rejects with EADDRINUSE on a busy port; parseMode validates', async () => {
    const {proxy} = await setup()
    const other = new NetProxy({listenHost: H, listenPort: proxy.port, targetHost: H, targetPort: 1})
    await assert.rejects(other.start(), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE')
    assert.deepEqual(parseMode({mode: 'delay', ms: 200, jitterMs: 50}), {mode: 'delay', ms: 200, jitterMs: 50})
    assert.deepEqual(parseMode({mode: 'blackhole'}), {mode: 'blackhole'})
    assert.throws(() => parseMode({mode: 'cut'}), NetProxyError)
    assert.throws(() => parseMode({mode: 'delay', ms: 10, jitterMs: 20}), /jitterMs/)
    assert.throws(() => parseMode(null), /object/)
  })
})

// ---------------------------------------------------------------- the wrapper with a real etcd

const WRAPPER = fileURLToPath(new URL('../resilience/etcd-wrapper.ts', import.meta.url))
const TSX = createRequire(import.meta.url).resolve('tsx')

describe('etcd-wrapper', {timeout: 120_000}, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'it-netwrap-'))
  const ctl = path.join(tmp, 'ctl')
  fs.mkdirSync(ctl)
  const children: ChildProcess[] = []
  after(async () => {
    for (const c of children) await stopTracked(c, 'SIGKILL', 1000)
    fs.rmSync(tmp, {recursive: true, force: true})
  })

  async function start(
    name: string,
  ): Promise<{child: ChildProcess; clientUrl: string; out: () => string; exit: Promise<[number | null, string | null]>}> {
    const [pp, cp] = await freePorts(2)
    const peer = `http://${H}:${pp}`
    const client = `http://${H}:${cp}`
    const child = spawnTracked(
      process.execPath,
      [
        '--import',
        `file://${TSX}`,
        WRAPPER,
        '--control-dir',
        ctl,
        '--',
        `--name=${name}`,
        `--data-dir=${path.join(tmp, name)}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--initial-cluster=${name}=${peer}`,
        '--initial-cluster-state=new',
      ],
      {cwd: tmp},
    )
    children.push(child)
    let out = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
    const exit = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])))
    return {child, clientUrl: client, out: () => out, exit}
  }

  const put = async (url: string, timeoutMs = 2000): Promise<void> => {
    const res = await fetch(`${url}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({key: 'aw==', value: 'dg=='}),
      signal: AbortSignal.timeout(timeoutMs),
    })
    await res.text()
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
  }

  const control = async (name: string, doc: {seq: number; [k: string]: unknown}): Promise<void> => {
    fs.writeFileSync(path.join(ctl, `${name}.json`), JSON.stringify(doc))
    await waitFor(
      `${name} to apply seq ${doc.seq}`,
      () => {
        const st = JSON.parse(fs.readFileSync(path.join(ctl, `${name}.state.json`), 'utf8')) as {seq: number}
        return st.seq >= doc.seq
      },
      5000,
      25,
    )
  }

  it('runs the real etcd behind proxies, applies the control file, forwards SIGTERM and exits like etcd', async () => {
    const w = await start('wa')
    await waitFor('etcd to answer through the client proxy', () => put(w.clientUrl).then(() => true), 30_000, 200)
    const pids = etcdPids('wa')
    assert.equal(pids.length, 1, 'one process with argv[0] etcd')
    const argv = fs.readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8').split('\0')
    assert.ok(argv.includes(`--advertise-client-urls=${w.clientUrl}`), 'advertised URL kept')
    assert.ok(!argv.includes(`--listen-client-urls=${w.clientUrl}`), `listen URL rewritten: ${argv.join(' ')}`)
    await control('wa', {seq: 1, client: {mode: 'blackhole'}})
    await assert.rejects(put(w.clientUrl, 1500), /aborted|timeout/i)
    await control('wa', {seq: 2, client: {mode: 'normal'}})
    await waitFor('etcd to answer again', () => put(w.clientUrl).then(() => true), 10_000, 100)
    assert.match(w.out(), /client \(127\.0\.0\.1:\d+\) proxy mode normal -> blackhole/)
    w.child.kill('SIGTERM')
    const [code, signal] = await w.exit
    assert.ok(signal === 'SIGTERM' || code === 0, `exit ${code} / ${signal}`)
    await waitFor('etcd to be gone', () => !alive(pids[0]!), 5000, 20)
  })

  it('exits with SIGKILL when etcd is SIGKILLed; etcd dies when the wrapper is SIGKILLed (pdeathsig)', async () => {
    const a = await start('wb')
    await waitFor('etcd wb to serve', () => put(a.clientUrl).then(() => true), 30_000, 200)
    await killEtcd('wb')
    assert.deepEqual(await a.exit, [null, 'SIGKILL'])
    const b = await start('wc')
    await waitFor('etcd wc to serve', () => put(b.clientUrl).then(() => true), 30_000, 200)
    const pid = etcdPids('wc')[0]!
    b.child.kill('SIGKILL')
    await b.exit
    await waitFor('etcd wc to die with its wrapper', () => !alive(pid), 5000, 20)
  })

  it('reports a busy port with the wording the executor retries on', async () => {
    const [pp, cp] = await freePorts(2)
    const busy = net.createServer()
    await new Promise<void>((r) => busy.listen(cp, H, r))
    try {
      const child = spawnTracked(
        process.execPath,
        [
          '--import',
          `file://${TSX}`,
          WRAPPER,
          '--control-dir',
          ctl,
          '--',
          '--name=wd',
          `--listen-peer-urls=http://${H}:${pp}`,
          `--listen-client-urls=http://${H}:${cp}`,
        ],
        {cwd: tmp},
      )
      children.push(child)
      let err = ''
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
      const [code] = await new Promise<[number | null]>((r) => child.once('exit', (c) => r([c])))
      assert.equal(code, 1)
      assert.match(err, /bind: address already in use/)
    } finally {
      await new Promise<void>((r) => busy.close(() => r()))
    }
  })
})
