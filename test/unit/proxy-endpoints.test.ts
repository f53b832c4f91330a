// Pure helpers of the proxy (src/proxy/endpoints.ts): endpoint selection, change description, argv.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {describeChange, gatewayCommand, gatewayEndpoints, parseListenAddr, sameEndpoints} from '../../src/proxy/endpoints.js'
import {CliError} from '../../src/lib/cli/exit-codes.js'
import {sampleMember} from '../helpers/fake-admin.js'

describe('gatewayEndpoints', () => {
  it('host:port of running members only, sorted and unique', () => {
    const ms = [
      sampleMember('b', 1, {client_url: 'http://10.0.0.2:2379'}),
      sampleMember('a', 0, {client_url: 'http://10.0.0.1:2379'}),
      sampleMember('c', 2, {client_url: 'http://10.0.0.3:2379', state: 'TASK_STAGING'}),
      sampleMember('d', 3, {client_url: 'not a url'}),
      sampleMember('e', 4, {client_url: 'http://10.0.0.1:2379'}),
      sampleMember('f', 5, {client_url: 'https://[::1]:2379,http://10.0.0.9:2379'}),
    ]
    assert.deepEqual(gatewayEndpoints(ms), ['10.0.0.1:2379', '10.0.0.2:2379', '10.0.0.9:2379', '[::1]:2379'])
  })
  it('no running members → no endpoints', () => assert.deepEqual(gatewayEndpoints([sampleMember('a', 0, {state: 'TASK_LOST'})]), []))
})

describe('endpoint sets', () => {
  it('sameEndpoints compares in order', () => {
    assert.equal(sameEndpoints(['a', 'b'], ['a', 'b']), true)
    assert.equal(sameEndpoints(['a', 'b'], ['a']), false)
    assert.equal(sameEndpoints(['a', 'b'], ['a', 'c']), false)
  })
  it('describeChange lists added then removed', () => assert.equal(describeChange(['a', 'b'], ['b', 'c']), '+c -a'))
})

describe('parseListenAddr', () => {
  it('accepts host:port and [v6]:port', () => {
    assert.deepEqual(parseListenAddr('127.0.0.1:23790'), {host: '127.0.0.1', port: 23790, addr: '127.0.0.1:23790'})
    assert.equal(parseListenAddr('[::1]:2379').host, '::1')
    assert.equal(parseListenAddr('localhost:1').port, 1)
  })
  for (const bad of ['127.0.0.1', ':2379', '127.0.0.1:0', '127.0.0.1:70000', 'http://x:1', '']) {
    it(`rejects ${JSON.stringify(bad)} with a usage error`, () => {
      assert.throws(
        () => parseListenAddr(bad),
        (e: unknown) => e instanceof CliError && e.exitCode === 2,
      )
    })
  }
})

describe('gatewayCommand', () => {
  const base = {etcdBin: '/usr/bin/etcd', listenAddr: '127.0.0.1:23790', endpoints: ['h1:2379', 'h2:2379']}
  it('under setpriv --pdeathsig when available', () => {
    assert.deepEqual(gatewayCommand({...base, setpriv: '/usr/bin/setpriv'}), {
      file: '/usr/bin/setpriv',
      args: [
        '--pdeathsig',
        'SIGKILL',
        '--',
        '/usr/bin/etcd',
        'gateway',
        'start',
        '--listen-addr=127.0.0.1:23790',
        '--endpoints=h1:2379,h2:2379',
      ],
    })
  })
  it('plain etcd otherwise', () => {
    assert.deepEqual(gatewayCommand({...base, setpriv: null}), {
      file: '/usr/bin/etcd',
      args: ['gateway', 'start', '--listen-addr=127.0.0.1:23790', '--endpoints=h1:2379,h2:2379'],
    })
  })
})
