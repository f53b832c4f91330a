/**
 * One self-re-arming ZooKeeper watch (ZkClient.watchChildren / watchData): read with a one-shot watcher; on the
 * watcher firing, read and re-arm again. A missing node is watched with `exists` until it is created.
 * Invariants: only the latest arming (generation) may deliver or re-arm; `onChange` is called only when the
 * value's `key` differs from the last delivered one (re-arming after a reconnect delivers nothing new); a failed
 * read is retried after 500 ms; a listener that throws never kills the watch; nothing runs after stop().
 */
import type {ZkCall} from './connection.js'
import {ZkError} from './errors.js'
import type {RawClient, RawWatcher} from './raw.js'

export interface WatchLoop {
  arm(): void
  stop(): void
}

export interface WatchSpec<T> {
  path: string
  /** Operation name for errors. */
  op: string
  read: (raw: RawClient, watcher: RawWatcher, done: (err: unknown, value?: T) => void) => void
  /** The value delivered while the node does not exist. */
  missing: T
  /** Identity of a value: equal keys are not delivered twice in a row. */
  key: (v: T) => string
  onChange: (v: T) => void
}

export function createWatchLoop<T>(call: ZkCall, isClosed: () => boolean, spec: WatchSpec<T>): WatchLoop {
  const {path, op, read, missing, key, onChange} = spec
  let gen = 0
  let stopped = false
  let lastKey: string | undefined
  let retryTimer: NodeJS.Timeout | undefined
  const deliver = (v: T): void => {
    const k = key(v)
    if (k === lastKey) return
    lastKey = k
    try {
      onChange(v)
    } catch {
      /* a listener's bug must not kill the watch */
    }
  }
  const loop: WatchLoop = {
    arm: () => {
      if (stopped || isClosed()) return
      const my = ++gen
      clearTimeout(retryTimer)
      const current = (): boolean => my === gen && !stopped && !isClosed()
      const watcher: RawWatcher = () => {
        if (current()) loop.arm()
      }
      const retry = (): void => {
        if (!current()) return
        retryTimer = setTimeout(() => {
          if (current()) loop.arm()
        }, 500)
      }
      call<T>(op, path, (raw, done) => read(raw, watcher, done)).then(
        (v) => {
          if (current()) deliver(v)
        },
        (err: unknown) => {
          if (!current()) return
          if (!(err instanceof ZkError && err.code === 'NO_NODE')) return retry()
          // Node missing: watch for its creation.
          call<boolean>('exists', path, (raw, done) => raw.exists(path, watcher, (e, stat) => done(e, stat !== null))).then(
            (exists) => {
              if (!current()) return
              if (exists) loop.arm()
              else deliver(missing)
            },
            () => retry(),
          )
        },
      )
    },
    stop: () => {
      stopped = true
      clearTimeout(retryTimer)
    },
  }
  return loop
}
