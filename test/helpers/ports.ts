import {readFileSync} from 'node:fs'
import net from 'node:net'

/**
 * Ports for tests come from below the kernel's ephemeral range (ip_local_port_range, 32768-60999 by default).
 * A port from `listen(0)` is an ephemeral one: between the check and the real bind, any outgoing connection on
 * the machine can take it as its source port (seen in CI: serve's admin port answered EADDRINUSE). Ports below
 * the range are never picked by the kernel, so a port checked free stays free unless a test binds it.
 *   [PORT_LO, RANGE_LO)       single ports (freePort)
 *   [RANGE_LO, ephemeral lo)  200-port agent ranges (randomPortRange)
 */
const PORT_LO = 12_000
const RANGE_LO = 20_000
const RANGE_SIZE = 200

function ephemeralLow(): number {
  try {
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(lo) && lo > 0 ? lo : 32_768
  } catch {
    return 32_768
  }
}

const EPHEMERAL_LO = ephemeralLow()
/** Below-range ports are usable when the kernel leaves enough of them (it does unless the range was widened). */
const BELOW_RANGE = EPHEMERAL_LO >= RANGE_LO + 20 * RANGE_SIZE
const handedOut = new Set<number>()

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, host, () => srv.close(() => resolve(true)))
  })
}

function ephemeralPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'))
      srv.close(() => resolve(addr.port))
    })
  })
}

/**
 * A TCP port free on `host` now, not handed out before by this process, and (where the kernel allows) outside
 * the ephemeral range so that no outgoing connection can take it before the caller binds it.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  if (!BELOW_RANGE) return ephemeralPort(host)
  const span = RANGE_LO - PORT_LO
  const start = Math.floor(Math.random() * span)
  for (let i = 0; i < span; i++) {
    const port = PORT_LO + ((start + i) % span)
    if (handedOut.has(port)) continue
    if (await bindable(port, host)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free port in ${PORT_LO}-${RANGE_LO - 1} on ${host}`)
}

/** `n` distinct free ports (each checked free at the time of the call). */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const out = new Set<number>()
  while (out.size < n) out.add(await freePort(host))
  return [...out]
}

/**
 * A random range of 200 ports for a local agent's `ports:[lo-hi]` resource (the etcd members' ports), outside the
 * ephemeral range where the kernel allows; scenarios running one after another must not share etcd ports.
 */
export function randomPortRange(): [number, number] {
  const top = BELOW_RANGE ? EPHEMERAL_LO : 60_000
  const base = BELOW_RANGE ? RANGE_LO : 32_000
  const slots = Math.floor((top - base) / RANGE_SIZE)
  const lo = base + Math.floor(Math.random() * slots) * RANGE_SIZE
  return [lo, lo + RANGE_SIZE - 1]
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastErr: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (err) {
      lastErr = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`)
    }
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
