/**
 * BaseCommand for the operator commands (stats, members, reseed, failover-status, proxy): the shared
 * flags for finding the scheduler (--admin-url, or --cluster with --zk), --timeout, --json, the
 * admin token, error → exit-code mapping in catch(), and client cleanup in finally().
 */
import {readFile} from 'node:fs/promises'
import {Command, Flags, type Interfaces} from '@oclif/core'
import {AdminClient} from './admin-client.js'
import {CliError, ExitCode} from './exit-codes.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'admin-url': Flags.string({
      summary: 'URL of the scheduler admin API, e.g. http://10.0.0.5:23400.',
      env: 'ETCD_MESOS_ADMIN_URL',
      helpGroup: 'SCHEDULER',
    }),
    cluster: Flags.string({
      summary: 'Cluster name: find its scheduler leader in ZooKeeper (needs --zk).',
      env: 'ETCD_MESOS_CLUSTER',
      helpGroup: 'SCHEDULER',
    }),
    zk: Flags.string({
      summary: 'ZooKeeper URL the scheduler persists to (its --zk-framework-persist), e.g. zk://zk1:2181/etcd-mesos.',
      env: 'ETCD_MESOS_ZK',
      helpGroup: 'SCHEDULER',
    }),
    timeout: Flags.integer({
      summary: 'Seconds to wait for the scheduler or ZooKeeper.',
      default: 10,
      min: 1,
      max: 3600,
      env: 'ETCD_MESOS_TIMEOUT',
      helpGroup: 'SCHEDULER',
    }),
    'admin-token-file': Flags.string({
      summary: 'File holding the admin bearer token (for mutating calls).',
      env: 'ETCD_MESOS_ADMIN_TOKEN_FILE',
      helpGroup: 'SCHEDULER',
    }),
  }

  protected flags!: BaseFlags<T>
  private cleanups: (() => Promise<void>)[] = []

  public override async init(): Promise<void> {
    await super.init()
    const {flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
  }

  /** Registers a cleanup run in finally(), in reverse order. */
  protected onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn)
  }

  protected async adminToken(): Promise<string | undefined> {
    const env = process.env.ETCD_MESOS_ADMIN_TOKEN
    if (env) return env.trim()
    const file = this.flags['admin-token-file']
    if (!file) return undefined
    try {
      return (await readFile(file, 'utf8')).trim()
    } catch (err) {
      throw new CliError(`cannot read --admin-token-file ${file}: ${(err as Error).message}`, ExitCode.USAGE, 'BAD_TOKEN_FILE')
    }
  }

  /** The admin client for the scheduler named by --admin-url, or by --cluster + --zk. */
  protected async adminClient(): Promise<AdminClient> {
    const timeoutMs = this.flags.timeout * 1000
    const token = await this.adminToken()
    const {resolveAdminUrl} = await import('./locate.js')
    const baseUrl = await resolveAdminUrl({
      adminUrl: this.flags['admin-url'],
      cluster: this.flags.cluster,
      zk: this.flags.zk,
      timeoutMs,
    })
    return new AdminClient({baseUrl, timeoutMs, token})
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    const cli = toCliError(err)
    process.exitCode = cli.exitCode
    if (this.jsonEnabled()) {
      this.logJson({error: {code: cli.code, message: cli.message, exitCode: cli.exitCode}})
    } else {
      process.stderr.write(`error: ${cli.message}\n`)
      if (cli.exitCode === ExitCode.INTERNAL && err.stack) process.stderr.write(`${err.stack}\n`)
    }
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn()
      } catch {
        /* cleanup must not mask the result */
      }
    }
    await super.finally(err)
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
