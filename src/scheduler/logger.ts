/**
 * A small structured logger: one line per record on stderr (and optionally appended to a file in
 * --log-dir): `2026-11-22T04:30:00.000Z INFO message key=value …`. Values that look like secrets
 * (keys named secret/password/token/authorization) are never printed. `--log-format json` swaps in
 * json-logger.ts (pino: one JSON object per line, the same redaction) behind the same Logger interface;
 * log-format.ts openLogger picks one (pino is loaded only for json).
 */
import {appendFileSync} from 'node:fs'

export type Level = 'debug' | 'info' | 'warn' | 'error'
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/** Field names whose values are never printed, in any format. */
export const SECRET_KEY = /secret|password|token|authorization|credential/i

export type LogFormat = 'text' | 'json'

export interface LoggerOptions {
  verbose?: boolean
  file?: string | undefined
  component?: string
  write?: (line: string) => void
}

export function formatFields(fields?: Record<string, unknown>): string {
  if (!fields) return ''
  const parts: string[] = []
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    const val = SECRET_KEY.test(k) ? '***' : typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)
    parts.push(`${k}=${val}`)
  }
  return parts.length ? ` ${parts.join(' ')}` : ''
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line))
  const out = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (level === 'debug' && !opts.verbose) return
    const comp = opts.component ? ` [${opts.component}]` : ''
    const line = `${new Date().toISOString()} ${level.toUpperCase()}${comp} ${msg}${formatFields(fields)}\n`
    write(line)
    if (opts.file) {
      try {
        appendFileSync(opts.file, line)
      } catch {
        /* the log file is best effort; stderr has the line */
      }
    }
  }
  return {
    debug: (m, f) => out('debug', m, f),
    info: (m, f) => out('info', m, f),
    warn: (m, f) => out('warn', m, f),
    error: (m, f) => out('error', m, f),
  }
}
