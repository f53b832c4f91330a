/** serve --defrag-threshold / --defrag-interval: resolved into the core's settings; a bad threshold names the flag. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {DefragFlagError, resolveDefragFlags} from '../../src/scheduler/defrag-flags.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'

describe('defrag flags', () => {
  it('takes a fraction or a percentage, 0 (off) up to below 1, and seconds of interval', () => {
    assert.deepEqual(resolveDefragFlags({'defrag-threshold': '0.5', 'defrag-interval': 3600}), {threshold: 0.5, intervalMs: 3_600_000})
    assert.deepEqual(resolveDefragFlags({'defrag-threshold': '25%', 'defrag-interval': 60}), {threshold: 0.25, intervalMs: 60_000})
    assert.equal(resolveDefragFlags({'defrag-threshold': '0', 'defrag-interval': 1}).threshold, 0)
    for (const bad of ['', '1', '100%', '-0.1', 'half', '%', 'NaN']) {
      assert.throws(
        () => resolveDefragFlags({'defrag-threshold': bad, 'defrag-interval': 60}),
        (err: Error) => err instanceof DefragFlagError && /--defrag-threshold/.test(err.message),
        bad,
      )
    }
  })

  it('the core refuses a threshold outside 0..<1 and a backoff max below its min', () => {
    const base = {clusterName: 'etcd', executorCommand: {value: 'x'}}
    assert.equal(resolveConfig(base).defragThreshold, 0.5)
    assert.throws(() => resolveConfig({...base, defragThreshold: 1}), /defragThreshold/)
    assert.throws(() => resolveConfig({...base, nospaceBackoffMinMs: 10_000, nospaceBackoffMaxMs: 5_000}), /nospaceBackoffMaxMs/)
  })
})
