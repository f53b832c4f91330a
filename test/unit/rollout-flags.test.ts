/** serve's rollout flags (rollout-flags.ts) and the target version read from `<etcd-bin> --version`. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {detectEtcdVersion, resolveRolloutFlags, RolloutFlagError} from '../../src/scheduler/rollout-flags.js'
import {ETCD34_BIN} from '../helpers/etcd-versions.js'

describe('serve rollout flags', () => {
  it('resolves the defaults, --no-auto-rollout, the timeout and a normalised --etcd-version; a bad version names the flag', () => {
    assert.deepEqual(resolveRolloutFlags({'auto-rollout': true, 'rollout-member-timeout': 300}), {
      autoRollout: true,
      memberTimeoutMs: 300_000,
    })
    assert.deepEqual(resolveRolloutFlags({'auto-rollout': false, 'rollout-member-timeout': 10, 'etcd-version': 'v3.5.16'}), {
      autoRollout: false,
      memberTimeoutMs: 10_000,
      etcdVersion: '3.5.16',
    })
    assert.throws(
      () => resolveRolloutFlags({'auto-rollout': true, 'rollout-member-timeout': 300, 'etcd-version': '3.5'}),
      (e: Error) => e instanceof RolloutFlagError && /--etcd-version "3\.5" is not an etcd version/.test(e.message),
    )
  })

  it("reads Debian's etcd version; a missing binary is an error, not a throw", async () => {
    const v = await detectEtcdVersion(ETCD34_BIN)
    assert.ok('version' in v, JSON.stringify(v))
    assert.match(v.version, /^3\.4\.\d+$/)
    const missing = await detectEtcdVersion('/nonexistent/etcd')
    assert.ok('error' in missing && /ENOENT/.test(missing.error), JSON.stringify(missing))
  })
})
