/**
 * The driver side of a restore's `resolving` phase (core/restore.ts): RESOLVE_RESTORE{op, target, from, toRevision}
 * → opens the backup target (file:// or s3://, with the scheduler's S3 settings) and asks the backup library's
 * planRestore which backups to use ('latest': the newest full backup that verifies, corrupt ones skipped; an id:
 * that one) → RestoreResolved{plan, skipped} or RestoreResolveFailed{message}. The backup library is imported
 * lazily (only a scheduler that restores loads it). S3 settings are never logged.
 */
import type {S3Options} from '../lib/backup/s3-options.js'
import type {SchedulerAction} from './core/actions.js'
import type {SchedulerEvent} from './core/events.js'

export type ResolveRestoreAction = Extract<SchedulerAction, {type: 'RESOLVE_RESTORE'}>

export interface RestoreResolver {
  /** Always answers with an event (never throws). */
  resolve(a: ResolveRestoreAction): Promise<SchedulerEvent>
}

export function restoreResolver(opts: {s3?: S3Options} = {}): RestoreResolver {
  return {
    async resolve(a) {
      let target: {close?: () => void} | null = null
      try {
        const [{openBackupTarget}, {planRestore}] = await Promise.all([
          import('../lib/backup/open.js'),
          import('../lib/backup/restore-plan.js'),
        ])
        const t = await openBackupTarget(a.target, opts.s3 ? {s3: opts.s3} : {})
        target = t as {close?: () => void}
        const plan = await planRestore(t, a.from, a.toRevision === null ? {} : {toRevision: a.toRevision})
        return {
          type: 'RestoreResolved',
          op: a.op,
          plan: {fullId: plan.full.id, deltaIds: [...plan.deltaIds], toRevision: plan.toRevision, dataUntil: plan.dataUntil},
          skipped: plan.skipped,
        }
      } catch (err) {
        return {type: 'RestoreResolveFailed', op: a.op, message: (err as Error).message ?? String(err)}
      } finally {
        target?.close?.()
      }
    },
  }
}
