/**
 * The agent's `/files/read` (Mesos files.cpp `read` and `resolve`), for executor sandboxes only.
 *
 * Attached paths: each executor's run directory (live executors and the completed ones the agent still lists) under
 * its real path, `<work dir>/slaves/<agent>/frameworks/<fid>/executors/<eid>/runs/latest` and the virtual
 * `/frameworks/<fid>/executors/<eid>/runs/latest`. A requested path resolves through the longest attached prefix;
 * its canonical path (symlinks followed) must stay inside the attached directory, else 400 `'<path>' is
 * inaccessible.` — so a persistent volume's link in a sandbox cannot be read through (fixture 13); a missing
 * file is 404 with an empty body. Answers `{"data", "offset"}` with at most 16 pages (64 KiB) of data.
 */
import fs from 'node:fs'
import path from 'node:path'
import {key, type AgentState, type ExecutorRecord} from './state.js'

export interface FilesAnswer {
  status: number
  /** JSON body (200) or text/plain body (errors; '' = empty). */
  json?: {data: string; offset: number}
  text?: string
}

const MAX_LENGTH = 16 * 4096

/** Attached virtual path → run directory, newest run of each executor last (wins). */
function attached(agent: AgentState): Map<string, string> {
  const out = new Map<string, string>()
  const runs: ExecutorRecord[] = [...agent.completed, ...agent.executors.values()]
  for (const ex of runs) {
    const current = agent.executors.get(key(ex.frameworkId, ex.id))
    const latest = current ?? ex
    const suffix = path.join('frameworks', ex.frameworkId, 'executors', ex.id, 'runs', 'latest')
    out.set(ex.directory, ex.directory)
    out.set(`/${suffix}`, latest.directory)
    out.set(path.join(agent.options.workDir, 'slaves', agent.id, suffix), latest.directory)
  }
  return out
}

type Resolved = {path: string} | {error: string} | undefined

function realpath(p: string): Resolved {
  try {
    return {path: fs.realpathSync(p)}
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    return {error: `Failed to determine canonical path of '${p}': ${(e as Error).message}`}
  }
}

function resolve(agent: AgentState, requested: string): Resolved {
  const paths = attached(agent)
  const tokens = requested.replace(/\/+$/, '').split('/')
  const suffix: string[] = []
  while (tokens.length > 0) {
    const prefix = tokens.join('/')
    const dir = paths.get(prefix)
    if (dir === undefined) {
      suffix.unshift(tokens.pop()!)
      continue
    }
    const full = path.join(dir, ...suffix)
    const real = realpath(full)
    if (!real || 'error' in real) return real
    const root = realpath(dir)
    const base = root && 'path' in root ? root.path : dir
    if (real.path !== base && !real.path.startsWith(`${base}/`)) return {error: `'${full}' is inaccessible`}
    return real
  }
  return undefined
}

function integer(v: string | null, what: string): number | string | undefined {
  if (v === null) return undefined
  if (!/^-?\d+$/.test(v.trim())) return `Failed to parse ${what}: Failed to convert '${v}' to number.\n`
  return Number(v)
}

/** GET /files/read?path=…&offset=…&length=… */
export function filesRead(agent: AgentState, query: URLSearchParams): FilesAnswer {
  const requested = query.get('path')
  if (!requested) return {status: 400, text: "Expecting 'path=value' in query.\n"}
  const offsetArg = integer(query.get('offset'), 'offset')
  if (typeof offsetArg === 'string') return {status: 400, text: offsetArg}
  const lengthArg = integer(query.get('length'), 'length')
  if (typeof lengthArg === 'string') return {status: 400, text: lengthArg}
  const r = resolve(agent, requested)
  if (r === undefined) return {status: 404, text: ''}
  if ('error' in r) return {status: 400, text: `${r.error}.\n`}
  let fd: number
  try {
    if (fs.statSync(r.path).isDirectory()) return {status: 400, text: 'Cannot read a directory.\n'}
    fd = fs.openSync(r.path, 'r')
  } catch (e) {
    return {status: 500, text: `Failed to open file at '${r.path}': ${(e as Error).message}.\n`}
  }
  try {
    const size = fs.fstatSync(fd).size
    const offset = offsetArg === undefined || offsetArg === -1 ? size : offsetArg
    const length = Math.min(lengthArg === undefined || lengthArg === -1 ? size - offset : lengthArg, MAX_LENGTH)
    if (offset >= size) return {status: 200, json: {data: '', offset: size}}
    if (offset < 0) return {status: 500, text: `Failed to seek file at '${r.path}': Invalid argument`}
    const buf = Buffer.alloc(Math.max(0, length))
    const n = fs.readSync(fd, buf, 0, buf.length, offset)
    return {status: 200, json: {data: buf.subarray(0, n).toString('utf8'), offset}}
  } finally {
    fs.closeSync(fd)
  }
}
