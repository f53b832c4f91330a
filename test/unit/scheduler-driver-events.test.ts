/**
 * The driver announces every event it steps (the admin API's view of probes and re-seed steps follows these
 * announcements), also events that produce no action — a steady health answer produces none, and /members
 * used to keep showing the last probe that had changed something (found by the pause-leader scenario).
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import type {MasterDetector} from '../../src/lib/mesos/detector.js'
import {resolveConfig} from '../../src/scheduler/core/config.js'
import type {SchedulerEvent} from '../../src/scheduler/core/events.js'
import {SchedulerDriver} from '../../src/scheduler/driver.js'

const quiet = {debug() {}, info() {}, warn() {}, error() {}}

function driver(): SchedulerDriver {
  return new SchedulerDriver({
    config: resolveConfig({clusterName: 'etcd', clusterSize: 3, executorCommand: {value: './executor'}}),
    frameworkInfo: {user: 'root', name: 'etcd-test'},
    detector: new EventEmitter() as unknown as MasterDetector,
    store: {description: 'memory', load: async () => null, save: async () => undefined},
    log: quiet,
    seed: 1,
  })
}

describe('SchedulerDriver announcements', () => {
  it("announces an event that produces no action (a health answer before state is loaded changes nothing)", async () => {
    const d = driver()
    const seen: SchedulerEvent[] = []
    d.on('stepped', (ev: SchedulerEvent) => seen.push(ev))
    const probes = [{clientUrl: 'http://127.0.0.2:2379', reachable: true, readOk: true, tookMs: 3}]
    d.dispatch({type: 'HealthObserved', probes, seq: 7})
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.type, 'HealthObserved')
    assert.deepEqual((seen[0] as {probes: unknown}).probes, probes)
    await d.stop()
  })
})
