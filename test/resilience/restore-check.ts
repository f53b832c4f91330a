/**
 * The checker's rule for a restore from backup after a total loss, PURE (unit-tested: test/unit/resilience-restore-check.test.ts).
 * Inputs are what the harness measured itself (the writer's acknowledged writes, one linearizable read of the
 * writer's prefix after recovery, the time every member was gone) and the revision the restored data ends at.
 *
 * Two histories, split at `lostAt` (the end of the fault: from then on no member exists until the restore):
 *   - old (acknowledged before lostAt): a write whose revision is not above `toRevision` is in the restored data and
 *     must be present with its value; above it, it was acknowledged after the last backup/delta that the restore
 *     used: "not in the backup", reported apart with the recovery point = the time from the first such write's
 *     acknowledgement to the last acknowledgement before the loss (seconds of acknowledged writes missing); one
 *     that IS present means the restored data goes beyond the revision it claims (a failure: a restore to a chosen
 *     revision must not bring later writes back);
 *   - new (acknowledged after lostAt, by the restored cluster): every one must be present; revisions only grow.
 */
import type {Ack} from './writer.js'

export interface RestoreWrites {
  /** Old writes at or below toRevision missing or with another value: a restore that lost backed-up data. */
  lost: Ack[]
  /** Old writes above toRevision that are missing: newer than the backup (the recovery point). */
  notInBackup: Ack[]
  /** Old writes above toRevision that ARE present: the restored data goes beyond the revision it claims. */
  beyond: Ack[]
  /** New writes missing or with another value. */
  lostAfter: Ack[]
  /** New writes whose revision went back (a history lost after the restore). */
  regressions: Ack[]
  /** ms of acknowledged writes missing before the loss (0: none missing); null when no write was acknowledged before it. */
  recoveryPointMs: number | null
}

export function checkRestoredWrites(acked: Ack[], kv: Map<string, string>, lostAt: number, toRevision: number): RestoreWrites {
  const old = acked.filter((a) => a.at <= lostAt)
  const fresh = acked.filter((a) => a.at > lostAt)
  const present = (a: Ack): boolean => kv.get(a.key) === a.value
  const lost = old.filter((a) => a.revision <= toRevision && !present(a))
  const notInBackup = old.filter((a) => a.revision > toRevision && !present(a))
  const beyond = old.filter((a) => a.revision > toRevision && present(a))
  const lostAfter = fresh.filter((a) => !present(a))
  const regressions = fresh.filter((a, i) => i > 0 && a.revision <= fresh[i - 1]!.revision)
  const lastOld = old.at(-1)
  const recoveryPointMs = lastOld === undefined ? null : notInBackup.length === 0 ? 0 : lastOld.at - notInBackup[0]!.at
  return {lost, notInBackup, beyond, lostAfter, regressions, recoveryPointMs}
}
