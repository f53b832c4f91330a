/**
 * `etcd-mesos executor` as a real subprocess (bin/run.js, needs a current build: `npx tsc -p tsconfig.json`) with a
 * real etcd, against an agent written here (test/helpers/executor-agent.ts) that answers the first TASK_STARTING
 * with 503 and its resend with a refusal a real agent gives (400 "Executor cannot be found" after it lost track of
 * the executor, 404, 415). The refused resend used to reject with nobody listening: Node killed the executor on
 * the unhandled rejection, and etcd with it (pdeathsig). The executor must log the refusal with what happens next,
 * keep etcd running, report TASK_RUNNING, and still end cleanly on KILL.
 */
import {afterEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type http from 'node:http'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {freePorts, waitFor} from '../helpers/ports.js'
import {soloMember, startExecutor, TestAgent} from '../helpers/executor-agent.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

type Answer = (res: http.ServerResponse) => void
const text =
  (status: number, body: string): Answer =>
  (res) =>
    void res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8'}).end(body)

const REFUSALS: {name: string; answer: Answer}[] = [
  {name: '400 Executor cannot be found', answer: text(400, 'Executor cannot be found')},
  {name: '404 Not Found', answer: (res) => void res.writeHead(404).end()},
  {name: '415 Unsupported Media Type', answer: text(415, "Expecting 'Content-Type' of application/json or application/x-protobuf")},
]

describe('etcd-mesos executor (subprocess, real etcd): a refused UPDATE resend does not kill it', () => {
  for (const refusal of REFUSALS) {
    it(`TASK_STARTING answered 503, its resend answered ${refusal.name}: keeps etcd, reports RUNNING, KILL ends it with 0`, {
      timeout: 90_000,
    }, async () => {
      const agent = new TestAgent()
      await agent.listen()
      cleanups.push(() => agent.close())
      const sandbox = await mkdtemp(path.join(os.tmpdir(), 'executor-failures-'))
      cleanups.push(() => rm(sandbox, {recursive: true, force: true}))
      const [clientPort, peerPort] = await freePorts(2)
      const plan = [{name: '503', answer: text(503, 'Agent has not finished recovery')}, refusal]
      agent.answerUpdate = (st, res) => {
        const next = st.state === 'TASK_STARTING' ? plan.shift() : undefined
        next?.answer(res)
        return next?.name
      }
      const ex = startExecutor(agent, soloMember(clientPort!, peerPort!), sandbox)
      cleanups.push(ex.stop)

      await waitFor('the resend answered (or the executor gone)', () => ex.exit() !== undefined || plan.length === 0, 30_000)
      await waitFor(
        'the refusal logged (or the executor gone)',
        () => ex.exit() !== undefined || /refused by the agent/.test(ex.stderr()),
        30_000,
      )
      const starting = agent.updates.filter((u) => u.status.state === 'TASK_STARTING')
      assert.deepEqual(
        starting.map((u) => u.answer),
        ['503', refusal.name],
      )
      assert.equal(starting[0]!.status.uuid, starting[1]!.status.uuid, 'the same update re-sent')
      assert.equal(ex.exit(), undefined, `the executor died:\n${ex.stderr()}`)
      await waitFor(
        'TASK_RUNNING delivered (or the executor gone)',
        () => ex.exit() !== undefined || agent.updates.some((u) => u.status.state === 'TASK_RUNNING' && u.answer === '202'),
        60_000,
      )
      assert.equal(ex.exit(), undefined, `the executor died:\n${ex.stderr()}`)
      assert.match(ex.stderr(), /mesos error: UPDATE TASK_STARTING for etcd-task-1 refused by the agent \(.*\); dropped/)
      assert.doesNotMatch(ex.stderr(), /unhandled/i)
      const status = await fetch(`http://127.0.0.1:${clientPort}/v3/maintenance/status`, {method: 'POST', body: '{}'})
      assert.equal(status.status, 200, 'etcd serves')

      agent.kill()
      const {code} = await ex.exited
      assert.equal(code, 0, ex.stderr())
      assert.equal(agent.updates.at(-1)?.status.state, 'TASK_KILLED')
    })
  }
})
