/**
 * S3Options: how an s3:// backup target is reached. Never part of the URL (url.ts refuses credentials in it),
 * never logged (describeS3Options masks the secrets), never persisted in ZooKeeper (s3OptionsWithoutSecrets).
 * resolveS3Options builds them from flags, env vars and an AWS-style credentials file; the scheduler hands them to
 * executors that restore (MemberRestore.s3).
 *
 * Precedence, per setting (the first one given wins):
 *   endpoint     flags.endpoint > ETCD_MESOS_BACKUP_S3_ENDPOINT > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > AWS's own
 *   region       flags.region > ETCD_MESOS_BACKUP_S3_REGION > AWS_REGION > AWS_DEFAULT_REGION > the profile's
 *                `region` in the credentials file > us-east-1
 *   path style   flags.forcePathStyle > ETCD_MESOS_BACKUP_S3_PATH_STYLE (true/false) > true with an endpoint, else false
 *   CA file      flags.caFile > ETCD_MESOS_BACKUP_S3_CA_FILE > AWS_CA_BUNDLE
 *   keys         flags (accessKeyId + secretAccessKey [+ sessionToken]) > a credentials file or profile named by a
 *                flag > AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN] > the credentials file
 *                (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials when it exists), profile flags.profile >
 *                AWS_PROFILE > default. None of them: the AWS SDK's own chain (e.g. an EC2/ECS role) at open time.
 * Refused (BackupError BAD_TARGET, naming the setting, never echoing a secret): an endpoint that is not
 * http(s)://host[:port] (credentials, a path, a query in it), a key id without its secret (or the reverse), a named
 * credentials file that cannot be read, a named profile missing from it, a profile without both keys.
 */
import {readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BackupError} from './errors.js'

export interface S3Options {
  /** http(s)://host:port of an S3-compatible store; default: AWS's regional endpoint. */
  endpoint?: string
  /** Default us-east-1. */
  region?: string
  /** Path-style addressing (http://host/bucket/key), the norm for self-hosted stores; default true with an endpoint. */
  forcePathStyle?: boolean
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  /** An AWS-style shared credentials file (ini, [default] or `profile`) read when no key is given. */
  credentialsFile?: string
  profile?: string
  /** A PEM CA bundle to verify an https endpoint with. */
  caFile?: string
}

/** What openBackupTarget needs besides the URL. */
export interface OpenTargetOptions {
  s3?: S3Options
}

/** Settings given on the command line (serve's --backup-s3-* flags, the CLI's); all optional. */
export type S3OptionFlags = S3Options

export const DEFAULT_S3_REGION = 'us-east-1'

function bad(message: string): never {
  throw new BackupError('BAD_TARGET', message)
}

const nonEmpty = (v: string | undefined): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)

/** The endpoint normalised to `http(s)://host[:port]`; BAD_TARGET naming the problem otherwise. */
export function validateS3Endpoint(text: string): string {
  const shown = JSON.stringify(text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@'))
  if (!/^https?:\/\//i.test(text)) bad(`invalid S3 endpoint ${shown}: expected http(s)://host[:port]`)
  let u: URL
  try {
    u = new URL(text)
  } catch {
    bad(`invalid S3 endpoint ${shown}: not a valid URL (expected http(s)://host[:port])`)
  }
  if (u.username !== '' || u.password !== '')
    bad(`invalid S3 endpoint ${shown}: credentials do not belong in the endpoint (use the credentials file or env vars)`)
  if (u.hostname === '') bad(`invalid S3 endpoint ${shown}: no host`)
  if (u.pathname !== '/' && u.pathname !== '') bad(`invalid S3 endpoint ${shown}: no path allowed (expected http(s)://host[:port])`)
  if (u.search !== '' || u.hash !== '') bad(`invalid S3 endpoint ${shown}: no query or fragment allowed`)
  return `${u.protocol}//${u.host}`
}

const REGION_RE = /^[a-z0-9][a-z0-9-]{0,62}$/

function validateRegion(region: string, from: string): string {
  if (!REGION_RE.test(region)) bad(`invalid S3 region ${JSON.stringify(region)} (${from}): expected e.g. us-east-1`)
  return region
}

function parseBool(text: string, from: string): boolean {
  const t = text.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(t)) return true
  if (['0', 'false', 'no', 'off'].includes(t)) return false
  bad(`invalid ${from} ${JSON.stringify(text)}: expected true or false`)
}

/** The sections of an AWS-style ini file (`[name]` or `[profile name]`), keys lower-cased. Pure. */
export function parseCredentialsIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>()
  let current: Record<string, string> | undefined
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const sec = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line)
    if (sec) {
      const name = sec[1] as string
      current = sections.get(name) ?? {}
      sections.set(name, current)
      continue
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line)
    if (kv && current) current[(kv[1] as string).toLowerCase()] = (kv[2] as string).trim()
  }
  return sections
}

interface ProfileKeys {
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  region?: string
}

/**
 * The keys of `profile` in the credentials file `file`. `required`: the file or profile was named explicitly, so a
 * missing file or profile is an error (otherwise it is just skipped). Throws BAD_TARGET naming the file and
 * profile, never a value.
 */
export function readCredentialsProfile(
  file: string,
  profile: string,
  required: boolean,
  readFile: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): ProfileKeys | undefined {
  let text: string
  try {
    text = readFile(file)
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    bad(`S3 credentials file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const section = parseCredentialsIni(text).get(profile)
  if (!section) {
    if (!required) return undefined
    bad(`S3 credentials file ${file} has no profile [${profile}]`)
  }
  const keys: ProfileKeys = {
    accessKeyId: nonEmpty(section.aws_access_key_id),
    secretAccessKey: nonEmpty(section.aws_secret_access_key),
    sessionToken: nonEmpty(section.aws_session_token),
    region: nonEmpty(section.region),
  }
  if (!keys.accessKeyId !== !keys.secretAccessKey || (!keys.accessKeyId && required))
    bad(`S3 credentials file ${file}, profile [${profile}]: needs both aws_access_key_id and aws_secret_access_key`)
  return keys
}

export interface ResolveS3Input {
  flags?: S3OptionFlags
  /** Default process.env. */
  env?: NodeJS.ProcessEnv
  /** Where ~/.aws/credentials is looked for; default os.homedir(). */
  homeDir?: string
  readFile?: (p: string) => string
}

/** The S3 options from flags > env > credentials file (see the header). Throws BAD_TARGET on bad input. */
export function resolveS3Options(input: ResolveS3Input = {}): S3Options {
  const flags = input.flags ?? {}
  const env = input.env ?? process.env
  const e = (name: string): string | undefined => nonEmpty(env[name])

  const out: S3Options = {}
  const endpointText = nonEmpty(flags.endpoint) ?? e('ETCD_MESOS_BACKUP_S3_ENDPOINT') ?? e('AWS_ENDPOINT_URL_S3') ?? e('AWS_ENDPOINT_URL')
  if (endpointText) out.endpoint = validateS3Endpoint(endpointText)

  if (flags.forcePathStyle !== undefined) out.forcePathStyle = flags.forcePathStyle
  else if (e('ETCD_MESOS_BACKUP_S3_PATH_STYLE'))
    out.forcePathStyle = parseBool(e('ETCD_MESOS_BACKUP_S3_PATH_STYLE') as string, 'ETCD_MESOS_BACKUP_S3_PATH_STYLE')
  else out.forcePathStyle = out.endpoint !== undefined

  const caFile = nonEmpty(flags.caFile) ?? e('ETCD_MESOS_BACKUP_S3_CA_FILE') ?? e('AWS_CA_BUNDLE')
  if (caFile) out.caFile = caFile

  // Keys.
  const flagKey = nonEmpty(flags.accessKeyId)
  const flagSecret = nonEmpty(flags.secretAccessKey)
  if (!flagKey !== !flagSecret) bad('S3 credentials: an access key id needs its secret access key (and the reverse)')
  const envKey = e('AWS_ACCESS_KEY_ID')
  const envSecret = e('AWS_SECRET_ACCESS_KEY')
  if (!envKey !== !envSecret) bad('S3 credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together')
  const fileByFlag = nonEmpty(flags.credentialsFile)
  const profileByFlag = nonEmpty(flags.profile)
  const file = fileByFlag ?? e('AWS_SHARED_CREDENTIALS_FILE') ?? path.join(input.homeDir ?? os.homedir(), '.aws', 'credentials')
  const profile = profileByFlag ?? e('AWS_PROFILE') ?? 'default'
  const fileNamed = fileByFlag !== undefined || e('AWS_SHARED_CREDENTIALS_FILE') !== undefined
  const profileNamed = profileByFlag !== undefined || e('AWS_PROFILE') !== undefined

  let fromFile: ProfileKeys | undefined
  const readProfile = (): ProfileKeys | undefined =>
    readCredentialsProfile(path.resolve(file), profile, fileNamed || profileNamed, input.readFile)
  if (flagKey && flagSecret) {
    out.accessKeyId = flagKey
    out.secretAccessKey = flagSecret
    const token = nonEmpty(flags.sessionToken)
    if (token) out.sessionToken = token
  } else if (fileByFlag || profileByFlag) {
    fromFile = readProfile()
  } else if (envKey && envSecret) {
    out.accessKeyId = envKey
    out.secretAccessKey = envSecret
    const token = e('AWS_SESSION_TOKEN')
    if (token) out.sessionToken = token
  } else {
    fromFile = readProfile()
  }
  if (fromFile?.accessKeyId && fromFile.secretAccessKey) {
    out.accessKeyId = fromFile.accessKeyId
    out.secretAccessKey = fromFile.secretAccessKey
    if (fromFile.sessionToken) out.sessionToken = fromFile.sessionToken
    out.credentialsFile = path.resolve(file)
    out.profile = profile
  }

  const regionFlag = nonEmpty(flags.region)
  const regionEnv = e('ETCD_MESOS_BACKUP_S3_REGION') ?? e('AWS_REGION') ?? e('AWS_DEFAULT_REGION')
  out.region = regionFlag
    ? validateRegion(regionFlag, 'flag')
    : regionEnv
      ? validateRegion(regionEnv, 'environment')
      : fromFile?.region
        ? validateRegion(fromFile.region, `credentials file ${file}`)
        : DEFAULT_S3_REGION
  return out
}

/** Checks options handed over as data (e.g. MemberRestore.s3): the same rules as resolveS3Options. */
export function validateS3Options(o: S3Options): S3Options {
  if (o.endpoint !== undefined) validateS3Endpoint(o.endpoint)
  if (o.region !== undefined) validateRegion(o.region, 'options')
  if (!o.accessKeyId !== !o.secretAccessKey) bad('S3 credentials: an access key id needs its secret access key (and the reverse)')
  return o
}

/** The options without keys (for ZooKeeper or anything persisted): the file / profile names stay. */
export function s3OptionsWithoutSecrets(o: S3Options): S3Options {
  const {accessKeyId: _a, secretAccessKey: _s, sessionToken: _t, ...rest} = o
  return rest
}

/** A one-line description for logs: the endpoint, region, addressing and where the keys come from, masked. */
export function describeS3Options(o: S3Options): string {
  const parts = [
    `endpoint=${o.endpoint ?? `AWS (https://s3.${o.region ?? DEFAULT_S3_REGION}.amazonaws.com)`}`,
    `region=${o.region ?? DEFAULT_S3_REGION}`,
    `path-style=${o.forcePathStyle ?? o.endpoint !== undefined}`,
  ]
  if (o.caFile) parts.push(`ca-file=${o.caFile}`)
  if (o.accessKeyId) {
    const id = o.accessKeyId.length > 8 ? `${o.accessKeyId.slice(0, 4)}****` : '****'
    parts.push(`access-key-id=${id}`, 'secret-access-key=****')
    if (o.sessionToken) parts.push('session-token=****')
    if (o.credentialsFile) parts.push(`from=${o.credentialsFile} [${o.profile ?? 'default'}]`)
  } else parts.push('credentials=AWS SDK default chain')
  return parts.join(' ')
}
