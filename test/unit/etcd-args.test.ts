/** buildEtcdArgs: etcd's argv from a MemberConfig (pure). */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {buildEtcdArgs, adminTlsOf, reseededConfig, resolveEtcdBin} from '../../src/executor/etcd-args.js'
import {MemberConfigError, validateMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'

function cfg(over: Partial<MemberConfig> = {}): MemberConfig {
  return validateMemberConfig({
    version: 1,
    cluster: {name: 'c1', token: 'tok-1'},
    member: {name: 'etcd-2', host: '10.0.0.2', peerPort: 2380, clientPort: 2379},
    initialCluster: [
      {name: 'etcd-1', peerUrl: 'http://10.0.0.1:2380'},
      {name: 'etcd-2', peerUrl: 'http://10.0.0.2:2380'},
      {name: 'etcd-3', peerUrl: 'http://10.0.0.3:2380'},
    ],
    initialClusterState: 'new',
    ...over,
  })
}

describe('buildEtcdArgs', () => {
  it('builds the full argv for an http member with defaults', () => {
    const out = buildEtcdArgs(cfg(), '/sb')
    assert.equal(out.bin, '/usr/bin/etcd')
    assert.equal(out.dataDir, '/sb/etcd_data')
    assert.deepEqual(out.args, [
      '--name=etcd-2',
      '--data-dir=/sb/etcd_data',
      '--listen-peer-urls=http://10.0.0.2:2380',
      '--initial-advertise-peer-urls=http://10.0.0.2:2380',
      '--listen-client-urls=http://10.0.0.2:2379',
      '--advertise-client-urls=http://10.0.0.2:2379',
      '--initial-cluster=etcd-1=http://10.0.0.1:2380,etcd-2=http://10.0.0.2:2380,etcd-3=http://10.0.0.3:2380',
      '--initial-cluster-state=new',
      '--initial-cluster-token=tok-1',
    ])
  })

  it('resolves dataDir and a relative binary against the sandbox, keeps absolute ones', () => {
    assert.equal(buildEtcdArgs(cfg({dataDir: 'data/etcd'}), '/sb').dataDir, '/sb/data/etcd')
    assert.equal(buildEtcdArgs(cfg({dataDir: '/var/lib/etcd'}), '/sb').dataDir, '/var/lib/etcd')
    assert.equal(buildEtcdArgs(cfg({etcdBin: './etcd'}), '/sb').bin, '/sb/etcd')
    assert.equal(buildEtcdArgs(cfg({etcdBin: '/opt/etcd/bin/etcd'}), '/sb').bin, '/opt/etcd/bin/etcd')
    assert.equal(resolveEtcdBin(cfg({etcdBin: 'etcd'}), '/sb'), 'etcd')
  })

  it('keeps paths with spaces as single argv elements', () => {
    const out = buildEtcdArgs(cfg({dataDir: 'my data'}), '/sand box')
    assert.ok(out.args.includes('--data-dir=/sand box/my data'))
    assert.equal(out.args.length, 9)
  })

  it('appends extraArgs last, one element each, and existing state', () => {
    const out = buildEtcdArgs(
      cfg({extraArgs: ['--heartbeat-interval=50', '--quota-backend-bytes=1073741824'], initialClusterState: 'existing'}),
      '/sb',
    )
    assert.deepEqual(out.args.slice(-2), ['--heartbeat-interval=50', '--quota-backend-bytes=1073741824'])
    assert.ok(out.args.includes('--initial-cluster-state=existing'))
  })

  it('rejects extraArgs that override managed flags', () => {
    for (const bad of [
      '--data-dir=/x',
      '--force-new-cluster',
      '--initial-cluster=a=http://x:1',
      '--name=x',
      '-listen-client-urls=http://0.0.0.0:1',
    ]) {
      assert.throws(
        () => buildEtcdArgs({...cfg(), extraArgs: [bad]}, '/sb'),
        (e: unknown) => e instanceof MemberConfigError && /may not set/.test(e.message),
        bad,
      )
    }
  })

  it('with forceNewCluster: the flag and only itself in --initial-cluster', () => {
    const out = buildEtcdArgs(cfg({extraArgs: ['--snapshot-count=1000']}), '/sb', {forceNewCluster: true})
    assert.ok(out.args.includes('--initial-cluster=etcd-2=http://10.0.0.2:2380'))
    assert.equal(out.args.at(-1), '--force-new-cluster')
    assert.equal(out.args.filter((a) => a.startsWith('--initial-cluster=')).length, 1)
    assert.ok(!buildEtcdArgs(cfg(), '/sb').args.includes('--force-new-cluster'))
  })

  it('adds client and peer TLS flags for https', () => {
    const c = cfg({
      scheme: 'https',
      initialCluster: [{name: 'etcd-2', peerUrl: 'https://10.0.0.2:2380'}],
      tls: {
        clientCertFile: '/t/c.pem',
        clientKeyFile: '/t/c.key',
        clientTrustedCaFile: '/t/ca.pem',
        peerCertFile: '/t/p.pem',
        peerKeyFile: '/t/p.key',
      },
    })
    const out = buildEtcdArgs(c, '/sb')
    assert.ok(out.args.includes('--listen-client-urls=https://10.0.0.2:2379'))
    assert.ok(out.args.includes('--listen-peer-urls=https://10.0.0.2:2380'))
    for (const f of [
      '--cert-file=/t/c.pem',
      '--key-file=/t/c.key',
      '--trusted-ca-file=/t/ca.pem',
      '--client-cert-auth',
      '--peer-cert-file=/t/p.pem',
      '--peer-key-file=/t/p.key',
      '--peer-trusted-ca-file=/t/ca.pem',
      '--peer-client-cert-auth',
    ]) {
      assert.ok(out.args.includes(f), f)
    }
    assert.deepEqual(adminTlsOf(c), {caFile: '/t/ca.pem', certFile: '/t/c.pem', keyFile: '/t/c.key'})
    assert.equal(adminTlsOf(cfg()), undefined)
  })

  it('refuses https without certificate files, and a relative sandbox', () => {
    assert.throws(() => buildEtcdArgs(cfg({scheme: 'https'}), '/sb'), /needs tls.clientCertFile/)
    assert.throws(() => buildEtcdArgs(cfg(), 'relative/sb'), /sandbox path must be absolute/)
  })

  it('reseededConfig lists only the member itself', () => {
    const r = reseededConfig(cfg())
    assert.deepEqual(r.initialCluster, [{name: 'etcd-2', peerUrl: 'http://10.0.0.2:2380'}])
    assert.ok(buildEtcdArgs(r, '/sb').args.includes('--initial-cluster=etcd-2=http://10.0.0.2:2380'))
    assert.equal(cfg().initialCluster.length, 3, 'input not mutated')
  })
})
