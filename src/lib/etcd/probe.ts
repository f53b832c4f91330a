/**
 * Gathering facts about etcd members (no verdicts): for each client URL, in parallel, a
 * Maintenance.Status on that member and a linearizable read through it, each bounded by `timeoutMs`.
 * The results feed the pure `healthVerdict` / `rankReseedCandidates` (verdict.ts).
 */
import {EtcdAdmin, type EtcdTlsOptions, type MemberStatus} from './admin.js'

export interface MemberProbe {
  clientUrl: string
  /** The member answered the status call itself. */
  reachable: boolean
  status?: MemberStatus
  /** A linearizable read through this member succeeded. */
  readOk: boolean
  /** First failure (status, then read), as text. */
  error?: string
  tookMs: number
}

export async function probeMembers(clientUrls: string[], opts: {timeoutMs?: number; tls?: EtcdTlsOptions} = {}): Promise<MemberProbe[]> {
  if (clientUrls.length === 0) return []
  const adminOpts: {timeoutMs?: number; tls?: EtcdTlsOptions} = {timeoutMs: opts.timeoutMs ?? 5000}
  if (opts.tls) adminOpts.tls = opts.tls
  const admin = new EtcdAdmin(clientUrls, adminOpts)
  try {
    return await Promise.all(clientUrls.map((url) => probeOne(admin, url)))
  } finally {
    await admin.close()
  }
}

async function probeOne(admin: EtcdAdmin, clientUrl: string): Promise<MemberProbe> {
  const started = Date.now()
  const errors: string[] = []
  const [status, readOk] = await Promise.all([
    admin.status(clientUrl).catch((err: Error) => {
      errors.unshift(`status: ${err.message}`)
      return undefined
    }),
    admin.linearizableRead(clientUrl).then(
      () => true,
      (err: Error) => {
        errors.push(`read: ${err.message}`)
        return false
      },
    ),
  ])
  const probe: MemberProbe = {clientUrl, reachable: status !== undefined, readOk, tookMs: Date.now() - started}
  if (status) probe.status = status
  if (errors.length > 0) probe.error = errors[0]
  return probe
}
