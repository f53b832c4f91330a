/**
 * The mutable context one `step` works in: a private clone of the state, the time, and the action
 * lists being built (ACKNOWLEDGEs are kept apart so they go after PERSIST). Internal to the core.
 */
import type {SchedulerAction} from './actions.js'
import type {SchedulerState} from './state.js'

export interface Ctx {
  s: SchedulerState
  now: number
  out: SchedulerAction[]
  acks: SchedulerAction[]
}

export function emit(ctx: Ctx, a: SchedulerAction): void {
  ctx.out.push(a)
}
