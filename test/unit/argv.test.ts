import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {normaliseArgv} from '../../src/lib/cli/argv.js'

describe('normaliseArgv (Go-style flags)', () => {
  const cases: [string[], string[]][] = [
    [
      ['serve', '-cluster-name=mycluster', '-cluster-size=3'],
      ['serve', '--cluster-name=mycluster', '--cluster-size=3'],
    ],
    [
      ['serve', '-log_dir=/var/log/etcd-mesos'],
      ['serve', '--log-dir=/var/log/etcd-mesos'],
    ],
    [
      ['serve', '-master', 'zk://zk1:2181/mesos'],
      ['serve', '--master', 'zk://zk1:2181/mesos'],
    ],
    [
      ['serve', '--cluster-size', '5'],
      ['serve', '--cluster-size', '5'],
    ],
    [
      ['serve', '-auto-reseed=false'],
      ['serve', '--no-auto-reseed'],
    ],
    [
      ['serve', '--auto-reseed=true'],
      ['serve', '--auto-reseed'],
    ],
    [
      ['serve', '-single-instance-per-slave=0'],
      ['serve', '--no-single-instance-per-slave'],
    ],
    [
      ['serve', '-v', '1'],
      ['serve', '-v', '1'],
    ],
    [
      ['serve', '-h'],
      ['serve', '-h'],
    ],
    [
      ['members', '--', '-not-a-flag'],
      ['members', '--', '-not-a-flag'],
    ],
    [
      ['serve', '-cluster-name=-odd'],
      ['serve', '--cluster-name=-odd'],
    ],
    [
      ['serve', '--master=zk://a:1,b:2/mesos_x'],
      ['serve', '--master=zk://a:1,b:2/mesos_x'],
    ],
    [
      ['serve', '-3'],
      ['serve', '-3'],
    ],
  ]
  for (const [input, expected] of cases) {
    it(`${input.join(' ')} → ${expected.join(' ')}`, () => {
      assert.deepEqual(normaliseArgv(input), expected)
    })
  }
})
