/**
 * BaseCommand for the operator commands (stats, members, reseed, failover-status, proxy): the shared
 * flags for finding the scheduler (--admin-url, or --cluster with --zk), --timeout, --json, the
 * admin token, error → exit-code mapping in catch(), and client cleanup in finally().
 */
import {Command, Flags, type Interfaces} from '@oclif/core'
import type {AdminClient} from './admin-client.js'
import {ExitCode, toCliError} from './exit-codes.js'
import {SCHEDULER_FLAG_ENV as ENV, TIMEOUT_SECONDS} from './flags.js'
import type {CommandIo} from './show.js'
import {openAdminClient} from './target.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'admin-url': Flags.string({
      summary: 'URL of the scheduler admin API, e.g. http://10.0.0.5:23400.',
      env: ENV['admin-url'],
      helpGroup: 'SCHEDULER',
    }),
    cluster: Flags.string({
      summary: 'Cluster name: find its scheduler leader in ZooKeeper (needs --zk).',
      env: ENV.cluster,
      helpGroup: 'SCHEDULER',
    }),
    zk: Flags.string({
      summary: 'ZooKeeper URL the scheduler persists to (its --zk-framework-persist), e.g. zk://zk1:2181/etcd-mesos.',
      env: ENV.zk,
      helpGroup: 'SCHEDULER',
    }),
    timeout: Flags.integer({
      summary: 'Seconds to wait for the scheduler or ZooKeeper.',
      default: TIMEOUT_SECONDS.default,
      min: TIMEOUT_SECONDS.min,
      max: TIMEOUT_SECONDS.max,
      env: ENV.timeout,
      helpGroup: 'SCHEDULER',
    }),
    'admin-token-file': Flags.string({
      summary: 'File holding the admin bearer token (for mutating calls).',
      env: ENV['admin-token-file'],
      helpGroup: 'SCHEDULER',
    }),
    'ca-file': Flags.string({
      summary: "PEM CA certificate(s) to verify an https admin API with (the scheduler's --admin-tls-cert-file).",
      env: ENV['ca-file'],
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

  /** The admin client for the scheduler named by --admin-url, or by --cluster + --zk (target.ts). */
  protected adminClient(): Promise<AdminClient> {
    return openAdminClient(this.flags)
  }

  /** Where show.ts's commands write: this.log / this.logToStderr, both silent under --json. */
  protected io(): CommandIo {
    return {json: this.jsonEnabled(), log: (t) => this.log(t), warn: (t) => this.logToStderr(t)}
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
