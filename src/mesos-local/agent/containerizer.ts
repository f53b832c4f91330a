/**
 * Process "containers" of the local agent (like Mesos' posix launcher): every executor or command runs
 * in its own process group (`detached: true`) with cwd = sandbox, stdout/stderr appended to the sandbox
 * files `stdout`/`stderr`, and an environment built from scratch (the executor never inherits the
 * agent's environment, Surprise 28). Destroying a container SIGKILLs its whole process group.
 *
 * Exit watching: children of this Node process report their real wait status; processes this process
 * did not start (adopted after an agent restart in a new process) are polled with `kill(pid, 0)` and
 * report an unknown status (null). A module-level registry keeps the ChildProcess of every container
 * started by this process, so an agent restarted within the same process still gets real statuses.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {CommandInfo} from '../../lib/mesos/types.js'

export const EXECUTOR_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export class ContainerLaunchError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ContainerLaunchError'
  }
}

/** Exit of a container's main process: raw wait(2) status (exit code c → c<<8, signal s → s), null if unknown. */
export interface ContainerExit {
  waitStatus: number | null
  code: number | null
  signal: NodeJS.Signals | null
}

interface Tracked {
  child: ChildProcess
  exit?: ContainerExit
  exited: Promise<ContainerExit>
}

const registry = new Map<number, Tracked>()
const HAS_PROC = fs.existsSync('/proc/self/stat')

export function waitStatusOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (signal) return os.constants.signals[signal] ?? null
  if (code !== null) return (code & 0xff) << 8
  return null
}

export interface LaunchSpec {
  command: CommandInfo
  sandbox: string
  env: Record<string, string>
}

/** Start a command in its own process group. Throws ContainerLaunchError when it cannot be started. */
export async function launchProcess(spec: LaunchSpec): Promise<{pid: number}> {
  const {command, sandbox, env} = spec
  const value = command.value ?? ''
  if (value === '') throw new ContainerLaunchError('CommandInfo.value is empty: nothing to run')
  const shell = command.shell ?? true
  const out = fs.openSync(path.join(sandbox, 'stdout'), 'a')
  const err = fs.openSync(path.join(sandbox, 'stderr'), 'a')
  let child: ChildProcess
  try {
    const args = shell ? ['-c', value] : (command.arguments ?? []).slice(1)
    const file = shell ? '/bin/sh' : value
    child = spawn(file, args, {
      cwd: sandbox,
      env,
      detached: true,
      stdio: ['ignore', out, err],
      ...(shell ? {} : {argv0: command.arguments?.[0] ?? value}),
    })
  } finally {
    fs.closeSync(out)
    fs.closeSync(err)
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', (e) => reject(new ContainerLaunchError(`Failed to launch '${value}': ${e.message}`)))
    child.once('spawn', () => resolve(child.pid!))
  })
  let resolveExit!: (e: ContainerExit) => void
  const tracked: Tracked = {child, exited: new Promise((r) => (resolveExit = r))}
  child.once('exit', (code, signal) => {
    tracked.exit = {code, signal, waitStatus: waitStatusOf(code, signal)}
    resolveExit(tracked.exit)
  })
  registry.set(pid, tracked)
  child.unref() // the agent's process may exit while executors keep running (they are detached)
  return {pid}
}

/** True while `pid` runs (a zombie counts as gone: it only waits to be reaped by its parent). */
export function isAlive(pid: number): boolean {
  const t = registry.get(pid)
  if (t) return t.exit === undefined
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (!HAS_PROC) return true
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

/**
 * Resolves when `pid` has exited. Children of this process give their real status; others are polled
 * every `pollMs` and give waitStatus null. `signal` aborts the wait (the promise then never resolves).
 */
export function watchExit(pid: number, opts: {pollMs?: number; signal?: AbortSignal} = {}): Promise<ContainerExit> {
  const t = registry.get(pid)
  if (t) {
    return new Promise((resolve) => {
      void t.exited.then((e) => {
        if (!opts.signal?.aborted) resolve(e)
      })
    })
  }
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (opts.signal?.aborted) return clearInterval(timer)
      if (!isAlive(pid)) {
        clearInterval(timer)
        resolve({waitStatus: null, code: null, signal: null})
      }
    }, opts.pollMs ?? 200)
    timer.unref?.()
  })
}

/** Send a signal to the process group of `pid` (falls back to the process). False if nothing was there. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    try {
      process.kill(pid, signal)
      return true
    } catch {
      return false
    }
  }
}

/** Destroy a container: SIGKILL its whole process group. */
export function destroyContainer(pid: number): void {
  signalGroup(pid, 'SIGKILL')
}

/** The exit of a process this Node process started and saw exit, if any. */
export function knownExit(pid: number): ContainerExit | undefined {
  return registry.get(pid)?.exit
}

/** Forget registry entries of exited processes (keeps memory bounded for long-lived agents). */
export function forgetExited(pid: number): void {
  const t = registry.get(pid)
  if (t?.exit) registry.delete(pid)
}

/** strsignal(3) texts Mesos prints in "Command terminated with signal X". */
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
}

/** Mesos' WSTRINGIFY: "exited with status N" / "terminated with signal Terminated". */
export function describeExit(exit: ContainerExit): string {
  if (exit.signal) return `terminated with signal ${SIGNAL_TEXT[exit.signal] ?? exit.signal}`
  if (exit.code !== null) return `exited with status ${exit.code}`
  return 'exited with unknown status'
}

export interface ExecutorEnvParams {
  agentIp: string
  agentPort: number
  agentId: string
  frameworkId: string
  executorId: string
  directory: string
  checkpoint: boolean
  shutdownGracePeriod: string
  recoveryTimeout: string
  subscriptionBackoffMax: string
  command?: CommandInfo
}

/**
 * The executor's whole environment, built from scratch as a real agent does (Surprise 28): no HOME, USER,
 * SHELL and nothing from the agent's own environment; CommandInfo.environment (VALUE variables) last.
 */
export function executorEnvironment(p: ExecutorEnvParams): Record<string, string> {
  const env: Record<string, string> = {
    LIBPROCESS_IP: p.agentIp,
    LIBPROCESS_PORT: '0',
    MESOS_AGENT_ENDPOINT: `${p.agentIp}:${p.agentPort}`,
    MESOS_CHECKPOINT: p.checkpoint ? '1' : '0',
    MESOS_DIRECTORY: p.directory,
    MESOS_EXECUTOR_ID: p.executorId,
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: p.shutdownGracePeriod,
    MESOS_FRAMEWORK_ID: p.frameworkId,
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
    ...(p.checkpoint ? {MESOS_RECOVERY_TIMEOUT: p.recoveryTimeout} : {}),
    MESOS_SANDBOX: p.directory,
    MESOS_SLAVE_ID: p.agentId,
    MESOS_SLAVE_PID: `slave(1)@${p.agentIp}:${p.agentPort}`,
    ...(p.checkpoint ? {MESOS_SUBSCRIPTION_BACKOFF_MAX: p.subscriptionBackoffMax} : {}),
    PATH: EXECUTOR_PATH,
  }
  for (const v of p.command?.environment?.variables ?? []) {
    if (v.type === 'SECRET' || typeof v.name !== 'string' || v.name === '') continue
    env[v.name] = v.value ?? ''
  }
  return env
}
