/**
 * The codec builds the protobuf packages it is asked for, on first use: an executor (executor.Call/Event) never
 * parses the scheduler's and master's protos, serve (scheduler.Call/Event) never the master's. Each case runs in
 * a fresh process (the built types are per process) and lists the packages under mesos.v1 after its round trips.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import path from 'node:path'

const CODEC = path.resolve(import.meta.dirname, '../../src/lib/mesos/codec.ts')

function packagesAfter(script: string): string[] {
  const code = `
    import {encode, decode, mesosProtoRoot} from ${JSON.stringify(CODEC)}
    const round = (name, obj, ct) => decode(name, encode(name, obj, ct), ct)
    ${script}
    const nested = mesosProtoRoot().lookup('mesos.v1').nested
    console.log(JSON.stringify(Object.keys(nested).filter((k) => /^[a-z]/.test(k)).sort()))`
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {encoding: 'utf8', timeout: 60_000})
  return JSON.parse(out.trim().split('\n').pop()!) as string[]
}

const CTS = ['application/json', 'application/x-protobuf']

describe('codec: protobuf packages built on first use', () => {
  it('an executor round trip builds mesos.v1 and mesos.v1.executor only', () => {
    const script = CTS.map(
      (ct) => `
      round('executor.Call', {type: 'SUBSCRIBE', framework_id: {value: 'f'}, executor_id: {value: 'e'}, subscribe: {}}, '${ct}')
      round('executor.Event', {type: 'ACKNOWLEDGED', acknowledged: {task_id: {value: 't'}, uuid: 'AAAA'}}, '${ct}')
      round('mesos.TaskStatus', {task_id: {value: 't'}, state: 'TASK_RUNNING'}, '${ct}')`,
    ).join('\n')
    assert.deepEqual(packagesAfter(script), ['executor'])
  })

  it("a scheduler round trip builds mesos.v1.scheduler, not the master's package; asking for it later adds it", () => {
    const sched = CTS.map(
      (ct) => `
      round('scheduler.Call', {type: 'SUBSCRIBE', subscribe: {framework_info: {user: 'u', name: 'n'}}}, '${ct}')
      round('scheduler.Event', {type: 'HEARTBEAT'}, '${ct}')`,
    ).join('\n')
    assert.deepEqual(packagesAfter(sched), ['scheduler'])
    const later = `${sched}
      const r = round('master.Call', {type: 'GET_HEALTH'}, 'application/x-protobuf')
      if (r.type !== 'GET_HEALTH') throw new Error(JSON.stringify(r))
      const again = round('scheduler.Event', {type: 'HEARTBEAT'}, 'application/x-protobuf')
      if (again.type !== 'HEARTBEAT') throw new Error(JSON.stringify(again))`
    assert.deepEqual(packagesAfter(later), ['master', 'scheduler'])
  })
})
