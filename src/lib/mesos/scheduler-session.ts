/**
 * The state of one scheduler subscription attempt and the helpers around it:
 * - `Session`: generation, abort controller, the master it targets (detected, then the URL after redirects),
 *   Mesos-Stream-Id, whether SUBSCRIBED arrived, the first reason it ended, its heartbeat watchdog.
 * - master ↔ URL mapping (`schedulerUrl`, `masterFromUrl`, `sameMaster`).
 * - `armHeartbeatWatchdog`: ends the attempt after `missLimit` heartbeat intervals without any event.
 * - `SubscribedInfo`: what the 'subscribed' event carries.
 */
import type {DetectedMaster} from './detector.js'
import {masterBaseUrl} from './master-address.js'
import type {MasterInfo} from './types.js'

export interface Session {
  gen: number
  ac: AbortController
  detected?: DetectedMaster
  url?: URL
  streamId?: string
  subscribed: boolean
  abortReason?: string
  watchdog?: NodeJS.Timeout
}

export interface SubscribedInfo {
  frameworkId: string
  masterInfo?: MasterInfo
  streamId: string
  master: DetectedMaster
  heartbeatIntervalSec: number
}

export function schedulerUrl(m: DetectedMaster): URL {
  return new URL(`${masterBaseUrl(m)}/api/v1/scheduler`)
}
export function masterFromUrl(url: URL, info?: MasterInfo): DetectedMaster {
  const scheme = url.protocol === 'https:' ? 'https' : 'http'
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80
  return {host: url.hostname.replace(/^\[|\]$/g, ''), port, scheme, ...(info ? {info} : {})}
}
export function sameMaster(a: DetectedMaster, b: DetectedMaster): boolean {
  return a.host === b.host && a.port === b.port && a.scheme === b.scheme
}

/** End the attempt (first reason wins) and abort its requests. */
export function abortSession(s: Session, reason: string): void {
  s.abortReason ??= reason
  s.ac.abort(new Error(reason))
}

/** (Re)start the watchdog: abort `s` when no event arrives within `missLimit` × `intervalSec`. */
export function armHeartbeatWatchdog(s: Session, intervalSec: number, missLimit: number): void {
  clearTimeout(s.watchdog)
  // Clamped: setTimeout fires at once for delays over 2^31-1 ms (a huge heartbeat interval must not loop).
  const ms = Math.min(2 ** 31 - 1, Math.max(1, Math.round(missLimit * intervalSec * 1000)))
  s.watchdog = setTimeout(() => abortSession(s, `no event for ${ms} ms (${missLimit} heartbeats missed)`), ms)
}
