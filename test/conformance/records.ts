/**
 * Helpers for stream records and responses in conformance tests: summaries and identities of scheduler/executor
 * events (how our records are paired with the real ones), who produces a record (master or agent side), and the
 * comparison of the response headers clients depend on. Pure functions.
 */
import type {Json} from './fixtures.js'
import {matchString, type Bindings} from './matcher.js'

const HEADERS_COMPARED = ['Content-Type', 'Mesos-Stream-Id', 'Location', 'Allow', 'Transfer-Encoding']
const HEADERS_IGNORED = new Set(['date', 'host'])

export type Owner = 'master' | 'agent'

export interface Mismatch {
  where: string
  what: string
  owner: Owner
}

export const mismatchText = (m: Mismatch): string => `${m.where}: ${m.what}`

export type Ev = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export function eventSummary(ev: Json): string {
  const e = ev as Ev
  switch (e.type) {
    case 'UPDATE': {
      const s = e.update?.status ?? {}
      return `UPDATE ${s.task_id?.value} ${s.state}${s.reason ? ` ${s.reason}` : ''}${s.message ? ` "${s.message}"` : ''}`
    }
    case 'ERROR':
      return `ERROR "${e.error?.message}"`
    case 'FAILURE':
      return `FAILURE${e.failure?.executor_id ? ` executor ${e.failure.executor_id.value} status ${e.failure.status}` : ' (agent)'}`
    case 'OFFERS':
      return `OFFERS (${e.offers?.offers?.length ?? 0} offers)`
    case 'LAUNCH':
      return `LAUNCH ${e.launch?.task?.task_id?.value}`
    case 'KILL':
      return `KILL ${e.kill?.task_id?.value}`
    case 'ACKNOWLEDGED':
      return `ACKNOWLEDGED ${e.acknowledged?.task_id?.value}`
    default:
      return String(e.type)
  }
}

/** [exact identity, loose identity] used to pair our records with the real ones. */
export function identities(ev: Json): [string, string] {
  const e = ev as Ev
  const t = String(e.type)
  switch (t) {
    case 'UPDATE': {
      const s = e.update?.status ?? {}
      return [`UPDATE ${s.task_id?.value} ${s.state} ${s.reason ?? ''}`, `UPDATE ${s.task_id?.value}`]
    }
    case 'ERROR':
      return [`ERROR ${e.error?.message}`, 'ERROR']
    case 'FAILURE':
      return [`FAILURE ${e.failure?.executor_id?.value ?? ''}`, 'FAILURE']
    case 'MESSAGE':
      return [`MESSAGE ${e.message?.executor_id?.value ?? ''}`, 'MESSAGE']
    case 'LAUNCH':
      return [`LAUNCH ${e.launch?.task?.task_id?.value}`, 'LAUNCH']
    case 'KILL':
      return [`KILL ${e.kill?.task_id?.value}`, 'KILL']
    case 'ACKNOWLEDGED':
      return [`ACKNOWLEDGED ${e.acknowledged?.task_id?.value}`, 'ACKNOWLEDGED']
    default:
      return [t, t]
  }
}

export function omit(x: Ev, keys: string[]): Ev {
  const out: Ev = {...x}
  for (const k of keys) delete out[k]
  return out
}

/** An OFFERS event holding one offer. */
export function oneOffer(o: Json): Json {
  return {type: 'OFFERS', offers: {offers: [o]}}
}

export function taskOf(ev: Json): string | undefined {
  const e = ev as Ev
  return e.type === 'UPDATE' ? e.update?.status?.task_id?.value : undefined
}

/** Who produces this record: the agent side (executor updates, executor FAILURE) or the master. */
export function ownerOfRecord(ev: Json): Owner {
  const e = ev as Ev
  if (e.type === 'UPDATE') return e.update?.status?.source === 'SOURCE_MASTER' ? 'master' : 'agent'
  if (e.type === 'FAILURE') return e.failure?.executor_id ? 'agent' : 'master'
  return 'master'
}

/**
 * The headers clients use: Content-Type, Mesos-Stream-Id, Location, Allow, Transfer-Encoding (values with
 * placeholders), Content-Length (present; exactly "0" where real Mesos sent 0), and header names real Mesos
 * does not send. Returns one message per difference.
 */
export function compareHeaders(want: Record<string, string>, got: Record<string, string>, b: Bindings): string[] {
  const out: string[] = []
  const lower = (h: Record<string, string>): Map<string, [string, string]> =>
    new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), [k, v]]))
  const w = lower(want)
  const g = lower(got)
  for (const name of HEADERS_COMPARED) {
    const a = w.get(name.toLowerCase())?.[1]
    const v = g.get(name.toLowerCase())?.[1]
    if (a === undefined && v === undefined) continue
    if (a === undefined) out.push(`header ${name}: real Mesos sends none, we send ${JSON.stringify(v)}`)
    else if (v === undefined) out.push(`header ${name} missing (real Mesos: ${JSON.stringify(a)})`)
    else {
      const err = matchString(a, v, b)
      if (err) out.push(`header ${name}: ${err}`)
    }
  }
  const cl = w.get('content-length')?.[1]
  if (cl === '0' && g.get('content-length')?.[1] !== '0')
    out.push(`header Content-Length: real Mesos "0", we ${JSON.stringify(g.get('content-length')?.[1])}`)
  if (cl !== undefined && !g.has('content-length')) out.push('header Content-Length missing')
  const extra = [...g.keys()].filter((k) => !w.has(k) && !HEADERS_IGNORED.has(k))
  if (extra.length > 0) out.push(`extra headers: ${extra.map((k) => `${g.get(k)![0]}: ${g.get(k)![1]}`).join('; ')}`)
  return out
}
