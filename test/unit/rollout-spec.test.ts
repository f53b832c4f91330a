import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {desiredSpec, specDiff} from '../../src/scheduler/core/rollout-spec.js'

const cfg = (extra: Parameters<typeof resolveConfig>[0] extends infer T ? Partial<T> : never = {}) =>
  resolveConfig({clusterName: 'c', executorCommand: {value: '/bin/true', shell: false}, ...extra} as Parameters<typeof resolveConfig>[0])

describe('rollout member spec', () => {
  it('a changed backend quota or auto-compaction is a difference to roll (issue 17: the quota applied member by member)', () => {
    const running = desiredSpec(cfg({quotaBackendBytes: 2 ** 30}))
    assert.deepEqual(specDiff(running, desiredSpec(cfg({quotaBackendBytes: 2 ** 30}))), [])
    assert.deepEqual(specDiff(running, desiredSpec(cfg({quotaBackendBytes: 2 ** 31}))), ['quotaBackendBytes'])
    assert.deepEqual(specDiff(running, desiredSpec(cfg())), ['quotaBackendBytes'])
    const periodic = desiredSpec(cfg({autoCompaction: {mode: 'periodic', retention: '1h'}}))
    assert.deepEqual(specDiff(periodic, desiredSpec(cfg({autoCompaction: {mode: 'revision', retention: '10000'}}))), ['autoCompaction'])
  })

  it('a spec recorded before these fields existed is not rolled for them', () => {
    const old = desiredSpec(cfg()) as unknown as Record<string, unknown>
    delete old.quotaBackendBytes
    delete old.autoCompaction
    assert.deepEqual(specDiff(old as unknown as ReturnType<typeof desiredSpec>, desiredSpec(cfg({quotaBackendBytes: 2 ** 30}))), [])
  })
})
