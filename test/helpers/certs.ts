/**
 * Test certificates made with openssl: a CA, and certificates it signs for member/client use (serverAuth + clientAuth,
 * valid for 127.0.0.1–127.0.0.5 and localhost, like the local Mesos agents' addresses). Valid for a day unless
 * `days` says otherwise.
 */
import {execFileSync} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import tls from 'node:tls'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: 'ignore'})
}

/** `<dir>/<name>.crt` and `<name>.key`: a self-signed CA. */
export function makeCa(dir: string, name: string, days = 1): {crt: string; key: string} {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      String(days),
      '-subj',
      `/CN=${name}`,
    ],
    dir,
  )
  return {crt: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`)}
}

/** `<dir>/<cn>.crt` and `<cn>.key`, signed by the CA `<dir>/<ca>.crt`. */
export function makeCert(dir: string, cn: string, ca: string, days = 1): {crt: string; key: string} {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`], dir)
  const sans = ['IP:127.0.0.1', ...[2, 3, 4, 5].map((i) => `IP:127.0.0.${i}`), 'DNS:localhost'].join(',')
  writeFileSync(path.join(dir, `${cn}.ext`), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\n`)
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${cn}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${cn}.crt`,
      '-days',
      String(days),
      '-extfile',
      `${cn}.ext`,
    ],
    dir,
  )
  return {crt: path.join(dir, `${cn}.crt`), key: path.join(dir, `${cn}.key`)}
}

/** The PEM text of files, concatenated (a CA bundle). */
export function pem(...files: string[]): string {
  return files.map((f) => readFileSync(f, 'utf8')).join('')
}

/** The sha256 fingerprint of the certificate in `file`. */
export function fingerprintOf(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256
}

/** The sha256 fingerprint of the certificate a new TLS connection to 127.0.0.1:`port` is served (verified by `ca`). */
export function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({host: '127.0.0.1', port, ca, servername: 'localhost'}, () => {
      const fp = sock.getPeerCertificate().fingerprint256
      sock.end()
      resolve(fp)
    })
    sock.setTimeout(10_000, () => sock.destroy(new Error('TLS handshake timed out')))
    sock.once('error', reject)
  })
}
