/**
 * maintenance.ts over https: a real etcd 3.4 serving its client URL with TLS and client-certificate authentication
 * (certificates made here with openssl). compact, defragment, listAlarms and disarmAlarm work with the CA, client
 * certificate and key of EtcdTlsOptions; without a client certificate, or trusting another CA, each fails with an
 * EtcdError coded TLS naming the member.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {makeCa, makeCert} from '../helpers/certs.js'
import {freePorts, waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'
import {ETCD_BIN} from '../helpers/etcd.js'
import {rejectsWithCode} from '../helpers/etcd-errors.js'
import {compact, defragment, disarmAlarm, listAlarms} from '../../src/lib/etcd/maintenance.js'
import {EtcdGateway} from '../../src/lib/etcd/gateway.js'

describe('maintenance over https with client-certificate auth (real etcd 3.4)', {timeout: 120_000}, () => {
  let dir: string
  let etcd: ChildProcess
  let url: string
  const f = (name: string): string => path.join(dir, name)
  const tls = () => ({caFile: f('ca.crt'), certFile: f('member.crt'), keyFile: f('member.key')})

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-maint-tls-'))
    makeCa(dir, 'ca')
    makeCert(dir, 'member', 'ca')
    makeCa(dir, 'otherca')
    makeCert(dir, 'rogue', 'otherca')
    const [client, peer] = await freePorts(2)
    url = `https://127.0.0.1:${client}`
    etcd = spawnTracked(
      ETCD_BIN,
      [
        '--name=m0',
        `--data-dir=${f('data')}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=m0=http://127.0.0.1:${peer}`,
        `--cert-file=${f('member.crt')}`,
        `--key-file=${f('member.key')}`,
        `--trusted-ca-file=${f('ca.crt')}`,
        '--client-cert-auth',
      ],
      {stdio: 'ignore'},
    )
    await waitFor('etcd to serve https', () => listAlarms(url, {tls: tls(), timeoutMs: 2000}).catch(() => undefined), 30_000, 200)
  })
  after(async () => {
    if (etcd) await stopTracked(etcd, 'SIGKILL', 5000)
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('compact, defragment, list and disarm work with the client certificate', async () => {
    const gw = new EtcdGateway(url, {tls: tls(), timeoutMs: 5000})
    try {
      const s = await gw.status()
      assert.deepEqual(await listAlarms(url, {tls: tls()}), [])
      await compact(url, s.revision, {tls: tls(), physical: true})
      await defragment(url, {tls: tls()})
      await disarmAlarm(url, {memberId: s.memberId, alarm: 'NOSPACE'}, {tls: tls()})
      assert.ok((await gw.status()).dbSizeInUse! > 0)
    } finally {
      await gw.close()
    }
  })

  it('without a client certificate, or trusting another CA: a TLS error naming the member', async () => {
    const bad = [{caFile: f('ca.crt')}, {caFile: f('otherca.crt'), certFile: f('rogue.crt'), keyFile: f('rogue.key')}]
    for (const t of bad) {
      for (const call of [() => listAlarms(url, {tls: t, timeoutMs: 5000}), () => defragment(url, {tls: t, timeoutMs: 5000})]) {
        const e = await rejectsWithCode(call(), ['TLS'])
        assert.ok(e.message.includes(url), e.message)
      }
    }
  })
})
