/**
 * Pattern matcher for conformance tests: compares a value recorded from a REAL Mesos (the "expected" side) with
 * the value our local Mesos produced, treating run-specific values as placeholders.
 *
 * Placeholders (bound fixture-value → our-value, one-to-one, in a shared `Bindings`):
 *   - uuids (master id, Mesos-Stream-Id, ContainerID) and the ids built from them: `<uuid>-0000` (framework),
 *     `<uuid>-S<n>` (agent), `<uuid>-O<n>` (offer) — the kind of id must agree, the number may differ;
 *   - TaskStatus.uuid (base64 of 16 bytes, `…==`);
 *   - ports (in `ip:port` text, `port` fields).
 * Free placeholders (any value of the right shape): IPv4 addresses, `<rec-dir>`/`<tmp>`/`<mesos-build>` paths
 * (any absolute path), time-like numbers (timestamp, *_time, executor_pid, build_time, ZooKeeper stats), the
 * build date.
 * Everything else must be equal: object KEY SETS (missing and extra keys are reported together), array lengths,
 * enum strings, booleans, other numbers and strings. Unordered lists are lined up first: resources by name,
 * offers by agent, tasks/frameworks/agents/executors/roles by id (real Mesos lists them from hash maps).
 *
 * `compare()` never throws on a difference: it returns one `Diff` per place that differs.
 */
import type {Json} from './fixtures.js'

export interface Diff {
  where: string
  what: string
}

type TokenClass = 'uuid' | 'id' | 'b64' | 'port'

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
// One alternation per token kind; groups: 1 uuid, 2 id suffix, 3 b64, 4 ip, 5 port, 6 path.
const TOKEN_RE = new RegExp(
  `(${UUID})(?:-(S\\d+|O\\d+|\\d{4})(?![0-9]))?|((?<![A-Za-z0-9+/])[A-Za-z0-9+/]{22}==)|(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})(?::(\\d+))?|(<(?:rec-dir|tmp|mesos-build|mesos-src)>[^\\s'"]*)`,
  'g',
)

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Keys whose numeric values are times, pids or other run-specific numbers (only the type is compared). */
const TIME_KEYS = new Set([
  'timestamp',
  'registered_time',
  'reregistered_time',
  'start_time',
  'elected_time',
  'build_time',
  'executor_pid',
  'ctime',
  'mtime',
  'czxid',
  'mzxid',
  'pzxid',
  'ephemeralOwner',
  'session_id_of_this_client',
  'recorded_at_unix',
  'pid',
])
/** Keys whose string values are run-specific (any string). */
const FREE_STRING_KEYS = new Set(['build_date', 'Date'])

/** Bijective fixture → ours bindings per placeholder class. */
export class Bindings {
  private readonly fwd = new Map<string, string>()
  private readonly rev = new Map<string, string>()

  get(cls: TokenClass, fx: string): string | undefined {
    return this.fwd.get(`${cls}\u0000${fx}`)
  }

  /** Binds fx → ours; returns a description of the conflict, or null. */
  bind(cls: TokenClass, fx: string, ours: string): string | null {
    const k = `${cls}\u0000${fx}`
    const rk = `${cls}\u0000${ours}`
    const had = this.fwd.get(k)
    if (had !== undefined) return had === ours ? null : `${cls} ${fx} corresponds to ${had} earlier, but ${ours} here`
    const back = this.rev.get(rk)
    if (back !== undefined) return `${cls} ${ours} already corresponds to ${back}, not ${fx}`
    this.fwd.set(k, ours)
    this.rev.set(rk, fx)
    return null
  }

  /** The fixture value bound to one of ours. */
  reverse(cls: TokenClass, ours: string): string | undefined {
    return this.rev.get(`${cls}\u0000${ours}`)
  }

  /** Our port bound to a fixture port. */
  port(fx: string | number): number | undefined {
    const p = this.get('port', String(fx))
    return p === undefined ? undefined : Number(p)
  }

  /** Replaces every bound uuid / id / b64 fixture value in `text` by ours (longest first). */
  rewrite(text: string): string {
    const pairs = [...this.fwd].filter(([k]) => !k.startsWith('port\u0000')).map(([k, v]) => [k.slice(k.indexOf('\u0000') + 1), v] as const)
    pairs.sort((a, b) => b[0].length - a[0].length)
    let out = text
    for (const [fx, ours] of pairs) out = out.split(fx).join(ours)
    return out
  }

  rewriteJson(v: Json): Json {
    return JSON.parse(this.rewrite(JSON.stringify(v))) as Json
  }

  entries(): [string, string][] {
    return [...this.fwd]
  }
}

interface Token {
  regex: string
  bind: (m: string[], b: Bindings) => string | null
  groups: number
}

function tokenFor(m: RegExpExecArray): Token {
  if (m[1] !== undefined) {
    const suffix = m[2]
    if (suffix === undefined) {
      return {regex: `(${UUID})`, groups: 1, bind: (g, b) => b.bind('uuid', m[1]!, g[0]!)}
    }
    const kind = suffix.startsWith('S') ? 'S\\d+' : suffix.startsWith('O') ? 'O\\d+' : '\\d{4}'
    return {
      regex: `(${UUID})-(${kind})`,
      groups: 2,
      bind: (g, b) => b.bind('uuid', m[1]!, g[0]!) ?? b.bind('id', m[0], `${g[0]!}-${g[1]!}`),
    }
  }
  if (m[3] !== undefined) return {regex: '([A-Za-z0-9+/]{22}==)', groups: 1, bind: (g, b) => b.bind('b64', m[3]!, g[0]!)}
  if (m[4] !== undefined) {
    if (m[5] === undefined) return {regex: '(?:\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})', groups: 0, bind: () => null}
    return {regex: '(?:\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}):(\\d+)', groups: 1, bind: (g, b) => b.bind('port', m[5]!, g[0]!)}
  }
  return {regex: '(?:/[^\\s\'"]*)', groups: 0, bind: () => null}
}

/** Matches our string against a fixture string with placeholders; binds on success. Returns a problem or null. */
export function matchString(expected: string, actual: string, b: Bindings): string | null {
  let re = '^'
  const tokens: Token[] = []
  let last = 0
  TOKEN_RE.lastIndex = 0
  for (let m = TOKEN_RE.exec(expected); m !== null; m = TOKEN_RE.exec(expected)) {
    re += escapeRe(expected.slice(last, m.index))
    const t = tokenFor(m)
    re += t.regex
    tokens.push(t)
    last = m.index + m[0].length
  }
  re += `${escapeRe(expected.slice(last))}$`
  if (tokens.length === 0) return expected === actual ? null : `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`
  const got = new RegExp(re, 's').exec(actual)
  if (!got) return `expected ${JSON.stringify(expected)} (with placeholders), got ${JSON.stringify(actual)}`
  let gi = 1
  for (const t of tokens) {
    const groups = got.slice(gi, gi + t.groups)
    gi += t.groups
    const err = t.bind(groups, b)
    if (err) return `${err} (in ${JSON.stringify(actual)})`
  }
  return null
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

const isResource = (v: unknown): v is {name: string} =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as {name?: unknown}).name === 'string' && 'type' in (v as object)

const isOffer = (v: unknown): v is {agent_id: {value: string}} =>
  v !== null && typeof v === 'object' && typeof (v as {agent_id?: {value?: unknown}}).agent_id?.value === 'string'

/**
 * The order of offers inside one OFFERS event is arbitrary (real Mesos iterates a hash map), so our offers are
 * lined up with the real ones by agent: an agent already bound pairs with its counterpart, the rest in order.
 */
function alignOffers(ea: unknown[], aa: unknown[], b: Bindings): unknown[] {
  const left = [...aa] as {agent_id: {value: string}}[]
  const out: unknown[] = []
  for (const e of ea as {agent_id: {value: string}}[]) {
    const ours = b.get('id', e.agent_id.value)
    const i =
      ours === undefined
        ? left.findIndex((o) => b.reverse('id', o.agent_id.value) === undefined)
        : left.findIndex((o) => o.agent_id.value === ours)
    if (i >= 0) out.push(left.splice(i, 1)[0])
  }
  return [...out, ...left]
}

/** Identity of an element of an unordered list (tasks, frameworks, agents, executors, roles), or undefined. */
function idOf(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
  const o = v as Record<string, unknown>
  const val = (x: unknown): string | undefined =>
    typeof x === 'string' ? x : typeof (x as {value?: unknown})?.value === 'string' ? (x as {value: string}).value : undefined
  return (
    val(o.id) ??
    val(o.task_id) ??
    val(o.executor_id) ??
    val((o.framework_info as {id?: unknown} | undefined)?.id) ??
    val((o.agent_info as {id?: unknown} | undefined)?.id) ??
    val((o.executor_info as {executor_id?: unknown} | undefined)?.executor_id) ??
    (typeof o.name === 'string' && 'weight' in o ? o.name : undefined)
  )
}

/**
 * Real Mesos lists tasks, frameworks, agents… from hash maps, so their order means nothing: our elements are
 * lined up with the real ones by id (through the bindings for placeholder ids), the rest in order.
 */
function alignById(ea: unknown[], aa: unknown[], b: Bindings): unknown[] {
  const left = [...aa]
  const out: unknown[] = []
  for (const e of ea) {
    const id = idOf(e)
    if (id === undefined) continue
    const ours = b.rewrite(id)
    const i = left.findIndex((x) => idOf(x) === ours)
    if (i >= 0) out.push(left.splice(i, 1)[0])
  }
  return out.length === 0 ? aa : [...out, ...left]
}

export interface CompareOptions {
  /** Paths (as produced in Diff.where, regex) whose subtree is not compared. */
  skip?: RegExp[]
}

/** Compares `actual` (ours) against `expected` (real Mesos); see the module header. */
export function compare(expected: unknown, actual: unknown, b: Bindings, where = '', opts: CompareOptions = {}): Diff[] {
  const out: Diff[] = []
  walk(expected, actual, where, '', b, out, opts)
  return out
}

function walk(e: unknown, a: unknown, where: string, key: string, b: Bindings, out: Diff[], opts: CompareOptions): void {
  if (opts.skip?.some((r) => r.test(where))) return
  const te = typeOf(e)
  const ta = typeOf(a)
  if (a === undefined) {
    out.push({where, what: `missing (real Mesos: ${short(e)})`})
    return
  }
  if (te !== ta) {
    out.push({where, what: `expected ${te} ${short(e)}, got ${ta} ${short(a)}`})
    return
  }
  if (te === 'number') {
    const en = e as number
    const an = a as number
    if (TIME_KEYS.has(key) || (key === 'nanoseconds' && /_time\b|unreachable_time/.test(where))) return
    if (key === 'unregistered_time' && (en === 0) === (an === 0)) return
    if (key === 'port') {
      const err = b.bind('port', String(en), String(an))
      if (err) out.push({where, what: err})
      return
    }
    if (Math.abs(en - an) > 1e-9 * Math.max(1, Math.abs(en))) out.push({where, what: `expected ${en}, got ${an}`})
    return
  }
  if (te === 'string') {
    if (FREE_STRING_KEYS.has(key)) return
    if (key === 'port' && /^\d+$/.test(e as string)) {
      const err = b.bind('port', e as string, a as string)
      if (err) out.push({where, what: err})
      return
    }
    const err = matchString(e as string, a as string, b)
    if (err) out.push({where, what: err})
    return
  }
  if (te === 'array') {
    let ea = e as unknown[]
    let aa = a as unknown[]
    if (ea.length > 0 && ea.every(isResource) && aa.every(isResource)) {
      const byName = (x: unknown, y: unknown): number => (x as {name: string}).name.localeCompare((y as {name: string}).name)
      ea = [...ea].sort(byName)
      aa = [...aa].sort(byName)
      const en = ea.map((r) => (r as {name: string}).name).join(',')
      const an = aa.map((r) => (r as {name: string}).name).join(',')
      if (en !== an) {
        out.push({where, what: `resources [${en}] expected, got [${an}]`})
        return
      }
    }
    if (key === 'offers' && ea.length > 0 && ea.every(isOffer) && aa.every(isOffer)) aa = alignOffers(ea, aa, b)
    else if (ea.length > 1 && idOf(ea[0]) !== undefined) aa = alignById(ea, aa, b)
    if (ea.length !== aa.length) out.push({where, what: `expected ${ea.length} items, got ${aa.length}: ${short(a)}`})
    for (let i = 0; i < Math.min(ea.length, aa.length); i++) walk(ea[i], aa[i], `${where}[${i}]`, key, b, out, opts)
    return
  }
  if (te === 'object') {
    const eo = e as Record<string, unknown>
    const ao = a as Record<string, unknown>
    const missing = Object.keys(eo).filter((k) => !(k in ao))
    const extra = Object.keys(ao).filter((k) => !(k in eo))
    if (missing.length > 0 || extra.length > 0) {
      out.push({
        where: where || '.',
        what: `keys differ:${missing.length ? ` missing {${missing.join(', ')}}` : ''}${extra.length ? ` extra {${extra.join(', ')}}` : ''}`,
      })
    }
    for (const k of Object.keys(eo)) if (k in ao) walk(eo[k], ao[k], `${where}.${k}`, k, b, out, opts)
    return
  }
  if (e !== a) out.push({where, what: `expected ${short(e)}, got ${short(a)}`})
}

export function short(v: unknown, max = 160): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > max ? `${s.slice(0, max)}…` : s
}
