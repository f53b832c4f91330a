/**
 * Restoring a member from a backup before its etcd starts (MemberConfig.restore, issue 15). The driver loads this
 * module (and through it the backup library) only when a launch carries `restore` (dynamic import): every other
 * executor stays as lean as before.
 *
 * restoreMember(ctx), each step reported through `report` before it starts:
 *   0. the data dir (resolveDataDir) already holds etcd data (`member/`) → nothing is done ({restored: false}):
 *      a relaunch of a member that was already restored. Leftover staging dirs of a restore cut short
 *      (`<dataDir>/.restore-*`, ours by name) are removed.
 *   1. fetching  the full backup is copied from the target to a work dir in the sandbox (`<sandbox>/.restore-*`),
 *                verified while it streams (size, sha256, etcd's trailing hash: saveBackupToFile);
 *   2. replaying (deltaIds not empty) the delta backups' events are replayed up to toRevision on a private
 *                one-member etcd started from the full backup (restore-replay.ts), and a snapshot is taken of it;
 *   3. restoring `etcdctl snapshot restore` with THIS member's name, initial cluster, cluster token and peer URL into
 *                a staging dir INSIDE the data dir (the same file system, even when the data dir is a persistent
 *                volume's mount point), then its `member/` is renamed into the data dir: etcd finds all of it or
 *                nothing. The data dir's own files are never removed.
 * Then the driver starts etcd as usual: the data dir has data, so etcd ignores its initial-cluster flags.
 * Any failure or abort (`signal`: the task is being killed) → RestoreError naming the step and the backup; the temp
 * etcd and etcdctl are killed, the work and staging dirs removed, and the data dir holds no `member/`.
 * Secrets: restore.s3 goes to openBackupTarget only; messages name the target URL, which never holds credentials.
 * etcdctl: cfg.etcdctlBin, default `etcdctl` beside etcdBin (/usr/bin/etcdctl); a missing one fails the restore.
 */
import {constants} from 'node:fs'
import {access, mkdir, mkdtemp, open, readdir, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {openBackupTarget, saveBackupToFile} from '../lib/backup/index.js'
import type {BackupTarget} from '../lib/backup/target.js'
import {peerUrlOf, type MemberConfig} from '../lib/member-config.js'
import {resolveDataDir, resolveEtcdBin} from './etcd-args.js'
import {aborted, runEtcdctl} from './etcdctl.js'
import {replayOnPrivateEtcd} from './restore-replay.js'

export type RestoreStep = 'fetching' | 'replaying' | 'restoring'

export interface RestoreContext {
  cfg: MemberConfig
  /** Absolute path of the Mesos sandbox. */
  sandbox: string
  /** Aborted when the task is killed: the restore stops as soon as it can and cleans up. */
  signal?: AbortSignal
  report: (step: RestoreStep, message: string) => void
  /** Bound on the private etcd's start and each wait for it (default 60 s). */
  stepTimeoutMs?: number
}

export type RestoreOutcome = {restored: false; message: string} | {restored: true; revision: number; message: string}

export class RestoreError extends Error {
  constructor(
    readonly step: RestoreStep | 'checking',
    message: string,
  ) {
    super(`${step}: ${message}`)
    this.name = 'RestoreError'
  }
}

/** Prefix of the work dir (in the sandbox) and the staging dirs (in the data dir). */
const TEMP_PREFIX = '.restore-'

/** The etcdctl a restore runs: cfg.etcdctlBin, else `etcdctl` beside the etcd binary (a bare etcd name: PATH). */
export function resolveEtcdctlBin(cfg: MemberConfig, sandbox: string): string {
  if (cfg.etcdctlBin !== undefined) {
    const b = cfg.etcdctlBin
    return path.isAbsolute(b) || !b.includes('/') ? b : path.resolve(sandbox, b)
  }
  const etcd = resolveEtcdBin(cfg, sandbox)
  return etcd.includes('/') ? path.join(path.dirname(etcd), 'etcdctl') : 'etcdctl'
}

export async function restoreMember(ctx: RestoreContext): Promise<RestoreOutcome> {
  const {cfg, sandbox, signal} = ctx
  const r = cfg.restore
  if (!r) throw new RestoreError('checking', 'the member config has no restore')
  const dataDir = resolveDataDir(cfg, sandbox)
  let step: RestoreStep | 'checking' = 'checking'
  let work: string | undefined
  let stage: string | undefined
  let target: BackupTarget | undefined
  try {
    const st = await stat(dataDir).catch(() => undefined)
    if (st && !st.isDirectory()) throw new Error(`data dir ${dataDir} exists and is not a directory`)
    if (st) {
      if (await exists(path.join(dataDir, 'member')))
        return {restored: false, message: `restore ${r.op} ignored: data dir ${dataDir} already holds etcd data (member/)`}
      for (const n of await readdir(dataDir)) if (n.startsWith(TEMP_PREFIX)) await rm(path.join(dataDir, n), {recursive: true, force: true})
    }
    if ((cfg.extraArgs ?? []).some((a) => /^--?wal-dir(=|$)/.test(a)))
      throw new Error('extraArgs set --wal-dir: a restore writes the WAL inside the data dir, etcd would not find it')
    const etcdctl = resolveEtcdctlBin(cfg, sandbox)
    if (etcdctl.includes('/'))
      await access(etcdctl, constants.X_OK).catch(() => {
        throw new Error(
          `etcdctl ${etcdctl} does not exist or is not executable: a restore needs etcd's etcdctl on the agent (set etcdctlBin in the member config)`,
        )
      })
    await mkdir(dataDir, {recursive: true, mode: 0o700})
    work = await mkdtemp(path.join(sandbox, TEMP_PREFIX))

    step = 'fetching'
    try {
      target = await openBackupTarget(r.target, r.s3 ? {s3: r.s3} : {})
    } catch (err) {
      throw new Error(`backup ${r.fullId}: cannot open the backup target ${r.target}: ${errText(err)}`)
    }
    const from = target.url
    ctx.report('fetching', `restore ${r.op}: fetching backup ${r.fullId} from ${from}`)
    const full = path.join(work, 'full.db')
    const manifest = await saveBackupToFile(target, r.fullId, full).catch((err: unknown) => {
      const text = errText(err)
      throw new Error(text.includes(r.fullId) ? text : `backup ${r.fullId} in ${from}: ${text}`)
    })
    aborted(signal)
    let snapshot = full
    let revision = manifest.revision
    if (r.deltaIds.length > 0) {
      step = 'replaying'
      const upTo = r.toRevision === null ? 'all their events' : `events up to revision ${r.toRevision}`
      ctx.report('replaying', `restore ${r.op}: replaying ${r.deltaIds.length} delta backup(s) (${upTo}) on a private etcd`)
      const replayed = await replayOnPrivateEtcd({
        etcdBin: resolveEtcdBin(cfg, sandbox),
        etcdctl,
        workDir: work,
        snapshot: full,
        target,
        deltaIds: r.deltaIds,
        toRevision: r.toRevision,
        baseId: r.fullId,
        // the member's quota (a large backup must fit): its extraArgs or quotaBackendBytes (issue 17)
        extraArgs: [
          ...(cfg.extraArgs ?? []),
          ...(cfg.quotaBackendBytes !== undefined ? [`--quota-backend-bytes=${cfg.quotaBackendBytes}`] : []),
        ],
        timeoutMs: ctx.stepTimeoutMs ?? 60_000,
        ...(signal ? {signal} : {}),
      })
      snapshot = replayed.snapshot
      revision = replayed.revision
    }
    aborted(signal)

    step = 'restoring'
    const peers = cfg.initialCluster.map((p) => `${p.name}=${p.peerUrl}`).join(',')
    ctx.report(
      'restoring',
      `restore ${r.op}: restoring the data at revision ${revision} as member ${cfg.member.name} of a new ${cfg.initialCluster.length}-member cluster`,
    )
    stage = await mkdtemp(path.join(dataDir, TEMP_PREFIX))
    const restored = path.join(stage, 'data')
    await runEtcdctl(
      etcdctl,
      [
        'snapshot',
        'restore',
        snapshot,
        `--name=${cfg.member.name}`,
        `--initial-cluster=${peers}`,
        `--initial-cluster-token=${cfg.cluster.token}`,
        `--initial-advertise-peer-urls=${peerUrlOf(cfg)}`,
        `--data-dir=${restored}`,
      ],
      signal,
    )
    aborted(signal)
    if (!(await exists(path.join(restored, 'member')))) throw new Error(`etcdctl snapshot restore left no member/ in ${restored}`)
    await rename(path.join(restored, 'member'), path.join(dataDir, 'member'))
    await fsyncDir(dataDir)
    return {
      restored: true,
      revision,
      message: `restore ${r.op}: data dir ${dataDir} restored from backup ${r.fullId} at revision ${revision}`,
    }
  } catch (err) {
    if (signal?.aborted) throw new RestoreError(step, 'aborted: the task is being killed') // whatever the kill broke
    throw err instanceof RestoreError ? err : new RestoreError(step, errText(err))
  } finally {
    ;(target as {close?: () => void} | undefined)?.close?.() // an s3:// target's client
    if (stage) await rm(stage, {recursive: true, force: true}).catch(() => undefined)
    if (work) await rm(work, {recursive: true, force: true}).catch(() => undefined)
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  )
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
