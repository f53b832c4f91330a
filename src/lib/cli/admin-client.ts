/**
 * HTTP client for the scheduler's admin API, used by the operator commands. Every request is bounded
 * by a timeout; transport failures become CliError(UNREACHABLE), HTTP errors map to the exit-code table.
 * An https admin API is verified (certificate chain and host name) against `ca` (--ca-file) or Node's
 * built-in CAs; a certificate that does not verify is refused with an error naming the problem and --ca-file.
 */
import {CliError, ExitCode} from './exit-codes.js'

export interface AdminClientOptions {
  baseUrl: string
  timeoutMs: number
  token?: string
  /** PEM CA certificate(s) an https admin API must be signed by (replaces Node's built-in CAs). */
  ca?: string
}

export interface AdminResponse<T> {
  status: number
  body: T
}

export class AdminClient {
  readonly baseUrl: string
  constructor(private readonly opts: AdminClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
  }

  async get<T>(path: string, okStatuses: number[] = [200]): Promise<AdminResponse<T>> {
    return this.send<T>('GET', path, undefined, okStatuses)
  }

  async post<T>(path: string, body: unknown, okStatuses: number[] = [200, 202]): Promise<AdminResponse<T>> {
    return this.send<T>('POST', path, body, okStatuses)
  }

  private async send<T>(method: 'GET' | 'POST', path: string, body: unknown, okStatuses: number[]): Promise<AdminResponse<T>> {
    const url = `${this.baseUrl}${path}`
    const headers: Record<string, string> = {accept: 'application/json'}
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`
    let payload: string | undefined
    if (body !== undefined) {
      payload = JSON.stringify(body)
      headers['content-type'] = 'application/json'
    }
    let res: {statusCode: number; contentType: string; text: string}
    try {
      res = await this.exchange(method, url, headers, payload)
    } catch (err) {
      const e = err as Error & {code?: string}
      const why = e.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : (e.code ?? e.message)
      if (e.name !== 'TimeoutError' && isTlsVerifyError(e)) {
        const hint = this.opts.ca ? 'is it signed by the CA of --ca-file, for this host name?' : 'give its CA with --ca-file'
        throw new CliError(
          `cannot verify the certificate of the scheduler at ${this.baseUrl}: ${e.message} (${e.code}); ${hint}`,
          ExitCode.UNREACHABLE,
          'TLS_VERIFY_FAILED',
        )
      }
      throw new CliError(`cannot reach the scheduler at ${this.baseUrl}: ${why}`, ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
    }
    const {text} = res
    let parsed: unknown = text
    if (res.contentType.includes('json') && text.length > 0) {
      try {
        parsed = JSON.parse(text)
      } catch {
        throw new CliError(`the scheduler at ${this.baseUrl} sent malformed JSON for ${method} ${path}`, ExitCode.INTERNAL, 'BAD_RESPONSE')
      }
    }
    if (okStatuses.includes(res.statusCode)) return {status: res.statusCode, body: parsed as T}
    const msg =
      typeof parsed === 'object' && parsed !== null && 'error' in parsed
        ? String((parsed as {error: unknown}).error)
        : text.trim() || `HTTP ${res.statusCode}`
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new CliError(`the scheduler refused ${method} ${path}: ${msg}`, ExitCode.REFUSED, 'UNAUTHORIZED')
    }
    if (res.statusCode === 409) throw new CliError(msg, ExitCode.REFUSED, 'REFUSED')
    if (res.statusCode === 404) throw new CliError(`${method} ${path}: ${msg}`, ExitCode.NOT_FOUND, 'NOT_FOUND')
    if (res.statusCode === 503) throw new CliError(msg, ExitCode.UNHEALTHY, 'UNAVAILABLE')
    throw new CliError(`${method} ${path} failed with HTTP ${res.statusCode}: ${msg}`, ExitCode.FAILED, 'HTTP_ERROR')
  }

  /**
   * One request with node:http(s), the whole exchange (connect, headers, body) bounded by timeoutMs; a
   * timeout rejects with an error named TimeoutError. node:http, not undici: undici costs ~0.1–0.25 s to
   * load, more than the rest of `stats --json` together.
   */
  private async exchange(
    method: string,
    url: string,
    headers: Record<string, string>,
    payload: string | undefined,
  ): Promise<{statusCode: number; contentType: string; text: string}> {
    const https = url.startsWith('https:')
    const {request} = https ? await import('node:https') : await import('node:http')
    const tls = https && this.opts.ca ? {ca: this.opts.ca} : {}
    return new Promise((resolve, reject) => {
      const req = request(url, {method, headers, ...tls}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.once('error', fail)
        res.once('end', () => {
          clearTimeout(timer)
          resolve({
            statusCode: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          })
        })
      })
      const timer = setTimeout(() => {
        const err = new Error(`no answer within ${this.opts.timeoutMs} ms`)
        err.name = 'TimeoutError'
        req.destroy(err)
      }, this.opts.timeoutMs)
      function fail(err: Error): void {
        clearTimeout(timer)
        reject(err)
      }
      req.once('error', fail)
      req.end(payload)
    })
  }
}

/** OpenSSL's certificate verification failures (and Node's host name check), as Node reports them in err.code. */
function isTlsVerifyError(e: Error & {code?: string}): boolean {
  const c = e.code ?? ''
  return (
    c === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    c === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    c === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    c === 'CERT_HAS_EXPIRED' ||
    c === 'CERT_NOT_YET_VALID' ||
    c === 'CERT_UNTRUSTED' ||
    c === 'CERT_SIGNATURE_FAILURE' ||
    c.startsWith('UNABLE_TO_')
  )
}
