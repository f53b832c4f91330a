/**
 * Following a re-seed operation (GET /reseed/<op>) until it ends, with listr2 progress for humans.
 *
 * `followReseed()` polls the operation every `intervalMs` until its status is terminal (succeeded, failed,
 * refused), the wait deadline passes, or SIGINT arrives (the operation keeps running on the scheduler; we
 * only stop watching). Brief scheduler outages (UNREACHABLE, e.g. during a scheduler fail-over) are
 * tolerated until the deadline; any other error ends the follow.
 *
 * Progress: one listr2 task per phase (ranking → seeding → killing → growing); each step the scheduler
 * records is shown as the running task's output line. A task completes when the operation moves past its
 * phase, fails when the operation fails in it. Under `--json` (`quiet`) nothing is rendered.
 */
import {createInterface} from 'node:readline/promises'
import {setTimeout as sleep} from 'node:timers/promises'
import {Listr} from 'listr2'
import {CliError, ExitCode} from './exit-codes.js'
import type {ReseedOperation, ReseedPhase, ReseedStep} from './types.js'

export const PHASES: readonly ReseedPhase[] = ['ranking', 'seeding', 'killing', 'growing']

const TITLES: Record<ReseedPhase, (op: ReseedOperation | null) => string> = {
  ranking: () => 'Ranking the surviving members',
  seeding: (op) => (op?.seed ? `Seeding a one-member cluster from ${op.seed}` : 'Seeding a one-member cluster'),
  killing: () => 'Killing the other members',
  growing: () => 'Growing the cluster back to its size',
}

export const isTerminal = (op: ReseedOperation): boolean => op.status !== 'running'
const phaseIndex = (op: ReseedOperation): number => (op.phase === null ? 0 : Math.max(0, PHASES.indexOf(op.phase)))

export interface FollowOptions {
  intervalMs: number
  /** Give up (finished: false) after this long. */
  timeoutMs: number
  /** Render nothing (--json). */
  quiet: boolean
  /** Stop following on SIGINT (default true). */
  handleSigint?: boolean
  /** Where warnings go (default stderr). */
  warn?: (line: string) => void
}

export interface FollowResult {
  operation: ReseedOperation
  /** false when the deadline passed or SIGINT stopped the follow while the operation still ran. */
  finished: boolean
  interrupted: boolean
}

/**
 * The latest operation document, with waiters and per-phase step listeners for the renderer. A step is
 * filed under the phase the operation was in when the step was first seen (the last known phase once the
 * operation has ended), so that each phase task shows its own steps even when it starts late.
 */
class Watch {
  doc: ReseedOperation | null = null
  closed = false
  private lastPhase: ReseedPhase = 'ranking'
  private readonly filed: {phase: ReseedPhase; step: ReseedStep}[] = []
  private waiters = new Set<() => void>()
  private stepListeners = new Set<(phase: ReseedPhase, s: ReseedStep) => void>()

  update(doc: ReseedOperation): void {
    this.doc = doc
    if (doc.phase !== null && PHASES.includes(doc.phase)) this.lastPhase = doc.phase
    const steps = Array.isArray(doc.steps) ? doc.steps : []
    for (const step of steps.slice(this.filed.length)) {
      this.filed.push({phase: this.lastPhase, step})
      for (const l of this.stepListeners) l(this.lastPhase, step)
    }
    this.wake()
  }

  close(): void {
    this.closed = true
    this.wake()
  }

  /** Calls `fn` with the steps of `phase` seen so far, then with each new one. */
  onStep(phase: ReseedPhase, fn: (s: ReseedStep) => void): () => void {
    for (const f of this.filed) if (f.phase === phase) fn(f.step)
    const l = (p: ReseedPhase, s: ReseedStep): void => {
      if (p === phase) fn(s)
    }
    this.stepListeners.add(l)
    return () => this.stepListeners.delete(l)
  }

  async until(pred: (doc: ReseedOperation) => boolean): Promise<void> {
    while (!this.closed && !(this.doc && pred(this.doc))) await new Promise<void>((r) => this.waiters.add(r))
  }

  private wake(): void {
    const ws = [...this.waiters]
    this.waiters.clear()
    for (const w of ws) w()
  }
}

function progress(watch: Watch): {run(): Promise<unknown>} {
  const tasks = PHASES.map((phase, i) => ({
    title: TITLES[phase](null),
    task: async (_ctx: unknown, task: {title: string; output: string; skip(msg?: string): void}) => {
      const off = watch.onStep(phase, (s) => {
        task.output = s.message ? `${s.step}: ${s.message}` : s.step
      })
      try {
        await watch.until((d) => isTerminal(d) || phaseIndex(d) > i || (phase === 'seeding' && d.seed !== null && phaseIndex(d) === i))
        task.title = TITLES[phase](watch.doc)
        await watch.until((d) => isTerminal(d) || phaseIndex(d) > i)
      } finally {
        off()
      }
      const d = watch.doc
      if (!d || !isTerminal(d)) {
        if (watch.closed && (!d || phaseIndex(d) <= i)) task.skip(`${task.title} (not finished)`)
        return
      }
      if (d.status !== 'succeeded' && phaseIndex(d) <= i) throw new Error(d.message || `re-seed ${d.status}`)
    },
  }))
  // The full-screen renderer needs a real terminal width; a terminal without one gets line-by-line output.
  const wide = process.stdout.isTTY === true && (process.stdout.columns ?? 0) >= 40
  return new Listr(tasks, {
    renderer: wide ? 'default' : 'simple',
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
  })
}

/** Follows `get()` (GET /reseed/<op>) until the operation ends; see the module comment. */
export async function followReseed(get: () => Promise<ReseedOperation>, opts: FollowOptions): Promise<FollowResult> {
  const warn = opts.warn ?? ((l: string) => process.stderr.write(`${l}\n`))
  const deadline = Date.now() + opts.timeoutMs
  const ac = new AbortController()
  const onSigint = (): void => ac.abort()
  if (opts.handleSigint !== false) process.once('SIGINT', onSigint)
  const watch = new Watch()
  const rendering = opts.quiet
    ? Promise.resolve()
    : progress(watch)
        .run()
        .catch(() => undefined)
  let warned = false
  try {
    for (;;) {
      try {
        watch.update(await get())
        warned = false
      } catch (err) {
        if (!(err instanceof CliError) || err.exitCode !== ExitCode.UNREACHABLE) throw err
        if (!warned) warn(`warning: ${err.message}; still trying until the wait timeout`)
        warned = true
      }
      if ((watch.doc && isTerminal(watch.doc)) || Date.now() >= deadline || ac.signal.aborted) break
      await sleep(Math.min(opts.intervalMs, Math.max(0, deadline - Date.now())), undefined, {signal: ac.signal}).catch(() => undefined)
    }
  } finally {
    process.off('SIGINT', onSigint)
    watch.close()
    await rendering
  }
  if (!watch.doc)
    throw new CliError('the scheduler could not be reached while following the re-seed', ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
  return {operation: watch.doc, finished: isTerminal(watch.doc), interrupted: ac.signal.aborted}
}

/** Asks a y/N question on the terminal (prompt on stderr); anything but y/yes, or end of input, is no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({input: process.stdin, output: process.stderr})
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')))
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `), closed])
    return /^\s*y(es)?\s*$/i.test(answer)
  } catch {
    return false
  } finally {
    rl.close()
  }
}
