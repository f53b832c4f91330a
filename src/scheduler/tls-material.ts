/**
 * The member TLS files serve ships to the executors (issue 16, certificate rotation): read from serve's
 * --etcd-*-file flags, checked (tls-trust.ts: parse, validity, key match, own CA trusts own certificate), and
 * summarised as a digest (what a member's spec records and a rollout compares) and the public part (certificates and
 * CAs, never keys: persisted in the task records so a later rotation can check trust against what members run).
 * Read at start and again on POST /rollout: files replaced in place are picked up there.
 */
import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {MAX_TLS_PEM_BYTES, MEMBER_TLS_KEYS, type MemberTls, type MemberTlsContent} from '../lib/member-config.js'
import {tlsFilesProblems} from '../lib/etcd/tls-trust.js'

export interface TlsMaterial {
  /** Every file's PEM text by MemberTls key (keys included): shipped in MemberConfig.tlsContent, never persisted. */
  content: MemberTlsContent
  /** Certificates and CAs only (no keys). */
  certs: MemberTlsContent
  /** sha256 over every file's content (keys included), hex. */
  digest: string
}

export class TlsMaterialError extends Error {}

const isKey = (k: string): boolean => k.endsWith('KeyFile')

/** Reads and checks the member TLS files; throws TlsMaterialError naming each problem. */
export async function readTlsMaterial(files: MemberTls, now: number = Date.now()): Promise<TlsMaterial> {
  const content: MemberTlsContent = {}
  for (const k of MEMBER_TLS_KEYS) {
    const f = files[k]
    if (f === undefined) continue
    let text: string
    try {
      text = await readFile(f, 'utf8')
    } catch (err) {
      throw new TlsMaterialError(`etcd TLS file ${f} is not readable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    if (Buffer.byteLength(text) > MAX_TLS_PEM_BYTES)
      throw new TlsMaterialError(`etcd TLS file ${f} is larger than ${MAX_TLS_PEM_BYTES} bytes`)
    if (!text.includes('-----BEGIN ')) throw new TlsMaterialError(`etcd TLS file ${f} is not PEM`)
    content[k] = text
  }
  const problems = tlsFilesProblems(content, now)
  if (problems.length > 0) throw new TlsMaterialError(`etcd TLS files: ${problems.join('; ')}`)
  const certs: MemberTlsContent = {}
  const h = createHash('sha256')
  for (const k of Object.keys(content).sort() as (keyof MemberTlsContent)[]) {
    h.update(`${k}\0${content[k]}\0`)
    if (!isKey(k)) certs[k] = content[k]
  }
  return {content, certs, digest: h.digest('hex')}
}
