/**
 * The admin API's TLS certificate and key (--admin-tls-cert-file/--admin-tls-key-file): read and checked at start
 * (preflight: a failure stops serve with exit 2), then watched, so that a renewed certificate is served without a
 * restart (certificates from an ACME client or an internal CA are renewed every few weeks):
 * - every `intervalMs` (default 10 s) both files are read; when either's content changed they are checked again as
 *   at start, and a good pair replaces the served one (tls.Server#setSecureContext: new
 *   handshakes get it, open connections keep theirs);
 * - a bad pair (unreadable, not PEM, a key of another certificate: often a half-written renewal) is logged and the
 *   old pair stays served; it is read again when the files change again.
 * `notAfter` of the pair served is exposed for /metrics (etcd_mesos_certificate_expiry_timestamp_seconds).
 */
import {X509Certificate, createHash, createPrivateKey} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {createSecureContext} from 'node:tls'
import type {Logger} from './logger.js'

export interface AdminTlsFiles {
  certFile: string
  keyFile: string
}

export interface AdminTlsPair {
  cert: Buffer
  key: Buffer
  /** The certificate's notAfter, in ms since the epoch. */
  notAfter: number
}

/** A bad --admin-tls-* file: the message names the flag and the file. */
export class AdminTlsError extends Error {}

/** Reads and checks the pair: a PEM certificate, a PEM key, the two matching, usable by node:tls. */
export async function readAdminTls(t: AdminTlsFiles): Promise<AdminTlsPair> {
  const read = (flag: string, file: string): Promise<Buffer> =>
    readFile(file).catch((err: Error) => {
      throw new AdminTlsError(`cannot read --${flag} ${file}: ${err.message}`)
    })
  const [cert, key] = [await read('admin-tls-cert-file', t.certFile), await read('admin-tls-key-file', t.keyFile)]
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new AdminTlsError(`--admin-tls-cert-file ${t.certFile} holds no PEM certificate: ${(err as Error).message}`)
  }
  let keyObject: ReturnType<typeof createPrivateKey>
  try {
    keyObject = createPrivateKey(key)
  } catch (err) {
    throw new AdminTlsError(`--admin-tls-key-file ${t.keyFile} holds no usable PEM private key: ${(err as Error).message}`)
  }
  if (!x509.checkPrivateKey(keyObject))
    throw new AdminTlsError(`--admin-tls-key-file ${t.keyFile} does not match the certificate of --admin-tls-cert-file ${t.certFile}`)
  try {
    createSecureContext({cert, key})
  } catch (err) {
    throw new AdminTlsError(`--admin-tls-cert-file/--admin-tls-key-file cannot serve TLS: ${(err as Error).message}`)
  }
  return {cert, key, notAfter: Date.parse(x509.validTo)}
}

/** The warning for a pair whose certificate is past its notAfter (clients refuse it), or undefined. */
export function expiredWarning(t: AdminTlsFiles, pair: AdminTlsPair, now = Date.now()): string | undefined {
  return pair.notAfter < now
    ? `--admin-tls-cert-file ${t.certFile} expired on ${new Date(pair.notAfter).toISOString()}: clients will refuse it`
    : undefined
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

type Log = Pick<Logger, 'info' | 'warn' | 'error'>

/** What the watcher needs of the server: node's https.Server has it. */
export interface SecureContextTarget {
  setSecureContext(options: {cert: Buffer; key: Buffer}): void
}

export class AdminTlsWatcher {
  private signature = ''
  private timer: NodeJS.Timeout | null = null
  private checking: Promise<void> | null = null

  constructor(
    private readonly files: AdminTlsFiles,
    private readonly server: SecureContextTarget,
    private served: AdminTlsPair,
    private readonly log: Log,
  ) {}

  /** The certificate served now. */
  get current(): AdminTlsPair {
    return this.served
  }

  /** Checks the files every `intervalMs` against the pair served (files changed since it was read are reloaded). */
  start(intervalMs = 10_000): void {
    this.signature = `${digest(this.served.cert)}|${digest(this.served.key)}`
    this.timer = setInterval(() => void this.check(), intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** One check (also what the timer runs): reloads when the files changed. Never throws. */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = null
    })
    return this.checking
  }

  private async checkOnce(): Promise<void> {
    const now = await this.stamp()
    if (now === this.signature) return
    this.signature = now
    try {
      const pair = await readAdminTls(this.files)
      this.server.setSecureContext({cert: pair.cert, key: pair.key})
      this.served = pair
      this.log.info('admin API: reloaded the TLS certificate after its files changed', {
        certFile: this.files.certFile,
        notAfter: new Date(pair.notAfter).toISOString(),
      })
      const warning = expiredWarning(this.files, pair)
      if (warning) this.log.warn(warning)
    } catch (err) {
      this.log.error('admin API: the changed TLS files are not usable; still serving the previous certificate', {
        error: (err as Error).message,
        notAfter: new Date(this.served.notAfter).toISOString(),
      })
    }
  }

  /** A digest of both files' content ('missing' for one that cannot be read): content, not mtimes, so that two
   *  writes within one timestamp tick are never missed. The files are small; reading them every 10 s is nothing. */
  private async stamp(): Promise<string> {
    const one = (f: string) => readFile(f).then(digest, () => 'missing')
    return `${await one(this.files.certFile)}|${await one(this.files.keyFile)}`
  }
}
