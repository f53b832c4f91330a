/**
 * The one exit-code table of etcd-mesos (also in the README). Every error a command can end with
 * carries one of these codes; scripts and runbooks branch on them.
 */
export const ExitCode = {
  OK: 0,
  /** The operation ran and failed (e.g. a re-seed that failed). */
  FAILED: 1,
  /** Bad flags, arguments or configuration. */
  USAGE: 2,
  /** The scheduler, ZooKeeper or the Mesos master could not be reached. */
  UNREACHABLE: 3,
  /** The cluster is not healthy, or an operation has not finished (e.g. `--no-wait`). */
  UNHEALTHY: 4,
  /** The named cluster (or its scheduler leader) does not exist. */
  NOT_FOUND: 5,
  /** The scheduler refused the request (unauthorised, or refused on a healthy cluster without --force). */
  REFUSED: 6,
  /** `serve`: Mesos removed the framework (failover timeout expired, or torn down); the next start registers a new one. */
  FRAMEWORK_REMOVED: 7,
  /** `stats --check`: the cluster is healthy but its backups keep failing. */
  BACKUPS_FAILING: 8,
  /** `stats --check` / `rollout`: the last rollout failed (a member did not come back; the rest untouched). */
  ROLLOUT_FAILED: 9,
  /** A bug in etcd-mesos: please report it. */
  INTERNAL: 10,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_TABLE: {code: ExitCodeValue; name: string; meaning: string}[] = [
  {code: 0, name: 'OK', meaning: 'success (for `stats --check`: the cluster is healthy)'},
  {code: 1, name: 'FAILED', meaning: 'the operation ran and failed'},
  {code: 2, name: 'USAGE', meaning: 'bad flags, arguments or configuration'},
  {code: 3, name: 'UNREACHABLE', meaning: 'scheduler, ZooKeeper or Mesos master unreachable'},
  {code: 4, name: 'UNHEALTHY', meaning: 'cluster not healthy, or operation not finished'},
  {code: 5, name: 'NOT_FOUND', meaning: 'unknown cluster, or no scheduler leader published'},
  {code: 6, name: 'REFUSED', meaning: 'request refused (unauthorised, or healthy cluster without --force)'},
  {code: 7, name: 'FRAMEWORK_REMOVED', meaning: '`serve`: the framework was removed by Mesos (restart to register a new one)'},
  {code: 8, name: 'BACKUPS_FAILING', meaning: '`stats --check`: the cluster is healthy but its backups keep failing'},
  {code: 9, name: 'ROLLOUT_FAILED', meaning: '`stats --check` / `rollout`: the last rollout failed or was refused'},
  {code: 10, name: 'INTERNAL', meaning: 'internal error (a bug)'},
]

/** An error that knows its exit code and a stable machine-readable code for `--json`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly code: string = 'ERROR',
  ) {
    super(message)
    this.name = 'CliError'
  }
}

/** Maps any error to a CliError: oclif parse errors → USAGE, unknown errors → INTERNAL. */
export function toCliError(err: Error & {exitCode?: number; oclif?: {exit?: number}}): CliError {
  if (err instanceof CliError) return err
  const name = err.constructor?.name ?? ''
  if (/Flag|Arg|Parse|Validation|Required|Unexpected|NonExistent|Option/i.test(name) || err.oclif?.exit === 2) {
    return new CliError(err.message, ExitCode.USAGE, 'USAGE')
  }
  if (name === 'ZkError' || name === 'ZkUrlError') {
    const code = (err as {code?: string}).code
    if (name === 'ZkUrlError') return new CliError(err.message, ExitCode.USAGE, 'BAD_ZK_URL')
    return new CliError(`ZooKeeper: ${err.message}`, ExitCode.UNREACHABLE, code ?? 'ZK_ERROR')
  }
  return new CliError(err.message || String(err), ExitCode.INTERNAL, 'INTERNAL')
}
