/**
 * cert-views.ts: etcd_mesos_certificate_expiry_timestamp_seconds from real certificates (openssl, test/helpers/certs.ts)
 * as the running members run them: the earliest notAfter over the members and over a CA bundle's certificates;
 * the admin certificate's; no sample for a file nobody runs or that does not parse.
 */
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {certificateMetricFamily} from '../../src/scheduler/cert-views.js'
import {makeCa, makeCert, pem} from '../helpers/certs.js'

const notAfterSec = (file: string) => Math.floor(Date.parse(new X509Certificate(readFileSync(file)).validTo) / 1000)

describe('certificate expiry view', () => {
  let dir: string
  const f = (n: string) => path.join(dir, n)
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cert-views-'))
    makeCa(dir, 'ca-old', 3)
    makeCa(dir, 'ca-new', 30)
    makeCert(dir, 'm-short', 'ca-old', 2)
    makeCert(dir, 'm-long', 'ca-new', 20)
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('the earliest notAfter over the running members and over the certificates of a CA bundle', () => {
    const bundle = pem(f('ca-new.crt'), f('ca-old.crt'))
    const running = [
      {clientCertFile: pem(f('m-long.crt')), clientTrustedCaFile: bundle, peerCertFile: pem(f('m-long.crt'))},
      {clientCertFile: pem(f('m-short.crt')), clientTrustedCaFile: pem(f('ca-new.crt')), peerCertFile: pem(f('m-long.crt'))},
    ]
    const fam = certificateMetricFamily('c1', running, Date.parse('2027-01-01T00:00:00.900Z'))
    assert.equal(fam.name, 'etcd_mesos_certificate_expiry_timestamp_seconds')
    assert.deepEqual(fam.labelNames, ['cluster', 'certificate'])
    assert.deepEqual(fam.samples, [
      {labels: {cluster: 'c1', certificate: 'admin'}, value: Date.parse('2027-01-01T00:00:00Z') / 1000},
      {labels: {cluster: 'c1', certificate: 'client'}, value: notAfterSec(f('m-short.crt'))},
      {labels: {cluster: 'c1', certificate: 'client_ca'}, value: notAfterSec(f('ca-old.crt'))},
      {labels: {cluster: 'c1', certificate: 'peer'}, value: notAfterSec(f('m-long.crt'))},
    ])
    assert.ok(notAfterSec(f('m-short.crt')) < notAfterSec(f('m-long.crt')))
  })

  it('no sample without TLS, for a file that does not parse, or without an admin certificate', () => {
    assert.deepEqual(certificateMetricFamily('c1', [], null).samples, [])
    assert.deepEqual(certificateMetricFamily('c1', [{}, {}], null).samples, [])
    const fam = certificateMetricFamily('c1', [{clientCertFile: 'not a certificate', peerTrustedCaFile: pem(f('ca-new.crt'))}], null)
    assert.deepEqual(fam.samples, [{labels: {cluster: 'c1', certificate: 'peer_ca'}, value: notAfterSec(f('ca-new.crt'))}])
  })
})
