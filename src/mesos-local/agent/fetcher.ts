/**
 * The local agent's fetcher (Mesos' mesos-fetcher, reduced): puts CommandInfo.uris into the sandbox
 * before the executor starts.
 *   - absolute local paths and file:// URIs: copied;
 *   - http(s) URIs: downloaded, but ONLY from loopback hosts (127.0.0.0/8, localhost, ::1) — the local
 *     Mesos never leaves this machine; any other host is refused;
 *   - `output_file` renames the result; `executable` chmods it 0755; `extract` unpacks .tar, .tar.gz,
 *     .tgz, .tar.bz2, .tbz2, .tar.xz, .txz (with `tar`) and .zip (with `unzip`) into the sandbox
 *     (executable wins over extract, as in Mesos). `cache` is ignored.
 * Any failure throws FetchError whose message starts "fetch failed: ".
 */
import {execFile} from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'
import type {CommandURI} from '../../lib/mesos/types.js'

const execFileP = promisify(execFile)

export class FetchError extends Error {
  constructor(detail: string) {
    super(`fetch failed: ${detail}`)
    this.name = 'FetchError'
  }
}

const ARCHIVE_RE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz|zip)$/i

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

async function download(url: URL, dest: string, timeoutMs: number): Promise<void> {
  if (!isLoopbackHost(url.hostname)) {
    throw new FetchError(`refusing to download '${url.href}': the local Mesos only fetches from loopback hosts`)
  }
  let res: Response
  try {
    res = await fetch(url, {signal: AbortSignal.timeout(timeoutMs), redirect: 'manual'})
  } catch (e) {
    throw new FetchError(`could not download '${url.href}': ${(e as Error).message}`)
  }
  if (res.status !== 200) throw new FetchError(`could not download '${url.href}': HTTP ${res.status}`)
  await fs.writeFile(dest, Buffer.from(await res.arrayBuffer()))
}

async function extract(file: string, sandbox: string): Promise<void> {
  try {
    if (/\.zip$/i.test(file)) await execFileP('unzip', ['-o', '-q', file, '-d', sandbox])
    else await execFileP('tar', ['-C', sandbox, '-xf', file])
  } catch (e) {
    throw new FetchError(`could not extract '${path.basename(file)}': ${(e as Error).message.trim()}`)
  }
}

/** Fetch one URI into `sandbox`; returns the path written. */
export async function fetchUri(uri: CommandURI, sandbox: string, opts: {timeoutMs?: number} = {}): Promise<string> {
  const value = uri.value ?? ''
  if (value === '') throw new FetchError('empty URI')
  let source: {kind: 'file'; path: string} | {kind: 'http'; url: URL}
  if (value.startsWith('/')) {
    source = {kind: 'file', path: value}
  } else {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new FetchError(`'${value}' is neither an absolute path nor a URL`)
    }
    if (url.protocol === 'file:') source = {kind: 'file', path: decodeURIComponent(url.pathname)}
    else if (url.protocol === 'http:' || url.protocol === 'https:') source = {kind: 'http', url}
    else throw new FetchError(`unsupported URI scheme '${url.protocol}' in '${value}'`)
  }
  const base = uri.output_file ?? path.basename(source.kind === 'file' ? source.path : source.url.pathname)
  if (!base || base === '/' || base.includes('..')) throw new FetchError(`cannot derive a file name from '${value}'`)
  const dest = path.resolve(sandbox, base)
  if (!dest.startsWith(path.resolve(sandbox) + path.sep)) throw new FetchError(`output_file '${base}' leaves the sandbox`)
  await fs.mkdir(path.dirname(dest), {recursive: true})
  if (source.kind === 'file') {
    try {
      await fs.copyFile(source.path, dest)
    } catch (e) {
      throw new FetchError(`could not copy '${source.path}': ${(e as Error).message}`)
    }
  } else {
    await download(source.url, dest, opts.timeoutMs ?? 60_000)
  }
  if (uri.executable) await fs.chmod(dest, 0o755)
  else if (uri.extract !== false && ARCHIVE_RE.test(dest)) await extract(dest, sandbox)
  return dest
}

/** Fetch all URIs in order; the first failure aborts with a FetchError. */
export async function fetchAll(
  uris: readonly CommandURI[] | undefined,
  sandbox: string,
  opts: {timeoutMs?: number} = {},
): Promise<string[]> {
  const out: string[] = []
  for (const u of uris ?? []) out.push(await fetchUri(u, sandbox, opts))
  return out
}
