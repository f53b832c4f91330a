import {spawn, type ChildProcess, type SpawnOptions} from 'node:child_process'

/**
 * Child processes started by tests. Each is started in its own process group so that the whole
 * tree can be killed; every tracked group is SIGKILLed when the test process exits, even after a
 * failed assertion, so tests never leak etcd, ZooKeeper or executors.
 */
const live = new Set<ChildProcess>()

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      /* already gone */
    }
  }
}

process.on('exit', () => {
  for (const c of live) killGroup(c)
})
const cleanups: (() => Promise<void>)[] = []

/** Registers an async cleanup run on SIGINT/SIGTERM before the tracked groups are killed (bounded to 20 s). */
export function onInterrupt(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

let interrupted = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // A second signal (e.g. `timeout` forwarding the one it got) must not cut the cleanup short.
    if (interrupted) return
    interrupted = true
    const bounded = new Promise<void>((r) => setTimeout(r, 20_000).unref())
    void Promise.race([Promise.allSettled(cleanups.map((f) => f())), bounded]).finally(() => {
      for (const c of live) killGroup(c)
      process.exit(130)
    })
  })
}

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true})
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}

/** Stops a tracked child: `signal` to its group, SIGKILL after `graceMs`; resolves when it exited. */
export async function stopTracked(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    killGroup(child, 'SIGKILL')
    return
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  killGroup(child, signal)
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
  killGroup(child, 'SIGKILL') // anything left in the group
}

export function killAllTracked(): void {
  for (const c of live) killGroup(c)
}
