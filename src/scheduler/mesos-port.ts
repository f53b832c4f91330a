/**
 * The driver's Mesos port on a real master: each session is a SchedulerClient (lib/mesos/scheduler-client.ts)
 * found through the master detector, its emitter events handed to the session's listener.
 */
import type {MasterDetector} from '../lib/mesos/detector.js'
import {SchedulerClient} from '../lib/mesos/scheduler-client.js'
import type {SubscribedInfo} from '../lib/mesos/scheduler-session.js'
import type {SchedulerEvent as MesosEvent} from '../lib/mesos/types.js'
import type {Logger} from './logger.js'
import type {MesosPort} from './ports.js'

export function mesosPort(opts: {detector: MasterDetector; log: Logger; authorization?: string}): MesosPort {
  return {
    subscribe(frameworkInfo, listener) {
      const client = new SchedulerClient({
        detector: opts.detector,
        frameworkInfo,
        ...(opts.authorization ? {authorization: opts.authorization} : {}),
        log: (level, msg, fields) => opts.log[level](msg, fields as Record<string, unknown> | undefined),
      })
      client.on('subscribed', (info: SubscribedInfo) =>
        listener.subscribed({
          frameworkId: info.frameworkId,
          ...(info.master ? {master: `${info.master.host}:${info.master.port}`} : {}),
          ...(info.masterInfo ? {masterInfo: info.masterInfo} : {}),
        }),
      )
      client.on('event', (ev: MesosEvent) => listener.event(ev))
      client.on('disconnected', ({reason}: {reason: string}) => listener.disconnected(reason))
      client.on('fatal', ({reason}: {reason: string}) => listener.fatal(reason))
      client.start()
      return client
    },
  }
}
