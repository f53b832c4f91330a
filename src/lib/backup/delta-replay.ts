/**
 * replayDeltas: applies delta backups (delta-format.ts) to an etcd that holds their full backup (restored with
 * `etcdctl snapshot restore`), through its JSON gateway (`/v3/kv/txn`, node:http(s), no etcd3), so that the
 * replayed store ends with the same keys AND the same revisions as the source had at `toRevision`.
 *
 * Steps and checks (a broken or corrupt chain is refused with CORRUPT naming the delta, before any write):
 *   1. the manifests: every id a delta, all of one base (`baseId` when given), contiguous (each fromRevision is
 *      the previous toRevision), the first starting at or before the store's revision, the last reaching
 *      `toRevision` (else BAD_REVISION);
 *   2. every delta's data streamed once and checked: size and sha256 against its manifest, each line well formed,
 *      revisions increasing without a gap inside (fromRevision, toRevision] (every etcd revision has at least one
 *      event), the event count;
 *   3. the data streamed again and applied: the events of one source revision as ONE txn (puts and single-key
 *      deletes), skipping revisions the store already holds (≤ max(afterRevision, the store's revision): a full
 *      snapshot may hold a few revisions past its manifest's), stopping after `toRevision`. Each txn must answer
 *      the source's revision, else SOURCE (someone else wrote to the store, or it was not at the expected one).
 * The store must accept a txn as large as a source revision's events: a range delete of N keys in the source is
 * N single-key deletes here, so run the replay etcd with a large `--max-txn-ops` (e.g. 100000) and
 * `--max-request-bytes`. Keys are put without a lease (a restored key loses its lease attachment).
 * Result: `appliedRevision`, the store's revision at the end: `toRevision` (or the last delta's), or the store's
 * own revision when it already held more (a full snapshot can hold a few revisions past its manifest's).
 * Memory: one line (one source revision) at a time.
 */
import http from 'node:http'
import {readTlsFiles, type EtcdTlsOptions} from '../etcd/tls-files.js'
import {readManifest, hashChecked} from './backups.js'
import {decodeGroup, type RevisionGroup} from './delta-format.js'
import {BackupError} from './errors.js'
import type {DeltaManifest} from './manifest.js'
import type {BackupTarget} from './target.js'

export interface ReplayDeltasOptions {
  /** Client URL of the etcd to replay into (holding the full backup). */
  endpoint: string
  target: BackupTarget
  /** Delta ids, oldest first (a RestorePlan's deltaIds). */
  deltaIds: string[]
  /** Revisions up to this one are in the store already (the full backup's revision). */
  afterRevision: number
  /** Stop after this revision; null: replay every delta to its end. */
  toRevision: number | null
  /** When given, every delta must extend this full backup. */
  baseId?: string
  tls?: EtcdTlsOptions
  /** Per-request timeout (ms); default 30 000. */
  timeoutMs?: number
}

export async function replayDeltas(opts: ReplayDeltasOptions): Promise<{appliedRevision: number}> {
  const client = new StoreClient(opts.endpoint, opts.tls, opts.timeoutMs ?? 30_000)
  try {
    const storeRevision = await client.revision()
    if (storeRevision < opts.afterRevision)
      throw new BackupError(
        'SOURCE',
        `the etcd at ${opts.endpoint} is at revision ${storeRevision}, below the backup's ${opts.afterRevision}`,
      )
    const start = storeRevision
    const manifests = await checkChain(opts, start)
    if (manifests.length === 0) return {appliedRevision: start}
    for (const m of manifests) for await (const _ of groupsOf(opts.target, m));
    const stopAt = opts.toRevision ?? manifests[manifests.length - 1]!.toRevision
    let applied = start
    for (const m of manifests) {
      if (m.toRevision <= applied) continue
      for await (const g of groupsOf(opts.target, m)) {
        if (g.revision <= applied) continue
        if (g.revision > stopAt) break
        const got = await client.txn(g)
        if (got !== g.revision)
          throw new BackupError(
            'SOURCE',
            `replaying revision ${g.revision} of delta ${m.id} into ${opts.endpoint} gave revision ${got}: the store was not at revision ${g.revision - 1} (another writer?)`,
          )
        applied = g.revision
      }
      if (applied >= stopAt) break
    }
    return {appliedRevision: applied}
  } finally {
    client.close()
  }
}

async function checkChain(opts: ReplayDeltasOptions, storeRevision: number): Promise<DeltaManifest[]> {
  const out: DeltaManifest[] = []
  for (const id of opts.deltaIds) {
    const m = await readManifest(opts.target, id).catch((err) => {
      if ((err as BackupError).code === 'NOT_FOUND')
        throw new BackupError('CORRUPT', `delta ${id} of the chain is missing from ${opts.target.url}`)
      throw err
    })
    if (m.kind !== 'delta') throw new BackupError('CORRUPT', `backup ${id} is a full backup, not a delta`)
    const prev = out[out.length - 1]
    const baseId = opts.baseId ?? out[0]?.baseId ?? m.baseId
    if (m.baseId !== baseId) throw new BackupError('CORRUPT', `delta ${id} extends backup ${m.baseId}, not ${baseId}: the chain is broken`)
    if (prev && m.fromRevision !== prev.toRevision)
      throw new BackupError(
        'CORRUPT',
        `delta ${id} starts after revision ${m.fromRevision}, but the previous delta ${prev.id} ends at ${prev.toRevision}: the chain is broken`,
      )
    if (!prev && m.fromRevision > storeRevision)
      throw new BackupError(
        'CORRUPT',
        `delta ${id} starts after revision ${m.fromRevision}, but the store is at revision ${storeRevision}: revisions ${storeRevision + 1}-${m.fromRevision} are in no delta`,
      )
    out.push(m)
  }
  const last = out[out.length - 1]
  const newest = last?.toRevision ?? storeRevision
  if (opts.toRevision !== null && opts.toRevision > newest)
    throw new BackupError('BAD_REVISION', `revision ${opts.toRevision} is past the newest revision the deltas hold (${newest})`)
  return out
}

/** The delta's revision groups, checked (size, sha256, format, contiguity, count); CORRUPT names the delta. */
async function* groupsOf(target: BackupTarget, m: DeltaManifest): AsyncGenerator<RevisionGroup> {
  const data = await target.get(m.data).catch((err) => {
    if ((err as BackupError).code === 'NOT_FOUND')
      throw new BackupError('CORRUPT', `delta ${m.id} is corrupt: its data ${m.data} is missing`)
    throw err
  })
  let prev = m.fromRevision
  let events = 0
  let lineNo = 0
  const checked = hashChecked(data, m)
  try {
    for await (const line of lines(checked, m)) {
      lineNo++
      let g: RevisionGroup
      try {
        g = decodeGroup(line, `delta ${m.id} line ${lineNo}`)
        if (g.revision <= prev) throw new BackupError('CORRUPT', `delta ${m.id} line ${lineNo}: revision ${g.revision} after ${prev}`)
        if (g.revision !== prev + 1)
          throw new BackupError('CORRUPT', `delta ${m.id} line ${lineNo}: revisions ${prev + 1}-${g.revision - 1} are missing`)
        if (g.revision > m.toRevision)
          throw new BackupError('CORRUPT', `delta ${m.id} line ${lineNo}: revision ${g.revision} past its toRevision ${m.toRevision}`)
      } catch (err) {
        // A damaged byte shows as a bad line first: the size / sha256 check, read to the end, names the cause.
        for await (const _ of checked);
        throw err
      }
      prev = g.revision
      events += g.events.length
      yield g
    }
  } finally {
    data.destroy()
  }
  if (prev !== m.toRevision)
    throw new BackupError('CORRUPT', `delta ${m.id} is corrupt: it ends at revision ${prev}, its manifest says ${m.toRevision}`)
  if (events !== m.events) throw new BackupError('CORRUPT', `delta ${m.id} is corrupt: ${events} events, its manifest says ${m.events}`)
}

async function* lines(source: AsyncIterable<Buffer>, m: DeltaManifest): AsyncGenerator<string> {
  let parts: Buffer[] = []
  for await (const chunk of source) {
    let from = 0
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, nl)
      yield (parts.length === 0 ? piece : Buffer.concat([...parts, piece])).toString('utf8')
      parts = []
      from = nl + 1
    }
    if (from < chunk.length) parts.push(chunk.subarray(from))
  }
  if (parts.length > 0) throw new BackupError('CORRUPT', `delta ${m.id} is corrupt: its last line is not complete`)
}

/** The few JSON-gateway calls the replay needs, on one keep-alive connection. */
class StoreClient {
  private readonly url: URL
  private readonly agent: Promise<{agent: http.Agent; request: typeof http.request}>

  constructor(
    readonly endpoint: string,
    tls: EtcdTlsOptions | undefined,
    private readonly timeoutMs: number,
  ) {
    const url = new URL(endpoint)
    this.url = url
    this.agent = (async () => {
      if (url.protocol !== 'https:') return {agent: new http.Agent({keepAlive: true, maxSockets: 1}), request: http.request}
      const https = await import('node:https')
      return {agent: new https.Agent({keepAlive: true, maxSockets: 1, ...readTlsFiles(tls ?? {})}), request: https.request}
    })()
    this.agent.catch(() => undefined)
  }

  async revision(): Promise<number> {
    const all = Buffer.from([0]).toString('base64')
    const r = await this.call('range', '/v3/kv/range', {key: all, range_end: all, count_only: true})
    return Number(r.header?.revision ?? 0)
  }

  async txn(g: RevisionGroup): Promise<number> {
    const success = g.events.map((e) =>
      e.type === 'put' ? {request_put: {key: e.key, value: e.value ?? ''}} : {request_delete_range: {key: e.key}},
    )
    const r = await this.call(`txn of revision ${g.revision}`, '/v3/kv/txn', {success})
    return Number(r.header?.revision ?? 0)
  }

  close(): void {
    this.agent.then((a) => a.agent.destroy()).catch(() => undefined)
  }

  private async call(what: string, apiPath: string, body: unknown): Promise<{header?: {revision?: string}}> {
    const {agent, request} = await this.agent.catch((err) => {
      throw new BackupError('SOURCE', `${what} on ${this.endpoint}: ${(err as Error).message}`)
    })
    const text = await new Promise<{status: number; body: string}>((resolve, reject) => {
      const req = request(new URL(apiPath, this.url), {method: 'POST', agent, headers: {'content-type': 'application/json'}}, (res) => {
        const parts: Buffer[] = []
        res.on('data', (c: Buffer) => parts.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8')}))
        res.on('error', reject)
      })
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)))
      req.on('error', reject)
      req.end(JSON.stringify(body))
    }).catch((err) => {
      throw new BackupError('SOURCE', `${what} on ${this.endpoint} failed: ${(err as Error).message}`, {cause: err})
    })
    let parsed: {header?: {revision?: string}; error?: string; message?: string}
    try {
      parsed = JSON.parse(text.body)
    } catch {
      throw new BackupError('SOURCE', `${what} on ${this.endpoint}: HTTP ${text.status}, not JSON: ${text.body.slice(0, 200)}`)
    }
    if (text.status !== 200) {
      const msg = String(parsed.message ?? parsed.error ?? text.body.slice(0, 200))
      const hint = /too many operations|request is too large/.test(msg)
        ? ' (start the replay etcd with a larger --max-txn-ops / --max-request-bytes)'
        : ''
      throw new BackupError('SOURCE', `${what} on ${this.endpoint} failed: HTTP ${text.status}: ${msg}${hint}`)
    }
    return parsed
  }
}
