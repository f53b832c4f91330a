/**
 * Following a long-running operation of the scheduler (a backup, a restore, a rollout): poll until it ends, the wait
 * deadline passes or SIGINT arrives (the operation keeps running on the scheduler). A scheduler briefly unreachable
 * is warned about and tolerated until the deadline; any other error is thrown.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {CliError, ExitCode} from './exit-codes.js'

export interface PollOptions {
  waitTimeoutSeconds: number
  pollMs: number
}

/** Polls get() every pollMs, handing each answer to onDoc, until ended(answer), the deadline or SIGINT. */
export async function pollOperation<T>(
  get: () => Promise<T>,
  ended: (doc: T) => boolean,
  opts: PollOptions,
  warn: (text: string) => void,
  onDoc: (doc: T) => void = () => undefined,
): Promise<{doc: T | null; interrupted: boolean}> {
  const deadline = Date.now() + opts.waitTimeoutSeconds * 1000
  const ac = new AbortController()
  const onSigint = (): void => ac.abort()
  process.once('SIGINT', onSigint)
  let doc: T | null = null
  try {
    for (;;) {
      try {
        doc = await get()
        onDoc(doc)
      } catch (err) {
        if (!(err instanceof CliError) || err.exitCode !== ExitCode.UNREACHABLE) throw err
        warn(`warning: ${err.message}; still trying until the wait timeout`)
      }
      if ((doc !== null && ended(doc)) || Date.now() >= deadline || ac.signal.aborted) break
      await sleep(Math.min(opts.pollMs, Math.max(0, deadline - Date.now())), undefined, {signal: ac.signal}).catch(() => undefined)
    }
  } finally {
    process.off('SIGINT', onSigint)
  }
  return {doc, interrupted: ac.signal.aborted}
}
