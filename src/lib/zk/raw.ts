/**
 * The slice of node-zookeeper-client this project uses, typed (the library ships no types; its ambient
 * declaration is `any`), and the connection-manager state numbers we read. Only src/lib/zk uses these.
 */
import type {EventEmitter} from 'node:events'

export interface RawException {
  getCode(): number
  message: string
}
export interface RawStat {
  version: number
}
export type RawWatcher = (event: unknown) => void
export interface RawSocket extends EventEmitter {
  destroy(): void
  destroyed: boolean
  connecting: boolean
}
export interface RawConnectionManager extends EventEmitter {
  state: number
  sessionTimeout: number
  servers: {host: string; port: number}[]
  socket?: RawSocket
}
export interface RawClient extends EventEmitter {
  connectionManager: RawConnectionManager
  connect(): void
  close(): void
  addAuthInfo(scheme: string, auth: Buffer): void
  create(path: string, data: Buffer | null, acls: unknown[], mode: number, cb: (e: RawException | null, path: string) => void): void
  getData(path: string, watcher: RawWatcher | undefined, cb: (e: RawException | null, data: Buffer | null, stat: RawStat) => void): void
  setData(path: string, data: Buffer, version: number, cb: (e: RawException | null, stat: RawStat) => void): void
  remove(path: string, version: number, cb: (e: RawException | null) => void): void
  exists(path: string, watcher: RawWatcher | undefined, cb: (e: RawException | null, stat: RawStat | null) => void): void
  getChildren(path: string, watcher: RawWatcher | undefined, cb: (e: RawException | null, children: string[]) => void): void
}

/** ConnectionManager.state values (node-zookeeper-client lib/ConnectionManager.js). */
export const CM_CONNECTING = 1
export const CM_CONNECTED = 2
export const CM_CLOSED = -2
export const CM_SESSION_EXPIRED = -3
