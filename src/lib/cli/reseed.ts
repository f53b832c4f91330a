/**
 * The `reseed` flow: show which member would seed and why (GET /reseed/candidates), refuse a healthy
 * cluster without --force, confirm (y/N on a terminal, --yes otherwise), POST /reseed, then follow the
 * operation (reseed-progress.ts) or return at once with --no-wait.
 *
 * Outcomes and exit codes: succeeded 0, failed 1, refused by the scheduler 6, not finished (--no-wait,
 * --wait-timeout, or interrupted) 4. Errors before the POST are CliErrors: no --yes without a terminal 2,
 * healthy cluster without --force 6, declined at the prompt 1.
 */
import type {AdminClient} from './admin-client.js'
import {CliError, ExitCode, type ExitCodeValue} from './exit-codes.js'
import {renderCandidates, renderReseedOutcome, type ColourLevel} from './render.js'
import type {ReseedAccepted, ReseedCandidates, ReseedOperation, ReseedResult} from './types.js'

export interface ReseedOptions {
  force: boolean
  yes: boolean
  wait: boolean
  waitTimeoutSeconds: number
  pollMs: number
  /** Follow this existing operation instead of starting one. */
  follow?: string
  json: boolean
  stdinIsTTY: boolean
  /** How a user re-runs this command against the same scheduler, for the follow-up hint. */
  followHint: (op: string) => string
}

export interface ReseedUi {
  log(text: string): void
  warn(text: string): void
  confirm(question: string): Promise<boolean>
  colourLevel: ColourLevel
}

export function outcomeExitCode(outcome: ReseedResult['outcome']): ExitCodeValue {
  return {succeeded: ExitCode.OK, failed: ExitCode.FAILED, refused: ExitCode.REFUSED, not_finished: ExitCode.UNHEALTHY}[outcome]
}

async function fetchCandidates(client: AdminClient, ui: ReseedUi): Promise<ReseedCandidates | null> {
  try {
    return (await client.get<ReseedCandidates>('/reseed/candidates')).body
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.NOT_FOUND) {
      ui.warn('warning: this scheduler does not report re-seed candidates (GET /reseed/candidates); it will choose the seed itself')
      return null
    }
    throw err
  }
}

export async function runReseed(client: AdminClient, opts: ReseedOptions, ui: ReseedUi): Promise<ReseedResult> {
  const {Chalk} = await import('chalk')
  const c = new Chalk({level: ui.colourLevel})
  let op = opts.follow
  let candidates: ReseedCandidates | null = null
  if (op === undefined) {
    if (!opts.yes && !opts.stdinIsTTY) {
      throw new CliError(
        'a re-seed needs confirmation, but stdin is not a terminal: pass --yes to confirm',
        ExitCode.USAGE,
        'CONFIRMATION_REQUIRED',
      )
    }
    candidates = await fetchCandidates(client, ui)
    if (candidates && !opts.json) ui.log(renderCandidates(candidates, c))
    if (candidates?.healthy && !opts.force) {
      throw new CliError(
        'refusing to re-seed a healthy cluster (it would restart every member from one seed); pass --force to do it anyway',
        ExitCode.REFUSED,
        'REFUSED_HEALTHY',
      )
    }
    if (!opts.yes) {
      const seed = candidates?.candidates[0]?.name
      const ok = await ui.confirm(`Re-seed ${seed ? `from ${seed}` : 'the cluster'}? Every other member is killed and re-added empty.`)
      if (!ok) throw new CliError('re-seed not confirmed; nothing was changed', ExitCode.FAILED, 'ABORTED')
    }
    const accepted = (await client.post<ReseedAccepted>('/reseed', {force: opts.force})).body
    if (!accepted || typeof accepted.op !== 'string') {
      throw new CliError('the scheduler accepted the re-seed but sent no operation id', ExitCode.INTERNAL, 'BAD_RESPONSE')
    }
    op = accepted.op
    if (!opts.json) ui.log(`re-seed ${op} started`)
  }
  const statusPath = `/reseed/${encodeURIComponent(op)}`
  const result: ReseedResult = {op, status_url: `${client.baseUrl}${statusPath}`, candidates, operation: null, outcome: 'not_finished'}
  if (!opts.wait) {
    if (!opts.json) ui.log(`not waiting; follow it with: ${opts.followHint(op)}`)
    return result
  }
  const {followReseed} = await import('./reseed-progress.js')
  const followed = await followReseed(async () => (await client.get<ReseedOperation>(statusPath)).body, {
    intervalMs: opts.pollMs,
    timeoutMs: opts.waitTimeoutSeconds * 1000,
    quiet: opts.json,
    warn: ui.warn,
  })
  result.operation = followed.operation
  result.outcome = followed.finished ? (followed.operation.status as ReseedResult['outcome']) : 'not_finished'
  if (!opts.json) {
    ui.log(renderReseedOutcome(followed.operation, c))
    if (!followed.finished) {
      const why = followed.interrupted ? 'stopped following (the re-seed goes on)' : `still running after ${opts.waitTimeoutSeconds} s`
      ui.log(`${why}; follow it with: ${opts.followHint(op)}`)
    }
  }
  return result
}
