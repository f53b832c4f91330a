/**
 * Certificate checks for TLS rotation (issue 16), on PEM text (no files): which certificates a CA bundle trusts, and
 * whether rolling the members from one set of TLS files to another keeps every pair able to talk while some members
 * run the old files and some the new ones. Deterministic given `now` (node:crypto's X.509 parsing; no I/O).
 *
 * etcd (with a trusted CA file) verifies every peer's certificate and every client's certificate against its CA
 * file; the scheduler verifies the members' certificates against its own CA (--etcd-trusted-ca-file) and presents
 * its client certificate to them. During a rollout the members not yet rolled run the old files and the rolled ones
 * the new files, so the rotation is safe only when:
 *   - the old peer CA trusts the new peer certificate and the new peer CA trusts the old one;
 *   - the scheduler's client certificate is trusted by the old and the new client CA.
 * (The scheduler verifies the members with its own CA file; with the usual single CA file for clients and peers, the
 * peer rules above cover that too.)
 * The safe way to replace a CA is therefore three rollouts: a bundle of both CAs, then the new certificates, then the
 * new CA alone (README, "Rotating certificates").
 */
import {X509Certificate, createPrivateKey} from 'node:crypto'
import type {MemberTlsContent} from '../member-config.js'

/** The certificates of a PEM bundle (one or more `BEGIN CERTIFICATE` blocks); throws naming `what` when none parses. */
export function parseCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw new Error(`${what} holds no PEM certificate`)
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b)
    } catch (err) {
      throw new Error(`${what}: certificate ${i + 1} does not parse: ${(err as Error).message}`)
    }
  })
}

/** Short name of a certificate for messages: its subject CN (or the whole subject) and its serial. */
export function certName(c: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(c.subject)?.[1]
  return `"${cn ?? c.subject.replace(/\n/g, ', ')}" (serial ${c.serialNumber})`
}

/** Whether one of `cas` issued and signed `cert` directly. */
export function trusts(cas: X509Certificate[], cert: X509Certificate): boolean {
  return cas.some((ca) => {
    try {
      return cert.checkIssued(ca) && cert.verify(ca.publicKey)
    } catch {
      return false
    }
  })
}

/**
 * Problems with one set of TLS files on its own (each a sentence), empty when fine: certificates that do not parse,
 * are not valid at `now`, do not match their key, or are not trusted by their own CA.
 */
export function tlsFilesProblems(t: MemberTlsContent, now: number): string[] {
  const out: string[] = []
  const pairs = [
    ['clientCertFile', 'clientKeyFile', '--etcd-cert-file'],
    ['peerCertFile', 'peerKeyFile', '--etcd-peer-cert-file'],
  ] as const
  for (const [certKey, keyKey, flag] of pairs) {
    const pem = t[certKey]
    if (pem === undefined) continue
    let cert: X509Certificate
    try {
      cert = parseCertificates(pem, flag)[0]!
    } catch (err) {
      out.push((err as Error).message)
      continue
    }
    if (Date.parse(cert.validFrom) > now) out.push(`${flag} ${certName(cert)} is not valid before ${cert.validFrom}`)
    if (Date.parse(cert.validTo) <= now) out.push(`${flag} ${certName(cert)} expired on ${cert.validTo}`)
    const key = t[keyKey]
    if (key !== undefined) {
      try {
        if (!cert.checkPrivateKey(createPrivateKey(key))) out.push(`${flag} ${certName(cert)} does not match its key file`)
      } catch (err) {
        out.push(`the key of ${flag} does not parse: ${(err as Error).message}`)
      }
    }
  }
  for (const [caKey, certKey, flag] of [
    ['clientTrustedCaFile', 'clientCertFile', '--etcd-trusted-ca-file'],
    ['peerTrustedCaFile', 'peerCertFile', '--etcd-peer-trusted-ca-file'],
  ] as const) {
    const caPem = t[caKey]
    if (caPem === undefined) continue
    try {
      const cas = parseCertificates(caPem, flag)
      const certPem = t[certKey] ?? t.clientCertFile
      if (certPem !== undefined) {
        const cert = parseCertificates(certPem, 'the member certificate')[0]!
        if (!trusts(cas, cert))
          out.push(`${flag} does not trust the members' own certificate ${certName(cert)}: members could not talk to each other`)
      }
    } catch (err) {
      out.push((err as Error).message)
    }
  }
  return out
}

const peerCert = (t: MemberTlsContent): string | undefined => t.peerCertFile ?? t.clientCertFile
const peerCa = (t: MemberTlsContent): string | undefined => t.peerTrustedCaFile ?? t.clientTrustedCaFile

/**
 * Why rolling members from `running` (the public files they run with: certificates and CAs) to `target` would break
 * trust between rolled and not-yet-rolled members or the scheduler, or null when it keeps every pair talking.
 * `schedulerClientCert`: the certificate the scheduler presents to the members (absent: not checked).
 */
export function rotationProblem(running: MemberTlsContent, target: MemberTlsContent, schedulerClientCert?: string): string | null {
  try {
    const problems: string[] = []
    const oldPeerCa = peerCa(running)
    const newPeerCa = peerCa(target)
    const oldPeer = peerCert(running)
    const newPeer = peerCert(target)
    if (oldPeerCa && newPeer) {
      const c = parseCertificates(newPeer, 'the new member certificate')[0]!
      if (!trusts(parseCertificates(oldPeerCa, 'the running CA file'), c))
        problems.push(`the members not yet rolled trust only their current CA file, which did not issue the new certificate ${certName(c)}`)
    }
    if (newPeerCa && oldPeer) {
      const c = parseCertificates(oldPeer, 'the running member certificate')[0]!
      if (!trusts(parseCertificates(newPeerCa, 'the new CA file'), c))
        problems.push(`the new CA file does not trust the certificate the members not yet rolled present, ${certName(c)}`)
    }
    if (schedulerClientCert) {
      const c = parseCertificates(schedulerClientCert, "the scheduler's client certificate")[0]!
      for (const [ca, who] of [
        [running.clientTrustedCaFile, 'the members not yet rolled'],
        [target.clientTrustedCaFile, 'the rolled members'],
      ] as const) {
        if (ca && !trusts(parseCertificates(ca, 'a CA file'), c))
          problems.push(`${who} would refuse the scheduler's client certificate ${certName(c)}`)
      }
    }
    if (problems.length === 0) return null
    return (
      `certificate rotation refused: ${problems.join('; ')}. Replace a CA in three rollouts: first a CA file holding ` +
      'the old and the new CA, then the new certificates, then the new CA alone (README, "Rotating certificates")'
    )
  } catch (err) {
    return `certificate rotation refused: ${(err as Error).message}`
  }
}

/** rotationProblem for each distinct set the members run with, then the target against itself; null when all pass. */
export function rotationProblemAll(running: MemberTlsContent[], target: MemberTlsContent, schedulerClientCert?: string): string | null {
  for (const r of running) {
    const p = rotationProblem(r, target, schedulerClientCert)
    if (p) return p
  }
  return rotationProblem(target, target, schedulerClientCert)
}
