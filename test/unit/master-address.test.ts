import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {MasterAddressError, masterBaseUrl, parseMasterAddress} from '../../src/lib/mesos/master-address.js'
import {decodeLegacyIp, parseLegacyMasterInfo, parseMasterInfoJson} from '../../src/lib/mesos/detector.js'

describe('parseMasterAddress: good', () => {
  const cases: [string, string, number, 'http' | 'https', string][] = [
    ['127.0.0.1:5050', '127.0.0.1', 5050, 'http', 'http://127.0.0.1:5050'],
    ['mesos-master.example.com:5050', 'mesos-master.example.com', 5050, 'http', 'http://mesos-master.example.com:5050'],
    ['http://m1:5051', 'm1', 5051, 'http', 'http://m1:5051'],
    ['http://m1:5051/', 'm1', 5051, 'http', 'http://m1:5051'],
    ['HTTPS://m1:8443', 'm1', 8443, 'https', 'https://m1:8443'],
    ['https://m1', 'm1', 443, 'https', 'https://m1:443'],
    ['http://m1', 'm1', 80, 'http', 'http://m1:80'],
    ['[::1]:5050', '::1', 5050, 'http', 'http://[::1]:5050'],
    ['http://[fe80::2]:5050', 'fe80::2', 5050, 'http', 'http://[fe80::2]:5050'],
  ]
  for (const [input, host, port, scheme, base] of cases) {
    it(input, () => {
      const a = parseMasterAddress(input)
      assert.deepEqual(a, {host, port, scheme})
      assert.equal(masterBaseUrl(a), base)
    })
  }
})

describe('parseMasterAddress: bad', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['127.0.0.1', /missing port/],
    ['127.0.0.1:', /bad port ""/],
    ['127.0.0.1:0', /bad port 0/],
    ['127.0.0.1:70000', /bad port 70000/],
    ['127.0.0.1:50x', /bad port "50x"/],
    ['http://m1:5050/master', /paths/],
    ['m1:5050/api', /paths/],
    ['http://m1:5050?x=1', /query/],
    ['ftp://m1:21', /unsupported scheme "ftp"/],
    ['zk://h:2181/mesos', /master detector/],
    ['local', /embedded Mesos/],
    ['::1:5050', /more than one ':'/],
    ['[::1:5050', /unterminated IPv6/],
    ['http://user@m1:5050', /user info/],
    [' m1:5050', /whitespace/],
    ['http://:5050', /empty host/],
    ['bad!host:5050', /bad host name/],
  ]
  for (const [input, re] of cases) {
    it(JSON.stringify(input), () => {
      assert.throws(
        () => parseMasterAddress(input),
        (err: unknown) => {
          assert.ok(err instanceof MasterAddressError, `expected MasterAddressError, got ${String(err)}`)
          assert.match(err.message, re)
          return true
        },
      )
    })
  }
})

describe('parseMasterInfoJson (pure)', () => {
  it('prefers address.hostname, then address.ip', () => {
    const withHost = parseMasterInfoJson(
      Buffer.from(
        JSON.stringify({
          id: 'a',
          ip: 16777343,
          port: 5050,
          hostname: 'legacy',
          address: {hostname: 'm1.example', ip: '10.0.0.1', port: 5051},
        }),
      ),
    )
    assert.deepEqual([withHost.host, withHost.port, withHost.scheme], ['m1.example', 5051, 'http'])
    const ipOnly = parseMasterInfoJson(
      Buffer.from(JSON.stringify({id: 'a', ip: 16777343, port: 5050, address: {ip: '10.0.0.1', port: 5051}})),
    )
    assert.deepEqual([ipOnly.host, ipOnly.port], ['10.0.0.1', 5051])
  })
  it('falls back to hostname, then the byte-swapped legacy ip', () => {
    const h = parseMasterInfoJson(Buffer.from(JSON.stringify({id: 'a', ip: 16777343, port: 5050, hostname: 'm2'})))
    assert.deepEqual([h.host, h.port], ['m2', 5050])
    const ip = parseMasterInfoJson(Buffer.from(JSON.stringify({id: 'a', ip: 16777343, port: 5050})))
    assert.deepEqual([ip.host, ip.port], ['127.0.0.1', 5050])
    assert.equal(decodeLegacyIp(0x0a01a8c0), '192.168.1.10')
  })
  it('rejects unusable data with a clear error', () => {
    assert.throws(() => parseMasterInfoJson(Buffer.from('not json')), /not valid JSON/)
    assert.throws(() => parseMasterInfoJson(Buffer.from('[1]')), /not an object/)
    assert.throws(() => parseMasterInfoJson(Buffer.from('{"id":"x","address":{"ip":"1.2.3.4","port":0}}')), /no usable address/)
    assert.throws(() => parseMasterInfoJson(Buffer.from('{"id":"x"}')), MasterAddressError)
  })
  it('reads the pid out of legacy binary MasterInfo', () => {
    const bytes = Buffer.concat([
      Buffer.from([0x0a, 0x03]),
      Buffer.from('abc'),
      Buffer.from([0x22, 0x15]),
      Buffer.from('master@10.1.2.3:5050'),
      Buffer.from([0x00]),
    ])
    const m = parseLegacyMasterInfo(bytes)
    assert.deepEqual([m.host, m.port], ['10.1.2.3', 5050])
    assert.throws(() => parseLegacyMasterInfo(Buffer.from([1, 2, 3])), /no master@host:port/)
  })
})
