/** The /stats document the admin view builds has exactly the fields of the one definition (lib/stats.ts) the CLI and the tests read. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {StatsDocument} from '../../src/lib/stats.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import {initialState} from '../../src/scheduler/core/persist.js'
import {statsView} from '../../src/scheduler/views.js'

/** Every field of StatsDocument, no other (the compiler holds this list to the type). */
const FIELDS = {
  running_servers: true,
  launched_servers: true,
  failed_servers: true,
  cluster_livelocks: true,
  cluster_reseeds: true,
  healthy: true,
  healthy_since: true,
  unhealthy_since: true,
  last_livelock_at: true,
  last_reseed_at: true,
  last_launch_at: true,
  last_failure_at: true,
  stats_since: true,
  volumes_released: true,
  leftovers_cleaned: true,
  defrags: true,
  defrag_failures: true,
  nospace_episodes: true,
  nospace: true,
  cluster_name: true,
  cluster_size: true,
  mode: true,
  livelocked: true,
  backup: true,
  restore: true,
  rollout: true,
} satisfies Record<keyof StatsDocument, true>

describe('/stats shape', () => {
  it('statsView builds a StatsDocument with exactly its fields', () => {
    const s = initialState(resolveConfig({clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './executor'}}), 1)
    const doc: StatsDocument = statsView(s)
    assert.deepEqual(Object.keys(doc).sort(), Object.keys(FIELDS).sort())
    assert.equal(doc.cluster_name, 'etcd')
    assert.equal(doc.cluster_size, 3)
    assert.equal(typeof doc.mode, 'string')
  })
})
