/**
 * A member's spec: what the scheduler launches it with (etcd binary and the version serve found it to be, etcd
 * extra flags, resources, TLS files, scheme). `desiredSpec(config)` is what a launch NOW would use; every launch
 * records it in its task record (`TaskRecord.spec`, persisted), so that a serve started later with another
 * `--etcd-bin`, resources, TLS files, quota or auto-compaction sees which running members differ (rollout.ts rolls them).
 * Pure: no I/O. The types of the rollout's persisted progress live here too (state.ts imports them).
 */
import type {MemberTlsContent} from '../../lib/member-config.js'
import type {SchedulerConfig} from './config.js'

export interface MemberSpec {
  /** The etcd binary (`--etcd-bin`); '' = the executor's default (`etcd` on the agent's PATH). */
  etcdBin: string
  /** What `<etcdBin> --version` said when serve started (null: unknown). */
  etcdVersion: string | null
  extraArgs: string[]
  cpus: number
  mem: number
  disk: number
  scheme: 'http' | 'https'
  /** TLS file paths by MemberTls key (sorted); empty without TLS. */
  tls: Record<string, string>
  /** etcd's --quota-backend-bytes (`--etcd-quota-backend-bytes`); null: etcd's default. Absent in specs recorded before. */
  quotaBackendBytes?: number | null
  /** etcd's auto-compaction (`--etcd-auto-compaction-*`) as "mode retention"; null: none. Absent in specs recorded before. */
  autoCompaction?: string | null
  /** sha256 of the TLS files' contents serve shipped (tls-material.ts); null: none shipped. Absent in specs recorded
   *  before: unknown. A certificate rotation is a change of this digest. */
  tlsDigest?: string | null
  /** The shipped certificates and CAs (no keys), for the trust check of the next rotation (tls-trust.ts). */
  tlsCerts?: MemberTlsContent
}

export function desiredSpec(c: SchedulerConfig): MemberSpec {
  const tls: Record<string, string> = {}
  for (const k of Object.keys(c.tls ?? {}).sort()) {
    const v = (c.tls as Record<string, string | undefined>)[k]
    if (typeof v === 'string') tls[k] = v
  }
  return {
    etcdBin: c.etcdBin ?? '',
    etcdVersion: c.etcdVersion ?? null,
    extraArgs: [...(c.extraArgs ?? [])],
    cpus: c.cpus,
    mem: c.mem,
    disk: c.disk,
    scheme: c.scheme,
    tls,
    quotaBackendBytes: c.quotaBackendBytes ?? null,
    autoCompaction: c.autoCompaction ? `${c.autoCompaction.mode} ${c.autoCompaction.retention}` : null,
    tlsDigest: c.tlsDigest ?? null,
    ...(c.tlsCerts ? {tlsCerts: {...c.tlsCerts}} : {}),
  }
}

/** The fields in which `running` differs from `target` (empty: the same). The version counts only when both are known. */
export function specDiff(running: MemberSpec, target: MemberSpec): string[] {
  const out: string[] = []
  if (running.etcdBin !== target.etcdBin) out.push('etcdBin')
  if (running.etcdVersion !== null && target.etcdVersion !== null && running.etcdVersion !== target.etcdVersion) out.push('etcdVersion')
  if (JSON.stringify(running.extraArgs) !== JSON.stringify(target.extraArgs)) out.push('extraArgs')
  for (const k of ['cpus', 'mem', 'disk', 'scheme'] as const) if (running[k] !== target[k]) out.push(k)
  if (JSON.stringify(running.tls) !== JSON.stringify(target.tls)) out.push('tls')
  // Recorded before these fields existed (undefined): unknown, not a difference.
  for (const k of ['quotaBackendBytes', 'autoCompaction', 'tlsDigest'] as const)
    if (running[k] !== undefined && (running[k] ?? null) !== (target[k] ?? null)) out.push(k)
  return out
}

/** One line for logs and status: "etcd /usr/bin/etcd (3.4.23), args [], cpus 1, mem 1024, disk 4096, http". */
export function describeSpec(s: MemberSpec): string {
  const tls = Object.keys(s.tls).length > 0 ? `, tls ${Object.keys(s.tls).length} files` : ''
  return (
    `etcd ${s.etcdBin || '(default)'} (${s.etcdVersion ?? 'version unknown'}), args [${s.extraArgs.join(' ')}], ` +
    `cpus ${s.cpus}, mem ${s.mem}, disk ${s.disk}, ${s.scheme}${tls}` +
    (s.quotaBackendBytes ? `, quota ${s.quotaBackendBytes} bytes` : '') +
    (s.autoCompaction ? `, auto-compaction ${s.autoCompaction}` : '') +
    (s.tlsDigest ? `, certificates ${s.tlsDigest.slice(0, 12)}` : '')
  )
}

/** Flags etcd 3.5 removed (docs/upgrades.md): a member launched with them on 3.5 exits at once. */
const REMOVED_IN_35 = ['--debug', '--log-package-levels', '--logger=capnslog']
/** A refusal (text) when `extraArgs` cannot run on `version` (major.minor.patch), else null. */
export function extraArgsProblem(extraArgs: string[], version: string | null): string | null {
  if (version === null) return null
  const m = /^v?(\d+)\.(\d+)\./.exec(version)
  if (!m || Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 5)) return null
  const bad = extraArgs.filter((a) => REMOVED_IN_35.some((r) => a === r || a.startsWith(`${r}=`) || (r.includes('=') && a === r)))
  return bad.length > 0
    ? `the etcd extra args ${bad.join(' ')} were removed in etcd 3.5 (the target runs ${version}): drop them first`
    : null
}

export type RolloutState = 'running' | 'paused' | 'failed' | 'done' | 'refused' | 'aborted'
export type RolloutStep = 'checking' | 'backup' | 'next' | 'moving-leader' | 'killing' | 'launching' | 'catching-up'

/** The member being rolled (rollout.ts). */
export interface RolloutCurrent {
  member: string
  /** Its task before the relaunch, then the relaunched one. */
  taskId: string
  step: 'moving-leader' | 'killing' | 'launching' | 'catching-up'
  since: number
}

/** A rollout (rollout.ts); persisted: a restarted scheduler resumes it. */
export interface RolloutProgress {
  op: string
  reason: 'auto' | 'manual'
  state: RolloutState
  step: RolloutStep
  target: MemberSpec
  /** Members to roll (names), fixed at the start; `done` those relaunched with the target spec. */
  members: string[]
  done: string[]
  current: RolloutCurrent | null
  /** A pause or abort asked while a member was being rolled: applied once it is back. */
  pauseRequested?: boolean
  abortRequested?: boolean
  /** The last versions read (member name → etcdserver) and the cluster version. */
  versions: Record<string, string>
  clusterVersion: string | null
  /** A full backup was taken for this rollout (or none was needed). */
  backedUp: boolean
  /** When the outstanding driver request (versions, backup, leader move) was sent. */
  requestedAt: number | null
  startedAt: number
  updatedAt: number
  /** Why it was refused / failed / aborted, or what it does now. */
  message: string
}
