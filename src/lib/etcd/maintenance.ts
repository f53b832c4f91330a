/**
 * etcd disk-space maintenance on ONE member, through etcd's JSON gateway (gateway.ts: node:http / node:https with
 * the CA / client certificate / key of EtcdTlsOptions when the URL is https; no etcd3/grpc-js):
 *
 * - `compact(endpoint, revision, {physical})`: KV.Compact — drops every key revision older than `revision`, on every
 *   member (it goes through raft). `physical: true` answers only once the compaction is applied to the backend.
 *   Compacting at or below the last compacted revision → EtcdError COMPACTED; above the current one → FUTURE_REVISION.
 * - `defragment(endpoint)`: Maintenance.Defragment of exactly this member (the backend file is rewritten without its
 *   free pages; the member blocks reads and writes meanwhile). On a big db this takes long: its own, longer default
 *   timeout (DEFRAGMENT_TIMEOUT_MS) — a timeout does not stop etcd's defragmentation, it only stops waiting.
 * - `listAlarms(endpoint)`: the cluster's raised alarms as this member answers them (etcd 3.4 puts the alarm list
 *   through raft: it needs a quorum).
 * - `disarmAlarm(endpoint, {memberId, alarm})`: Maintenance.Alarm DEACTIVATE (a no-op when not raised). etcd keeps
 *   refusing writes under NOSPACE until the alarm is disarmed, even once space is back.
 *
 * Every call is bounded by its timeout and fails with an EtcdError (errors.ts) whose message names the call, the
 * member (its client URL) and the problem, e.g. `defragment on http://10.0.0.5:2379 failed (TIMEOUT): no answer
 * within 300000 ms`. Arguments that cannot be right (a revision < 1, a member id that is not a decimal uint64, an
 * unknown alarm, an endpoint that is not http(s)://host:port) are refused with a TypeError before anything is sent.
 */
import type {EtcdTlsOptions} from './admin.js'
import {type EtcdAlarm, EtcdGateway} from './gateway.js'

export type {EtcdAlarm} from './gateway.js'

export interface MaintenanceOptions {
  tls?: EtcdTlsOptions
  timeoutMs?: number
}

/** Default bound of compact / alarm calls. */
export const MAINTENANCE_TIMEOUT_MS = 30_000
/** Default bound of a defragmentation: minutes on a multi-GB backend on slow disks. */
export const DEFRAGMENT_TIMEOUT_MS = 300_000

const ALARMS: ReadonlySet<string> = new Set(['NOSPACE', 'CORRUPT'])

async function withGateway<T>(endpoint: string, opts: MaintenanceOptions, dflt: number, fn: (g: EtcdGateway) => Promise<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? dflt
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new TypeError(`timeoutMs must be a positive integer, got ${String(opts.timeoutMs)}`)
  const g = new EtcdGateway(endpoint, {timeoutMs, ...(opts.tls ? {tls: opts.tls} : {})}) // throws on a malformed endpoint
  try {
    return await fn(g)
  } finally {
    await g.close()
  }
}

/** Compacts the cluster's key history up to `revision` (through `endpoint`). */
export async function compact(endpoint: string, revision: number, opts: MaintenanceOptions & {physical?: boolean} = {}): Promise<void> {
  if (!Number.isSafeInteger(revision) || revision < 1)
    throw new TypeError(`compact: revision must be a positive integer, got ${String(revision)}`)
  await withGateway(endpoint, opts, MAINTENANCE_TIMEOUT_MS, (g) =>
    g.request(`compact to revision ${revision}`, '/v3/kv/compaction', {revision: String(revision), physical: opts.physical === true}),
  )
}

/** Defragments the backend of the member at `endpoint` (that member only). */
export async function defragment(endpoint: string, opts: MaintenanceOptions = {}): Promise<void> {
  await withGateway(endpoint, opts, DEFRAGMENT_TIMEOUT_MS, (g) => g.request('defragment', '/v3/maintenance/defragment', {}))
}

/** The raised alarms of the cluster, as the member at `endpoint` answers them ([] when none). */
export async function listAlarms(endpoint: string, opts: MaintenanceOptions = {}): Promise<EtcdAlarm[]> {
  return withGateway(endpoint, opts, MAINTENANCE_TIMEOUT_MS, (g) => g.alarms())
}

/** Disarms `alarm` of member `memberId` (decimal uint64 id, as status/member list give it), through `endpoint`. */
export async function disarmAlarm(endpoint: string, target: EtcdAlarm, opts: MaintenanceOptions = {}): Promise<void> {
  if (typeof target?.memberId !== 'string' || !/^[0-9]{1,20}$/.test(target.memberId) || BigInt(target.memberId) >= 2n ** 64n)
    throw new TypeError(`disarmAlarm: memberId must be a decimal uint64, got ${JSON.stringify(target?.memberId)}`)
  if (!ALARMS.has(target.alarm)) throw new TypeError(`disarmAlarm: alarm must be NOSPACE or CORRUPT, got ${JSON.stringify(target.alarm)}`)
  await withGateway(endpoint, opts, MAINTENANCE_TIMEOUT_MS, (g) =>
    g.request(`disarm ${target.alarm} of member ${target.memberId}`, '/v3/maintenance/alarm', {
      action: 'DEACTIVATE',
      memberID: target.memberId,
      alarm: target.alarm,
    }),
  )
}
