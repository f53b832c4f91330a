/**
 * The `backup` and `backups list` flows against the scheduler's admin API (POST /backups, GET /backups/op/<op>,
 * GET /backups), with listr2 progress for humans (nothing rendered under --json).
 *
 * `backup` outcomes and exit codes: succeeded 0, failed 1, not finished 4 (--no-wait, --wait-timeout or
 * interrupted; the operation goes on, follow it with --follow), refused 6 (a backup is already running, no
 * --backup-target on the scheduler, a standby, or not authorised); 3 unreachable and 5 unknown cluster as usual.
 */
import type {AdminClient} from './admin-client.js'
import {CliError, ExitCode, type ExitCodeValue} from './exit-codes.js'
import {pollOperation} from './poll-operation.js'
import type {CommandIo} from './show.js'

/** GET /backups/op/<op>. */
export interface BackupOperation {
  op: string
  status: 'running' | 'succeeded' | 'failed'
  message: string | null
  manifest: {id: string; kind: string; createdAt: string; revision: number; size: number; memberId?: string; endpoint?: string} | null
  created_at: number
  updated_at: number
}

export interface BackupResult {
  op: string
  status_url: string
  operation: BackupOperation | null
  outcome: 'succeeded' | 'failed' | 'not_finished'
}

/** One entry of GET /backups. */
export interface BackupEntry {
  id: string
  kind: string
  created_at: string
  revision: number
  size: number
  verified: boolean
  base_id: string | null
  member_id: string | null
}
export interface BackupList {
  target: string
  backups: BackupEntry[]
  invalid: {name: string; error: string}[]
}

export function backupExitCode(outcome: BackupResult['outcome']): ExitCodeValue {
  return {succeeded: ExitCode.OK, failed: ExitCode.FAILED, not_finished: ExitCode.UNHEALTHY}[outcome]
}

export interface BackupOptions {
  wait: boolean
  waitTimeoutSeconds: number
  pollMs: number
  follow?: string
  followHint: (op: string) => string
}

async function start(client: AdminClient): Promise<string> {
  const r = await client.post<{op?: string; error?: string}>('/backups', {}, [202, 409, 503])
  if (r.status === 409) throw new CliError(r.body.error ?? 'a backup is already running', ExitCode.REFUSED, 'BACKUP_RUNNING')
  if (r.status === 503) throw new CliError(r.body.error ?? 'the scheduler takes no backups', ExitCode.REFUSED, 'BACKUPS_UNAVAILABLE')
  if (typeof r.body.op !== 'string')
    throw new CliError('the scheduler accepted the backup but sent no operation id', ExitCode.INTERNAL, 'BAD_RESPONSE')
  return r.body.op
}

/** Polls the operation until it ends, the deadline passes or SIGINT; brief scheduler outages are tolerated. */
function follow(
  client: AdminClient,
  op: string,
  opts: BackupOptions,
  io: CommandIo,
): Promise<{doc: BackupOperation | null; interrupted: boolean}> {
  const get = async () => (await client.get<BackupOperation>(`/backups/op/${encodeURIComponent(op)}`)).body
  return pollOperation(
    get,
    (d) => d.status !== 'running',
    opts,
    (t) => io.warn(t),
  )
}

/** `backup`: start (or --follow) an on-demand full backup and follow it to its end. */
export async function runBackup(client: AdminClient, opts: BackupOptions, io: CommandIo): Promise<BackupResult> {
  const op = opts.follow ?? (await start(client))
  const result: BackupResult = {op, status_url: `${client.baseUrl}/backups/op/${op}`, operation: null, outcome: 'not_finished'}
  if (!opts.follow) io.log(`backup ${op} started`)
  if (!opts.wait) {
    io.log(`not waiting; follow it with: ${opts.followHint(op)}`)
    return result
  }
  let followed: {doc: BackupOperation | null; interrupted: boolean} = {doc: null, interrupted: false}
  if (io.json) followed = await follow(client, op, opts, io)
  else {
    const {Listr} = await import('listr2')
    const wide = process.stdout.isTTY === true && (process.stdout.columns ?? 0) >= 40
    await new Listr(
      [
        {
          title: 'Taking a full backup (streamed from a healthy member, verified, published)',
          task: async (_ctx: unknown, task: {title: string}) => {
            followed = await follow(client, op, opts, io)
            const d = followed.doc
            if (d?.status === 'failed') throw new Error(d.message ?? 'backup failed')
            if (d?.status === 'succeeded' && d.manifest)
              task.title = `Backup ${d.manifest.id} taken: revision ${d.manifest.revision}, ${d.manifest.size} bytes, verified`
          },
        },
      ],
      {renderer: wide ? 'default' : 'simple', exitOnError: true, registerSignalListeners: false},
    )
      .run()
      .catch(() => undefined)
  }
  const d = followed.doc
  if (!d) throw new CliError('the scheduler could not be reached while following the backup', ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
  result.operation = d
  result.outcome = d.status === 'running' ? 'not_finished' : d.status
  if (d.status === 'failed') io.warn(`backup failed: ${d.message ?? 'unknown error'}`)
  if (d.status === 'running') {
    const why = followed.interrupted ? 'stopped following (the backup goes on)' : `still running after ${opts.waitTimeoutSeconds} s`
    io.log(`${why}; follow it with: ${opts.followHint(op)}`)
  }
  return result
}

/** `backups list`: a table (newest first) or the document. */
export async function runBackupsList(client: AdminClient, io: CommandIo): Promise<BackupList> {
  let list: BackupList
  try {
    list = (await client.get<BackupList>('/backups')).body
  } catch (err) {
    if (err instanceof CliError && err.code === 'UNAVAILABLE') throw new CliError(err.message, ExitCode.REFUSED, 'BACKUPS_UNAVAILABLE')
    throw err
  }
  if (!io.json) {
    const {colours, renderTable} = await import('./render.js')
    const c = colours()
    const rows = list.backups.map((b) => [b.id, b.created_at, String(b.revision), String(b.size), b.kind, b.verified ? 'yes' : 'no'])
    io.log(
      list.backups.length === 0
        ? `no backups in ${list.target}`
        : renderTable(['ID', 'TIME', 'REVISION', 'SIZE', 'KIND', 'VERIFIED'], rows, c),
    )
    for (const i of list.invalid) io.warn(`warning: ${i.name} is not a valid backup manifest: ${i.error}`)
  }
  return list
}
