/**
 * The resilience checker's data rules (test/resilience/rules.ts) on synthetic write logs and status readings:
 * histories split where the HARNESS saw a member forced into a new cluster (not where revisions happen to go
 * back), every write acknowledged after that must survive, a regression without a re-seed fails, and the seed
 * must be the most up-to-date survivor by the harness's own readings.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {checkEpisodes, checkSeedChoice, checkWrites, detectReseeds, type Reading, type ReseedEpisode} from '../resilience/rules.js'
import type {Ack} from '../resilience/writer.js'

let seq = 0
const ack = (revision: number, at: number): Ack => ({key: `k${seq}`, value: `v${seq++}`, revision, at, via: 'http://m'})
const kvOf = (acks: Ack[]): Map<string, string> => new Map(acks.map((a) => [a.key, a.value]))
const without = (kv: Map<string, string>, ...gone: Ack[]): Map<string, string> => {
  const m = new Map(kv)
  for (const a of gone) m.delete(a.key)
  return m
}

/** A re-seed whose seed held revision 100 before it; its last old reading at t=1000, serving alone at t=3000. */
const episode = (over: Partial<ReseedEpisode> = {}): ReseedEpisode => ({
  seed: 'S',
  seedUrl: 'http://s',
  epochAt: 1000,
  completedAt: 3000,
  seedRevision: 100,
  seedRaftIndex: 120,
  seedLeader: '0',
  survivors: [],
  ...over,
})

describe('resilience checker: acknowledged writes', () => {
  it('without a re-seed every acknowledged write must survive', () => {
    const acks = [ack(10, 1), ack(11, 2), ack(12, 3)]
    const r = checkWrites(acks, without(kvOf(acks), acks[2]!), [])
    assert.deepEqual(r.lost, [acks[2]])
    assert.equal(r.lostByReseed.length, 0)
    assert.equal(r.present, 2)
  })

  it('a revision regression with no re-seed observed is a failure, not a new epoch', () => {
    const acks = [ack(10, 1), ack(11, 2), ack(5, 3), ack(6, 4)]
    const r = checkWrites(acks, kvOf(acks), [])
    assert.equal(r.regressions.length, 1)
    assert.equal(r.regressions[0]!.ack, acks[2])
    assert.equal(r.regressions[0]!.previous, acks[1])
  })

  it('a write of the old history above the seed revision is lost by re-seed (a note), at or below it is required', () => {
    const below = ack(100, 900)
    const above = ack(101, 950)
    const after = ack(101, 4000) // the new history restarts above the seed's revision 100
    const r = checkWrites([below, above, after], without(kvOf([below, above, after]), above), [episode()])
    assert.deepEqual(r.lostByReseed, [above])
    assert.deepEqual(r.lost, [])
    assert.deepEqual(r.regressions, [], 'the regression from 101 to 101 crosses the observed re-seed')
    const r2 = checkWrites([below, above, after], without(kvOf([below, above, after]), below), [episode()])
    assert.deepEqual(r2.lost, [below])
  })

  it('a write acknowledged after the re-seed must survive even when its revision never went back (the old rules called it lost by re-seed)', () => {
    // The old history's last acknowledged write is at revision 90 (< the seed's 100): the new history's writes
    // (101, 102) never go backwards, so the old writer kept them in epoch 0 "above the bound".
    const old = [ack(89, 800), ack(90, 900)]
    const post = [ack(101, 4000), ack(102, 4100)]
    const acks = [...old, ...post]
    const r = checkWrites(acks, without(kvOf(acks), post[1]!), [episode()])
    assert.deepEqual(r.lost, [post[1]])
    assert.deepEqual(r.lostByReseed, [])
  })

  it('a regression inside the new history is still a failure', () => {
    const acks = [ack(90, 900), ack(101, 4000), ack(102, 4100), ack(101, 4200)]
    const r = checkWrites(acks, kvOf(acks), [episode()])
    assert.equal(r.regressions.length, 1)
    assert.equal(r.regressions[0]!.ack, acks[3])
  })

  it('two re-seeds: a first-history write survives only up to the lowest later seed revision', () => {
    const e1 = episode()
    const e2 = episode({seed: 'T', seedUrl: 'http://t', epochAt: 5000, completedAt: 7000, seedRevision: 95})
    const w1 = ack(96, 500) // history 0, above the second seed's 95: the second re-seed discarded it
    const w2 = ack(94, 400) // history 0... (sequence order does not matter for the bound)
    const w3 = ack(110, 4500) // history 1, above 95
    const w4 = ack(96, 8000) // history 2
    const acks = [w2, w1, w3, w4]
    const r = checkWrites(acks, without(kvOf(acks), w1, w2, w3, w4), [e2, e1])
    assert.deepEqual(r.lostByReseed, [w1, w3])
    assert.deepEqual(r.lost, [w2, w4])
  })

  it('a value other than acknowledged is wrong, whatever the history', () => {
    const a = ack(10, 1)
    const r = checkWrites([a], new Map([[a.key, 'other']]), [])
    assert.deepEqual(r.wrong, [a])
  })
})

const rd = (memberId: string, at: number, revision: number, raftIndex: number, voters: string[] | null, leader = '0'): Reading => ({
  at,
  url: `http://${memberId}`,
  memberId,
  revision,
  raftIndex,
  leader,
  voters,
})

describe('resilience checker: re-seed episodes from the harness readings', () => {
  const all = ['A', 'B', 'C']
  it('finds the seed, its bound and the survivors; none when membership only changes normally', () => {
    const readings = [
      rd('A', 0, 50, 60, all, 'C'),
      rd('B', 0, 50, 60, all, 'C'),
      rd('C', 0, 50, 60, all, 'C'),
      // C dies; A and B lose quorum (no leader)
      rd('A', 2000, 80, 90, all),
      rd('B', 2000, 78, 88, all),
      rd('A', 17_000, 80, 90, all),
      rd('B', 17_000, 78, 88, all),
      // A forced into a one-member cluster
      rd('A', 19_000, 80, 91, ['A'], 'A'),
      rd('B', 18_500, 78, 88, all),
    ]
    const eps = detectReseeds(readings)
    assert.equal(eps.length, 1)
    const e = eps[0]!
    assert.equal(e.seed, 'A')
    assert.equal(e.epochAt, 17_000)
    assert.equal(e.completedAt, 19_000)
    assert.equal(e.seedRevision, 80)
    assert.deepEqual(
      e.survivors.map((s) => [s.memberId, s.revision, s.at]),
      [['B', 78, 18_500]],
    )
    assert.deepEqual(checkSeedChoice(e), [])
    // A replaced member (3 voters → 2 → 3 with a new id) is no re-seed.
    assert.deepEqual(
      detectReseeds([rd('A', 0, 5, 6, all, 'A'), rd('A', 1000, 6, 7, ['A', 'B'], 'A'), rd('A', 2000, 7, 8, ['A', 'B', 'D'], 'A')]),
      [],
    )
  })

  it('fails when a survivor held a higher revision or raft index than the seed', () => {
    const readings = [rd('A', 1000, 80, 90, all), rd('B', 1000, 85, 95, all), rd('A', 3000, 80, 91, ['A'], 'A')]
    const e = detectReseeds(readings)[0]!
    const f = checkSeedChoice(e)
    assert.equal(f.length, 1)
    assert.match(f[0]!, /did not pick the most up-to-date survivor/)
    assert.match(checkSeedChoice({...e, survivors: [{...e.survivors[0]!, revision: 80, raftIndex: 95}]})[0]!, /most up-to-date/)
  })

  it('fails when the seed or a survivor still knew a leader just before the re-seed (no measured bound)', () => {
    const e = detectReseeds([rd('A', 1000, 80, 90, all, 'C'), rd('B', 1000, 70, 80, all, 'C'), rd('A', 3000, 80, 91, ['A'], 'A')])[0]!
    const f = checkSeedChoice(e)
    assert.equal(f.length, 2)
    assert.match(f[0]!, /still showed leader/)
    assert.match(f[1]!, /a quorum may have existed/)
  })

  it('members dead long before the re-seed are no survivors; two forced clusters at once fail', () => {
    const readings = [
      rd('C', 0, 99, 99, all, 'C'),
      rd('A', 16_000, 80, 90, all),
      rd('A', 18_000, 80, 91, ['A'], 'A'),
      rd('B', 16_500, 70, 80, all),
      rd('B', 17_500, 70, 81, ['B'], 'B'),
    ]
    const eps = detectReseeds(readings)
    assert.equal(eps.length, 2)
    assert.deepEqual(
      eps.find((e) => e.seed === 'A')!.survivors.map((s) => s.memberId),
      ['B'],
    )
    assert.match(checkEpisodes(eps)[0]!, /two members forced new clusters at once/)
  })
})
