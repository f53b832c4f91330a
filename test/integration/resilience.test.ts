/**
 * The SHORT resilience run for CI (issue 6): the most important scenarios of test/resilience/scenarios.ts,
 * each once, each on a fresh cluster (in-process local Mesos, `serve` subprocess, real etcd and ZooKeeper)
 * with the writer running through the fault and the full checker after it: no acknowledged write lost,
 * same KV hash on every member, 3 started voting members, /stats consistent with the fault.
 * The full matrix, repetitions and the soak: `node --import tsx scripts/resilience.ts` (writes RESILIENCE.md).
 * Run: node --import tsx --test test/integration/resilience.test.ts   (needs a current build: dist/).
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {RUN_JS} from '../helpers/serve.js'
import {destroyZooKeeper, startZooKeeper, type ZkServer} from '../helpers/zookeeper.js'
import type {ScenarioResult, Shared} from '../resilience/harness.js'
import {runScenario} from '../resilience/run.js'
import {scenario} from '../resilience/scenarios.js'

let zk: ZkServer | undefined
let shared: Shared

before(async () => {
  if (!fs.existsSync(path.join(path.dirname(RUN_JS), '..', 'dist', 'commands', 'serve.js'))) {
    throw new Error('dist/ is missing: build first (npx tsc -p tsconfig.json && npx oclif manifest)')
  }
  zk = await startZooKeeper()
  shared = {zk, logDir: path.join(os.tmpdir(), 'resilience-logs')}
})
after(async () => {
  await destroyZooKeeper(zk)
})

function assertRow(r: ScenarioResult): void {
  const detail = `\nfailures: ${r.failures.join('\n  ')}\nnotes: ${r.notes.join('\n  ')}`
  assert.equal(r.writesLost, 0, `no acknowledged write lost${detail}`)
  assert.ok(r.writesAcked > 0, `the writer got acknowledgements${detail}`)
  assert.deepEqual(r.failures, [], `every checker rule holds${detail}`)
  assert.equal(r.ok, true)
}

describe('resilience (short CI version)', {timeout: 600_000}, () => {
  for (const name of [
    'kill-follower',
    'kill-leader',
    'kill-quorum-keep-data',
    'lose-quorum-and-data',
    'kill-scheduler-after-member-add',
    'pause-leader',
    'scheduler-sees-one-member',
  ]) {
    it(name, {timeout: 180_000}, async () => {
      const r = await runScenario(scenario(name), shared)
      process.stderr.write(
        `${name}: ok=${r.ok} recovery=${r.recoveryMs} ms acked=${r.writesAcked} lost=${r.writesLost} lostByReseed=${r.lostByReseed} longestUnavailable=${r.longestUnavailableMs} ms\n`,
      )
      assertRow(r)
    })
  }
})
