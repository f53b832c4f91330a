/**
 * Performs the core's etcd actions (MEMBER_ADD/REMOVE/PROMOTE/LIST, HEALTH_CHECK) and turns each
 * outcome into the core event that reports it. Never throws: failures become *Failed events with
 * the etcd error code and whether retrying makes sense.
 * HEALTH_CHECK and MEMBER_LIST go through etcd's JSON gateway (probe.ts, node:http): serve's bootstrap and steady
 * state never load etcd3/grpc-js; EtcdAdmin (etcd3, loaded on its first call) does the membership changes.
 */
import {EtcdAdmin, type EtcdTlsOptions} from '../lib/etcd/admin.js'
import {toEtcdError, type EtcdErrorCode} from '../lib/etcd/errors.js'
import {listMembers, probeMembers} from '../lib/etcd/probe.js'
import type {SchedulerEvent} from './core/events.js'
import type {EtcdAction, EtcdCluster} from './ports.js'
export type MemberAction = Exclude<EtcdAction, {type: 'HEALTH_CHECK'}>

const RETRYABLE: ReadonlySet<EtcdErrorCode> = new Set([
  'UNREACHABLE',
  'TIMEOUT',
  'NO_LEADER',
  'UNHEALTHY_CLUSTER',
  'LEARNER_NOT_READY',
  'LEARNER_REFUSED',
])

/** After the first health check that read through every member: then etcd3 loads in the background (see etcdCluster). */
const ETCD3_WARM_DELAY_MS = 2000

/**
 * The driver's etcd port on the real cluster (TLS client settings, if any, for every request). etcd3 (0.15–1 s of
 * synchronous loading) is not needed to bootstrap, but the first member change of a replacement would wait for
 * it: it loads in the background ETCD3_WARM_DELAY_MS after the first health check that read through every
 * member (the cluster serves; the delay keeps it off the admin API's answers right after the bootstrap).
 */
export function etcdCluster(tls?: EtcdTlsOptions): EtcdCluster {
  let warmed = false
  return {
    perform: async (a) => {
      const ev = await performEtcd(a, tls)
      if (!warmed && ev.type === 'HealthObserved' && ev.probes.length > 0 && ev.probes.every((p) => p.readOk)) {
        warmed = true
        setTimeout(() => void import('etcd3').catch(() => {}), ETCD3_WARM_DELAY_MS).unref()
      }
      return ev
    },
  }
}

export async function performEtcd(a: EtcdAction, tls?: EtcdTlsOptions, timeoutMs = 5000): Promise<SchedulerEvent> {
  if (a.type === 'HEALTH_CHECK') {
    const probes = await probeMembers(a.clientUrls, {timeoutMs, ...(tls ? {tls} : {})}).catch(() => [])
    return {type: 'HealthObserved', probes, seq: a.seq}
  }
  if (a.type === 'MEMBER_LIST') {
    try {
      return {type: 'MemberListObserved', members: await listMembers(a.via, {timeoutMs, ...(tls ? {tls} : {})})}
    } catch (err) {
      return failureEvent(a, err)
    }
  }
  let admin: EtcdAdmin | undefined
  try {
    // inside the try: the adapter refuses an empty or malformed endpoint list by throwing
    admin = new EtcdAdmin(a.via, {timeoutMs, ...(tls ? {tls} : {})})
    return await call(admin, a)
  } catch (err) {
    return failureEvent(a, err)
  } finally {
    await admin?.close().catch(() => undefined)
  }
}

async function call(admin: EtcdAdmin, a: Exclude<MemberAction, {type: 'MEMBER_LIST'}>): Promise<SchedulerEvent> {
  switch (a.type) {
    case 'MEMBER_ADD': {
      const r = await admin.memberAdd(a.peerUrls, {learner: a.learner})
      return {type: 'MemberAdded', peerUrl: a.peerUrls[0], member: r.member, members: r.members}
    }
    case 'MEMBER_REMOVE':
      await admin.memberRemove(a.memberId)
      return {type: 'MemberRemoved', memberId: a.memberId}
    case 'MEMBER_PROMOTE':
      await admin.memberPromote(a.memberId)
      return {type: 'MemberPromoted', memberId: a.memberId}
  }
}

/** The event reporting a failed member action (also used by the simulated etcd, so both map errors alike). */
export function failureEvent(a: MemberAction, err: unknown): SchedulerEvent {
  const e = toEtcdError(err)
  const retryable = RETRYABLE.has(e.code)
  switch (a.type) {
    case 'MEMBER_LIST':
      return {type: 'MemberListFailed', message: e.message}
    case 'MEMBER_ADD':
      return {type: 'MemberAddFailed', peerUrl: a.peerUrls[0], code: e.code, retryable, message: e.message}
    case 'MEMBER_REMOVE':
      if (e.code === 'MEMBER_NOT_FOUND') return {type: 'MemberRemoved', memberId: a.memberId}
      return {type: 'MemberRemoveFailed', memberId: a.memberId, code: e.code, retryable, message: e.message}
    case 'MEMBER_PROMOTE':
      return {type: 'MemberPromoteFailed', memberId: a.memberId, code: e.code, retryable, message: e.message}
  }
}
