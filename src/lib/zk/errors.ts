/**
 * Typed ZooKeeper errors: `ZkError` with a stable `code`, and `toZkError`, which maps node-zookeeper-client's
 * exceptions (numeric codes) to it with a message naming the operation and the path.
 */
import type {RawException} from './raw.js'

export type ZkErrorCode =
  | 'NO_NODE'
  | 'NODE_EXISTS'
  | 'BAD_VERSION'
  | 'NOT_EMPTY'
  | 'CONNECTION_LOSS'
  | 'SESSION_EXPIRED'
  | 'TIMEOUT'
  | 'NO_AUTH'
  | 'UNKNOWN'

export class ZkError extends Error {
  override name = 'ZkError'
  constructor(
    readonly code: ZkErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message)
  }
}

const RAW_CODES: Record<number, ZkErrorCode> = {
  [-101]: 'NO_NODE',
  [-110]: 'NODE_EXISTS',
  [-103]: 'BAD_VERSION',
  [-111]: 'NOT_EMPTY',
  [-4]: 'CONNECTION_LOSS',
  [-112]: 'SESSION_EXPIRED',
  [-7]: 'TIMEOUT',
  [-102]: 'NO_AUTH',
  [-115]: 'NO_AUTH',
}

export function toZkError(err: unknown, op: string, path: string): ZkError {
  if (err instanceof ZkError) return err
  const raw = err as Partial<RawException> | null
  const code = typeof raw?.getCode === 'function' ? (RAW_CODES[raw.getCode()] ?? 'UNKNOWN') : 'UNKNOWN'
  const detail = err instanceof Error || typeof raw?.message === 'string' ? String(raw?.message) : String(err)
  return new ZkError(code, `ZooKeeper ${op} ${path} failed: ${detail}`, path)
}
