/**
 * The `restore` flow against the scheduler's admin API: confirm (y/N on a terminal, --yes otherwise), POST /restore
 * {from, toRevision?, force?}, then follow GET /restore/<op> with listr2 progress (nothing rendered under --json)
 * until the new cluster is healthy, or return at once with --no-wait.
 *
 * Outcomes and exit codes: succeeded 0, failed 1 (also: declined at the prompt; nothing changed), no --yes without
 * a terminal 2, refused by the scheduler 6 (a healthy cluster without --force, a restore or re-seed running, no
 * --backup-target, a standby, not authorised), not finished 4 (--no-wait, --wait-timeout, interrupted: the restore
 * goes on, follow it with --follow); 3 unreachable and 5 unknown cluster as usual.
 */
import type {AdminClient} from './admin-client.js'
import {CliError, ExitCode, type ExitCodeValue} from './exit-codes.js'
import {pollOperation} from './poll-operation.js'
import type {CommandIo} from './show.js'

/** GET /restore/<op> (scheduler/restore-views.ts restoreOpView). */
export interface RestoreOperation {
  op: string
  status: 'refused' | 'running' | 'succeeded' | 'failed'
  phase: 'resolving' | 'killing' | 'bootstrapping' | null
  reason: 'manual' | 'auto' | 'restore-from' | null
  backup: string | null
  to_revision: number | null
  data_until: string | null
  recovery_point_seconds: number | null
  skipped: {id: string; problem: string}[]
  message: string
  created_at: number
  updated_at: number
}

export interface RestoreResult {
  op: string
  status_url: string
  operation: RestoreOperation | null
  outcome: 'succeeded' | 'failed' | 'not_finished'
}

export interface RestoreOptions {
  from: string
  toRevision?: number
  force: boolean
  yes: boolean
  wait: boolean
  waitTimeoutSeconds: number
  pollMs: number
  follow?: string
  stdinIsTTY: boolean
  cluster: string
  followHint: (op: string) => string
  confirm: (question: string) => Promise<boolean>
}

export function restoreExitCode(outcome: RestoreResult['outcome']): ExitCodeValue {
  return {succeeded: ExitCode.OK, failed: ExitCode.FAILED, not_finished: ExitCode.UNHEALTHY}[outcome]
}

async function start(client: AdminClient, opts: RestoreOptions): Promise<string> {
  const body = {from: opts.from, ...(opts.toRevision !== undefined ? {toRevision: opts.toRevision} : {}), force: opts.force}
  const r = await client.post<{op?: string; error?: string}>('/restore', body, [202, 400, 409, 503])
  if (r.status === 400) throw new CliError(r.body.error ?? 'bad restore request', ExitCode.USAGE, 'BAD_REQUEST')
  if (r.status === 409) throw new CliError(`restore refused: ${r.body.error ?? 'refused'}`, ExitCode.REFUSED, 'REFUSED')
  if (r.status === 503) throw new CliError(r.body.error ?? 'the scheduler cannot restore', ExitCode.REFUSED, 'RESTORE_UNAVAILABLE')
  if (typeof r.body.op !== 'string')
    throw new CliError('the scheduler accepted the restore but sent no operation id', ExitCode.INTERNAL, 'BAD_RESPONSE')
  return r.body.op
}

const PHASE_TEXT: Record<string, string> = {
  resolving: 'choosing and verifying the backup',
  killing: 'killing the old members',
  bootstrapping: 'starting the new cluster from the backup',
}

/** Polls the operation until it ends, the deadline passes or SIGINT; brief scheduler outages are tolerated. */
function follow(
  client: AdminClient,
  op: string,
  opts: RestoreOptions,
  io: CommandIo,
  onDoc: (d: RestoreOperation) => void,
): Promise<{doc: RestoreOperation | null; interrupted: boolean}> {
  const get = async () => (await client.get<RestoreOperation>(`/restore/${encodeURIComponent(op)}`)).body
  return pollOperation(
    get,
    (d) => d.status !== 'running',
    opts,
    (t) => io.warn(t),
    onDoc,
  )
}

export async function runRestore(client: AdminClient, opts: RestoreOptions, io: CommandIo): Promise<RestoreResult> {
  let op = opts.follow
  if (op === undefined) {
    if (!opts.yes && !opts.stdinIsTTY)
      throw new CliError(
        'a restore needs confirmation, but stdin is not a terminal: pass --yes to confirm',
        ExitCode.USAGE,
        'CONFIRMATION_REQUIRED',
      )
    if (!opts.yes) {
      const rev = opts.toRevision !== undefined ? ` up to revision ${opts.toRevision}` : ''
      const ok = await opts.confirm(
        `Restore cluster ${opts.cluster} from backup ${opts.from}${rev}? Every member is killed and a NEW cluster starts from the backup; writes newer than the backup are lost.`,
      )
      if (!ok) throw new CliError('restore not confirmed; nothing was changed', ExitCode.FAILED, 'ABORTED')
    }
    op = await start(client, opts)
    io.log(`restore ${op} started`)
  }
  const result: RestoreResult = {op, status_url: `${client.baseUrl}/restore/${op}`, operation: null, outcome: 'not_finished'}
  if (!opts.wait) {
    io.log(`not waiting; follow it with: ${opts.followHint(op)}`)
    return result
  }
  let followed: {doc: RestoreOperation | null; interrupted: boolean} = {doc: null, interrupted: false}
  if (io.json) followed = await follow(client, op, opts, io, () => undefined)
  else {
    const {Listr} = await import('listr2')
    const wide = process.stdout.isTTY === true && (process.stdout.columns ?? 0) >= 40
    await new Listr(
      [
        {
          title: 'Restoring from a backup',
          task: async (_ctx: unknown, task: {title: string; output: string}) => {
            followed = await follow(client, op!, opts, io, (d) => {
              const what = d.backup ? `backup ${d.backup}${d.to_revision !== null ? ` (revision ${d.to_revision})` : ''}` : 'a backup'
              if (d.phase) task.title = `Restoring from ${what}: ${PHASE_TEXT[d.phase] ?? d.phase}`
            })
            const d = followed.doc
            if (d?.status === 'failed') throw new Error(d.message)
            if (d?.status === 'succeeded') task.title = d.message
          },
        },
      ],
      {renderer: wide ? 'default' : 'simple', exitOnError: true, registerSignalListeners: false},
    )
      .run()
      .catch(() => undefined)
  }
  const d = followed.doc
  if (!d)
    throw new CliError('the scheduler could not be reached while following the restore', ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
  result.operation = d
  result.outcome = d.status === 'running' ? 'not_finished' : d.status === 'succeeded' ? 'succeeded' : 'failed'
  if (result.outcome === 'failed') io.warn(`restore failed: ${d.message}`)
  if (d.recovery_point_seconds !== null)
    io.log(`recovery point: ${d.recovery_point_seconds} s of writes before the loss are not in backup ${d.backup ?? '(unknown)'}`)
  if (d.status === 'running') {
    const why = followed.interrupted ? 'stopped following (the restore goes on)' : `still running after ${opts.waitTimeoutSeconds} s`
    io.log(`${why}; follow it with: ${opts.followHint(op)}`)
  }
  return result
}
