/**
 * Typed errors for the etcd admin layer, and the mapping from etcd / gRPC error texts to stable codes.
 * Pure (no I/O): `classifyEtcdError` only reads the message of whatever the etcd3 client threw.
 *
 * Codes:
 *   UNREACHABLE        connection refused / no connection established (the request was never delivered)
 *   TIMEOUT            deadline exceeded or "etcdserver: request timed out" (it may or may not have applied)
 *   NO_LEADER          "etcdserver: no leader" / leader changed while proposing
 *   UNHEALTHY_CLUSTER  "etcdserver: unhealthy cluster" (reconfig refused: e.g. peers connected < 5 s, or a peer down)
 *   MEMBER_NOT_FOUND   "etcdserver: member not found"
 *   LEARNER_NOT_READY  "can only promote a learner member which is in sync with leader"
 *   TOO_MANY_LEARNERS  "too many learner members in cluster" (etcd 3.4 allows one)
 *   PEER_URL_EXISTS    "Peer URLs already exists" / "member ID already exist" (an add of known peer URLs)
 *   REMOVED            "the member has been permanently removed from the cluster"
 *   LEARNER_REFUSED    "rpc not supported for learner" (the endpoint is a learner: the request was refused
 *                      unapplied, so it may be sent to another member)
 *   NOSPACE            "etcdserver: mvcc: database space exceeded" (the NOSPACE alarm is raised: writes refused)
 *   COMPACTED          "mvcc: required revision has been compacted" (a compaction or read at/below the compacted revision)
 *   FUTURE_REVISION    "mvcc: required revision is a future revision" (a compaction or read above the current revision)
 *   TLS                the TLS handshake failed: a certificate refused by either side (no or wrong client certificate,
 *                      an untrusted server certificate) — a configuration problem, not worth retrying
 *   UNKNOWN            anything else (the original text is kept in `message`)
 */
export type EtcdErrorCode =
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'NO_LEADER'
  | 'UNHEALTHY_CLUSTER'
  | 'MEMBER_NOT_FOUND'
  | 'LEARNER_NOT_READY'
  | 'TOO_MANY_LEARNERS'
  | 'PEER_URL_EXISTS'
  | 'REMOVED'
  | 'LEARNER_REFUSED'
  | 'NOSPACE'
  | 'COMPACTED'
  | 'FUTURE_REVISION'
  | 'TLS'
  | 'UNKNOWN'

export class EtcdError extends Error {
  readonly code: EtcdErrorCode
  readonly endpoint?: string
  constructor(code: EtcdErrorCode, message: string, endpoint?: string) {
    super(message)
    this.name = 'EtcdError'
    this.code = code
    if (endpoint !== undefined) this.endpoint = endpoint
  }
}

const RULES: Array<[RegExp, EtcdErrorCode]> = [
  [/permanently removed/i, 'REMOVED'],
  [/rpc not supported for learner/i, 'LEARNER_REFUSED'],
  [/member not found/i, 'MEMBER_NOT_FOUND'],
  [/database space exceeded/i, 'NOSPACE'],
  [/required revision has been compacted/i, 'COMPACTED'],
  [/required revision is a future revision/i, 'FUTURE_REVISION'],
  [/can only promote a learner member which is in sync/i, 'LEARNER_NOT_READY'],
  [/too many learner members/i, 'TOO_MANY_LEARNERS'],
  [/peer ?urls already exists|member id already exist/i, 'PEER_URL_EXISTS'],
  [/unhealthy cluster/i, 'UNHEALTHY_CLUSTER'],
  [/etcdserver: no leader|leader changed/i, 'NO_LEADER'],
  [/deadline exceeded|request timed out|timed out|DEADLINE_EXCEEDED/i, 'TIMEOUT'],
  [
    /SSL routines|bad certificate|certificate required|unknown ca|self[- ]signed certificate|unable to verify the first certificate|unable to get local issuer certificate|certificate has expired|ERR_TLS_CERT|Hostname\/IP does not match certificate/i,
    'TLS',
  ],
  [
    /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|No connection established|failed to connect|connection refused|UNAVAILABLE: (?!etcdserver)|Client is closed/i,
    'UNREACHABLE',
  ],
]

/** The code for an error text (first matching rule wins; see the module header). */
export function classifyEtcdMessage(message: string): EtcdErrorCode {
  for (const [re, code] of RULES) if (re.test(message)) return code
  return 'UNKNOWN'
}

/** Wraps anything thrown by the etcd3 client (or a timer) into an EtcdError; EtcdErrors pass through. */
export function toEtcdError(err: unknown, endpoint?: string, what?: string): EtcdError {
  if (err instanceof EtcdError) return err
  const raw = err instanceof Error ? err.message : String(err)
  const code = classifyEtcdMessage(raw)
  const where = endpoint ? ` on ${endpoint}` : ''
  return new EtcdError(code, `${what ?? 'etcd call'}${where} failed (${code}): ${raw}`, endpoint)
}
