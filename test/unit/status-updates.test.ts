import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {StatusUpdateManager, type Timers} from '../../src/mesos-local/agent/status-updates.js'
import type {TaskState, TaskStatus} from '../../src/lib/mesos/types.js'

/** Manual clock: advance(ms) runs due timers in time order. */
class FakeTimers implements Timers {
  now = 0
  private seq = 0
  private readonly due = new Map<number, {at: number; fn: () => void}>()
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq
    this.due.set(id, {at: this.now + ms, fn})
    return id
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number)
  }
  advance(ms: number): void {
    const end = this.now + ms
    for (;;) {
      let next: [number, {at: number; fn: () => void}] | undefined
      for (const e of this.due) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e
      if (!next) break
      this.due.delete(next[0])
      this.now = next[1].at
      next[1].fn()
    }
    this.now = end
  }
  get pendingCount(): number {
    return this.due.size
  }
}

let n = 0
const st = (task: string, state: TaskState): TaskStatus => ({task_id: {value: task}, state, uuid: `uuid-${++n}`, timestamp: 1000 + n})

function setup(retryMinMs = 10_000) {
  const timers = new FakeTimers()
  const sent: {at: number; fid: string; s: TaskStatus}[] = []
  let changes = 0
  const sum = new StatusUpdateManager({
    timers,
    retryMinMs,
    forward: (fid, s) => sent.push({at: timers.now, fid, s}),
    onChange: () => changes++,
  })
  sum.resume()
  return {timers, sent, sum, changes: () => changes}
}

describe('StatusUpdateManager', () => {
  it('forwards only the head and resends it at +10 s, +30 s, +70 s with the same uuid and timestamp', () => {
    const {timers, sent, sum} = setup()
    const starting = st('t1', 'TASK_STARTING')
    const running = st('t1', 'TASK_RUNNING')
    assert.equal(sum.enqueue('f', starting), true)
    assert.equal(sum.enqueue('f', running), true)
    assert.deepEqual(
      sent.map((x) => [x.at, x.s.uuid]),
      [[0, starting.uuid]],
    )
    timers.advance(80_000)
    assert.deepEqual(
      sent.map((x) => x.at),
      [0, 10_000, 30_000, 70_000],
    )
    assert.ok(sent.every((x) => x.s === starting && x.s.timestamp === starting.timestamp))
    // ACK of the head: the next update goes out at once, with a fresh backoff.
    assert.equal(sum.acknowledge('f', 't1', starting.uuid!), 'acknowledged')
    assert.deepEqual(
      sent.slice(4).map((x) => [x.at, x.s.state]),
      [[80_000, 'TASK_RUNNING']],
    )
    timers.advance(10_000)
    assert.deepEqual(
      sent.slice(5).map((x) => [x.at, x.s.state]),
      [[90_000, 'TASK_RUNNING']],
    )
  })

  it('caps the backoff at the maximum interval', () => {
    const timers = new FakeTimers()
    const sent: number[] = []
    const sum = new StatusUpdateManager({timers, retryMinMs: 100, retryMaxMs: 250, forward: () => sent.push(timers.now)})
    sum.resume()
    sum.enqueue('f', st('t', 'TASK_RUNNING'))
    timers.advance(1200)
    assert.deepEqual(sent, [0, 100, 300, 550, 800, 1050])
  })

  it('ignores duplicate uuids and ACKs that are not for the head', () => {
    const {sent, sum} = setup()
    const a = st('t', 'TASK_RUNNING')
    const b = st('t', 'TASK_FINISHED')
    sum.enqueue('f', a)
    sum.enqueue('f', b)
    assert.equal(sum.enqueue('f', {...a}), false)
    assert.equal(sum.acknowledge('f', 't', b.uuid!), 'not-head')
    assert.equal(sum.acknowledge('f', 'other', a.uuid!), 'unknown-stream')
    assert.equal(sum.enqueue('f', {task_id: {value: 't'}, state: 'TASK_RUNNING'}), false, 'an update without uuid is not reliable')
    assert.equal(sent.length, 1)
  })

  it('forgets the task when its terminal update is acknowledged; streams are per task and framework', () => {
    const {sent, sum} = setup()
    const fin = st('t', 'TASK_FINISHED')
    const other = st('t', 'TASK_RUNNING')
    sum.enqueue('f', fin)
    sum.enqueue('g', other)
    assert.equal(sent.length, 2, 'heads of independent streams go out independently')
    assert.equal(sum.hasStream('f', 't'), true)
    assert.equal(sum.head('f', 't')?.uuid, fin.uuid)
    sum.acknowledge('f', 't', fin.uuid!)
    assert.equal(sum.hasStream('f', 't'), false)
    assert.equal(sum.hasStream('g', 't'), true)
    sum.acknowledge('g', 't', other.uuid!)
    assert.equal(sum.hasStream('g', 't'), true, 'a non-terminal ACK keeps the stream')
  })

  it('pause stops forwarding; resume resends every head; snapshot/restore keeps the queue', () => {
    const {timers, sent, sum} = setup()
    const a = st('t', 'TASK_RUNNING')
    const b = st('t', 'TASK_FAILED')
    sum.enqueue('f', a)
    sum.pause()
    sum.enqueue('f', b)
    timers.advance(100_000)
    assert.equal(sent.length, 1)
    const snap = JSON.parse(JSON.stringify(sum.snapshot()))
    const timers2 = new FakeTimers()
    const sent2: TaskStatus[] = []
    const sum2 = new StatusUpdateManager({timers: timers2, forward: (_f, s) => sent2.push(s)})
    sum2.restore(snap)
    sum2.enqueue('f', {...a})
    assert.equal(sent2.length, 0, 'restored manager starts paused')
    sum2.resume()
    assert.deepEqual(
      sent2.map((s) => s.uuid),
      [a.uuid],
    )
    assert.equal(sum2.acknowledge('f', 't', a.uuid!), 'acknowledged')
    assert.deepEqual(
      sent2.map((s) => s.uuid),
      [a.uuid, b.uuid],
    )
    sum2.stop()
    assert.equal(timers2.pendingCount, 0)
  })

  it('fault hooks: dropped sends are retried later; delayed sends arrive after the delay', () => {
    const {timers, sent, sum} = setup(1000)
    let drops = 1
    sum.faults.dropUpdates = () => drops-- > 0
    const a = st('t', 'TASK_RUNNING')
    sum.enqueue('f', a)
    assert.equal(sent.length, 0)
    timers.advance(1000)
    assert.deepEqual(
      sent.map((x) => x.at),
      [1000],
    )
    sum.faults = {delayUpdatesMs: 500}
    sum.acknowledge('f', 't', a.uuid!)
    sum.enqueue('f', st('t', 'TASK_FINISHED'))
    assert.equal(sent.length, 1)
    timers.advance(500)
    assert.deepEqual(
      sent.map((x) => x.at),
      [1000, 1500],
    )
  })

  it('cleanupFramework drops the framework streams and their timers', () => {
    const {timers, sent, sum, changes} = setup()
    sum.enqueue('f', st('t', 'TASK_RUNNING'))
    const before = changes()
    sum.cleanupFramework('f')
    assert.ok(changes() > before)
    timers.advance(60_000)
    assert.equal(sent.length, 1)
    assert.equal(timers.pendingCount, 0)
  })

  it('rejects a nonsensical retry configuration', () => {
    assert.throws(() => new StatusUpdateManager({forward: () => {}, retryMinMs: 0}), /0 < min <= max/)
    assert.throws(() => new StatusUpdateManager({forward: () => {}, retryMinMs: 10, retryMaxMs: 5}), /0 < min <= max/)
  })
})
