/**
 * `--log-format json`: the Logger of logger.ts through pino, for log shippers: one JSON object per line on stderr
 * (and appended to the --log-dir file), `{"level":"info","time":"<ISO>","pid":…,"hostname":…,"msg":…, …fields}`.
 * The same redaction as the text format: a field whose name looks like a secret (SECRET_KEY) is printed as "***".
 * A field named like a record key (level, time, msg, pid, hostname, component) is renamed `field_<name>` so that it
 * cannot overwrite the record's own. Lines are written synchronously, as the text logger writes them.
 */
import {appendFileSync} from 'node:fs'
import {pino} from 'pino'
import {type Logger, type LoggerOptions, SECRET_KEY} from './logger.js'

const RECORD_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component'])

/** The fields as logged: secrets redacted, record keys renamed, undefined values left out. */
export function jsonFields(fields?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (!fields) return out
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    out[RECORD_KEYS.has(k) ? `field_${k}` : k] = SECRET_KEY.test(k) ? '***' : v
  }
  return out
}

export function createJsonLogger(opts: LoggerOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line))
  const file = opts.file
  const destination = {
    write(line: string): void {
      write(line)
      if (!file) return
      try {
        appendFileSync(file, line)
      } catch {
        /* the log file is best effort; stderr has the line */
      }
    },
  }
  const p = pino(
    {
      level: opts.verbose ? 'debug' : 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {level: (label) => ({level: label})},
      ...(opts.component ? {mixin: () => ({component: opts.component})} : {}),
    },
    destination,
  )
  return {
    debug: (m, f) => p.debug(jsonFields(f), m),
    info: (m, f) => p.info(jsonFields(f), m),
    warn: (m, f) => p.warn(jsonFields(f), m),
    error: (m, f) => p.error(jsonFields(f), m),
  }
}
