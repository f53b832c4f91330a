/**
 * HTTP client for the scheduler's admin API, used by the operator commands. Every request is bounded
 * by a timeout; transport failures become CliError(UNREACHABLE), HTTP errors map to the exit-code table.
 */
import {CliError, ExitCode} from './exit-codes.js'

export interface AdminClientOptions {
  baseUrl: string
  timeoutMs: number
  token?: string
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
    const {request} = await import('undici') // lazily: it costs ~0.1 s to load
    let res: Awaited<ReturnType<typeof request>>
    try {
      res = await request(url, {
        method,
        headers,
        body: payload,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      })
    } catch (err) {
      const e = err as Error & {code?: string}
      const why =
        e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT'
          ? `no answer within ${this.opts.timeoutMs} ms`
          : (e.code ?? e.message)
      throw new CliError(`cannot reach the scheduler at ${this.baseUrl}: ${why}`, ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
    }
    const text = await res.body.text()
    let parsed: unknown = text
    if ((res.headers['content-type'] ?? '').toString().includes('json') && text.length > 0) {
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
}
