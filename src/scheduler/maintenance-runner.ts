/**
 * The driver side of disk-space maintenance (core/maintenance.ts, defrag.ts, nospace.ts): performs COMPACT, DEFRAG
 * and ALARM_DISARM on one member through lib/etcd/maintenance.ts (etcd's JSON gateway) and answers each with the core
 * event reporting its outcome (never throws):
 *   COMPACT{clientUrl, revision, physical} → Compacted, or CompactFailed{message}; a revision already compacted
 *     (EtcdError COMPACTED: a restarted scheduler, or etcd's auto-compaction got there first) counts as Compacted;
 *   DEFRAG{clientUrl, memberId} → Defragmented / DefragFailed (bounded by defragTimeoutMs);
 *   ALARM_DISARM{clientUrl, memberId, alarm} → AlarmDisarmed / AlarmDisarmFailed.
 * The maintenance library is imported lazily (a scheduler that never maintains does not load it).
 */
import type {EtcdTlsOptions} from '../lib/etcd/admin.js'
import type {SchedulerAction} from './core/actions.js'
import type {SchedulerEvent} from './core/events.js'

export type MaintenanceAction = Extract<SchedulerAction, {type: 'COMPACT' | 'DEFRAG' | 'ALARM_DISARM'}>

export interface MaintenanceRunner {
  /** Always answers with an event (never throws). */
  perform(a: MaintenanceAction): Promise<SchedulerEvent>
}

export function maintenanceRunner(opts: {tls?: EtcdTlsOptions; defragTimeoutMs?: number} = {}): MaintenanceRunner {
  const tls = opts.tls ? {tls: opts.tls} : {}
  return {
    async perform(a) {
      try {
        const m = await import('../lib/etcd/maintenance.js')
        switch (a.type) {
          case 'COMPACT':
            try {
              await m.compact(a.clientUrl, a.revision, {physical: a.physical, ...tls})
            } catch (err) {
              if ((err as {code?: string}).code !== 'COMPACTED') throw err
            }
            return {type: 'Compacted', clientUrl: a.clientUrl, revision: a.revision}
          case 'DEFRAG':
            await m.defragment(a.clientUrl, {...tls, ...(opts.defragTimeoutMs ? {timeoutMs: opts.defragTimeoutMs} : {})})
            return {type: 'Defragmented', clientUrl: a.clientUrl, memberId: a.memberId}
          case 'ALARM_DISARM':
            await m.disarmAlarm(a.clientUrl, {memberId: a.memberId, alarm: a.alarm}, tls)
            return {type: 'AlarmDisarmed', memberId: a.memberId, alarm: a.alarm}
        }
      } catch (err) {
        const message = (err as Error)?.message ?? String(err)
        if (a.type === 'COMPACT') return {type: 'CompactFailed', clientUrl: a.clientUrl, revision: a.revision, message}
        if (a.type === 'DEFRAG') return {type: 'DefragFailed', clientUrl: a.clientUrl, memberId: a.memberId, message}
        return {type: 'AlarmDisarmFailed', memberId: a.memberId, alarm: a.alarm, message}
      }
    },
  }
}
