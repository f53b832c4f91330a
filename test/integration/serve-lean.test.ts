/**
 * `serve` bootstraps 3 members to healthy (health checks and member lists included) without loading etcd3/grpc-js
 * (its probes go through etcd's JSON gateway over node:http) nor undici (its Mesos client is on node:http): each
 * cost 0.2–1 s of synchronous loading on a busy machine during the bootstrap. etcd3 stays for membership changes,
 * loaded in the background once the cluster serves. A preload records when serve first loaded each file of those
 * packages; serve's log dates its healthy verdict. The /members view still shows what the probes saw.
 * Run: node --import tsx --test --test-timeout=600000 test/integration/serve-lean.test.ts   (needs dist/).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, it} from 'node:test'
import {
  ETCD_BIN,
  Logs,
  RUN_JS,
  memberList,
  sandboxLogs,
  scenario,
  serveSuite,
  startMesosLocal,
  startServe,
  sweepCluster,
  waitHealthyMembers,
  type MemberView,
} from '../helpers/serve.js'

const suite = serveSuite()
const cleanups = suite.cleanups

/**
 * Preloaded into serve: records when each file of undici, etcd3, grpc-js and protobufjs (all CommonJS, loaded through
 * Module._load, also when imported from ESM) was first loaded (ms since the epoch), and writes {file: time} as JSON
 * to $LOADED_MODULES_OUT at exit.
 */
const LOADED_MODULES_PRELOAD = `data:text/javascript,${encodeURIComponent(
  [
    "import {createRequire} from 'node:module'; import {writeFileSync} from 'node:fs'",
    "const Module = createRequire(process.cwd() + '/')('node:module'); const seen = {}; const load = Module._load",
    'const watched = /etcd3|grpc|undici|protobufjs/',
    'Module._load = function (request, parent, isMain) {',
    '  const r = load.apply(this, arguments)',
    '  if (watched.test(request) || watched.test(parent?.filename ?? "")) {',
    '    try { const f = Module._resolveFilename(request, parent, isMain); if (!(f in seen)) seen[f] = Date.now() } catch {}',
    '  }',
    '  return r',
    '}',
    "process.on('exit', () => writeFileSync(process.env.LOADED_MODULES_OUT, JSON.stringify(seen)))",
  ].join('\n'),
)}`

describe('serve without etcd3/grpc-js and undici', {timeout: 240_000}, () => {
  it('bootstraps 3 healthy members (probes and member lists through the JSON gateway) loading neither', {timeout: 180_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const cluster = `lean-${process.pid}`
      const out = path.join(os.tmpdir(), `serve-modules-${process.pid}-${Date.now()}.txt`)
      cleanups.push(() => rm(out, {force: true}))
      const mesos = await startMesosLocal({}, logs)
      cleanups.push(() => mesos.stop())
      logs.add('executor sandboxes', () => sandboxLogs(mesos.workDir))
      // serve alone gets the preload: the agents (started above) and their executors keep the test's environment.
      const saved = {NODE_OPTIONS: process.env.NODE_OPTIONS, LOADED_MODULES_OUT: process.env.LOADED_MODULES_OUT}
      process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --import ${LOADED_MODULES_PRELOAD}`.trim()
      process.env.LOADED_MODULES_OUT = out
      let serve: Awaited<ReturnType<typeof startServe>>
      try {
        serve = await startServe(
          [
            ...['--master', mesos.hostPort, '--cluster-name', cluster, '--cluster-size', '3', '--health-interval', '1'],
            ...['--executor-bin', RUN_JS, '--etcd-bin', ETCD_BIN, '--zk-framework-persist', `${suite.zk().url}/etcd-mesos`],
          ],
          logs,
        )
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k]
          else process.env[k] = v
        }
      }
      cleanups.push(() => sweepCluster(cluster))
      cleanups.push(() => serve.stop())
      const ms: MemberView[] = await waitHealthyMembers(serve.adminUrl, 3, 120_000)
      // What the probes saw, as before: each member's own id (as etcd lists it), raft term, one leader.
      const listed = await memberList(ms.map((m) => m.client_url))
      assert.deepEqual(ms.map((m) => m.member_id).sort(), listed.map((m) => m.id).sort())
      for (const m of ms) assert.ok(typeof m.raft_term === 'number' && m.raft_term > 0, JSON.stringify(m))
      assert.equal(ms.filter((m) => m.leader).length, 1, JSON.stringify(ms))
      // Two more health intervals: the periodic health checks and member lists ran too.
      await new Promise((r) => setTimeout(r, 2500))
      assert.equal((await waitHealthyMembers(serve.adminUrl, 3, 30_000)).length, 3)
      await serve.stop()
      const healthyLine = /^(\S+) INFO cluster healthy/m.exec(serve.log())
      assert.ok(healthyLine, 'serve logged the healthy verdict')
      const healthyAt = Date.parse(healthyLine[1]!)
      assert.ok(Number.isFinite(healthyAt), healthyLine[0])
      const loaded = Object.entries(JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>)
      assert.ok(
        loaded.some(([f]) => f.includes('/node_modules/protobufjs/')),
        'the record sees CommonJS dependencies (protobufjs)',
      )
      const undici = loaded.filter(([f]) => /\/node_modules\/undici\//.test(f))
      assert.deepEqual(undici.slice(0, 3), [], `${undici.length} files of undici loaded`)
      // etcd3 may load in the background once the cluster serves (for later membership changes), never before.
      const early = loaded.filter(([f, at]) => /\/node_modules\/(etcd3|@grpc)\//.test(f) && at <= healthyAt)
      assert.deepEqual(early.slice(0, 3), [], `${early.length} files of etcd3/grpc-js loaded by the healthy verdict`)
    })
  })
})
