/**
 * The proxy's lifecycle owner (replaces the original etcd-mesos-proxy): runs a local `etcd gateway`
 * forwarding to the running members' client URLs and follows membership changes.
 *
 * Loop: every `refreshMs`, read the members (GET /members through `members()`); when the endpoint set
 * differs from the gateway's, stop the gateway gracefully and start it with the new set. The first read
 * and the first gateway start must succeed (a wrong URL or a busy port fails fast); afterwards an
 * unreachable scheduler, an empty member list or a failed restart is logged to stderr and the current
 * gateway is kept. A gateway that dies on its own is restarted at once. SIGINT/SIGTERM (or `signal`)
 * stop the gateway and end the run. Invariant: at most one gateway runs, and none outlives runProxy.
 */
import {gatewayEndpoints, describeChange, parseListenAddr, sameEndpoints} from './endpoints.js'
import {checkExecutable, findSetpriv, Gateway} from './gateway.js'
import {CliError, ExitCode} from '../lib/cli/exit-codes.js'
import type {Member, ProxySummary} from '../lib/cli/types.js'

/** The part of AdminClient the proxy needs. */
export interface MembersClient {
  get<T>(path: string): Promise<{body: T}>
}

/**
 * GET /members through a client made by `makeClient()`; after a failure the client is dropped, so the
 * next call locates the scheduler again (with --cluster: the new leader after a scheduler fail-over).
 */
export function membersVia(makeClient: () => Promise<MembersClient>): () => Promise<Member[]> {
  let client: MembersClient | null = null
  return async () => {
    try {
      client ??= await makeClient()
      const {body} = await client.get<Member[]>('/members')
      if (!Array.isArray(body))
        throw new CliError('GET /members did not return a list; is this an etcd-mesos scheduler?', ExitCode.UNREACHABLE, 'BAD_RESPONSE')
      return body
    } catch (err) {
      client = null
      throw err
    }
  }
}

export interface ProxyOptions {
  listenAddr: string
  etcdBin: string
  refreshMs: number
  /** Reads the current members (GET /members); throws on failure. */
  members: () => Promise<Member[]>
  log: (line: string) => void
  /** Extra stop signal (tests); SIGINT and SIGTERM always stop the proxy. */
  signal?: AbortSignal
}

export async function runProxy(opts: ProxyOptions): Promise<ProxySummary> {
  parseListenAddr(opts.listenAddr)
  await checkExecutable(opts.etcdBin, '--etcd-bin')
  const setpriv = await findSetpriv()
  if (!setpriv) opts.log('proxy: setpriv not found; the gateway could outlive this proxy if it is SIGKILLed')
  const ac = new AbortController()
  const stop = (): void => ac.abort()
  opts.signal?.addEventListener('abort', stop, {once: true})
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let wake: () => void = () => undefined
  const gateway = new Gateway({
    etcdBin: opts.etcdBin,
    listenAddr: opts.listenAddr,
    setpriv,
    onUnexpectedExit: (code, sig) => {
      opts.log(`proxy: etcd gateway exited unexpectedly (${sig ?? `exit code ${code}`}); restarting it`)
      wake()
    },
  })
  let current: string[] = []
  let desired = gatewayEndpoints(await opts.members())
  let restarts = 0
  let started = false
  let reportedEmpty = desired.length === 0
  if (reportedEmpty) opts.log('proxy: the scheduler reports no running members yet; waiting')
  try {
    while (!ac.signal.aborted) {
      if (desired.length > 0 && (!gateway.running || !sameEndpoints(current, desired))) {
        if (gateway.running) {
          opts.log(`proxy: membership changed (${describeChange(current, desired)}); restarting the gateway`)
          await gateway.stop()
          restarts++
        }
        try {
          await gateway.start(desired)
          current = desired
          started = true
          opts.log(`proxy: etcd gateway (pid ${gateway.pid}) on ${opts.listenAddr} → ${current.join(',')}`)
        } catch (err) {
          if (!started) throw err
          opts.log(`proxy: ${(err as Error).message}; retrying in ${opts.refreshMs / 1000} s`)
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, opts.refreshMs)
        function done(): void {
          clearTimeout(timer)
          ac.signal.removeEventListener('abort', done)
          resolve()
        }
        wake = done
        ac.signal.addEventListener('abort', done, {once: true})
      })
      wake = () => undefined
      if (ac.signal.aborted) break
      try {
        const next = gatewayEndpoints(await opts.members())
        if (next.length === 0 && !reportedEmpty)
          opts.log(`proxy: the scheduler reports no running members; ${started ? 'keeping the gateway as it is' : 'waiting'}`)
        reportedEmpty = next.length === 0
        desired = next.length > 0 ? next : current
      } catch (err) {
        opts.log(`proxy: cannot refresh the membership: ${(err as Error).message}; keeping the gateway as it is`)
      }
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    opts.signal?.removeEventListener('abort', stop)
    await gateway.stop()
  }
  opts.log('proxy: stopped')
  return {listen_addr: opts.listenAddr, endpoints: current, restarts}
}
