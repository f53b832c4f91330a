/**
 * Finds a scheduler's admin URL: --admin-url as given, or --cluster NAME with --zk zk://…/base, where
 * the scheduler leader publishes `{adminUrl}` in its election node `<base>/<cluster>/election`.
 */
import {CliError, ExitCode} from './exit-codes.js'

export interface LocateOptions {
  adminUrl?: string
  cluster?: string
  zk?: string
  timeoutMs: number
}

export function validateAdminUrl(raw: string): string {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    const shown = raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*):([^@/]*)@/i, '$1$2:***@')
    throw new CliError(`--admin-url ${JSON.stringify(shown)} is not a URL (expected http://host:port)`, ExitCode.USAGE, 'BAD_ADMIN_URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CliError(`--admin-url must be http:// or https://, not ${u.protocol}`, ExitCode.USAGE, 'BAD_ADMIN_URL')
  }
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`
}

/** ZK layout shared with `serve`: everything of one cluster lives under `<base>/<cluster>`. */
export function clusterZkPath(base: string, cluster: string): string {
  return `${base === '/' ? '' : base}/${cluster}`
}

export async function resolveAdminUrl(opts: LocateOptions): Promise<string> {
  if (opts.adminUrl) return validateAdminUrl(opts.adminUrl)
  if (!opts.cluster) {
    throw new CliError('say which scheduler to ask: --admin-url URL, or --cluster NAME with --zk zk://…', ExitCode.USAGE, 'NO_TARGET')
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(opts.cluster)) {
    throw new CliError(`--cluster ${JSON.stringify(opts.cluster)} is not a valid cluster name`, ExitCode.USAGE, 'BAD_CLUSTER')
  }
  if (!opts.zk) throw new CliError('--cluster needs --zk zk://host:port/path (or ETCD_MESOS_ZK)', ExitCode.USAGE, 'NO_ZK')
  const {parseZkUrl, ZkUrlError} = await import('../zk/url.js')
  let url: ReturnType<typeof parseZkUrl>
  try {
    url = parseZkUrl(opts.zk)
  } catch (err) {
    if (err instanceof ZkUrlError) throw new CliError(`--zk: ${err.message}`, ExitCode.USAGE, 'BAD_ZK_URL')
    throw err
  }
  const {ZkClient} = await import('../zk/client.js')
  const {readLeader} = await import('../zk/election.js')
  let zk: Awaited<ReturnType<typeof ZkClient.connect>>
  try {
    zk = await ZkClient.connect(url, {connectTimeoutMs: opts.timeoutMs, sessionTimeoutMs: Math.max(opts.timeoutMs, 4000)})
  } catch (err) {
    throw new CliError(`cannot reach ZooKeeper at ${url.redacted}: ${(err as Error).message}`, ExitCode.UNREACHABLE, 'ZK_UNREACHABLE')
  }
  try {
    const clusterPath = clusterZkPath(url.path, opts.cluster)
    const leader = await readLeader(zk, `${clusterPath}/election`)
    if (!leader) {
      const exists = await zk.get(clusterPath)
      if (!exists) throw new CliError(`no cluster named ${opts.cluster} under ${url.redacted}`, ExitCode.NOT_FOUND, 'UNKNOWN_CLUSTER')
      throw new CliError(
        `cluster ${opts.cluster} has no running scheduler (no leader in ${clusterPath}/election)`,
        ExitCode.NOT_FOUND,
        'NO_LEADER',
      )
    }
    const adminUrl = leader.data.adminUrl
    if (typeof adminUrl !== 'string')
      throw new CliError(`the scheduler leader of ${opts.cluster} published no admin URL`, ExitCode.NOT_FOUND, 'NO_ADMIN_URL')
    return validateAdminUrl(adminUrl)
  } finally {
    await zk.close()
  }
}
