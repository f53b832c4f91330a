/**
 * Pure view of the certificates' expiry for /metrics: etcd_mesos_certificate_expiry_timestamp_seconds{certificate},
 * the notAfter (seconds since the epoch) of
 *   - `admin`: the admin API's certificate as served now (admin-tls.ts; absent without --admin-tls-*);
 *   - `client`, `client_ca`, `peer`, `peer_ca`: the member TLS files (issue 16) as the RUNNING members run them
 *     (their task records' tlsCerts): the earliest notAfter over the members and over the certificates of the file
 *     (a CA bundle during a rotation holds two CAs: the first to expire is the one to act on).
 * No sample for a file nobody runs (no TLS) or that does not parse. Parsed certificates are cached by content.
 */
import type {X509Certificate} from 'node:crypto'
import {parseCertificates} from '../lib/etcd/tls-trust.js'
import type {MemberTlsContent, MemberTlsKey} from '../lib/member-config.js'
import type {MetricFamily} from './metric-family.js'

export const CERTIFICATE_LABELS: Partial<Record<MemberTlsKey, string>> = {
  clientCertFile: 'client',
  clientTrustedCaFile: 'client_ca',
  peerCertFile: 'peer',
  peerTrustedCaFile: 'peer_ca',
}

const parsed = new Map<string, number | null>()

/** The earliest notAfter (ms) of the certificates in `pem`; null when none parses. */
export function earliestNotAfter(pem: string): number | null {
  let v = parsed.get(pem)
  if (v === undefined) {
    try {
      v = Math.min(...parseCertificates(pem, 'certificate').map((c: X509Certificate) => Date.parse(c.validTo)))
      if (!Number.isFinite(v)) v = null
    } catch {
      v = null
    }
    if (parsed.size > 256) parsed.clear()
    parsed.set(pem, v)
  }
  return v
}

export function certificateMetricFamily(cluster: string, running: readonly MemberTlsContent[], adminNotAfter: number | null): MetricFamily {
  const samples: MetricFamily['samples'] = []
  if (adminNotAfter !== null) samples.push({labels: {cluster, certificate: 'admin'}, value: Math.floor(adminNotAfter / 1000)})
  for (const [key, label] of Object.entries(CERTIFICATE_LABELS) as [MemberTlsKey, string][]) {
    const times = running.map((c) => (c[key] === undefined ? null : earliestNotAfter(c[key]!))).filter((t): t is number => t !== null)
    if (times.length > 0) samples.push({labels: {cluster, certificate: label}, value: Math.floor(Math.min(...times) / 1000)})
  }
  return {
    name: 'etcd_mesos_certificate_expiry_timestamp_seconds',
    help: "When a certificate expires (notAfter, seconds since the epoch): the admin API one, and the earliest of the etcd members' client, peer and CA files as the running members run them.",
    type: 'gauge',
    labelNames: ['cluster', 'certificate'],
    samples,
  }
}
