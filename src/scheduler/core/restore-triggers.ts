/**
 * What starts a restore by itself (restore.ts has the restore): the automatic restore after a total loss and
 * serve --restore-from on a first start.
 *   planAutoRestore  every step while ready: records when TOTAL_LOSS began (`s.totalLossSince`, not persisted);
 *                    with config.autoRestore and a backup target, TOTAL_LOSS for reseedTimeoutMs → a restore from
 *                    'latest' (reason auto). Not while a restore or re-seed runs.
 *   planRestoreFrom  on load: config.restoreFrom, nothing bootstrapped, no task record, no restore-from operation
 *                    succeeded → a restore from there (reason restore-from); otherwise logged and ignored. A plan
 *                    that cannot be resolved stops serve (FATAL, restore.ts): never an empty cluster instead.
 */
import {log} from './actions.js'
import type {Ctx} from './ctx.js'
import {emit} from './ctx.js'
import {randomHex} from './ids.js'
import {startRestore} from './restore.js'
import type {SchedulerState} from './state.js'

/** TOTAL_LOSS bookkeeping and the automatic restore (plan.ts, every step while ready). */
export function planAutoRestore(ctx: Ctx): void {
  const {s, now} = ctx
  if (s.episode !== 'TOTAL_LOSS') {
    s.totalLossSince = null
    return
  }
  s.totalLossSince ??= now
  const target = s.config.backupTarget
  if (!s.config.autoRestore || target === undefined || s.restore || s.reseed) return
  if (now - s.totalLossSince < s.config.reseedTimeoutMs) return
  startRestore(ctx, {op: `auto-restore-${randomHex(s, 8)}`, reason: 'auto', from: 'latest', target, toRevision: null})
}

/** The next time planAutoRestore acts (wake timer), or null. */
export function nextAutoRestore(s: SchedulerState): number | null {
  if (s.episode !== 'TOTAL_LOSS' || !s.config.autoRestore || s.config.backupTarget === undefined || s.totalLossSince === null) return null
  return s.totalLossSince + s.config.reseedTimeoutMs
}

/** serve --restore-from on a first start: nothing bootstrapped, no task, never tried. Called on load. */
export function planRestoreFrom(ctx: Ctx): void {
  const {s} = ctx
  const rf = s.config.restoreFrom
  if (!rf) return
  const done = s.operations.some((o) => o.kind === 'restore' && o.op.startsWith('restore-from-') && o.status === 'succeeded')
  if (s.bootstrapped || Object.keys(s.tasks).length > 0 || s.restore || done) {
    emit(
      ctx,
      log('info', '--restore-from ignored: this cluster already exists (or was restored already)', {from: rf.from, target: rf.target}),
    )
    return
  }
  startRestore(ctx, {op: `restore-from-${randomHex(s, 8)}`, reason: 'restore-from', from: rf.from, target: rf.target, toRevision: null})
}
