/**
 * zk:// URL parsing, following Mesos' own rules (include/mesos/zookeeper/url.hpp):
 *
 *   zk://[user:password@]host1[:port1],host2[:port2],.../path/to/node
 *
 * - Credentials are everything before the LAST '@' (so a password may contain '@'); they are split on the
 *   first ':' and used with ZooKeeper's `digest` scheme. Credentials therefore cannot contain '/'.
 * - The path begins at the first '/' after the hosts; no path means '/'. Multi-level paths are fine (unlike the
 *   original etcd-mesos, which accepted exactly one level). A trailing '/' is dropped; '.', '..' and empty
 *   segments are rejected.
 * - Ports default to 2181. IPv6 hosts must be written in brackets: `zk://[::1]:2181/x`.
 * Pure code: no I/O. Error messages never show the password.
 */
import {isIPv6} from 'node:net'

export class ZkUrlError extends Error {
  override name = 'ZkUrlError'
}

export interface ZkServerAddress {
  host: string
  port: number
}

export interface ZkUrl {
  servers: ZkServerAddress[]
  /** "h1:2181,h2:2181" (IPv6 hosts in brackets). */
  connectString: string
  /** '/' if none; no trailing '/' unless root. */
  path: string
  auth?: {user: string; password: string}
  /** The URL with the password replaced by *** (safe for logs and error messages). */
  redacted: string
}

const DEFAULT_PORT = 2181
const HOST_RE = /^[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$/
const IPV6_RE = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/

function fail(url: string, problem: string): never {
  throw new ZkUrlError(`invalid ZooKeeper URL ${JSON.stringify(redactLoose(url))}: ${problem}`)
}

/** Best-effort redaction for error messages about URLs that did not parse. */
function redactLoose(url: string): string {
  const at = url.lastIndexOf('@')
  if (at < 0) return url
  const head = url.slice(0, at)
  // With a well-formed scheme://, keep the user name; otherwise (no or a mistyped scheme, e.g. 'zk:/u:pw@')
  // it is unclear where the password starts, so everything after the first ':' is masked.
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^:]*):/s.exec(head) ?? /^()([^:]*):/s.exec(head)
  return m ? `${m[1]}${m[2]}:***${url.slice(at)}` : url
}

function parsePort(url: string, text: string, hostText: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) fail(url, `bad port ${JSON.stringify(text)} in ${JSON.stringify(hostText)} (expected 1-65535)`)
  const port = Number(text)
  if (port < 1 || port > 65535) fail(url, `bad port ${port} in ${JSON.stringify(hostText)} (expected 1-65535)`)
  return port
}

function parseServer(url: string, text: string): ZkServerAddress {
  if (text === '') fail(url, 'empty host in the host list (check for stray commas)')
  if (/\s/.test(text)) fail(url, `host ${JSON.stringify(text)} contains whitespace`)
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) fail(url, `unterminated IPv6 address in ${JSON.stringify(text)}`)
    const host = text.slice(1, close)
    if (host === '' || !IPV6_RE.test(host) || !host.includes(':') || !isIPv6(host)) fail(url, `bad IPv6 address ${JSON.stringify(host)}`)
    const rest = text.slice(close + 1)
    if (rest === '') return {host, port: DEFAULT_PORT}
    if (!rest.startsWith(':')) fail(url, `unexpected ${JSON.stringify(rest)} after IPv6 address in ${JSON.stringify(text)}`)
    return {host, port: parsePort(url, rest.slice(1), text)}
  }
  const parts = text.split(':')
  if (parts.length > 2) fail(url, `host ${JSON.stringify(text)} has more than one ':' (write IPv6 addresses in brackets: [::1]:2181)`)
  const host = parts[0] ?? ''
  if (host === '') fail(url, `empty host name in ${JSON.stringify(text)}`)
  if (!HOST_RE.test(host)) fail(url, `bad host name ${JSON.stringify(host)}`)
  const port = parts.length === 2 ? parsePort(url, parts[1] ?? '', text) : DEFAULT_PORT
  return {host, port}
}

function normalizePath(url: string, raw: string): string {
  if (raw === '' || raw === '/') return '/'
  const trimmed = raw.endsWith('/') ? raw.slice(0, -1) : raw
  const segments = trimmed.slice(1).split('/')
  for (const seg of segments) {
    if (seg === '') fail(url, `empty segment in path ${JSON.stringify(raw)}`)
    if (seg === '.' || seg === '..') fail(url, `'${seg}' segments are not allowed in path ${JSON.stringify(raw)}`)
    if (/[\u0000-\u001f\u007f]/.test(seg)) fail(url, `control characters in path ${JSON.stringify(raw)}`)
  }
  return trimmed
}

export function formatServer(s: ZkServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`
}

export function parseZkUrl(url: string): ZkUrl {
  if (typeof url !== 'string' || url.trim() === '')
    throw new ZkUrlError('invalid ZooKeeper URL: it is empty (expected zk://host:port/path)')
  if (!/^zk:\/\//i.test(url)) {
    fail(url, 'it must start with zk:// (e.g. zk://127.0.0.1:2181/etcd-mesos)')
  }
  let rest = url.slice('zk://'.length)

  let auth: ZkUrl['auth']
  let redactedRest = rest
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    const cred = rest.slice(0, at)
    if (cred.includes('/')) {
      fail(url, "the part before the last '@' contains '/' (credentials cannot contain '/', and the path cannot contain '@')")
    }
    const colon = cred.indexOf(':')
    if (colon < 0) fail(url, "credentials must be written as user:password before '@'")
    const user = cred.slice(0, colon)
    const password = cred.slice(colon + 1)
    if (user === '') fail(url, 'empty user name in the credentials')
    auth = {user, password}
    rest = rest.slice(at + 1)
    redactedRest = `${user}:***@${rest}`
  }

  const slash = rest.indexOf('/')
  const hostPart = slash < 0 ? rest : rest.slice(0, slash)
  const rawPath = slash < 0 ? '' : rest.slice(slash)
  if (hostPart === '') fail(url, 'empty host list (expected zk://host:port/path)')
  if (/[?#]/.test(rest)) fail(url, "query strings and fragments ('?', '#') are not allowed")

  const servers = hostPart.split(',').map((h) => parseServer(url, h))
  const path = normalizePath(url, rawPath)

  const result: ZkUrl = {
    servers,
    connectString: servers.map(formatServer).join(','),
    path,
    redacted: `zk://${redactedRest}`,
  }
  if (auth) result.auth = auth
  return result
}

/** Joins ZooKeeper paths: join('/a', 'b/c', 'd') → '/a/b/c/d'; join('/', 'x') → '/x'. */
export function join(base: string, ...parts: string[]): string {
  const segs = [base, ...parts].flatMap((p) => p.split('/')).filter((s) => s !== '')
  return `/${segs.join('/')}`
}
