/**
 * The local agent's checkpointed resources and persistent volumes (issue 14), driven through AgentPort with a
 * fake master, against what a real Mesos 1.12 agent did in fixture 13 (README surprises 36–41): volume
 * directories under `<work dir>/volumes/roles/<role>/<id>`, the checkpointed total surviving an agent restart,
 * the sandbox symlink while a task runs (removed when it ends, the data kept), `/files/read` through it (400
 * while running, 404 after), and a launch naming a volume the agent does not have.
 */
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {LocalAgent, type LocalAgentOptions} from '../../src/mesos-local/agent/local-agent.js'
import type {AgentPort, MasterPort} from '../../src/mesos-local/link.js'
import {parseResources} from '../../src/mesos-local/resources.js'
import type {ExecutorInfo, FrameworkID, FrameworkInfo, Resource, TaskInfo, TaskStatus} from '../../src/lib/mesos/types.js'
import {waitFor} from '../helpers/ports.js'

const FIXTURE = new URL('../fixtures/real-mesos/13-reservations-volumes.json', import.meta.url)
const EXECUTOR_SCRIPT = fileURLToPath(new URL('fixtures/mesos-local-test-executor.mjs', import.meta.url))

class FakeMaster implements MasterPort {
  updates: {fid: string; status: TaskStatus}[] = []
  exited: {fid: string; eid: string; waitStatus: number}[] = []
  registrations = 0
  agent: AgentPort | undefined
  registerAgent(agent: AgentPort): {agentId: {value: string}} {
    this.agent = agent
    this.registrations++
    return {agentId: {value: agent.id || 'vol-agent-S0'}}
  }
  agentDisconnected(): void {}
  statusUpdate(_agentId: string, fid: string, status: TaskStatus): void {
    this.updates.push({fid, status})
    const {task_id: tid, uuid} = status
    if (uuid) setImmediate(() => this.agent?.acknowledge(fid, tid, uuid))
  }
  executorExited(_agentId: string, fid: string, eid: {value: string}, waitStatus: number): void {
    this.exited.push({fid, eid: eid.value, waitStatus})
  }
  frameworkMessage(): void {}
  resourcesFreed(): void {}
  states(task: string): string[] {
    return this.updates.filter((u) => u.status.task_id.value === task).map((u) => u.status.state)
  }
}

const agents: LocalAgent[] = []
const dirs: string[] = []
after(async () => {
  for (const a of agents.reverse()) await a.stop({kill: false})
  for (const d of dirs) fs.rmSync(d, {recursive: true, force: true})
})

const IP = '127.0.0.41'
const logs: string[] = []
function newAgent(workDir: string, master: FakeMaster): LocalAgent {
  const opts: LocalAgentOptions = {
    log: (l) => logs.push(l),
    index: 40,
    ip: IP,
    hostname: IP,
    port: 0,
    workDir,
    resources: parseResources('cpus:2;mem:1024;disk:1000;ports:[31000-31100]'),
    master: () => master,
  }
  const agent = new LocalAgent(opts)
  agents.push(agent)
  return agent
}

async function startAgent(): Promise<{agent: LocalAgent; master: FakeMaster; workDir: string}> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesos-local-volumes-'))
  dirs.push(workDir)
  const master = new FakeMaster()
  const agent = newAgent(workDir, master)
  await agent.start()
  await waitFor('agent registration', () => agent.id !== '')
  return {agent, master, workDir}
}

const RESERVATION = [{type: 'DYNAMIC', role: 'etcd-pv', principal: 'fixture-pv'}]
const reserved = (name: string, value: number): Resource => ({name, type: 'SCALAR', scalar: {value}, reservations: RESERVATION})
const volume = (id: string, containerPath = 'data', size = 64): Resource => ({
  ...reserved('disk', size),
  disk: {persistence: {id, principal: 'fixture-pv'}, volume: {mode: 'RW', container_path: containerPath}},
})
const unreserved = (name: string, value: number): Resource => ({name, type: 'SCALAR', scalar: {value}})
/** The agent's total after RESERVE (cpus 0.1, mem 32, disk 64) + CREATE, in the refinement format. */
const totalWith = (...volumes: Resource[]): Resource[] => [
  {name: 'ports', type: 'RANGES', ranges: {range: [{begin: 31000, end: 31100}]}},
  unreserved('cpus', 1.9),
  unreserved('mem', 992),
  unreserved('disk', 1000 - 64 * volumes.length),
  reserved('cpus', 0.1),
  reserved('mem', 32),
  ...volumes,
]
const allocated = (r: Resource): Resource => ({...r, allocation_info: {role: 'etcd-pv'}})

const framework: FrameworkInfo & {id: FrameworkID} = {
  user: 'root',
  name: 'volumes-test',
  id: {value: 'fw-pv'},
  checkpoint: true,
  roles: ['etcd-pv'],
  principal: 'fixture-pv',
  capabilities: [{type: 'MULTI_ROLE'}, {type: 'RESERVATION_REFINEMENT'}],
}

/** A task for a custom executor (no command) on reserved cpus/mem and the volume `vol`. */
function commandTaskWithout(id: string, agentId: string, vol: Resource): TaskInfo {
  const {command: _c, ...rest} = commandTask(id, agentId, '', vol)
  return rest
}

function commandTask(id: string, agentId: string, command: string, vol = volume('vol-1')): TaskInfo {
  return {
    name: id,
    task_id: {value: id},
    agent_id: {value: agentId},
    resources: [allocated(reserved('cpus', 0.1)), allocated(reserved('mem', 32)), allocated(vol)],
    command: {value: command},
  }
}

async function filesRead(agent: LocalAgent, p: string): Promise<{status: number; text: string}> {
  const r = await fetch(`http://${agent.endpoint}/files/read?path=${encodeURIComponent(p)}&offset=0&length=65536`)
  return {status: r.status, text: await r.text()}
}

const sandboxOf = (workDir: string, agentId: string, eid: string): string => {
  const runs = path.join(workDir, 'slaves', agentId, 'frameworks', 'fw-pv', 'executors', eid, 'runs')
  return path.join(runs, fs.readdirSync(runs).find((d) => d !== 'latest')!)
}

describe('LocalAgent: checkpointed resources and persistent volumes', {timeout: 180_000}, () => {
  it('checkpointResources creates and removes volume directories; the total survives an agent restart', {timeout: 60_000}, async () => {
    const {agent, master, workDir} = await startAgent()
    const port = agent.port
    assert.ok(port.checkpointResources, 'the agent implements checkpointResources')
    const vol1 = path.join(workDir, 'volumes', 'roles', 'etcd-pv', 'vol-1')
    const vol2 = path.join(workDir, 'volumes', 'roles', 'etcd-pv', 'vol-2')
    port.checkpointResources(totalWith(volume('vol-1'), volume('vol-2', 'other')))
    assert.ok(fs.statSync(vol1).isDirectory() && fs.statSync(vol2).isDirectory())
    fs.writeFileSync(path.join(vol1, 'kept'), 'x')
    port.checkpointResources(totalWith(volume('vol-1')))
    assert.equal(fs.existsSync(vol2), false, 'a volume no longer in the total loses its directory')
    assert.equal(fs.readFileSync(path.join(vol1, 'kept'), 'utf8'), 'x', 'an existing volume is left as it is')
    assert.deepEqual(port.totalResources(), totalWith(volume('vol-1')))
    // The agent's /state shows them per role, like the master's /master/slaves in fixture 13.
    const state = (await (await fetch(`http://${agent.endpoint}/state`)).json()) as Record<string, unknown>
    assert.deepEqual(state.reserved_resources, {'etcd-pv': {disk: 64, mem: 32, gpus: 0, cpus: 0.1}})
    assert.deepEqual(state.unreserved_resources, {disk: 936, mem: 992, gpus: 0, cpus: 1.9, ports: '[31000-31100]'})
    assert.deepEqual((state.reserved_resources_full as Record<string, Resource[]>)['etcd-pv']![2], {
      name: 'disk',
      type: 'SCALAR',
      scalar: {value: 64},
      role: 'etcd-pv',
      reservation: {principal: 'fixture-pv'},
      reservations: RESERVATION,
      disk: {persistence: {id: 'vol-1', principal: 'fixture-pv'}, volume: {mode: 'RW', container_path: 'data'}},
    })

    // Crash and restart on the same work dir (a new agent object, as a new process would be).
    const id = agent.id
    await agent.stop({kill: true})
    const again = newAgent(workDir, master)
    await again.start()
    await waitFor('re-registration', () => master.registrations === 2)
    assert.equal(again.id, id)
    assert.deepEqual(again.port.totalResources(), totalWith(volume('vol-1')), 'the master sees the reservations and volume again')
    assert.equal(fs.readFileSync(path.join(vol1, 'kept'), 'utf8'), 'x')

    // A clean stop keeps them too (Mesos keeps meta/resources apart from the agent's own checkpoint).
    await again.stop({kill: false})
    const third = newAgent(workDir, master)
    await third.start()
    assert.deepEqual(third.port.totalResources(), totalWith(volume('vol-1')))
    third.port.checkpointResources(totalWith())
    assert.equal(fs.existsSync(vol1), false, 'DESTROY removes the volume directory')
  })

  it('a command task writes into its volume, a second task reads it back; the link goes when a task ends, the data stays', {
    timeout: 90_000,
  }, async () => {
    const {agent, master, workDir} = await startAgent()
    agent.port.checkpointResources(totalWith(volume('vol-1')))
    const volDir = path.join(workDir, 'volumes', 'roles', 'etcd-pv', 'vol-1')
    agent.port.launch(framework, commandTask('pv-writer', agent.id, 'echo hello > data/f && sleep 1000'))
    await waitFor('pv-writer running', () => master.states('pv-writer').includes('TASK_RUNNING'), 30_000)
    await waitFor('data/f written', () => fs.existsSync(path.join(volDir, 'f')), 30_000)
    const writerBox = sandboxOf(workDir, agent.id, 'pv-writer')
    assert.equal(fs.readlinkSync(path.join(writerBox, 'data')), volDir, 'the sandbox path is a symlink to the volume')
    assert.equal(fs.readFileSync(path.join(volDir, 'f'), 'utf8'), 'hello\n')

    const virtual = '/frameworks/fw-pv/executors/pv-writer/runs/latest'
    assert.deepEqual(await filesRead(agent, `${virtual}/stdout`), {status: 200, text: '{"data":"","offset":0}'})
    assert.deepEqual(await filesRead(agent, `${virtual}/data/f`), {status: 400, text: `'${writerBox}/data/f' is inaccessible.\n`})

    // Mesos files.cpp answers for the rest: a directory, a path leaving the sandbox, no path, an unknown path.
    assert.deepEqual(await filesRead(agent, virtual), {status: 400, text: 'Cannot read a directory.\n'})
    const outside = '../../../../../../../../meta/agent.json' // check-paths: allow (a traversal under test)
    assert.deepEqual(await filesRead(agent, `${virtual}/${outside}`), {
      status: 400,
      text: `'${path.join(writerBox, outside)}' is inaccessible.\n`,
    })
    const noPath = await fetch(`http://${agent.endpoint}/files/read`)
    assert.deepEqual([noPath.status, await noPath.text()], [400, "Expecting 'path=value' in query.\n"])
    assert.deepEqual(await filesRead(agent, '/frameworks/fw-pv/executors/nobody/runs/latest/stdout'), {status: 404, text: ''})

    agent.port.kill('fw-pv', {value: 'pv-writer'})
    await waitFor('pv-writer killed', () => master.states('pv-writer').includes('TASK_KILLED'), 30_000)
    await waitFor('link removed', () => !isLink(path.join(writerBox, 'data')))
    assert.equal(fs.readFileSync(path.join(volDir, 'f'), 'utf8'), 'hello\n', 'the data stays in the volume')
    assert.deepEqual(await filesRead(agent, `${virtual}/data/f`), {status: 404, text: ''})

    agent.port.launch(framework, commandTask('pv-reader', agent.id, 'cat data/f'))
    await waitFor('pv-reader finished', () => master.states('pv-reader').includes('TASK_FINISHED'), 30_000)
    const reader = '/frameworks/fw-pv/executors/pv-reader/runs/latest'
    assert.deepEqual(await filesRead(agent, `${reader}/stdout`), {status: 200, text: '{"data":"hello\\n","offset":0}'})
    assert.deepEqual(await filesRead(agent, `${reader}/data/f`), {status: 404, text: ''})
    assert.equal(isLink(path.join(sandboxOf(workDir, agent.id, 'pv-reader'), 'data')), false)
    assert.ok(fs.statSync(volDir).isDirectory(), 'the volume directory is kept')

    // After an agent restart a third task reads the data again.
    const id = agent.id
    await agent.stop({kill: true})
    const again = newAgent(workDir, master)
    await again.start()
    await waitFor('re-registration', () => again.id === id && master.registrations === 2)
    again.port.launch(framework, commandTask('pv-reader-after-restart', id, 'cat data/f'))
    await waitFor('third task finished', () => master.states('pv-reader-after-restart').includes('TASK_FINISHED'), 30_000)
    const third = await filesRead(again, '/frameworks/fw-pv/executors/pv-reader-after-restart/runs/latest/stdout')
    assert.deepEqual(third, {status: 200, text: '{"data":"hello\\n","offset":0}'})
  })

  it('a persistence id or role that would leave <work dir>/volumes/roles is never created or removed', async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesos-local-volumes-'))
    dirs.push(workDir)
    const agent = newAgent(workDir, new FakeMaster())
    const outside = path.join(workDir, 'outside')
    fs.mkdirSync(outside)
    fs.writeFileSync(path.join(outside, 'keep'), 'x')
    const evil = [volume('../../outside'), {...volume('x'), reservations: [{type: 'DYNAMIC', role: '..', principal: 'p'}]}]
    agent.port.checkpointResources(totalWith(...evil))
    assert.deepEqual(fs.readdirSync(workDir).sort(), ['meta', 'outside'], 'nothing made outside meta/')
    agent.port.checkpointResources(totalWith())
    assert.equal(fs.readFileSync(path.join(outside, 'keep'), 'utf8'), 'x', 'nothing removed outside the volumes')
  })

  it('a volume directory that cannot be made is logged and the old total kept (no exception into the master)', async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesos-local-volumes-'))
    dirs.push(workDir)
    const agent = newAgent(workDir, new FakeMaster())
    fs.writeFileSync(path.join(workDir, 'volumes'), 'not a directory')
    const before = agent.port.totalResources()
    const from = logs.length
    assert.doesNotThrow(() => agent.port.checkpointResources(totalWith(volume('vol-1'))))
    assert.deepEqual(agent.port.totalResources(), before)
    assert.ok(logs.slice(from).some((l) => l.includes('failed to update checkpointed resources')))
  })

  it('logs what a real agent logs for checkpointed resources, volume links and DESTROY (fixture 13 agent_log_lines)', {
    timeout: 60_000,
  }, async () => {
    const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as {agent_log_lines: Record<string, string[]>}
    const {agent, master, workDir} = await startAgent()
    const ours = (from: number, re: RegExp) => logs.slice(from).filter((l) => re.test(l))
    const theirs = (k: string, re: RegExp) => fx.agent_log_lines[k]!.map((l) => l.slice(l.indexOf('] ') + 2)).filter((l) => re.test(l))
    const updated = /^Updated checkpointed resources/
    let from = logs.length
    agent.port.checkpointResources(totalWith().concat(reserved('disk', 64)))
    agent.port.checkpointResources(totalWith(volume('vol-1')))
    assert.deepEqual(ours(from, updated), theirs('accept_reserve_create_launch', updated))

    from = logs.length
    agent.port.launch(framework, commandTask('pv-writer', agent.id, 'sleep 1000'))
    await waitFor('pv-writer running', () => master.states('pv-writer').includes('TASK_RUNNING'), 30_000)
    const ex = [...agent.executors.values()].find((e) => e.id === 'pv-writer')!
    const sub = (l: string) =>
      l
        .split('<rec-dir>/agent1-work')
        .join(workDir)
        .split('f8a6e9ac-eb7f-4013-9c7a-b5651012d788-S0')
        .join(agent.id)
        .split('f8a6e9ac-eb7f-4013-9c7a-b5651012d788-0000')
        .join('fw-pv')
        .split('a4132e1d-7146-4769-b937-04ec6cf66cdb')
        .join(ex.containerId)
    assert.deepEqual(ours(from, /symlink/), theirs('accept_reserve_create_launch', /symlink/).map(sub))
    from = logs.length
    agent.port.kill('fw-pv', {value: 'pv-writer'})
    await waitFor('pv-writer killed', () => master.states('pv-writer').includes('TASK_KILLED'), 30_000)
    assert.deepEqual(ours(from, /symlink/), theirs('kill_pv_writer', /symlink/).map(sub))

    from = logs.length
    agent.port.checkpointResources(totalWith().concat(reserved('disk', 64)))
    agent.port.checkpointResources(totalWith().slice(0, 4))
    assert.deepEqual(ours(from, /^(Updated|Deleting)/), theirs('destroy_unreserve', /^(Updated|Deleting)/).map(sub))
  })

  it('a custom executor finds its own and its task volumes linked in its sandbox when it starts; gone after it ends', {
    timeout: 60_000,
  }, async () => {
    const {agent, master, workDir} = await startAgent()
    agent.port.checkpointResources(totalWith(volume('vol-e', 'exec-data', 32), volume('vol-t', 'data', 32)))
    const log = path.join(workDir, 'executor.jsonl')
    const executor: ExecutorInfo = {
      type: 'CUSTOM',
      executor_id: {value: 'exec-pv'},
      name: 'volume executor',
      resources: [allocated(volume('vol-e', 'exec-data', 32))],
      command: {
        shell: true,
        // The executor's first act: record what its sandbox holds, then run the test executor.
        value: 'ls -l > start-listing.txt; ./mesos-local-test-executor.mjs',
        uris: [{value: EXECUTOR_SCRIPT, executable: true}],
        environment: {variables: [{name: 'TEST_LOG', value: log}]},
      },
    }
    agent.port.launch(framework, commandTaskWithout('task-pv', agent.id, volume('vol-t', 'data', 32)), executor)
    await waitFor('task-pv running', () => master.states('task-pv').includes('TASK_RUNNING'), 30_000)
    const box = sandboxOf(workDir, agent.id, 'exec-pv')
    const listing = fs.readFileSync(path.join(box, 'start-listing.txt'), 'utf8')
    assert.match(listing, /exec-data -> .*\/volumes\/roles\/etcd-pv\/vol-e\n/)
    assert.match(listing, / data -> .*\/volumes\/roles\/etcd-pv\/vol-t\n/)
    agent.port.kill('fw-pv', {value: 'task-pv'})
    await waitFor('executor gone', () => master.exited.some((e) => e.eid === 'exec-pv'), 30_000)
    assert.equal(isLink(path.join(box, 'data')), false)
    assert.equal(isLink(path.join(box, 'exec-data')), false)
    assert.ok(fs.statSync(path.join(workDir, 'volumes', 'roles', 'etcd-pv', 'vol-e')).isDirectory())
  })

  it('a launch naming a volume the agent does not have is refused as Mesos does (REASON_RESOURCES_UNKNOWN)', {
    timeout: 60_000,
  }, async () => {
    const {agent, master, workDir} = await startAgent()
    agent.port.checkpointResources(totalWith(volume('vol-1')))
    agent.port.launch(framework, commandTask('no-volume', agent.id, 'true', volume('vol-missing')))
    await waitFor('refusal', () => master.states('no-volume').length > 0, 20_000)
    const s = master.updates.find((u) => u.status.task_id.value === 'no-volume')!.status
    assert.equal(s.state, 'TASK_LOST', 'TASK_LOST for a framework without PARTITION_AWARE')
    assert.equal(s.reason, 'REASON_RESOURCES_UNKNOWN')
    assert.equal(s.message, 'The checkpointed resources being used by the task or task group are unknown to the agent')
    assert.equal(s.source, 'SOURCE_AGENT')
    assert.equal(fs.existsSync(path.join(workDir, 'volumes', 'roles', 'etcd-pv', 'vol-missing')), false)
    assert.equal(fs.existsSync(path.join(workDir, 'slaves', agent.id, 'frameworks', 'fw-pv', 'executors', 'no-volume')), false)

    const aware = {...framework, capabilities: [...framework.capabilities!, {type: 'PARTITION_AWARE'}]}
    agent.port.launch(aware, commandTask('no-volume-2', agent.id, 'true', volume('vol-missing')))
    await waitFor('refusal (PARTITION_AWARE)', () => master.states('no-volume-2').length > 0, 20_000)
    assert.deepEqual(master.states('no-volume-2'), ['TASK_DROPPED'])
  })
})

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}
