/** --log-format: the Logger of the chosen format; text (logger.ts) by default, json (json-logger.ts) loads pino. */
import {createLogger, type LogFormat, type Logger, type LoggerOptions} from './logger.js'

export async function openLogger(opts: LoggerOptions & {format?: LogFormat} = {}): Promise<Logger> {
  if (opts.format !== 'json') return createLogger(opts)
  const {createJsonLogger} = await import('./json-logger.js')
  return createJsonLogger(opts)
}
