// Following a re-seed operation (src/lib/cli/reseed-progress.ts) with a scripted GET, quiet (no listr output).
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {followReseed} from '../../src/lib/cli/reseed-progress.js'
import {CliError, ExitCode} from '../../src/lib/cli/exit-codes.js'
import type {ReseedOperation} from '../../src/lib/cli/types.js'

const doc = (over: Partial<ReseedOperation>): ReseedOperation => ({
  op: 'op-1',
  status: 'running',
  phase: 'ranking',
  seed: null,
  steps: [],
  message: '',
  created_at: 0,
  updated_at: 0,
  ...over,
})

function scripted(docs: (ReseedOperation | Error)[]): {get: () => Promise<ReseedOperation>; calls: () => number} {
  let i = 0
  return {
    get: async () => {
      const d = docs[Math.min(i++, docs.length - 1)]!
      if (d instanceof Error) throw d
      return d
    },
    calls: () => i,
  }
}

const opts = {intervalMs: 1, timeoutMs: 5000, quiet: true, handleSigint: false, warn: () => undefined}

describe('followReseed', () => {
  it('polls until the operation succeeds', async () => {
    const s = scripted([doc({}), doc({phase: 'seeding', seed: 'm1'}), doc({status: 'succeeded', phase: null, seed: 'm1'})])
    const r = await followReseed(s.get, opts)
    assert.equal(r.finished, true)
    assert.equal(r.operation.status, 'succeeded')
    assert.equal(s.calls(), 3)
  })
  it('returns a failed operation as finished', async () => {
    const r = await followReseed(scripted([doc({}), doc({status: 'failed', message: 'seed died'})]).get, opts)
    assert.deepEqual([r.finished, r.operation.status, r.operation.message], [true, 'failed', 'seed died'])
  })
  it('tolerates an unreachable scheduler in between', async () => {
    const down = new CliError('cannot reach', ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
    const warnings: string[] = []
    const r = await followReseed(scripted([doc({}), down, down, doc({status: 'succeeded'})]).get, {...opts, warn: (l) => warnings.push(l)})
    assert.equal(r.operation.status, 'succeeded')
    assert.equal(warnings.length, 1, 'one warning per outage')
  })
  it('other errors end the follow', async () => {
    const gone = new CliError('GET /reseed/op-1: no re-seed operation op-1', ExitCode.NOT_FOUND, 'NOT_FOUND')
    await assert.rejects(followReseed(scripted([doc({}), gone]).get, opts), (e: unknown) => e === gone)
  })
  it('gives up at the deadline with finished=false', async () => {
    const r = await followReseed(scripted([doc({phase: 'killing'})]).get, {...opts, intervalMs: 10, timeoutMs: 50})
    assert.equal(r.finished, false)
    assert.equal(r.interrupted, false)
    assert.equal(r.operation.phase, 'killing')
  })
  it('never reached: UNREACHABLE error', async () => {
    const down = new CliError('cannot reach', ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
    await assert.rejects(
      followReseed(scripted([down]).get, {...opts, intervalMs: 10, timeoutMs: 30}),
      (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.UNREACHABLE,
    )
  })
})
