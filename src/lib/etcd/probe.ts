/**
 * Gathering facts about etcd members (no verdicts), through etcd's JSON gateway over node:http (gateway.ts), so
 * that `serve` never loads etcd3/grpc-js for its health checks (~0.3–1 s of synchronous loading on a busy machine,
 * right when the first members report RUNNING); etcd3 (EtcdAdmin) is left to the membership changes.
 *
 * - `probeMembers`: for each client URL, in parallel, a Maintenance.Status on that member and a linearizable read
 *   through it, each bounded by `timeoutMs`. The results feed the pure `healthVerdict` / `rankReseedCandidates`
 *   (verdict.ts). Its connections are closed before it returns. Beside them, ONE alarm list for the whole round
 *   (the cluster's raised alarms, NOSPACE and CORRUPT, are replicated state: any member answers them all). etcd
 *   3.4 puts an alarm list through raft, so one list per member and probe wrote a raft entry per member every few
 *   seconds. It is asked of the first member beside its status; when that fails, once more of the leader (or the
 *   first reachable member). The probe that got the list carries it in `alarms`; one whose list failed carries the
 *   reason in `alarmsError`; the others neither. An alarm list that fails (no quorum, a slow leader) never changes
 *   `reachable`, `readOk` or `error`: it is a fact beside the health, not a part of it.
 * - `listMembers`: Cluster.MemberList through the first endpoint that answers (etcd 3.4 serves it without quorum),
 *   trying each in turn on any failure, as EtcdAdmin.memberList does; the same error when all fail.
 */
import type {EtcdTlsOptions, Member, MemberStatus} from './admin.js'
import {EtcdError, toEtcdError} from './errors.js'
import {type EtcdAlarm, EtcdGateway} from './gateway.js'

export interface MemberProbe {
  clientUrl: string
  /** The member answered the status call itself. */
  reachable: boolean
  status?: MemberStatus
  /** A linearizable read through this member succeeded. */
  readOk: boolean
  /** First failure (status, then read), as text. */
  error?: string
  /** The cluster's raised alarms as this member answered them ([] when none); undefined when this member was not
   *  asked (one member per round is) or its list failed (see alarmsError). */
  alarms?: EtcdAlarm[]
  /** Why the alarm list failed (then `alarms` is unknown). */
  alarmsError?: string
  tookMs: number
}

type ProbeOpts = {timeoutMs?: number; tls?: EtcdTlsOptions}

function gatewayOpts(opts: ProbeOpts): ProbeOpts {
  const o: ProbeOpts = {timeoutMs: opts.timeoutMs ?? 5000}
  if (opts.tls) o.tls = opts.tls
  return o
}

export async function probeMembers(clientUrls: string[], opts: ProbeOpts = {}): Promise<MemberProbe[]> {
  if (clientUrls.length === 0) return []
  const gateways = clientUrls.map((url) => new EtcdGateway(url, gatewayOpts(opts)))
  try {
    const [probes, first] = await Promise.all([Promise.all(gateways.map((g) => probeOne(g))), listAlarmsOn(gateways[0]!)])
    const at = (i: number, r: AlarmAnswer) => {
      if ('alarms' in r) probes[i]!.alarms = r.alarms
      else probes[i]!.alarmsError = r.error
    }
    at(0, first)
    if ('error' in first) {
      const reachable = probes.map((p, i) => ({p, i})).filter(({p, i}) => i > 0 && p.reachable)
      const next = reachable.find(({p}) => p.status !== undefined && p.status.memberId === p.status.leader) ?? reachable[0]
      if (next) at(next.i, await listAlarmsOn(gateways[next.i]!))
    }
    return probes
  } finally {
    await Promise.all(gateways.map((g) => g.close()))
  }
}

type AlarmAnswer = {alarms: EtcdAlarm[]} | {error: string}

function listAlarmsOn(gw: EtcdGateway): Promise<AlarmAnswer> {
  return gw.alarms().then(
    (alarms) => ({alarms}),
    (err: Error) => ({error: err.message}),
  )
}

async function probeOne(gw: EtcdGateway): Promise<MemberProbe> {
  const started = Date.now()
  const errors: string[] = []
  const [status, readOk] = await Promise.all([
    gw.status().catch((err: Error) => {
      errors.unshift(`status: ${err.message}`)
      return undefined
    }),
    gw.linearizableRead().then(
      () => true,
      (err: Error) => {
        errors.push(`read: ${err.message}`)
        return false
      },
    ),
  ])
  const probe: MemberProbe = {clientUrl: gw.endpoint, reachable: status !== undefined, readOk, tookMs: Date.now() - started}
  if (status) probe.status = status
  if (errors.length > 0) probe.error = errors[0]
  return probe
}

export async function listMembers(endpoints: string[], opts: ProbeOpts = {}): Promise<Member[]> {
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new Error('member list needs at least one endpoint')
  const gateways = endpoints.map((e) => new EtcdGateway(e, gatewayOpts(opts))) // throws on a malformed endpoint
  const errors: EtcdError[] = []
  try {
    for (const g of gateways) {
      try {
        return await g.memberList()
      } catch (err) {
        errors.push(toEtcdError(err, g.endpoint, 'member list'))
      }
    }
  } finally {
    await Promise.all(gateways.map((g) => g.close()))
  }
  if (errors.length === 1) throw errors[0]!
  const first = errors[0]!.code
  const code = errors.every((e) => e.code === first) ? first : errors.some((e) => e.code === 'TIMEOUT') ? 'TIMEOUT' : 'UNREACHABLE'
  throw new EtcdError(code, `member list failed on every endpoint: ${errors.map((e) => e.message).join('; ')}`)
}
