/**
 * Issue 7 acceptance: "a command task launched by a plain `curl` ACCEPT on mesos-local reaches TASK_FINISHED".
 * Starts the `etcd-mesos mesos-local` COMMAND as a subprocess (built CLI: bin/run.js → dist/, so run
 * `npx tsc -p tsconfig.json && npx oclif manifest` first) and talks to it with the real curl binary only:
 * SUBSCRIBE (streaming, -N), ACCEPT with command tasks `echo hi` (→ TASK_FINISHED, "hi" in the sandbox stdout)
 * and `exit 3` (→ TASK_FAILED "Command exited with status 3"), ACKNOWLEDGE of every update, TEARDOWN.
 */
import assert from 'node:assert/strict'
import {execFile, type ChildProcess} from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {RecordIODecoder} from '../../src/lib/mesos/recordio.js'
import {waitFor} from '../helpers/ports.js'
import {spawnTracked, stopTracked} from '../helpers/procs.js'

type Ev = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = path.resolve(import.meta.dirname, '../..')

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', ...args], {timeout: 15_000}, (err, stdout, stderr) =>
      err ? reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    )
  })
}

async function findFiles(dir: string, name: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(dir, {withFileTypes: true}).catch(() => [])) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await findFiles(p, name)))
    else if (e.name === name) out.push(p)
  }
  return out
}

describe('mesos-local command driven by plain curl', {timeout: 90_000}, () => {
  let workDir = ''
  let mesos: ChildProcess | undefined
  let sub: ChildProcess | undefined
  let master = ''

  before(async () => {
    await fs.access(path.join(ROOT, 'dist/commands/mesos-local.js')).catch(() => {
      throw new Error('dist/ is missing: build first (npx tsc -p tsconfig.json && npx oclif manifest)')
    })
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'conformance-curl-'))
    mesos = spawnTracked(
      process.execPath,
      ['bin/run.js', 'mesos-local', '--port', '0', '--agents', '1', '--allocation-interval', '100', '--work-dir', workDir, '--quiet'],
      {cwd: ROOT},
    )
    let out = ''
    mesos.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')))
    mesos.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')))
    master = (await waitFor(
      `"Mesos master: <url>" from mesos-local (output so far: ${out})`,
      () => /Mesos master: (http:\/\/\S+)/.exec(out)?.[1],
      20_000,
      50,
    ))!
    await waitFor('an agent line', () => /agent 1: http/.test(out), 10_000, 50)
  })
  after(async () => {
    if (sub) await stopTracked(sub, 'SIGKILL')
    if (mesos) await stopTracked(mesos, 'SIGTERM', 10_000)
    if (workDir) await fs.rm(workDir, {recursive: true, force: true})
  })

  it('SUBSCRIBE, ACCEPT `echo hi` and `exit 3`, ACK every update: TASK_FINISHED and TASK_FAILED with exit status', async () => {
    const subscribe = JSON.stringify({
      type: 'SUBSCRIBE',
      subscribe: {framework_info: {user: 'root', name: 'curl', roles: ['*'], capabilities: [{type: 'MULTI_ROLE'}]}},
    })
    sub = spawnTracked('curl', [
      '-sS',
      '-N',
      '-i',
      '-X',
      'POST',
      `${master}/api/v1/scheduler`,
      '-H',
      'Content-Type: application/json',
      '-H',
      'Accept: application/json',
      '-d',
      subscribe,
    ])
    let head = ''
    let headDone = false
    const events: Ev[] = []
    const dec = new RecordIODecoder()
    sub.stdout!.on('data', (d: Buffer) => {
      let body = d
      if (!headDone) {
        head += d.toString('latin1')
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        headDone = true
        body = Buffer.from(head.slice(end + 4), 'latin1')
        head = head.slice(0, end)
      }
      for (const r of dec.push(body)) events.push(JSON.parse(r.toString('utf8')) as Ev)
    })
    const offersEv = (await waitFor('OFFERS on the curl stream', () => events.find((e) => e.type === 'OFFERS'), 20_000, 20))!
    assert.match(head, /^HTTP\/1\.1 200 OK/)
    const streamId = /^Mesos-Stream-Id: (\S+)/im.exec(head)?.[1]
    assert.ok(streamId, `Mesos-Stream-Id in ${head}`)
    const fid = events[0]!.subscribed.framework_id.value as string
    const offer = offersEv.offers.offers[0]
    const post = (body: unknown): Promise<string> =>
      curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-X',
        'POST',
        `${master}/api/v1/scheduler`,
        '-H',
        'Content-Type: application/json',
        '-H',
        `Mesos-Stream-Id: ${streamId}`,
        '-d',
        JSON.stringify(body),
      ])
    const res = [
      {name: 'cpus', type: 'SCALAR', scalar: {value: 0.1}},
      {name: 'mem', type: 'SCALAR', scalar: {value: 32}},
    ]
    const task = (id: string, cmd: string): Ev => ({
      name: id,
      task_id: {value: id},
      agent_id: offer.agent_id,
      resources: res,
      command: {value: cmd},
    })
    assert.equal(
      await post({
        type: 'ACCEPT',
        framework_id: {value: fid},
        accept: {
          offer_ids: [offer.id],
          operations: [{type: 'LAUNCH', launch: {task_infos: [task('hi', 'echo hi'), task('three', 'exit 3')]}}],
        },
      }),
      '202',
    )

    const acked = new Set<string>()
    const terminal = (id: string): Ev | undefined =>
      events.find(
        (e) =>
          e.type === 'UPDATE' && e.update.status.task_id.value === id && ['TASK_FINISHED', 'TASK_FAILED'].includes(e.update.status.state),
      )
    await waitFor(
      'both tasks terminal (ACKing every update with curl)',
      async () => {
        for (const e of events.filter((x) => x.type === 'UPDATE' && x.update.status.uuid && !acked.has(x.update.status.uuid))) {
          const s = e.update.status
          acked.add(s.uuid)
          assert.equal(
            await post({
              type: 'ACKNOWLEDGE',
              framework_id: {value: fid},
              acknowledge: {agent_id: s.agent_id, task_id: s.task_id, uuid: s.uuid},
            }),
            '202',
          )
        }
        return terminal('hi') && terminal('three')
      },
      30_000,
      50,
    )
    const states = (id: string): string[] =>
      events.filter((e) => e.type === 'UPDATE' && e.update.status.task_id.value === id).map((e) => e.update.status.state)
    assert.deepEqual(states('hi'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'])
    assert.deepEqual(states('three'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED'])
    assert.equal(terminal('hi')!.update.status.message, 'Command exited with status 0')
    assert.equal(terminal('three')!.update.status.message, 'Command exited with status 3')
    assert.equal(terminal('hi')!.update.status.source, 'SOURCE_EXECUTOR')
    const outs = await Promise.all((await findFiles(workDir, 'stdout')).map((f) => fs.readFile(f, 'utf8')))
    assert.ok(
      outs.some((o) => o.includes('hi\n')),
      `a sandbox stdout holds "hi" (stdout files: ${JSON.stringify(outs)})`,
    )
    assert.equal(await post({type: 'TEARDOWN', framework_id: {value: fid}}), '202')
    await waitFor('curl SUBSCRIBE ends when the master closes the stream', () => sub!.exitCode !== null, 10_000, 20)
  })
})
