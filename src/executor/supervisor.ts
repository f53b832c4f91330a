/**
 * EtcdSupervisor: owns ONE etcd child process for one member and reports what happens to it as
 * 'event' emissions (SupervisorEvent). It never restarts etcd on its own after start(): whether to
 * restart, fail the task or re-seed is the executor's decision.
 *
 * States: idle → starting → running → exited (→ starting again on a new start())
 *                 starting/running → stopping → exited
 *  - starting: spawn; when etcd exits with "bind: address already in use" and the start retry window
 *    (startRetryWindowMs, from the start() call) is still open, wait (250 ms doubling to 2 s) and spawn
 *    again — these retried attempts emit 'spawned' but no 'exited'. start() resolves once etcd has bound
 *    its listeners (log line "listening for peers on" / "now serving peer", or still alive after
 *    BIND_GRACE_MS), and rejects (after emitting 'exited') when it exits earlier for another reason
 *    or the window is over.
 *  - running: polls its own client URL through etcd's JSON gateway (lib/etcd/gateway.ts, node:http: the executor
 *    does not load etcd3/grpc-js for it): Maintenance.Status (first success → 'serving', once per child) and a
 *    linearizable read; once serving, emits 'health' when the verdict changes (the
 *    first verdict too). Healthy = status ok, a leader known, and the read ok.
 *    Polls every 200 ms until serving, then every healthIntervalMs.
 *  - stop(graceMs): SIGTERM, SIGKILL after graceMs; resolves with the exit code/signal.
 * Invariants: at most one child at a time; every child that is not a retried bind failure yields
 * exactly one 'exited' (with `requested: true` when caused by stop()); etcd output goes to
 * <sandbox>/etcd.stdout and <sandbox>/etcd.stderr (appended) and the last lines to `logTail`.
 *
 * Child lifetime: when /usr/bin/setpriv exists, etcd is spawned as `setpriv --pdeathsig SIGKILL --
 * <bin> <args>` (setpriv execs etcd, so the pid is etcd's), and the kernel SIGKILLs etcd when the
 * executor dies, even by SIGKILL. Fallback without setpriv: etcd is killed on the executor's
 * 'exit' event only; a SIGKILLed executor then leaves etcd to the agent's container cleanup.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {createWriteStream, existsSync, type WriteStream} from 'node:fs'
import {access, constants} from 'node:fs/promises'
import path from 'node:path'
import type {EtcdTlsOptions} from '../lib/etcd/admin.js'
import {EtcdGateway} from '../lib/etcd/gateway.js'

export type SupervisorEvent =
  | {type: 'spawned'; pid: number}
  | {type: 'serving'}
  | {type: 'health'; healthy: boolean; detail: string}
  | {type: 'exited'; code: number | null; signal: string | null; removed: boolean; requested: boolean; logTail: string}

export interface SupervisorOptions {
  bin: string
  args: string[]
  sandbox: string
  clientUrl: string
  healthIntervalMs?: number
  startRetryWindowMs?: number
  tls?: EtcdTlsOptions
  /** Default /usr/bin/setpriv when it exists; null disables the pdeathsig wrapper. */
  setprivPath?: string | null
}

export const SETPRIV = '/usr/bin/setpriv'
const BIND_GRACE_MS = 3000
const TAIL_LINES = 20
const BOUND_RE = /listening for peers on|now serving peer/
const BIND_IN_USE_RE = /bind: address already in use/
const REMOVED_RE = /permanently removed/

type ExitInfo = {code: number | null; signal: string | null}

export class EtcdSupervisor extends EventEmitter {
  private readonly opts: Required<Omit<SupervisorOptions, 'tls' | 'setprivPath'>> & {tls?: EtcdTlsOptions; setprivPath: string | null}
  private child: ChildProcess | undefined
  private tail: string[] = []
  private partial = {stdout: '', stderr: ''}
  private removedSeen = false
  private stopRequested = false
  private lastExit: ExitInfo | undefined
  private healthTimer: NodeJS.Timeout | undefined
  private probe: EtcdGateway | undefined
  private lastHealth: string | undefined
  private serving = false
  private outFiles: {stdout: WriteStream; stderr: WriteStream} | undefined
  private static readonly liveChildren = new Set<ChildProcess>()

  constructor(opts: SupervisorOptions) {
    super()
    this.opts = {
      bin: opts.bin,
      args: [...opts.args],
      sandbox: opts.sandbox,
      clientUrl: opts.clientUrl,
      healthIntervalMs: opts.healthIntervalMs ?? 2000,
      startRetryWindowMs: opts.startRetryWindowMs ?? 30_000,
      setprivPath: opts.setprivPath === undefined ? (existsSync(SETPRIV) ? SETPRIV : null) : opts.setprivPath,
      ...(opts.tls ? {tls: opts.tls} : {}),
    }
  }

  get pid(): number | undefined {
    return this.isRunning() ? this.child?.pid : undefined
  }

  /** The last ~20 lines etcd wrote (stdout and stderr interleaved). */
  logTail(): string {
    return this.tail.join('\n')
  }

  async start(): Promise<void> {
    if (this.isRunning()) throw new Error(`etcd is already running (pid ${this.child?.pid})`)
    if (this.opts.bin.includes('/')) {
      await access(this.opts.bin, constants.X_OK).catch(() => {
        throw new Error(`etcd binary ${this.opts.bin} does not exist or is not executable`)
      })
    }
    this.stopRequested = false
    this.openOutFiles()
    const deadline = Date.now() + this.opts.startRetryWindowMs
    let backoff = 250
    for (;;) {
      const outcome = await this.spawnOnce()
      if (outcome === 'bound') break
      const bindInUse = this.tail.some((l) => BIND_IN_USE_RE.test(l))
      if (outcome.exited && bindInUse && !this.stopRequested && Date.now() + backoff < deadline) {
        await new Promise((r) => setTimeout(r, backoff))
        backoff = Math.min(backoff * 2, 2000)
        if (this.stopRequested) throw new Error('etcd start aborted by stop()')
        continue
      }
      this.emitExited(outcome.exited)
      const why = bindInUse ? `a port is still in use after ${this.opts.startRetryWindowMs} ms` : 'it exited during start'
      throw new Error(`etcd failed to start (${why}; code ${outcome.exited.code}, signal ${outcome.exited.signal}):\n${this.logTail()}`)
    }
    const child = this.child!
    child.once('close', (code, signal) => {
      this.stopHealth()
      this.emitExited({code, signal})
    })
    this.scheduleHealth(0)
  }

  async stop(graceMs: number): Promise<ExitInfo> {
    this.stopRequested = true
    this.stopHealth()
    const child = this.child
    if (!child || !this.isRunning()) return this.lastExit ?? {code: null, signal: null}
    const closed = new Promise<ExitInfo>((resolve) => child.once('close', (code, signal) => resolve({code, signal})))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, graceMs))
    try {
      return await closed
    } finally {
      clearTimeout(timer)
    }
  }

  // ---- internals ----

  private isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  private openOutFiles(): void {
    if (this.outFiles) return
    this.outFiles = {
      stdout: createWriteStream(path.join(this.opts.sandbox, 'etcd.stdout'), {flags: 'a'}),
      stderr: createWriteStream(path.join(this.opts.sandbox, 'etcd.stderr'), {flags: 'a'}),
    }
    for (const s of Object.values(this.outFiles)) s.on('error', () => undefined) // never crash on a log write
  }

  /** One spawn; resolves 'bound' or {exited} (after the child's stdio closed, so the tail is complete). */
  private spawnOnce(): Promise<'bound' | {exited: ExitInfo}> {
    this.tail = []
    this.partial = {stdout: '', stderr: ''}
    this.removedSeen = false
    this.serving = false
    this.lastHealth = undefined
    const {setprivPath, bin, args, sandbox} = this.opts
    const [cmd, argv] = setprivPath ? [setprivPath, ['--pdeathsig', 'SIGKILL', '--', bin, ...args]] : [bin, args]
    const child = spawn(cmd, argv, {cwd: sandbox, stdio: ['ignore', 'pipe', 'pipe']})
    this.child = child
    EtcdSupervisor.liveChildren.add(child)
    child.once('exit', () => EtcdSupervisor.liveChildren.delete(child))
    return new Promise((resolve) => {
      let settled = false
      const settle = (v: 'bound' | {exited: ExitInfo}) => {
        if (settled) return
        settled = true
        clearTimeout(grace)
        resolve(v)
      }
      const grace = setTimeout(() => settle('bound'), BIND_GRACE_MS)
      const onLine = (line: string) => {
        if (BOUND_RE.test(line)) settle('bound')
      }
      child.stdout!.on('data', (b: Buffer) => this.onOutput('stdout', b, onLine))
      child.stderr!.on('data', (b: Buffer) => this.onOutput('stderr', b, onLine))
      child.once('spawn', () => this.emitEvent({type: 'spawned', pid: child.pid!}))
      child.once('error', (err) => {
        this.pushLine(`spawn error: ${err.message}`)
        settle({exited: {code: null, signal: null}})
      })
      child.once('close', (code, signal) => {
        this.flushPartial()
        this.lastExit = {code, signal}
        settle({exited: {code, signal}})
      })
    })
  }

  private onOutput(stream: 'stdout' | 'stderr', chunk: Buffer, onLine: (l: string) => void): void {
    this.outFiles?.[stream].write(chunk)
    const text = this.partial[stream] + chunk.toString('utf8')
    const lines = text.split('\n')
    this.partial[stream] = lines.pop() ?? ''
    for (const l of lines) {
      this.pushLine(l)
      onLine(l)
    }
  }

  private flushPartial(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s]) this.pushLine(this.partial[s])
      this.partial[s] = ''
    }
  }

  private pushLine(line: string): void {
    if (REMOVED_RE.test(line)) this.removedSeen = true
    this.tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line)
    if (this.tail.length > TAIL_LINES) this.tail.shift()
  }

  private emitExited(exit: ExitInfo): void {
    this.lastExit = exit
    this.emitEvent({
      type: 'exited',
      code: exit.code,
      signal: exit.signal,
      removed: this.removedSeen,
      requested: this.stopRequested,
      logTail: this.logTail(),
    })
  }

  private emitEvent(ev: SupervisorEvent): void {
    this.emit('event', ev)
  }

  private scheduleHealth(delayMs: number): void {
    this.healthTimer = setTimeout(() => {
      // checkHealth handles etcd's answers; anything else (a client that cannot be built) is an unhealthy verdict.
      this.checkHealth().catch((err: unknown) => {
        const detail = `health probe failed: ${err instanceof Error ? err.message : String(err)}`
        if (this.lastHealth !== 'false' && this.serving) this.emitEvent({type: 'health', healthy: false, detail})
        this.lastHealth = 'false'
        if (this.isRunning() && !this.stopRequested) this.scheduleHealth(this.serving ? this.opts.healthIntervalMs : 200)
      })
    }, delayMs)
  }

  private stopHealth(): void {
    if (this.healthTimer) clearTimeout(this.healthTimer)
    this.healthTimer = undefined
    const probe = this.probe
    this.probe = undefined
    probe?.close().catch(() => undefined) // closing a probe client that failed is of no consequence
  }

  private async checkHealth(): Promise<void> {
    const child = this.child
    const timeoutMs = Math.max(500, Math.min(this.opts.healthIntervalMs, 3000))
    this.probe ??= new EtcdGateway(this.opts.clientUrl, {timeoutMs, ...(this.opts.tls ? {tls: this.opts.tls} : {})})
    const probe = this.probe
    let healthy = false
    let detail: string
    try {
      const s = await probe.status()
      if (child !== this.child || !this.isRunning() || this.stopRequested) return
      if (!this.serving) {
        this.serving = true
        this.emitEvent({type: 'serving'})
      }
      if (s.leader === '0') {
        detail = `no leader (raft index ${s.raftIndex}, term ${s.raftTerm})`
      } else {
        await probe.linearizableRead()
        healthy = true
        detail = `leader ${s.leader}, raft index ${s.raftIndex}, term ${s.raftTerm}, revision ${s.revision}`
      }
    } catch (err) {
      detail = (err as Error).message
    }
    if (child !== this.child || !this.isRunning() || this.stopRequested) return
    const key = `${healthy}`
    if (this.serving && key !== this.lastHealth) {
      this.lastHealth = key
      this.emitEvent({type: 'health', healthy, detail})
    }
    this.scheduleHealth(this.serving ? this.opts.healthIntervalMs : 200)
  }

  /** Kills every etcd started by any supervisor in this process (used on executor exit). */
  static killAll(): void {
    for (const c of EtcdSupervisor.liveChildren) c.kill('SIGKILL')
  }
}

process.on('exit', () => EtcdSupervisor.killAll())
