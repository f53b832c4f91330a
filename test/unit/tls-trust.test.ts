/**
 * Certificate rotation's checks (lib/etcd/tls-trust.ts) on certificates openssl makes here: the files on their own
 * (key match, own CA) and the trust between the files members run and the files they are rolled to. The three-step
 * CA replacement passes each step; replacing the CA and the certificates in one step is refused.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {rotationProblem, rotationProblemAll, tlsFilesProblems} from '../../src/lib/etcd/tls-trust.js'
import {parseMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import {withShippedTls} from '../../src/executor/etcd-args.js'
import {writeShippedTls} from '../../src/executor/tls-files.js'
import {makeCa, makeCert, pem} from '../helpers/certs.js'

let dir: string
const f = (n: string): string => readFileSync(path.join(dir, n), 'utf8')
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tls-trust-'))
  makeCa(dir, 'caA')
  makeCa(dir, 'caB')
  makeCert(dir, 'memberA', 'caA')
  makeCert(dir, 'memberB', 'caB')
})
after(() => rmSync(dir, {recursive: true, force: true}))

const NOW = Date.now()
const set = (cert: string, key: string, ca: string) => ({clientCertFile: cert, clientKeyFile: key, clientTrustedCaFile: ca})

describe('tlsFilesProblems: one set of files', () => {
  it('accepts a certificate with its key and its CA', () => {
    assert.deepEqual(tlsFilesProblems(set(f('memberA.crt'), f('memberA.key'), f('caA.crt')), NOW), [])
  })
  it('names a certificate whose key is another one, and a CA that did not issue the certificate', () => {
    const p = tlsFilesProblems(set(f('memberA.crt'), f('memberB.key'), f('caB.crt')), NOW)
    assert.equal(p.length, 2, p.join('\n'))
    assert.match(p[0]!, /--etcd-cert-file "memberA" .* does not match its key file/)
    assert.match(p[1]!, /--etcd-trusted-ca-file does not trust the members' own certificate "memberA"/)
  })
  it('names an expired certificate and one that does not parse', () => {
    const later = NOW + 3 * 86_400_000
    assert.match(tlsFilesProblems(set(f('memberA.crt'), f('memberA.key'), f('caA.crt')), later)[0]!, /expired on/)
    const bad = tlsFilesProblems({clientCertFile: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'}, NOW)
    assert.match(bad[0]!, /--etcd-cert-file: certificate 1 does not parse/)
  })
})

describe('rotationProblem: rolled and not-yet-rolled members must trust each other', () => {
  const A = () => ({clientCertFile: f('memberA.crt'), clientTrustedCaFile: f('caA.crt')})
  const bundle = () => pem(path.join(dir, 'caA.crt'), path.join(dir, 'caB.crt'))
  it('refuses replacing the CA and the certificates in one step, saying how to do it', () => {
    const p = rotationProblem(A(), {clientCertFile: f('memberB.crt'), clientTrustedCaFile: f('caB.crt')})
    assert.ok(p)
    assert.match(p, /members not yet rolled trust only their current CA file, which did not issue the new certificate "memberB"/)
    assert.match(p, /the new CA file does not trust the certificate the members not yet rolled present, "memberA"/)
    assert.match(p, /three rollouts/)
  })
  it('passes each step of the three-step replacement (bundle, new certificates, new CA alone)', () => {
    const step1 = {clientCertFile: f('memberA.crt'), clientTrustedCaFile: bundle()}
    const step2 = {clientCertFile: f('memberB.crt'), clientTrustedCaFile: bundle()}
    const step3 = {clientCertFile: f('memberB.crt'), clientTrustedCaFile: f('caB.crt')}
    assert.equal(rotationProblem(A(), step1, f('memberA.crt')), null)
    assert.equal(rotationProblem(step1, step2, f('memberB.crt')), null)
    assert.equal(rotationProblem(step2, step3, f('memberB.crt')), null)
    // A member still on the old CA alone (step 1 not finished everywhere) blocks step 2.
    assert.match(rotationProblemAll([A(), step1], step2, f('memberA.crt')) ?? '', /did not issue the new certificate "memberB"/)
    assert.equal(rotationProblemAll([step1], step2, f('memberA.crt')), null)
  })
  it("refuses a CA the scheduler's own client certificate is not trusted by", () => {
    const step2 = {clientCertFile: f('memberB.crt'), clientTrustedCaFile: bundle()}
    const step3 = {clientCertFile: f('memberB.crt'), clientTrustedCaFile: f('caB.crt')}
    assert.match(
      rotationProblem(step2, step3, f('memberA.crt')) ?? '',
      /the rolled members would refuse the scheduler's client certificate "memberA"/,
    )
  })
  it('checks the target against itself too (rotationProblemAll)', () => {
    assert.match(rotationProblemAll([], {clientCertFile: f('memberB.crt'), clientTrustedCaFile: f('caA.crt')}) ?? '', /did not issue/)
  })
})

describe('shipped TLS files (MemberConfig.tlsContent) in the executor', () => {
  const base = {
    version: 1,
    cluster: {name: 'c', token: 't'},
    member: {name: 'c-1', host: '127.0.0.1', peerPort: 1, clientPort: 2},
    initialCluster: [{name: 'c-1', peerUrl: 'https://127.0.0.1:1'}],
    initialClusterState: 'new',
    scheme: 'https',
    tls: {clientCertFile: '/on/serve/member.crt', clientKeyFile: '/on/serve/member.key'},
  }
  const parse = (o: unknown): MemberConfig => parseMemberConfig(Buffer.from(JSON.stringify(o)).toString('base64'))
  it('refuses unknown keys, non-PEM text and oversized files', () => {
    assert.throws(() => parse({...base, tlsContent: {bogusFile: '-----BEGIN X'}}), /tlsContent.bogusFile is not a TLS file/)
    assert.throws(() => parse({...base, tlsContent: {clientCertFile: 'hello'}}), /tlsContent.clientCertFile must be PEM text/)
    assert.throws(() => parse({...base, tlsContent: {clientCertFile: `-----BEGIN ${'A'.repeat(300_000)}`}}), /larger than/)
  })
  it('points etcd at <sandbox>/tls/<key>.pem and writes them there, 0600', () => {
    const cfg = withShippedTls(parse({...base, tlsContent: {clientCertFile: f('memberA.crt'), clientKeyFile: f('memberA.key')}}), dir)
    assert.equal(cfg.tls?.clientCertFile, path.join(dir, 'tls', 'clientCertFile.pem'))
    assert.equal(cfg.tls?.clientKeyFile, path.join(dir, 'tls', 'clientKeyFile.pem'))
    mkdirSync(path.join(dir, 'tls'), {recursive: true})
    writeShippedTls(cfg)
    assert.equal(readFileSync(cfg.tls!.clientKeyFile!, 'utf8'), f('memberA.key'))
    assert.equal(statSync(cfg.tls!.clientKeyFile!).mode & 0o777, 0o600)
    const plain = withShippedTls(parse(base), dir)
    assert.equal(plain.tls?.clientCertFile, '/on/serve/member.crt')
  })
})
