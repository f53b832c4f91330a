/**
 * The executor client's record of what the agent has not acknowledged yet (pure book-keeping, no I/O).
 *
 * - updates: every UPDATE from `track()` until an ACKNOWLEDGED with its uuid (or `forget()` when the agent refused
 *   it outright); `delivered` marks those already sent on the current subscription (a POST that succeeded, or
 *   carried by the SUBSCRIBE that got SUBSCRIBED), so only the others are re-sent.
 * - tasks: every task from LAUNCH / LAUNCH_GROUP until an ACKNOWLEDGED for it.
 * Both lists go into every SUBSCRIBE (`subscribePayload()`): the agent replays them; duplicates are fine.
 */
import type {ExecutorEvent, ExecutorUpdate, TaskInfo} from './types.js'

export interface SubscribePayload {
  unacknowledged_tasks: TaskInfo[]
  unacknowledged_updates: ExecutorUpdate[]
}

export class AckLedger {
  private readonly updates = new Map<string, ExecutorUpdate>()
  private readonly delivered = new Set<string>()
  private readonly tasks = new Map<string, TaskInfo>()

  get updateCount(): number {
    return this.updates.size
  }
  get taskCount(): number {
    return this.tasks.size
  }

  /** The SUBSCRIBE body's lists, and the uuids of the updates it carries. */
  subscribePayload(): {subscribe: SubscribePayload; uuids: string[]} {
    return {
      subscribe: {unacknowledged_tasks: [...this.tasks.values()], unacknowledged_updates: [...this.updates.values()]},
      uuids: [...this.updates.keys()],
    }
  }

  track(uuid: string, upd: ExecutorUpdate): void {
    this.updates.set(uuid, upd)
  }
  /** The agent refused the update itself: it will never be acknowledged. */
  forget(uuid: string): void {
    this.updates.delete(uuid)
  }
  markDelivered(uuids: Iterable<string>): void {
    for (const u of uuids) this.delivered.add(u)
  }
  /** Uuids of the unacknowledged updates not delivered on the current subscription. */
  undelivered(): string[] {
    return [...this.updates.keys()].filter((u) => !this.delivered.has(u))
  }
  /** The update, while it is still unacknowledged and undelivered. */
  undeliveredUpdate(uuid: string): ExecutorUpdate | undefined {
    return this.delivered.has(uuid) ? undefined : this.updates.get(uuid)
  }

  /** Book-keeping for LAUNCH, LAUNCH_GROUP and ACKNOWLEDGED; other events change nothing. */
  observe(ev: ExecutorEvent): void {
    switch (ev.type) {
      case 'LAUNCH':
        if (ev.launch?.task) this.tasks.set(ev.launch.task.task_id.value, ev.launch.task)
        break
      case 'LAUNCH_GROUP': {
        const group = (ev as {launch_group?: {task_group?: {tasks?: TaskInfo[]}}}).launch_group
        for (const t of group?.task_group?.tasks ?? []) this.tasks.set(t.task_id.value, t)
        break
      }
      case 'ACKNOWLEDGED':
        if (ev.acknowledged) {
          this.updates.delete(ev.acknowledged.uuid)
          this.delivered.delete(ev.acknowledged.uuid)
          this.tasks.delete(ev.acknowledged.task_id.value)
        }
        break
      default:
        break
    }
  }
}
