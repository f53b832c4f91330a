/**
 * Pure views of the members' disk space (issue 17), from the scheduler's latest probes (lib/etcd/probe.ts):
 * - per member (/members): `db_size` and `db_size_in_use` (bytes, from its own status; null when it did not answer)
 *   and `alarms`: the alarms raised for it (etcd's alarm list is the cluster's: any probe that listed it knows them
 *   all; null while no probe could list them);
 * - /metrics: etcd_mesos_member_db_size_bytes / _db_size_in_use_bytes{member} and etcd_mesos_alarms{alarm} (members
 *   with that alarm raised; no sample while the alarm list is unknown).
 */
import type {EtcdAlarm} from '../lib/etcd/gateway.js'
import type {MemberProbe} from '../lib/etcd/probe.js'
import type {MetricFamily} from './metric-family.js'

export const ALARM_TYPES = ['NOSPACE', 'CORRUPT'] as const

/** The cluster's alarm list as the probes know it (the union of the lists they got), null when none could list it. */
export function clusterAlarms(probes: readonly MemberProbe[]): EtcdAlarm[] | null {
  const known = probes.filter((p) => p.alarms !== undefined)
  if (known.length === 0) return null
  const seen = new Map<string, EtcdAlarm>()
  for (const p of known) for (const a of p.alarms ?? []) seen.set(`${a.memberId}/${a.alarm}`, a)
  return [...seen.values()]
}

/** A member's disk-space fields of /members. */
export function memberSpaceView(probe: MemberProbe | undefined, memberId: string | null, alarms: EtcdAlarm[] | null) {
  return {
    db_size: probe?.status?.dbSize ?? null,
    db_size_in_use: probe?.status?.dbSizeInUse ?? null,
    alarms: alarms === null ? null : alarms.filter((a) => a.memberId === memberId).map((a) => a.alarm),
  }
}

/** The disk-space families of /metrics. */
export function spaceMetricFamilies(
  cluster: string,
  members: readonly {name: string; db_size: number | null; db_size_in_use: number | null}[],
  alarms: EtcdAlarm[] | null,
): MetricFamily[] {
  const perMember = (name: string, help: string, pick: (m: (typeof members)[number]) => number | null): MetricFamily => ({
    name: `etcd_mesos_${name}`,
    help,
    type: 'gauge',
    labelNames: ['cluster', 'member'],
    samples: members.flatMap((m) => {
      const value = pick(m)
      return value === null ? [] : [{labels: {cluster, member: m.name}, value}]
    }),
  })
  return [
    perMember('member_db_size_bytes', "Size of the member's etcd backend file (bytes), from the latest probe.", (m) => m.db_size),
    perMember(
      'member_db_size_in_use_bytes',
      "Bytes of the member's etcd backend in use (the rest is what defragmentation frees), from the latest probe.",
      (m) => m.db_size_in_use,
    ),
    {
      name: 'etcd_mesos_alarms',
      help: 'Members with this etcd alarm raised (NOSPACE: writes refused); no sample while unknown.',
      type: 'gauge',
      labelNames: ['cluster', 'alarm'],
      samples:
        alarms === null
          ? []
          : ALARM_TYPES.map((t) => ({
              labels: {cluster, alarm: t},
              value: new Set(alarms.filter((a) => a.alarm === t).map((a) => a.memberId)).size,
            })),
    },
  ]
}
