/**
 * Operation records (`s.operations`): what GET /reseed/<op>, GET /restore/<op> and the CLI follow. One record per
 * operation id, updated in place; the newest MAX_OPERATIONS are kept.
 */
import type {Ctx} from './ctx.js'
import type {OperationRecord} from './state.js'

export const MAX_OPERATIONS = 20

/** Creates or updates the record of `op` (of `kind`) with `status` and `message` at ctx.now. */
export function recordOperation(
  ctx: Ctx,
  kind: OperationRecord['kind'],
  op: string,
  status: OperationRecord['status'],
  message: string,
): void {
  const {s, now} = ctx
  const existing = s.operations.find((o) => o.op === op)
  if (existing) {
    existing.status = status
    existing.message = message
    existing.updatedAt = now
  } else {
    s.operations.push({op, kind, status, message, createdAt: now, updatedAt: now})
    if (s.operations.length > MAX_OPERATIONS) s.operations.splice(0, s.operations.length - MAX_OPERATIONS)
  }
}
