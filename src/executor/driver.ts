/**
 * The executor driver: connects the Mesos executor API (ExecutorClient), the etcd process (EtcdSupervisor)
 * and the re-seed procedure (reseedMember) to the pure decisions in core.ts.
 *
 * It turns I/O into CoreEvents, feeds them to `step()` one at a time, and performs the returned actions:
 *   update       → client.update() (sent in order through one promise chain)
 *   send         → client.message() of a framework message (same chain; best effort)
 *   start-etcd   → buildEtcdArgs + new EtcdSupervisor + start() (with `requireData`, a data dir without
 *                  `member/` fails the task instead: a restart in place must never start an empty member)
 *   restore      → restoreMember() (restore.ts, imported only then) → 'restore-step's, 'restore-finished';
 *                  stop-etcd during it aborts it first (its private etcd killed, temp dirs removed)
 *   stop-etcd    → supervisor.stop(grace) (during a re-seed: every etcd it started) → 'stopped'
 *   check-quorum → checkMemberQuorum() (one linearizable read through the member, ≤ ~2 s) → 'quorum-checked'
 *   start-reseed → reseedMember(); steps → 'reseed-step', result → 'reseed-finished' (+ supervisor swap)
 *   exit         → wait (≤ ackTimeoutMs) until the agent ACKNOWLEDGED our last update, stop the client,
 *                  resolve run() with the exit code
 * States, transitions and invariants: see core.ts. The driver adds:
 *   - at most one etcd process: only the current supervisor's events are acted on; a supervisor is created
 *     only for start-etcd (once) or handed over by reseedMember (which stopped the previous one);
 *   - no etcd outlives the executor: etcd runs under `setpriv --pdeathsig SIGKILL` (and the supervisor
 *     SIGKILLs its children on process 'exit'), every exit path stops etcd first, SIGTERM/SIGINT of the
 *     executor go through SHUTDOWN;
 *   - TASK_RUNNING only after etcd serves: 'serving' comes from the supervisor's probe of the client URL.
 * Logging: one line per event to stderr (the sandbox's stderr file); never TaskInfo data or tokens.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {errText} from '../lib/mesos/client-core.js'
import {ExecutorClient, type ExecutorEnv} from '../lib/mesos/executor-client.js'
import {stderrLog, type DriverOptions, type ExecutorPort} from './driver-options.js'
import type {ExecutorEvent} from '../lib/mesos/types.js'
import {clientUrlOf, encodeFrameworkMessage, type MemberConfig} from '../lib/member-config.js'
import {adminTlsOf, buildEtcdArgs} from './etcd-args.js'
import {writeShippedTls} from './tls-files.js'
import {EtcdSupervisor, type SupervisorEvent, type SupervisorOptions} from './supervisor.js'
import {checkMemberQuorum, reseedMember} from './reseed.js'
import {initialState, shutdownGrace, step, type CoreAction, type CoreEvent, type CoreState} from './core.js'

export {stderrLog, type DriverOptions, type ExecutorPort} from './driver-options.js'

export class ExecutorDriver {
  private state: CoreState
  private readonly env: ExecutorEnv
  private readonly client: ExecutorPort
  private readonly log: (line: string) => void
  private readonly ackTimeoutMs: number
  private readonly healthIntervalMs: number | undefined
  private readonly quorumCheckMs: number
  private readonly reseedBackupsKeep: number | undefined
  private supervisor: EtcdSupervisor | undefined
  private reseed: {op: string; sups: EtcdSupervisor[]; closed: boolean; done: Promise<void>} | undefined
  /** The restore before etcd starts (restore.ts), while it runs. */
  private restoring: {abort: AbortController; done: Promise<void>} | undefined
  private outbound: Promise<unknown> = Promise.resolve()
  private lastUuid: Promise<string | undefined> = Promise.resolve(undefined)
  private readonly acked = new Set<string>()
  private ackWaiter: (() => void) | undefined
  private finish!: (code: number) => void
  private readonly finished: Promise<number>
  private exiting = false

  constructor(opts: DriverOptions) {
    this.env = opts.env
    this.log = opts.log ?? stderrLog
    this.client = opts.client ?? new ExecutorClient(opts.env, {log: (level, msg) => this.log(`mesos ${level}: ${msg}`)})
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 2000
    this.healthIntervalMs = opts.healthIntervalMs
    this.quorumCheckMs = opts.quorumCheckMs ?? 2000
    this.reseedBackupsKeep = opts.reseedBackupsKeep
    this.state = initialState(opts.env.shutdownGracePeriodMs)
    this.finished = new Promise((resolve) => (this.finish = resolve))
  }

  /** Subscribes to the agent and runs until the executor is done; resolves with the process exit code. */
  async run(): Promise<number> {
    this.client.on('event', (ev: ExecutorEvent) => this.onMesos(ev))
    this.client.on('disconnected', (d: {reason?: string} | undefined) =>
      this.log(`disconnected from the agent: ${d?.reason ?? '?'} (etcd keeps running)`),
    )
    this.client.on('reconnected', () => this.log('subscribed to the agent again'))
    this.client.on('recovery-timeout', (d: {reason?: string} | undefined) => {
      this.log(`agent lost for good: ${d?.reason ?? 'recovery timeout'}`)
      this.dispatch({type: 'recovery-timeout'})
    })
    this.log(`starting: executor ${this.env.executorId}, framework ${this.env.frameworkId}, agent ${this.env.agentEndpoint}`)
    this.client.start()
    return this.finished
  }

  /** A signal to the executor process (SIGTERM/SIGINT): behave like SHUTDOWN. */
  shutdown(why: string): void {
    this.log(`${why}: shutting down`)
    this.dispatch({type: 'shutdown'})
  }

  get phase(): CoreState['phase'] {
    return this.state.phase
  }

  private onMesos(ev: ExecutorEvent): void {
    switch (ev.type) {
      case 'SUBSCRIBED':
        return this.log(`subscribed (agent ${ev.subscribed?.agent_info.hostname ?? '?'})`)
      case 'LAUNCH':
        if (ev.launch) this.log(`LAUNCH ${ev.launch.task.task_id.value}`)
        return ev.launch && this.dispatch({type: 'launch', task: ev.launch.task, sandbox: this.env.sandbox})
      case 'LAUNCH_GROUP':
        return this.log('ignoring LAUNCH_GROUP: this executor runs single tasks')
      case 'KILL':
        if (!ev.kill) return
        this.log(`KILL ${ev.kill.task_id.value}`)
        return this.dispatch({
          type: 'kill',
          taskId: ev.kill.task_id.value,
          ...(ev.kill.kill_policy ? {killPolicy: ev.kill.kill_policy} : {}),
        })
      case 'SHUTDOWN':
        this.log('SHUTDOWN')
        return this.dispatch({type: 'shutdown'})
      case 'MESSAGE':
        return ev.message && this.dispatch({type: 'message', data: ev.message.data})
      case 'ACKNOWLEDGED':
        if (ev.acknowledged) this.acked.add(ev.acknowledged.uuid)
        return this.ackWaiter?.()
      case 'ERROR':
        return this.log(`ERROR from the agent: ${ev.error?.message ?? '?'} (re-subscribing)`)
      default:
        return undefined
    }
  }

  /** Never throws (it runs from timers, listeners and promise callbacks): a failure is logged and the executor goes on. */
  private dispatch(e: CoreEvent): void {
    let r: ReturnType<typeof step>
    try {
      r = step(this.state, e)
    } catch (err) {
      return this.log(`internal error handling ${e.type}: ${errText(err)}; event ignored, the executor keeps running`)
    }
    this.state = r.state
    for (const a of r.actions) {
      try {
        this.perform(a)
      } catch (err) {
        this.log(`internal error performing ${a.type}: ${errText(err)}; action skipped, the executor keeps running`)
      }
    }
  }

  private perform(a: CoreAction): void {
    switch (a.type) {
      case 'log':
        return this.log(a.line)
      case 'update': {
        const p = this.outbound.then(() => this.client.update(a.status))
        this.lastUuid = p.then(
          (u) => u,
          () => undefined,
        )
        this.outbound = p.catch((err: unknown) =>
          this.log(`UPDATE ${a.status.state} refused by the agent: ${errText(err)}; dropped, the executor goes on`),
        )
        return
      }
      case 'send': {
        const data = encodeFrameworkMessage(a.message)
        this.outbound = this.outbound
          .then(() => this.client.message(data))
          .catch((err: unknown) =>
            this.log(
              `MESSAGE ${a.message.step} for ${a.message.op} not sent: ${errText(err)}; dropped (the scheduler asks again, or moves on after its timeout)`,
            ),
          )
        return
      }
      case 'start-etcd':
        return this.startEtcd(a.config)
      case 'stop-etcd':
        this.stopEtcd(a.graceMs).catch((err: unknown) => {
          this.log(`stopping etcd failed: ${errText(err)}; reporting it stopped`)
          this.dispatch({type: 'stopped'})
        })
        return
      case 'restore':
        return this.startRestore(a.config)
      case 'start-reseed':
        return this.startReseed(a.op)
      case 'check-quorum':
        return this.checkQuorum(a.op)
      case 'exit':
        this.exit(a.code).catch((err: unknown) => {
          this.log(`exiting: ${errText(err)}; exiting with code ${a.code} anyway`)
          this.finish(a.code)
        })
        return
    }
  }

  private attach(sup: EtcdSupervisor): void {
    this.supervisor = sup
    sup.on('event', (ev: SupervisorEvent) => {
      if (this.supervisor !== sup) return // an old process (replaced by a re-seed)
      this.dispatch(ev)
    })
  }

  private startEtcd(cfg: MemberConfig): void {
    let sup: EtcdSupervisor
    try {
      writeShippedTls(cfg)
      const {bin, args, dataDir} = buildEtcdArgs(cfg, this.env.sandbox)
      if (cfg.requireData && !existsSync(path.join(dataDir, 'member'))) {
        throw new Error(
          `restart in place refused: data dir ${dataDir} holds no etcd data (no member/ directory); starting an empty member could lose committed data`,
        )
      }
      this.log(`etcd: ${bin}, data dir ${dataDir}, output in ${this.env.sandbox}/etcd.stdout|stderr`)
      const tls = adminTlsOf(cfg)
      sup = new EtcdSupervisor({
        bin,
        args,
        sandbox: this.env.sandbox,
        clientUrl: clientUrlOf(cfg),
        ...(this.healthIntervalMs !== undefined ? {healthIntervalMs: this.healthIntervalMs} : {}),
        ...(tls ? {tls} : {}),
      })
    } catch (err) {
      return this.dispatch({type: 'exited', code: null, signal: null, removed: false, logTail: `could not start etcd: ${errText(err)}`})
    }
    this.attach(sup)
    // start() rejects after emitting 'exited' for a failed spawn; a missing binary only rejects.
    sup.start().catch((err: unknown) => {
      if (this.supervisor === sup) this.dispatch({type: 'exited', code: null, signal: null, removed: false, logTail: errText(err)})
    })
  }

  private async stopEtcd(graceMs: number): Promise<void> {
    const stopOne = async (sup: EtcdSupervisor): Promise<void> => {
      try {
        const r = await sup.stop(graceMs)
        this.log(`etcd stopped (code ${String(r.code)}, signal ${String(r.signal)})`)
      } catch (err) {
        this.log(`stopping etcd failed: ${errText(err)}`)
      }
    }
    const rst = this.restoring
    if (rst) {
      // KILL/SHUTDOWN during a restore: abort it (its temp etcd and etcdctl are killed, its temp dirs removed).
      rst.abort.abort()
      await Promise.race([rst.done, new Promise((r) => setTimeout(r, graceMs + 5000))])
    }
    const rs = this.reseed
    if (rs) {
      // reseedMember cannot be aborted: refuse it new processes, stop the ones it has, let it fail, sweep again.
      rs.closed = true
      await Promise.all(rs.sups.map(stopOne))
      await Promise.race([rs.done, new Promise((r) => setTimeout(r, graceMs + 5000))])
      await Promise.all(rs.sups.filter((x) => x.pid !== undefined).map(stopOne))
    }
    const sup = this.supervisor
    if (sup) {
      await stopOne(sup)
      if (sup.pid !== undefined) await stopOne(sup) // a KILL that raced the spawn
    }
    this.dispatch({type: 'stopped'})
  }

  /** Restores MemberConfig.restore into the data dir (restore.ts, loaded only now) → 'restore-step's, 'restore-finished'. */
  private startRestore(cfg: MemberConfig): void {
    const abort = new AbortController()
    const done = import('./restore.js')
      .then(({restoreMember}) =>
        restoreMember({
          cfg,
          sandbox: this.env.sandbox,
          signal: abort.signal,
          report: (_step, message) => this.dispatch({type: 'restore-step', message}),
        }),
      )
      .then(
        (r) => {
          this.restoring = undefined
          this.dispatch({type: 'restore-finished', ok: true, restored: r.restored, message: r.message})
        },
        (err: unknown) => {
          this.restoring = undefined
          this.dispatch({type: 'restore-finished', ok: false, error: errText(err)})
        },
      )
    this.restoring = {abort, done}
  }

  private checkQuorum(op: string): void {
    const cfg = this.state.config
    if (!cfg) return this.dispatch({type: 'quorum-checked', op, ok: false, detail: 'no member config'})
    checkMemberQuorum(cfg, this.quorumCheckMs)
      .catch((err: unknown) => ({ok: false, detail: `the quorum check failed: ${errText(err)}`}))
      .then((r) => {
        this.log(`reseed ${op}: quorum check: ${r.detail}`)
        this.dispatch({type: 'quorum-checked', op, ...r})
      })
  }

  private startReseed(op: string): void {
    const cfg = this.state.config
    const old = this.supervisor
    if (!cfg || !old) return this.dispatch({type: 'reseed-finished', op, ok: false, error: 'no etcd process', etcdRunning: false})
    this.supervisor = undefined // the re-seed owns the processes now; their events are not the task's
    const rs: {op: string; sups: EtcdSupervisor[]; closed: boolean; done: Promise<void>} = {
      op,
      sups: [old],
      closed: false,
      done: Promise.resolve(),
    }
    const create = (spec: SupervisorOptions): EtcdSupervisor => {
      if (rs.closed) throw new Error('the task is being killed')
      const sup = new EtcdSupervisor({...spec, ...(this.healthIntervalMs !== undefined ? {healthIntervalMs: this.healthIntervalMs} : {})})
      rs.sups.push(sup)
      return sup
    }
    rs.done = reseedMember({
      cfg,
      sandbox: this.env.sandbox,
      graceMs: shutdownGrace(this.env.shutdownGracePeriodMs),
      current: old,
      createSupervisor: create,
      ...(this.reseedBackupsKeep !== undefined ? {backupsKeep: this.reseedBackupsKeep} : {}),
      report: (step, message, extra) =>
        this.dispatch({
          type: 'reseed-step',
          op,
          step,
          ...(message !== undefined ? {message} : {}),
          ...(extra?.revision !== undefined ? {revision: extra.revision} : {}),
        }),
    }).then(
      (next) => {
        this.reseed = undefined
        if (rs.closed) return // killed meanwhile; stopEtcd sweeps rs.sups
        this.attach(next)
        this.dispatch({type: 'reseed-finished', op, ok: true, etcdRunning: true})
      },
      (err: unknown) => {
        this.reseed = undefined
        const alive = rs.sups.find((x) => x.pid !== undefined)
        if (alive && !rs.closed) this.attach(alive)
        this.dispatch({type: 'reseed-finished', op, ok: false, error: errText(err), etcdRunning: alive !== undefined})
      },
    )
    this.reseed = rs
  }

  private async exit(code: number): Promise<void> {
    if (this.exiting) return
    this.exiting = true
    await this.waitForAck()
    await this.client.stop().catch(() => {})
    this.log(`exiting with code ${code}`)
    this.finish(code)
  }

  /** Waits until the last update was ACKNOWLEDGED by the agent, at most ackTimeoutMs. */
  private async waitForAck(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.ackTimeoutMs)))
    const acked = (async () => {
      const uuid = await this.lastUuid
      if (uuid === undefined) return
      while (!this.acked.has(uuid)) await new Promise<void>((resolve) => (this.ackWaiter = resolve))
    })()
    await Promise.race([acked, deadline])
    clearTimeout(timer)
    this.ackWaiter = undefined
  }
}
