/**
 * One `etcd gateway` child process. States: stopped → (start) starting → listening → (stop | exit) stopped.
 * start() spawns the gateway (its stdout and stderr go to our stderr, keeping stdout clean) and resolves
 * once its --listen-addr accepts connections; it rejects when the binary cannot be run or the gateway
 * exits first (e.g. the address is in use). stop() sends SIGTERM, then SIGKILL after `graceMs`, and
 * resolves when the process has exited. Invariant: at most one child per Gateway.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {access, constants} from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import {CliError, ExitCode} from '../lib/cli/exit-codes.js'
import {dialHost, gatewayCommand, parseListenAddr} from './endpoints.js'

/** The first executable `setpriv` on PATH, or null. */
export async function findSetpriv(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    if (!dir) continue
    const file = path.join(dir, 'setpriv')
    try {
      await access(file, constants.X_OK)
      return file
    } catch {
      /* next */
    }
  }
  return null
}

export async function checkExecutable(file: string, flag: string): Promise<void> {
  try {
    await access(file, constants.X_OK)
  } catch {
    throw new CliError(`${flag} ${file}: not found or not executable`, ExitCode.USAGE, 'BAD_ETCD_BIN')
  }
}

function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({host, port})
    const done = (ok: boolean): void => {
      sock.destroy()
      resolve(ok)
    }
    sock.setTimeout(timeoutMs, () => done(false))
    sock.once('connect', () => done(true))
    sock.once('error', () => done(false))
  })
}

export interface GatewayOptions {
  etcdBin: string
  listenAddr: string
  setpriv: string | null
  /** Called when the child exits without stop() having been called. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void
}

export class Gateway {
  private child: ChildProcess | null = null
  private stopping = false

  constructor(private readonly opts: GatewayOptions) {}

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== null
  }

  async start(endpoints: readonly string[], readyTimeoutMs = 10_000): Promise<void> {
    if (this.child) throw new Error('gateway already running')
    const {file, args} = gatewayCommand({
      etcdBin: this.opts.etcdBin,
      listenAddr: this.opts.listenAddr,
      endpoints,
      setpriv: this.opts.setpriv,
    })
    const child = spawn(file, args, {stdio: ['ignore', 2, 2]})
    this.child = child
    this.stopping = false
    const status: {exited: string | null} = {exited: null}
    child.once('exit', (code, signal) => {
      status.exited = signal ? `killed by ${signal}` : `exit code ${code}`
      if (this.child === child) this.child = null
      if (!this.stopping) this.opts.onUnexpectedExit?.(code, signal)
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (err) => {
        if (this.child === child) this.child = null
        reject(new CliError(`cannot run ${file}: ${err.message}`, ExitCode.USAGE, 'BAD_ETCD_BIN'))
      })
    })
    const l = parseListenAddr(this.opts.listenAddr)
    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      if (status.exited !== null) {
        throw new CliError(
          `etcd gateway exited at start (${status.exited}); is ${this.opts.listenAddr} already in use? Its log is above.`,
          ExitCode.FAILED,
          'GATEWAY_FAILED',
        )
      }
      if (await canConnect(dialHost(l), l.port, 500)) return
      if (Date.now() > deadline) {
        await this.stop()
        throw new CliError(
          `etcd gateway did not listen on ${this.opts.listenAddr} within ${readyTimeoutMs / 1000} s`,
          ExitCode.FAILED,
          'GATEWAY_FAILED',
        )
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    const child = this.child
    if (!child) return
    this.stopping = true
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await gone
    clearTimeout(timer)
    this.child = null
  }
}
