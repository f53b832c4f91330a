/**
 * Writes the TLS files the scheduler shipped in the MemberConfig (`tlsContent`) where `withShippedTls` pointed etcd
 * (`<sandbox>/tls/<key>.pem`): the directory 0700, each file 0600, written to a temporary name and renamed so etcd
 * never reads half a file. Idempotent: called before every etcd start of the task.
 */
import {mkdirSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import type {MemberConfig, MemberTlsKey} from '../lib/member-config.js'

export function writeShippedTls(cfg: MemberConfig): void {
  for (const [k, pem] of Object.entries(cfg.tlsContent ?? {}) as [MemberTlsKey, string][]) {
    const file = cfg.tls?.[k]
    if (!file) throw new Error(`shipped TLS file ${k} has no path (withShippedTls was not applied)`)
    mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
    const tmp = `${file}.tmp-${process.pid}`
    writeFileSync(tmp, pem, {mode: 0o600})
    renameSync(tmp, file)
  }
}
