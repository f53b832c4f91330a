/**
 * The s3:// BackupTarget: objects `<prefix>/<name>` in one bucket of an S3-compatible store, through the AWS SDK v3
 * (@aws-sdk/client-s3, and @aws-sdk/lib-storage's Upload for multipart). Both are imported only when an s3:// target
 * is opened, so a scheduler or executor that never uses S3 never loads them (~10 MB of heap).
 *
 * How the BackupTarget guarantees (target.ts) are met:
 *   - put streams: one part (PART_SIZE) at a time is held in memory (queueSize 1); an object smaller than a part is
 *     one PutObject, a bigger one a multipart upload. S3 publishes an object only when its PutObject or
 *     CompleteMultipartUpload succeeds, so a reader never sees half of one; if `data` throws or a request fails, the
 *     multipart upload is aborted and nothing is published.
 *   - no overwrite: a HEAD first (EXISTS when the name is taken), then the write carries `If-None-Match: *` so that a
 *     store honouring conditional writes (AWS S3 since 2024, MinIO, Ceph RGW) refuses it if someone published the name
 *     in between (412 → EXISTS). A store that ignores the header (the s3rver used by the tests) leaves a race between
 *     the HEAD and the write; it is harmless here because one scheduler writes the backups and their names are unique
 *     (timestamp and revision).
 *   - get streams the GetObject body; NoSuchKey → NOT_FOUND.
 *   - list pages through ListObjectsV2 under `<prefix>/` and returns the names (without the prefix, only valid object
 *     names directly under it), sorted.
 *   - delete is idempotent (S3's DeleteObject of a missing key succeeds).
 * Errors: BackupError IO naming the target URL and endpoint (credentials refused, bucket missing, endpoint
 * unreachable, timeouts), never a key or secret. Timeouts: 5 s to connect, 30 s of socket inactivity (also while a
 * body streams), 10 min per request until its answer, 3 attempts.
 */
import {readFileSync} from 'node:fs'
import https from 'node:https'
import {Readable} from 'node:stream'
import type {S3Client} from '@aws-sdk/client-s3'
import {BackupError, toBackupError, type BackupErrorCode} from './errors.js'
import {DEFAULT_S3_REGION, readCredentialsProfile, validateS3Options, type S3Options} from './s3-options.js'
import {checkObjectName, type BackupTarget} from './target.js'

type ClientS3 = typeof import('@aws-sdk/client-s3')

/** Bytes per part of a multipart upload, and the largest object written with a single PutObject. */
export const PART_SIZE = 8 * 1024 * 1024

export interface S3TargetTimeouts {
  /** TCP/TLS connect timeout (default 5000 ms). */
  connectMs?: number
  /** Socket inactivity timeout, while sending, waiting or streaming (default 30000 ms). */
  idleMs?: number
  /** A request (a PutObject, an 8 MiB part, a HEAD...) until its answer's headers (default 600000 ms). */
  requestMs?: number
  /** Attempts per request, retries included (default 3). */
  maxAttempts?: number
}

export class S3BackupTarget implements BackupTarget {
  readonly url: string
  /** Where the store is, for messages: the endpoint or AWS's regional one. */
  readonly endpoint: string
  private readonly keyPrefix: string

  private constructor(
    readonly bucket: string,
    readonly prefix: string,
    private readonly client: S3Client,
    private readonly sdk: ClientS3,
    endpoint: string,
  ) {
    this.url = `s3://${bucket}${prefix ? `/${prefix}` : ''}`
    this.keyPrefix = prefix ? `${prefix}/` : ''
    this.endpoint = endpoint
  }

  /** A target for s3://bucket/prefix (not checked: call check()). Loads the AWS SDK. */
  static async create(
    loc: {bucket: string; prefix: string},
    opts: S3Options = {},
    timeouts: S3TargetTimeouts = {},
  ): Promise<S3BackupTarget> {
    validateS3Options(opts)
    const region = opts.region ?? DEFAULT_S3_REGION
    const endpoint = opts.endpoint ?? `https://s3.${region}.amazonaws.com`
    let credentials: {accessKeyId: string; secretAccessKey: string; sessionToken?: string} | undefined
    if (opts.accessKeyId && opts.secretAccessKey)
      credentials = {accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, sessionToken: opts.sessionToken}
    else if (opts.credentialsFile) {
      const keys = readCredentialsProfile(opts.credentialsFile, opts.profile ?? 'default', true)
      credentials = {accessKeyId: keys?.accessKeyId ?? '', secretAccessKey: keys?.secretAccessKey ?? '', sessionToken: keys?.sessionToken}
    }
    let ca: Buffer | undefined
    if (opts.caFile) {
      try {
        ca = readFileSync(opts.caFile)
      } catch (err) {
        throw new BackupError('BAD_TARGET', `S3 CA file ${opts.caFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`)
      }
    }
    // The SDK warns once per process that its 2027 releases will need Node 22: the version here is pinned.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const sdk = await import('@aws-sdk/client-s3')
    const client = new sdk.S3Client({
      region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      credentials,
      maxAttempts: timeouts.maxAttempts ?? 3,
      // Checksums only when the operation requires them: self-hosted stores often reject the newer trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: timeouts.connectMs ?? 5000,
        // Socket inactivity, also while a response body streams; requestTimeout bounds a request until its answer.
        socketTimeout: timeouts.idleMs ?? 30_000,
        requestTimeout: timeouts.requestMs ?? 600_000,
        throwOnRequestTimeout: true,
        ...(ca ? {httpsAgent: new https.Agent({ca, keepAlive: true})} : {}),
      },
    })
    return new S3BackupTarget(loc.bucket, loc.prefix, client, sdk, endpoint)
  }

  private key(name: string): string {
    return `${this.keyPrefix}${checkObjectName(name)}`
  }

  /** Throws IO (naming the endpoint and bucket) unless the bucket answers a HEAD with our credentials. */
  async check(): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({Bucket: this.bucket}))
    } catch (err) {
      throw this.error(err, 'IO', `checking bucket ${this.bucket}`, {bucketCheck: true})
    }
  }

  async put(name: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<{size: number}> {
    const key = this.key(name)
    if (await this.exists(key)) throw new BackupError('EXISTS', `${name} already exists in ${this.url}`)
    let size = 0
    let sourceError: unknown
    const counted = async function* (): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of data instanceof Uint8Array ? [data] : data) {
          size += chunk.length
          yield chunk
        }
      } catch (err) {
        sourceError = err
        throw err
      }
    }
    // Readable.from keeps the source's chunking; Upload re-chunks it into PART_SIZE parts.
    const body = data instanceof Uint8Array ? data : Readable.from(counted(), {objectMode: false, highWaterMark: 64 * 1024})
    if (data instanceof Uint8Array) size = data.length
    const {Upload} = await import('@aws-sdk/lib-storage')
    const upload = new Upload({
      client: this.client,
      params: {Bucket: this.bucket, Key: key, Body: body, IfNoneMatch: '*', ContentType: 'application/octet-stream'},
      partSize: PART_SIZE,
      queueSize: 1,
      leavePartsOnError: false,
    })
    try {
      await upload.done()
    } catch (err) {
      if (body instanceof Readable) body.destroy()
      // The data's own failure (e.g. verification) is the error, not what aborting the upload then said.
      if (sourceError !== undefined) throw toBackupError(sourceError, 'IO', `writing ${name} to ${this.url}`)
      throw this.error(err, 'IO', `writing ${name} to ${this.url}`, {object: name})
    }
    return {size}
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new this.sdk.HeadObjectCommand({Bucket: this.bucket, Key: key}))
      return true
    } catch (err) {
      if (statusOf(err) === 404 && !isNoSuchBucket(err)) return false
      throw this.error(err, 'IO', `checking ${key.slice(this.keyPrefix.length)} in ${this.url}`, {bucketCheck: true})
    }
  }

  async get(name: string): Promise<Readable> {
    const key = this.key(name)
    try {
      const res = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: key}))
      const body = res.Body
      if (!(body instanceof Readable)) throw new Error('the response has no body stream')
      return body
    } catch (err) {
      throw this.error(err, 'IO', `reading ${name} from ${this.url}`, {object: name})
    }
  }

  async list(): Promise<string[]> {
    const names: string[] = []
    let token: string | undefined
    try {
      do {
        const res = await this.client.send(
          new this.sdk.ListObjectsV2Command({Bucket: this.bucket, Prefix: this.keyPrefix || undefined, ContinuationToken: token}),
        )
        for (const o of res.Contents ?? []) {
          const name = o.Key?.slice(this.keyPrefix.length)
          if (name && o.Key?.startsWith(this.keyPrefix) && isObjectName(name)) names.push(name)
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined
      } while (token)
    } catch (err) {
      throw this.error(err, 'IO', `listing ${this.url}`)
    }
    return names.sort()
  }

  async delete(name: string): Promise<void> {
    const key = this.key(name)
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({Bucket: this.bucket, Key: key}))
    } catch (err) {
      if (errorName(err) === 'NoSuchKey') return
      throw this.error(err, 'IO', `deleting ${name} from ${this.url}`)
    }
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy()
  }

  /** A BackupError for an SDK error: `code` unless the error says more (missing key, name taken, refused keys). */
  private error(err: unknown, code: BackupErrorCode, doing: string, ctx: {object?: string; bucketCheck?: boolean} = {}): BackupError {
    if (err instanceof BackupError) return err
    const name = errorName(err)
    const status = statusOf(err)
    const {object, bucketCheck = false} = ctx
    const where = `${this.url} at ${this.endpoint}`
    let c: BackupErrorCode = code
    let text: string
    if (object && (name === 'NoSuchKey' || (status === 404 && !bucketCheck && !isNoSuchBucket(err)))) {
      c = 'NOT_FOUND'
      text = `${object} not found in ${this.url}`
    } else if (object && (name === 'PreconditionFailed' || status === 412)) {
      c = 'EXISTS'
      text = `${object} already exists in ${this.url}`
    } else if (isNoSuchBucket(err) || (bucketCheck && status === 404)) {
      text = `${doing}: bucket ${this.bucket} does not exist at ${this.endpoint}`
    } else if (name === 'CredentialsProviderError') {
      text = `${doing}: no S3 credentials found for ${this.endpoint} (give AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a credentials file and profile)`
    } else if (CREDENTIAL_ERRORS.has(name) || status === 403) {
      text = `${doing}: the S3 store at ${this.endpoint} refused the credentials for bucket ${this.bucket} (${name || `HTTP ${status}`}): check the access key, secret and region`
    } else if (tlsCode(err)) {
      text = `${doing}: the TLS certificate of S3 endpoint ${this.endpoint} is not trusted (${tlsCode(err)}): give its CA bundle (--backup-s3-ca-file)`
    } else if (CONNECT_ERRORS.has(netCode(err)) || name === 'TimeoutError' || /timed? ?out/i.test(messageOf(err))) {
      const why =
        netCode(err) || (name === 'TimeoutError' ? `timed out: ${messageOf(err).replace(/^@smithy\/node-http-handler - /, '')}` : name)
      text = `${doing}: S3 endpoint ${this.endpoint} unreachable (${why || messageOf(err)})`
    } else {
      text = `${doing} (${where}): ${name && name !== 'Error' ? `${name}: ` : ''}${messageOf(err) || `HTTP ${status ?? '?'}`}`
    }
    return new BackupError(c, text, {cause: err})
  }
}

const CREDENTIAL_ERRORS = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
])
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
])

const isObjectName = (name: string): boolean => {
  try {
    checkObjectName(name)
    return true
  } catch {
    return false
  }
}
const errorName = (err: unknown): string => (err as {name?: string} | null)?.name ?? ''
const statusOf = (err: unknown): number | undefined => (err as {$metadata?: {httpStatusCode?: number}} | null)?.$metadata?.httpStatusCode
const isNoSuchBucket = (err: unknown): boolean => errorName(err) === 'NoSuchBucket'
const netCode = (err: unknown): string => {
  for (let e = err as {code?: string; cause?: unknown} | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++)
    if (typeof e.code === 'string' && CONNECT_ERRORS.has(e.code)) return e.code
  const errors = (err as {errors?: {code?: string}[]} | null)?.errors
  return errors?.find((x) => x.code && CONNECT_ERRORS.has(x.code))?.code ?? ''
}
const TLS_ERRORS =
  /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_UNTRUSTED)$/
const tlsCode = (err: unknown): string => {
  for (let e = err as {code?: string; cause?: unknown} | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++)
    if (typeof e.code === 'string' && TLS_ERRORS.test(e.code)) return e.code
  return ''
}
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))
