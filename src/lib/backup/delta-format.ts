/**
 * The data object of a delta backup (`<id>.delta.ndjson`): newline-delimited JSON, one line per source revision,
 * oldest first, every line ending with '\n'. Pure (no I/O).
 *
 *   {"revision":1235,"events":[{"type":"put","key":"<base64>","value":"<base64>"},{"type":"delete","key":"<base64>"}]}
 *
 * - `revision` is the etcd revision (mod_revision) the events were written at: all the puts and deletes of one
 *   etcd transaction share it, and a replay applies them as one transaction so the replayed store's revisions
 *   equal the source's. Revisions strictly increase from line to line.
 * - A delete names one key (a range delete in the source appears as one delete per key deleted).
 * - `lease` (optional, decimal) is the lease the key was attached to in the source, for information only: a
 *   restored key is NOT attached to a lease (the lease does not exist in the restored cluster).
 */
import {BackupError} from './errors.js'

export interface DeltaEvent {
  type: 'put' | 'delete'
  /** base64 */
  key: string
  /** base64 ('' for an empty value); puts only. */
  value?: string
  /** Decimal lease id in the source; informational. */
  lease?: string
}

export interface RevisionGroup {
  revision: number
  events: DeltaEvent[]
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/

/** One line of a delta object, '\n' included. */
export function encodeGroup(g: RevisionGroup): string {
  return `${JSON.stringify({revision: g.revision, events: g.events})}\n`
}

/** Approximate bytes a group takes once encoded (for the recorder's memory bound). */
export function groupSize(g: RevisionGroup): number {
  let n = 32
  for (const e of g.events) n += 48 + e.key.length + (e.value?.length ?? 0) + (e.lease?.length ?? 0)
  return n
}

/** Parses and validates one line (without its '\n'); `where` names the delta and line in errors (CORRUPT). */
export function decodeGroup(line: string, where: string): RevisionGroup {
  const bad = (problem: string): never => {
    throw new BackupError('CORRUPT', `${where}: ${problem}`)
  }
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    return bad(`not JSON: ${line.slice(0, 120)}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('not a JSON object')
  const o = v as {revision?: unknown; events?: unknown}
  if (!Number.isSafeInteger(o.revision) || (o.revision as number) < 1) bad(`'revision' must be a positive integer`)
  if (!Array.isArray(o.events) || o.events.length === 0) bad(`'events' must be a non-empty array`)
  const events = (o.events as unknown[]).map((e, i): DeltaEvent => {
    const ev = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>
    if (ev.type !== 'put' && ev.type !== 'delete') bad(`event ${i}: 'type' must be 'put' or 'delete'`)
    if (typeof ev.key !== 'string' || ev.key === '' || !B64_RE.test(ev.key)) bad(`event ${i}: 'key' must be non-empty base64`)
    if (ev.type === 'put' && (typeof ev.value !== 'string' || !B64_RE.test(ev.value))) bad(`event ${i}: a put's 'value' must be base64`)
    if (ev.lease !== undefined && (typeof ev.lease !== 'string' || !/^\d{1,20}$/.test(ev.lease))) bad(`event ${i}: bad 'lease'`)
    return {
      type: ev.type as DeltaEvent['type'],
      key: ev.key as string,
      ...(ev.type === 'put' ? {value: ev.value as string} : {}),
      ...(ev.lease !== undefined ? {lease: ev.lease as string} : {}),
    }
  })
  return {revision: o.revision as number, events}
}

interface WatchKv {
  key?: unknown
  value?: unknown
  mod_revision?: unknown
  lease?: unknown
}

/**
 * The events of one watch response of etcd's JSON gateway (`{"type":"DELETE"?,"kv":{key,value?,mod_revision,lease?}}`,
 * a put's type being omitted), grouped by mod_revision in their order. Throws (plain Error) on a malformed event.
 */
export function groupWatchEvents(events: unknown[]): RevisionGroup[] {
  const groups: RevisionGroup[] = []
  for (const raw of events) {
    const e = (raw ?? {}) as {type?: unknown; kv?: WatchKv}
    const kv = e.kv ?? {}
    const revision = Number(kv.mod_revision)
    if (!Number.isSafeInteger(revision) || revision < 1)
      throw new Error(`a watch event without a valid mod_revision: ${JSON.stringify(raw)}`)
    if (typeof kv.key !== 'string' || kv.key === '') throw new Error(`a watch event without a key: ${JSON.stringify(raw)}`)
    const type = e.type === 'DELETE' ? 'delete' : e.type === undefined || e.type === 'PUT' ? 'put' : undefined
    if (type === undefined) throw new Error(`a watch event of unknown type ${JSON.stringify(e.type)}`)
    const ev: DeltaEvent = {type, key: kv.key}
    if (type === 'put') ev.value = typeof kv.value === 'string' ? kv.value : ''
    if (type === 'put' && kv.lease !== undefined && kv.lease !== '0' && kv.lease !== 0) ev.lease = String(kv.lease)
    const last = groups[groups.length - 1]
    if (last && last.revision === revision) last.events.push(ev)
    else if (last && revision < last.revision) throw new Error(`watch events out of order: revision ${revision} after ${last.revision}`)
    else groups.push({revision, events: [ev]})
  }
  return groups
}
