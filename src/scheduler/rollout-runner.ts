/**
 * Performs the rollout's driver actions (core/rollout.ts) and answers each with its core event. Never throws.
 * - ROLLOUT_VERSIONS: GET <client URL>/version on every member in parallel (parseVersionAnswer) → RolloutVersionsObserved.
 * - MOVE_LEADER: etcd's MoveLeader through the JSON gateway, sent to the current leader:
 *   POST <leader>/v3/maintenance/transfer-leadership {"targetID": "<decimal member id>"} → LeaderMoved.
 * - ROLLOUT_BACKUP: a full backup through the leader's backup service (on demand, like POST /backups), waited for
 *   (bounded) → RolloutBackupDone; a backup already running is waited for instead. No backup service: ok, "none".
 *   With shipped certificates, the rotation's trust check too (tls-trust.ts rotationProblem) → tlsProblem.
 * TLS client settings (serve's --etcd-client-*) are used for https members.
 */
import http from 'node:http'
import https from 'node:https'
import {readTlsFiles, type EtcdTlsOptions} from '../lib/etcd/tls-files.js'
import {parseVersionAnswer, formatVersion} from '../lib/etcd/versions.js'
import {rotationProblemAll} from '../lib/etcd/tls-trust.js'
import type {SchedulerAction} from './core/actions.js'
import type {SchedulerEvent} from './core/events.js'
import type {BackupService} from './backup-service.js'

export type RolloutAction = Extract<SchedulerAction, {type: 'ROLLOUT_VERSIONS' | 'MOVE_LEADER' | 'ROLLOUT_BACKUP'}>

export interface RolloutRunner {
  perform(a: RolloutAction): Promise<SchedulerEvent>
}

export interface RolloutRunnerOpts {
  tls?: EtcdTlsOptions
  /** The leader's backup service once it exists (serve.ts attaches it after the driver starts). */
  backups?: () => BackupService | null
  timeoutMs?: number
  /** Longest wait for the backup before a rollout (default 30 min). */
  backupTimeoutMs?: number
}

/** The trust check of a certificate rotation (tls-trust.ts), with the scheduler's client certificate read now. */
function tlsProblemOf(a: Extract<RolloutAction, {type: 'ROLLOUT_VERSIONS'}>, opts: RolloutRunnerOpts): {tlsProblem?: string} {
  if (!a.tls) return {}
  let clientCert: string | undefined
  try {
    clientCert = opts.tls?.certFile ? readTlsFiles({certFile: opts.tls.certFile}).cert?.toString('utf8') : undefined
  } catch (err) {
    return {tlsProblem: (err as Error).message}
  }
  const p = rotationProblemAll(a.tls.running, a.tls.target, clientCert)
  return p ? {tlsProblem: p} : {}
}

function request(
  url: string,
  method: 'GET' | 'POST',
  body: string | null,
  opts: RolloutRunnerOpts,
): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const lib = u.protocol === 'https:' ? https : http
    const tls = u.protocol === 'https:' && opts.tls ? readTlsFiles(opts.tls) : {}
    const req = lib.request(u, {
      method,
      ...tls,
      headers: body === null ? {} : {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body))},
    })
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000)
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        if (text.length < 65536) text += c
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({status: res.statusCode ?? 0, text})
      })
      res.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    req.end(body ?? undefined)
  })
}

async function versionOf(
  url: string,
  opts: RolloutRunnerOpts,
): Promise<{clientUrl: string; server?: string; cluster?: string | null; error?: string}> {
  try {
    const {status, text} = await request(new URL('/version', url).toString(), 'GET', null, opts)
    if (status !== 200) return {clientUrl: url, error: `GET /version answered HTTP ${status}`}
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return {clientUrl: url, error: `GET /version answered something that is not JSON: ${text.slice(0, 100)}`}
    }
    const v = parseVersionAnswer(body)
    return {clientUrl: url, server: formatVersion(v.server), cluster: v.cluster ? formatVersion(v.cluster) : null}
  } catch (err) {
    return {clientUrl: url, error: (err as Error).message}
  }
}

async function moveLeader(via: string, targetId: string, opts: RolloutRunnerOpts): Promise<{ok: boolean; message: string}> {
  try {
    const body = JSON.stringify({targetID: targetId})
    const {status, text} = await request(new URL('/v3/maintenance/transfer-leadership', via).toString(), 'POST', body, opts)
    if (status === 200) return {ok: true, message: `leadership transfer to ${targetId} accepted by ${via}`}
    let msg = text.slice(0, 300)
    try {
      const j = JSON.parse(text) as {message?: string; error?: string}
      msg = j.message ?? j.error ?? msg
    } catch {}
    return {ok: false, message: `${via} answered HTTP ${status}: ${msg}`}
  } catch (err) {
    return {ok: false, message: `${via}: ${(err as Error).message}`}
  }
}

async function backup(opts: RolloutRunnerOpts): Promise<{ok: boolean; message: string}> {
  const svc = opts.backups?.() ?? null
  if (!svc) return {ok: true, message: 'no backup service on this scheduler: none taken'}
  const r = svc.requestBackup()
  const deadline = Date.now() + (opts.backupTimeoutMs ?? 30 * 60_000)
  for (;;) {
    const st = svc.opStatus(r.op)
    if (st && st.status === 'succeeded') return {ok: true, message: `backup ${st.manifest?.id ?? r.op}`}
    if (st && st.status === 'failed') return {ok: false, message: st.message ?? 'the backup failed'}
    if (Date.now() >= deadline) return {ok: false, message: `the backup (operation ${r.op}) did not finish in time`}
    await new Promise((res) => setTimeout(res, 500))
  }
}

export function rolloutRunner(opts: RolloutRunnerOpts = {}): RolloutRunner {
  return {
    perform: async (a) => {
      switch (a.type) {
        case 'ROLLOUT_VERSIONS':
          return {
            type: 'RolloutVersionsObserved',
            op: a.op,
            versions: await Promise.all(a.clientUrls.map((u) => versionOf(u, opts))),
            ...tlsProblemOf(a, opts),
          }
        case 'MOVE_LEADER':
          return {type: 'LeaderMoved', op: a.op, ...(await moveLeader(a.via, a.targetId, opts))}
        case 'ROLLOUT_BACKUP':
          return {type: 'RolloutBackupDone', op: a.op, ...(await backup(opts))}
      }
    },
  }
}
