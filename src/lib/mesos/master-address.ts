/**
 * Static Mesos master addresses: `host:port`, `http://host[:port]`, `https://host[:port]` (an optional single
 * trailing '/'). IPv6 hosts go in brackets. zk:// URLs (see detector.ts) and the word `local` are rejected here
 * with a message that says where they belong. Hosts must also survive WHATWG URL parsing unchanged (so that
 * `masterBaseUrl` always builds a usable URL: no '999.0.0.1', no '1' read as 0.0.0.1). Error messages never
 * show a password (`user:***@`). Pure code.
 */
import {isIPv6} from 'node:net'

export interface MasterAddress {
  host: string
  port: number
  scheme: 'http' | 'https'
}

export class MasterAddressError extends Error {
  override name = 'MasterAddressError'
}

const HOST_RE = /^[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$/
const IPV6_RE = /^[0-9A-Fa-f:.]+$/

/** The address with anything after the first ':' of the user info masked (for error messages). */
function redact(s: string): string {
  const at = s.lastIndexOf('@')
  if (at < 0) return s
  // With a well-formed scheme://, keep the user name; otherwise (no or a mistyped scheme, e.g. 'zk:/u:pw@')
  // it is unclear where the password starts, so everything after the first ':' is masked.
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^:]*):/s.exec(s.slice(0, at)) ?? /^()([^:]*):/s.exec(s.slice(0, at))
  return m ? `${m[1]}${m[2]}:***${s.slice(at)}` : s
}

function fail(s: string, problem: string): never {
  throw new MasterAddressError(`invalid Mesos master address ${JSON.stringify(redact(s))}: ${problem}`)
}

function parsePort(s: string, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) fail(s, `bad port ${JSON.stringify(text)} (expected 1-65535)`)
  const port = Number(text)
  if (port < 1 || port > 65535) fail(s, `bad port ${port} (expected 1-65535)`)
  return port
}

/** How a WHATWG URL reads `host` (undefined: it cannot). */
function urlHostname(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname
  } catch {
    return undefined
  }
}

export function parseMasterAddress(s: string): MasterAddress {
  if (typeof s !== 'string' || s.trim() === '') throw new MasterAddressError('empty Mesos master address (expected host:port)')
  if (s !== s.trim() || /\s/.test(s)) fail(s, 'it contains whitespace')
  if (/^zk:\/\//i.test(s)) fail(s, 'zk:// URLs are resolved by the master detector, not parsed as a static address')
  if (s === 'local') fail(s, "'local' (the embedded Mesos) is not a network address")

  let scheme: MasterAddress['scheme'] = 'http'
  let rest = s
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(s)
  if (m) {
    const sch = (m[1] ?? '').toLowerCase()
    if (sch !== 'http' && sch !== 'https') fail(s, `unsupported scheme ${JSON.stringify(sch)} (use http://, https:// or host:port)`)
    scheme = sch
    rest = m[2] ?? ''
    if (rest.endsWith('/')) rest = rest.slice(0, -1)
  }
  if (rest.includes('@')) fail(s, 'user info is not supported')
  if (/[/?#]/.test(rest)) fail(s, 'paths, query strings and fragments are not allowed (give just host:port)')
  if (rest === '') fail(s, 'empty host')

  let host: string
  let portText: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close < 0) fail(s, 'unterminated IPv6 address')
    host = rest.slice(1, close)
    if (!host.includes(':') || !IPV6_RE.test(host) || !isIPv6(host)) fail(s, `bad IPv6 address ${JSON.stringify(host)}`)
    const after = rest.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) fail(s, `unexpected ${JSON.stringify(after)} after the IPv6 address`)
      portText = after.slice(1)
    }
  } else {
    const parts = rest.split(':')
    if (parts.length > 2) fail(s, "more than one ':' (write IPv6 addresses in brackets: [::1]:5050)")
    host = parts[0] ?? ''
    if (host === '') fail(s, 'empty host')
    if (!HOST_RE.test(host)) fail(s, `bad host name ${JSON.stringify(host)}`)
    if (urlHostname(host) !== host.toLowerCase()) fail(s, `bad host name ${JSON.stringify(host)} (not a valid host name or IPv4 address)`)
    portText = parts[1]
  }
  let port: number
  if (portText !== undefined) port = parsePort(s, portText)
  else if (m) port = scheme === 'https' ? 443 : 80
  else fail(s, 'missing port (e.g. 127.0.0.1:5050)')
  return {host, port, scheme}
}

/** 'http://host:port' (IPv6 hosts bracketed), no trailing slash. */
export function masterBaseUrl(a: MasterAddress): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host
  return `${a.scheme}://${host}:${a.port}`
}
