/**
 * The files of a client TLS configuration (EtcdTlsOptions), read for a client: the etcd3 one (admin.ts) and the
 * JSON-gateway one (gateway.ts). A file that cannot be read is an Error naming what it was and why.
 */
import {readFileSync} from 'node:fs'

export interface EtcdTlsOptions {
  caFile?: string
  certFile?: string
  keyFile?: string
}

export function readTlsFiles(tls: EtcdTlsOptions): {ca?: Buffer; cert?: Buffer; key?: Buffer} {
  const read = (f: string | undefined, what: string): Buffer | undefined => {
    if (f === undefined) return undefined
    try {
      return readFileSync(f)
    } catch (err) {
      throw new Error(`cannot read TLS ${what} file ${f}: ${(err as Error).message}`)
    }
  }
  const [ca, cert, key] = [read(tls.caFile, 'CA'), read(tls.certFile, 'certificate'), read(tls.keyFile, 'key')]
  return {...(ca ? {ca} : {}), ...(cert ? {cert} : {}), ...(key ? {key} : {})}
}
