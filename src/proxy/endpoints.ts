/**
 * Pure helpers of the proxy: which etcd endpoints the gateway should forward to (the client URLs of the
 * running members in GET /members), how two endpoint sets differ, the --listen-addr check, and the
 * gateway's argv (`etcd gateway start --listen-addr=… --endpoints=…`, under `setpriv --pdeathsig SIGKILL`
 * when setpriv is available so that the gateway dies with the proxy).
 */
import {CliError, ExitCode} from '../lib/cli/exit-codes.js'
import type {Member} from '../lib/cli/types.js'

/** `host:port` of each running member's client URL, sorted and de-duplicated (the gateway is a TCP proxy). */
export function gatewayEndpoints(members: readonly Member[]): string[] {
  const out = new Set<string>()
  for (const m of members) {
    if (m.state !== 'TASK_RUNNING' || typeof m.client_url !== 'string') continue
    for (const raw of m.client_url.split(',')) {
      try {
        const u = new URL(raw.trim())
        if (u.host) out.add(u.host)
      } catch {
        /* a member without a usable client URL is not an endpoint */
      }
    }
  }
  return [...out].sort()
}

export function sameEndpoints(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** "+h3:2379 -h1:2379" */
export function describeChange(before: readonly string[], after: readonly string[]): string {
  const added = after.filter((e) => !before.includes(e)).map((e) => `+${e}`)
  const removed = before.filter((e) => !after.includes(e)).map((e) => `-${e}`)
  return [...added, ...removed].join(' ')
}

export interface ListenAddr {
  host: string
  port: number
  /** As given (the gateway's --listen-addr). */
  addr: string
}

/** Parses `host:port` / `[v6]:port`; throws CliError(USAGE) when malformed. */
export function parseListenAddr(addr: string): ListenAddr {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(addr)
  const port = m ? Number(m[3]) : NaN
  if (!m || port < 1 || port > 65_535) {
    throw new CliError(`--listen-addr ${JSON.stringify(addr)} is not host:port (e.g. 127.0.0.1:23790)`, ExitCode.USAGE, 'BAD_LISTEN_ADDR')
  }
  return {host: (m[1] ?? m[2])!, port, addr}
}

/** Where to connect to reach a gateway listening on `l` (a wildcard address is reached on loopback). */
export function dialHost(l: ListenAddr): string {
  if (l.host === '0.0.0.0') return '127.0.0.1'
  if (l.host === '::') return '::1'
  return l.host
}

export interface GatewayCommand {
  file: string
  args: string[]
}

export function gatewayCommand(opts: {
  etcdBin: string
  listenAddr: string
  endpoints: readonly string[]
  setpriv: string | null
}): GatewayCommand {
  const etcd = [opts.etcdBin, 'gateway', 'start', `--listen-addr=${opts.listenAddr}`, `--endpoints=${opts.endpoints.join(',')}`]
  if (opts.setpriv) return {file: opts.setpriv, args: ['--pdeathsig', 'SIGKILL', '--', ...etcd]}
  return {file: etcd[0]!, args: etcd.slice(1)}
}
