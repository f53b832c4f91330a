/**
 * Restore plans (src/lib/backup/restore-plan.ts) on an in-memory BackupTarget holding real-format objects (etcd
 * snapshots with their trailing sha256, delta ndjson with the manifests' sha256): 'latest' with fallbacks past a
 * corrupt full backup or delta, an id (full or delta), toRevision cuts and refusals, gaps, overlapping chains.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {Readable} from 'node:stream'
import {BackupError} from '../../src/lib/backup/errors.js'
import {
  backupId,
  dataName,
  deltaDataName,
  manifestName,
  MANIFEST_FORMAT,
  type DeltaManifest,
  type FullManifest,
} from '../../src/lib/backup/manifest.js'
import {deltaChain, planRestore} from '../../src/lib/backup/restore-plan.js'
import type {BackupTarget} from '../../src/lib/backup/target.js'

class MemoryTarget implements BackupTarget {
  readonly url = 'mem://test'
  readonly objects = new Map<string, Buffer>()
  async put(name: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<{size: number}> {
    const parts: Uint8Array[] = []
    for await (const c of data instanceof Uint8Array ? [data] : data) parts.push(c)
    this.objects.set(name, Buffer.concat(parts))
    return {size: this.objects.get(name)!.length}
  }
  async get(name: string): Promise<Readable> {
    const b = this.objects.get(name)
    if (!b) throw new BackupError('NOT_FOUND', `${name} not found`)
    return Readable.from([b])
  }
  async list(): Promise<string[]> {
    return [...this.objects.keys()].sort()
  }
  async delete(name: string): Promise<void> {
    this.objects.delete(name)
  }
}

const T0 = Date.UTC(2026, 11, 3, 10)
const MIN = 60_000
const IDS = {clusterId: '1', memberId: '2', endpoint: 'http://127.0.0.1:2379', etcdVersion: '3.4.23'}

function addFull(t: MemoryTarget, minute: number, revision: number): FullManifest {
  const content = Buffer.alloc(4096, revision)
  const data = Buffer.concat([content, createHash('sha256').update(content).digest()])
  const id = backupId(T0 + minute * MIN, revision)
  const m: FullManifest = {
    format: MANIFEST_FORMAT,
    id,
    kind: 'full',
    createdAt: new Date(T0 + minute * MIN).toISOString(),
    revision,
    size: data.length,
    sha256: data.subarray(-32).toString('hex'),
    data: dataName(id),
    ...IDS,
  }
  t.objects.set(dataName(id), data)
  t.objects.set(manifestName(id), Buffer.from(JSON.stringify(m)))
  return m
}

function addDelta(t: MemoryTarget, base: FullManifest, minute: number, from: number, to: number): DeltaManifest {
  let text = ''
  for (let r = from + 1; r <= to; r++) text += `${JSON.stringify({revision: r, events: [{type: 'put', key: 'YQ==', value: 'MQ=='}]})}\n`
  const data = Buffer.from(text)
  const id = backupId(T0 + minute * MIN, to)
  const m: DeltaManifest = {
    format: MANIFEST_FORMAT,
    id,
    kind: 'delta',
    createdAt: new Date(T0 + minute * MIN).toISOString(),
    revision: to,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    data: deltaDataName(id),
    ...IDS,
    baseId: base.id,
    fromRevision: from,
    toRevision: to,
    events: to - from,
  }
  t.objects.set(deltaDataName(id), data)
  t.objects.set(manifestName(id), Buffer.from(JSON.stringify(m)))
  return m
}

const flip = (t: MemoryTarget, name: string) => {
  const b = Buffer.from(t.objects.get(name)!)
  b[3] = b[3]! ^ 1
  t.objects.set(name, b)
}
const code = (c: string, re: RegExp) => (err: unknown) =>
  (err instanceof BackupError && err.code === c && re.test(err.message)) || assert.fail(`expected ${c} ${re}, got ${String(err)}`)

/** Two full backups, each with a chain: f1 (rev 10) d 10→15→20; f2 (rev 20) d 20→25→30. */
function world() {
  const t = new MemoryTarget()
  const f1 = addFull(t, 0, 10)
  const d11 = addDelta(t, f1, 1, 10, 15)
  const d12 = addDelta(t, f1, 2, 15, 20)
  const f2 = addFull(t, 3, 20)
  const d21 = addDelta(t, f2, 4, 20, 25)
  const d22 = addDelta(t, f2, 5, 25, 30)
  return {t, f1, d11, d12, f2, d21, d22}
}

describe('restore plans', () => {
  it("'latest': the newest full backup and its whole chain; dataUntil is the newest delta's time", async () => {
    const {t, f2, d21, d22} = world()
    assert.deepEqual(await planRestore(t, 'latest'), {
      full: f2,
      deltaIds: [d21.id, d22.id],
      toRevision: 30,
      dataUntil: d22.createdAt,
      skipped: [],
    })
  })

  it("'latest' passes over a corrupt or truncated full backup (with its chain) to the next older one", async () => {
    const {t, f1, d11, d12, f2} = world()
    flip(t, dataName(f2.id))
    const p = await planRestore(t, 'latest')
    assert.equal(p.full.id, f1.id)
    assert.deepEqual(p.deltaIds, [d11.id, d12.id])
    assert.equal(p.toRevision, 20)
    assert.equal(p.skipped.length, 1)
    assert.equal(p.skipped[0]!.id, f2.id)
    assert.match(p.skipped[0]!.problem, /is corrupt/)
    t.objects.set(dataName(f1.id), t.objects.get(dataName(f1.id))!.subarray(0, 1000))
    await assert.rejects(planRestore(t, 'latest'), code('CORRUPT', /no full backup in mem:\/\/test verifies/))
  })

  it("'latest' stops the chain before a corrupt delta; it and the later ones are skipped", async () => {
    const {t, f2, d21, d22} = world()
    const d23 = addDelta(t, f2, 6, 30, 31)
    flip(t, deltaDataName(d22.id))
    const p = await planRestore(t, 'latest')
    assert.deepEqual(p.deltaIds, [d21.id])
    assert.equal(p.toRevision, 25)
    assert.equal(p.dataUntil, d21.createdAt)
    assert.deepEqual(
      p.skipped.map((s) => s.id),
      [d22.id, d23.id],
    )
    assert.match(p.skipped[0]!.problem, /sha256/)
    // verify: false trusts the manifests
    assert.deepEqual((await planRestore(t, 'latest', {verify: false})).deltaIds, [d21.id, d22.id, d23.id])
  })

  it('an id: a full backup alone with its chain, or a delta with its base and the chain up to it', async () => {
    const {t, f1, d11, d12, d21} = world()
    const p1 = await planRestore(t, f1.id)
    assert.deepEqual([p1.full.id, p1.deltaIds, p1.toRevision], [f1.id, [d11.id, d12.id], 20])
    const p2 = await planRestore(t, d11.id)
    assert.deepEqual([p2.full.id, p2.deltaIds, p2.toRevision, p2.dataUntil], [f1.id, [d11.id], 15, d11.createdAt])
    const p3 = await planRestore(t, d21.id)
    assert.deepEqual([p3.deltaIds, p3.toRevision], [[d21.id], 25])
  })

  it('an id is never replaced by another backup: corrupt full or delta on the way → CORRUPT; unknown → NOT_FOUND', async () => {
    const {t, f1, d11, d12} = world()
    flip(t, deltaDataName(d11.id))
    await assert.rejects(
      planRestore(t, d12.id),
      code('CORRUPT', new RegExp(`the chain up to delta ${d12.id} is broken: backup ${d11.id} is corrupt`)),
    )
    flip(t, dataName(f1.id))
    await assert.rejects(planRestore(t, f1.id), code('CORRUPT', new RegExp(`backup ${f1.id} is corrupt`)))
    await assert.rejects(planRestore(t, backupId(T0, 999)), code('NOT_FOUND', /not found/))
    await assert.rejects(planRestore(t, 'yesterday'), code('BAD_NAME', /neither 'latest' nor a backup id/))
  })

  it('toRevision cuts the chain; outside [full, newest] it is refused; latest picks the newest full backup at or before it', async () => {
    const {t, f1, d11, d12, f2, d21} = world()
    const p = await planRestore(t, 'latest', {toRevision: 23})
    assert.deepEqual([p.full.id, p.deltaIds, p.toRevision], [f2.id, [d21.id], 23])
    assert.deepEqual((await planRestore(t, 'latest', {toRevision: 20})).deltaIds, [])
    const older = await planRestore(t, 'latest', {toRevision: 17})
    assert.deepEqual([older.full.id, older.deltaIds, older.toRevision], [f1.id, [d11.id, d12.id], 17])
    await assert.rejects(planRestore(t, 'latest', {toRevision: 31}), code('BAD_REVISION', /revision 31 is outside \[20, 30\]/))
    await assert.rejects(planRestore(t, 'latest', {toRevision: 5}), code('BAD_REVISION', /before the oldest full backup/))
    await assert.rejects(planRestore(t, f2.id, {toRevision: 19}), code('BAD_REVISION', /revision 19 is outside \[20, 30\]/))
    await assert.rejects(planRestore(t, d11.id, {toRevision: 16}), code('BAD_REVISION', /outside \[10, 15\]/))
    await assert.rejects(planRestore(t, 'latest', {toRevision: 0}), code('BAD_REVISION', /positive integer/))
    await assert.rejects(planRestore(new MemoryTarget(), 'latest'), code('NOT_FOUND', /no full backup/))
  })

  it('a gap ends the chain: later deltas are skipped, and a delta past the gap is refused', async () => {
    const t = new MemoryTarget()
    const f = addFull(t, 0, 10)
    const d1 = addDelta(t, f, 1, 10, 12)
    const d3 = addDelta(t, f, 3, 14, 16)
    const p = await planRestore(t, 'latest')
    assert.deepEqual([p.deltaIds, p.toRevision], [[d1.id], 12])
    assert.deepEqual(
      p.skipped.map((s) => s.id),
      [d3.id],
    )
    assert.match(p.skipped[0]!.problem, /cannot be reached: the chain of .* ends at revision 12/)
    await assert.rejects(planRestore(t, d3.id), code('CORRUPT', /cannot be reached from its base/))
  })

  it('overlapping chains (two recorders): the longest contiguous one', () => {
    const t = new MemoryTarget()
    const f = addFull(t, 0, 10)
    const a = addDelta(t, f, 1, 10, 20)
    const b1 = addDelta(t, f, 1, 10, 15)
    const b2 = addDelta(t, f, 2, 15, 25)
    const other = addDelta(t, addFull(t, 5, 12), 6, 12, 30)
    assert.deepEqual(
      deltaChain(f, [a, b1, b2, other]).map((d) => d.id),
      [b1.id, b2.id],
    )
    assert.deepEqual(deltaChain(f, []), [])
  })
})
