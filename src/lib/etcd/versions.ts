/**
 * PURE: etcd versions and the upgrade rules of etcd's upgrade guide, for rolling upgrades (issue 16).
 *
 * - `parseVersion("3.5.16")`, `compareVersions` (semver order, pre-releases before the release),
 *   `parseVersionAnswer(body)` reads `GET /version` = `{etcdserver, etcdcluster}`; `etcdcluster` is
 *   "not_decided" while a new cluster bootstraps (→ cluster: null). Bad input throws `EtcdVersionError`
 *   (BAD_VERSION / BAD_ANSWER) naming the value.
 * - The cluster version is the lowest major.minor every member supports (its patch is always 0); etcd moves
 *   it up by itself once every member runs the newer minor, and never moves it down.
 * - Rules (each refusal names the versions and the rule):
 *     1. no major version change (etcd 3 only);
 *     2. one minor version at a time, per member: 3.4 → 3.5 ok, 3.4 → 3.6 refused; also down (3.5 → 3.3);
 *     3. no downgrade below the cluster version: a 3.4 binary on a cluster whose version is 3.5 is refused
 *        (its data and peers speak 3.5); while the cluster version is still 3.4, rolling a member back from
 *        3.5 to 3.4 is allowed;
 *     4. the target may be at most one minor above the cluster version (3.5 members on a 3.4 cluster version
 *        cannot go to 3.6: the cluster version must reach 3.5 first);
 *     patch changes (3.5.13 ↔ 3.5.16) are free.
 * - `checkMemberChange(from, to, clusterVersion)` applies them to one member; `checkRollout({clusterVersion,
 *   memberVersions, target})` to a whole rollout before anything is touched (never throws: a bad version
 *   becomes a refusal naming it).
 */

export interface EtcdVersion {
  major: number
  minor: number
  patch: number
  /** Pre-release, e.g. "alpha.0" in 3.6.0-alpha.0. */
  pre?: string
}

export type VersionCheck = {ok: true} | {ok: false; refused: string}

export type EtcdVersionErrorCode = 'BAD_VERSION' | 'BAD_ANSWER'

export class EtcdVersionError extends Error {
  readonly code: EtcdVersionErrorCode
  constructor(code: EtcdVersionErrorCode, message: string) {
    super(message)
    this.name = 'EtcdVersionError'
    this.code = code
  }
}

const NUM = '(0|[1-9][0-9]{0,5})'
const VERSION_RE = new RegExp(`^v?${NUM}\\.${NUM}(?:\\.${NUM})?(?:-([0-9A-Za-z]+(?:\\.[0-9A-Za-z]+)*))?$`)

export function parseVersion(s: string): EtcdVersion {
  const m = typeof s === 'string' ? VERSION_RE.exec(s) : null
  if (!m) throw new EtcdVersionError('BAD_VERSION', `${JSON.stringify(s)} is not an etcd version (want major.minor.patch, e.g. 3.5.16)`)
  const v: EtcdVersion = {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0)}
  if (m[4] !== undefined) v.pre = m[4]
  return v
}

export function formatVersion(v: EtcdVersion): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre === undefined ? '' : `-${v.pre}`}`
}

/** major.minor, e.g. "3.5" (how cluster versions are spoken of). */
export function minorOf(v: EtcdVersion): string {
  return `${v.major}.${v.minor}`
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0)

function comparePre(a: string | undefined, b: string | undefined): -1 | 0 | 1 {
  if (a === b) return 0
  if (a === undefined) return 1 // a release is newer than its pre-releases
  if (b === undefined) return -1
  const pa = a.split('.')
  const pb = b.split('.')
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!
    const y = pb[i]!
    const nx = /^[0-9]+$/.test(x)
    const ny = /^[0-9]+$/.test(y)
    if (nx && ny && Number(x) !== Number(y)) return sign(Number(x) - Number(y))
    if (nx !== ny) return nx ? -1 : 1
    if (x !== y) return x < y ? -1 : 1
  }
  return sign(pa.length - pb.length)
}

export function compareVersions(a: EtcdVersion, b: EtcdVersion): -1 | 0 | 1 {
  return sign(a.major - b.major) || sign(a.minor - b.minor) || sign(a.patch - b.patch) || comparePre(a.pre, b.pre)
}

/** Reads etcd's `GET /version` answer (a parsed body or its text). */
export function parseVersionAnswer(body: unknown): {server: EtcdVersion; cluster: EtcdVersion | null} {
  const bad = (why: string): never => {
    throw new EtcdVersionError('BAD_ANSWER', `etcd's /version answer ${why}`)
  }
  let obj = body
  if (typeof body === 'string') {
    try {
      obj = JSON.parse(body)
    } catch {
      bad(`is not JSON: ${JSON.stringify(body.slice(0, 80))}`)
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return bad('is not a JSON object')
  const {etcdserver, etcdcluster} = obj as Record<string, unknown>
  if (typeof etcdserver !== 'string') return bad('has no etcdserver string')
  if (typeof etcdcluster !== 'string') return bad('has no etcdcluster string')
  try {
    return {server: parseVersion(etcdserver), cluster: etcdcluster === 'not_decided' ? null : parseVersion(etcdcluster)}
  } catch (err) {
    return bad(`holds a bad version: ${(err as Error).message}`)
  }
}

/** Rules 1-2: one member's binary change, on its own. */
function stepRule(from: EtcdVersion, to: EtcdVersion): string | null {
  if (from.major !== to.major) {
    return `etcd does not change major versions in place: ${formatVersion(from)} → ${formatVersion(to)}`
  }
  const delta = to.minor - from.minor
  if (Math.abs(delta) <= 1) return null
  const step = delta > 0 ? 1 : -1
  const skipped: string[] = []
  for (let m = from.minor + step; m !== to.minor; m += step) skipped.push(`${from.major}.${m}`)
  return (
    `one minor version at a time: ${formatVersion(from)} → ${formatVersion(to)} skips ${skipped.join(', ')}` +
    ` (${delta > 0 ? 'upgrade' : 'go'} to ${skipped[0]} first)`
  )
}

/** Rules 3-4: the target against the cluster version. */
function clusterRule(to: EtcdVersion, cluster: EtcdVersion): string | null {
  const cv = minorOf(cluster)
  if (to.major !== cluster.major) {
    return `etcd does not change major versions in place: the cluster version is ${cv}, the target ${formatVersion(to)}`
  }
  if (to.minor < cluster.minor) {
    return (
      `no downgrade below the cluster version ${cv}: the target ${formatVersion(to)} is older ` +
      `(the cluster version never goes back down; a rollback to ${minorOf(to)} is only possible while it is still ${minorOf(to)})`
    )
  }
  if (to.minor > cluster.minor + 1) {
    return (
      `the cluster version ${cv} is more than one minor version below the target ${formatVersion(to)} ` +
      `(one minor version at a time: finish the upgrade to ${cluster.major}.${cluster.minor + 1} first, every member on it and the cluster version at it)`
    )
  }
  return null
}

export function checkMemberChange(from: EtcdVersion, to: EtcdVersion, clusterVersion: EtcdVersion): VersionCheck {
  const why = stepRule(from, to) ?? clusterRule(to, clusterVersion)
  return why === null ? {ok: true} : {ok: false, refused: why}
}

export interface RolloutVersions {
  /** The cluster version (`etcdcluster` of /version); null while not decided. */
  clusterVersion: string | EtcdVersion | null
  /** Member name → the version its etcd reports (`etcdserver`). */
  memberVersions: Readonly<Record<string, string | EtcdVersion>>
  target: string | EtcdVersion
}

/** Whether every member may move to `target` under etcd's upgrade rules. Never throws. */
export function checkRollout(input: RolloutVersions): VersionCheck {
  const refuse = (refused: string): VersionCheck => ({ok: false, refused})
  const read = (v: string | EtcdVersion, what: string): EtcdVersion | string => {
    if (typeof v !== 'string') return v
    try {
      return parseVersion(v)
    } catch {
      return `${what} ${JSON.stringify(v)} is not an etcd version (want major.minor.patch, e.g. 3.5.16)`
    }
  }
  const target = read(input.target, 'the target version')
  if (typeof target === 'string') return refuse(target)
  if (input.clusterVersion === null) {
    return refuse('the cluster version is not decided yet (a cluster still bootstrapping?): the upgrade rules need it')
  }
  const cluster = read(input.clusterVersion, 'the cluster version')
  if (typeof cluster === 'string') return refuse(cluster)
  const names = Object.keys(input.memberVersions).sort()
  if (names.length === 0) return refuse('no member version known: the upgrade rules need every member’s version')
  const problems: string[] = []
  for (const name of names) {
    const v = read(input.memberVersions[name]!, `member ${name} reports version`)
    if (typeof v === 'string') return refuse(v)
    const why = stepRule(v, target)
    if (why !== null) problems.push(`member ${name}: ${why}`)
  }
  if (problems.length > 0) return refuse(problems.join('; '))
  const why = clusterRule(target, cluster)
  return why === null ? {ok: true} : refuse(why)
}
