/**
 * Which scheduler an operator command talks to, without oclif: the admin client the scheduler flags
 * (flags.ts) lead to (--admin-url, or --cluster + --zk; the bearer token from ETCD_MESOS_ADMIN_TOKEN or
 * --admin-token-file; the CA an https admin API is verified with from --ca-file). BaseCommand and the fast
 * path (fast-path.ts) share it.
 */
import {readFile} from 'node:fs/promises'
import {AdminClient} from './admin-client.js'
import {CliError, ExitCode} from './exit-codes.js'
import type {SchedulerTarget} from './flags.js'
import {resolveAdminUrl} from './locate.js'

/** The admin bearer token: ETCD_MESOS_ADMIN_TOKEN, else the content of --admin-token-file, else none. */
export async function adminToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const fromEnv = env.ETCD_MESOS_ADMIN_TOKEN
  if (fromEnv) return fromEnv.trim()
  if (!tokenFile) return undefined
  try {
    return (await readFile(tokenFile, 'utf8')).trim()
  } catch (err) {
    throw new CliError(`cannot read --admin-token-file ${tokenFile}: ${(err as Error).message}`, ExitCode.USAGE, 'BAD_TOKEN_FILE')
  }
}

/** The PEM certificates of --ca-file (at least one), or a usage error naming the problem. */
export async function readCaFile(file: string): Promise<string> {
  const bad = (why: string): CliError => new CliError(`--ca-file ${file}: ${why}`, ExitCode.USAGE, 'BAD_CA_FILE')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read --ca-file ${file}: ${(err as Error).message}`, ExitCode.USAGE, 'BAD_CA_FILE')
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw bad('no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)')
  const {X509Certificate} = await import('node:crypto')
  for (const b of blocks) {
    try {
      new X509Certificate(b)
    } catch (err) {
      throw bad(`a certificate in it cannot be read: ${(err as Error).message}`)
    }
  }
  return text
}

/** The admin client for the scheduler named by --admin-url, or by --cluster + --zk. */
export async function openAdminClient(t: SchedulerTarget): Promise<AdminClient> {
  const timeoutMs = t.timeout * 1000
  const token = await adminToken(t['admin-token-file'])
  const ca = t['ca-file'] ? await readCaFile(t['ca-file']) : undefined
  const baseUrl = await resolveAdminUrl({adminUrl: t['admin-url'], cluster: t.cluster, zk: t.zk, timeoutMs})
  return new AdminClient({baseUrl, timeoutMs, token, ...(ca ? {ca} : {})})
}
