/**
 * The scheduler's mode (core/mode.ts): the transition tables (every listed move accepted, unlisted ones
 * refused naming from → to), a refused move inside `step` (the event is dropped with a LOG error), the
 * modes a scenario passes through, and the terminal STOPPED mode a StateConflict event leads to.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import type {World} from '../helpers/sim/sim.js'
import {EXIT_FATAL} from '../../src/scheduler/core/actions.js'
import {become, EPISODE_MOVES, modeOf, PHASE_MOVES, type Episode, type ModeFacts, type Phase} from '../../src/scheduler/core/mode.js'
import {step} from '../../src/scheduler/core/step.js'
import {runningTasks} from '../../src/scheduler/core/state.js'
import {CORE_CFG as CFG, healthyCluster} from '../helpers/core-world.js'

function mutableCluster(cfg: {autoReseed?: boolean} = {}, agents = 4): World {
  const w = healthyCluster({...CFG, ...cfg}, agents)
  assert.equal(modeOf(w.state), 'MUTABLE')
  return w
}

const facts = (phase: Phase, episode: Episode): ModeFacts => ({phase, episode, inPlace: null, health: {lostQuorumSince: null}})
const PHASES = Object.keys(PHASE_MOVES) as Phase[]
const EPISODES = Object.keys(EPISODE_MOVES) as Episode[]

describe('mode transitions (become)', () => {
  it('accepts every move the tables list, and staying where one is', () => {
    for (const from of PHASES) {
      for (const to of [...PHASE_MOVES[from], from]) {
        const f = facts(from, 'MUTABLE')
        become(f, to)
        assert.equal(f.phase, to, `phase ${from} → ${to}`)
      }
    }
    for (const from of EPISODES) {
      for (const to of [...EPISODE_MOVES[from], from]) {
        const f = facts('READY', from)
        become(f, to)
        assert.equal(f.episode, to, `episode ${from} → ${to}`)
      }
    }
  })

  it('refuses every move the tables do not list, naming from → to, and changes nothing', () => {
    let refused = 0
    for (const from of PHASES) {
      for (const to of PHASES.filter((p) => p !== from && !PHASE_MOVES[from].includes(p))) {
        const f = facts(from, 'MUTABLE')
        assert.throws(() => become(f, to), new RegExp(`invalid mode transition: phase ${from} → ${to}`))
        assert.equal(f.phase, from)
        refused++
      }
    }
    for (const from of EPISODES) {
      for (const to of EPISODES.filter((e) => e !== from && !EPISODE_MOVES[from].includes(e))) {
        const f = facts('READY', from)
        assert.throws(() => become(f, to), new RegExp(`invalid mode transition: episode ${from} → ${to}`))
        assert.equal(f.episode, from)
        refused++
      }
    }
    assert.ok(refused >= 20, `a sample of invalid moves (${refused})`)
  })

  it('pins the decisive refusals: terminal phases stay, no READY before reconciling, no total loss during a re-seed', () => {
    const cases: [Phase | Episode, Phase | Episode, ModeFacts][] = [
      ['FRAMEWORK_REMOVED', 'DISCONNECTED', facts('FRAMEWORK_REMOVED', 'MUTABLE')],
      ['STOPPED', 'RECONCILING', facts('STOPPED', 'MUTABLE')],
      ['LOADING', 'READY', facts('LOADING', 'MUTABLE')],
      ['DISCONNECTED', 'READY', facts('DISCONNECTED', 'MUTABLE')],
      ['RESEEDING', 'TOTAL_LOSS', facts('READY', 'RESEEDING')],
      ['RESEEDING', 'RESTARTING_IN_PLACE', facts('READY', 'RESEEDING')],
      ['TOTAL_LOSS', 'RESEEDING', facts('READY', 'TOTAL_LOSS')],
    ]
    for (const [from, to, f] of cases) assert.throws(() => become(f, to), {message: new RegExp(`${from} → ${to}`)})
  })

  it('the mode shown is the phase while not READY, else the episode', () => {
    for (const phase of PHASES) {
      for (const episode of EPISODES) assert.equal(modeOf(facts(phase, episode)), phase === 'READY' ? episode : phase)
    }
  })
})

/** Every distinct mode the world's state passes through, in order (within a batch of events too). */
function watchModes(w: World): string[] {
  const seen = [modeOf(w.state)]
  let st = w.state
  Object.defineProperty(w, 'state', {
    configurable: true,
    get: () => st,
    set: (v: typeof st) => {
      st = v
      if (seen.at(-1) !== modeOf(v)) seen.push(modeOf(v))
    },
  })
  return seen
}

describe('mode in step', () => {
  it('a refused move drops the event: the input state is kept and a LOG error names the move', () => {
    const w = mutableCluster()
    const s = structuredClone(w.state)
    s.episode = 'RESEEDING' // inconsistent on purpose (no s.reseed): the planner's total-loss detection will try RESEEDING → TOTAL_LOSS
    for (const t of Object.values(s.tasks)) t.state = 'TASK_FAILED'
    const r = step(s, {type: 'Tick'}, w.now + 1)
    assert.equal(r.state, s, 'the input state is returned')
    assert.equal(r.actions.length, 1)
    const a = r.actions[0]!
    assert.ok(
      a.type === 'LOG' && a.level === 'error' && /invalid mode transition: episode RESEEDING → TOTAL_LOSS/.test(a.msg),
      JSON.stringify(a),
    )
  })

  it('a quorum loss shows QUORUM_LOST (still mutating: the automatic re-seed starts from it), then RESEEDING, then MUTABLE', () => {
    const w = mutableCluster({}, 5)
    const seen = watchModes(w)
    w.loseAgents(['S2', 'S3'])
    w.advance(65_000, {offers: false})
    assert.equal(w.state.stats.cluster_livelocks, 1)
    w.advance(120_000)
    assert.equal(w.state.reseed, null)
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.deepEqual(seen, ['MUTABLE', 'QUORUM_LOST', 'RESEEDING', 'MUTABLE'])
  })

  it('members dying with their data kept show RESTARTING_IN_PLACE until quorum is back', () => {
    const w = mutableCluster()
    const victims = runningTasks(w.state).slice(0, 2)
    const seen = watchModes(w)
    for (const v of victims) w.memberOfTask(v.taskId)!.alive = false
    for (const v of victims) w.failTask(v.taskId)
    assert.equal(modeOf(w.state), 'RESTARTING_IN_PLACE')
    assert.ok(w.state.inPlace && !w.state.inPlace.gaveUp)
    w.advance(30_000)
    assert.equal(w.state.inPlace, null)
    assert.equal(modeOf(w.state), 'MUTABLE')
    assert.equal(w.state.stats.healthy, 1)
    assert.equal(seen[1], 'RESTARTING_IN_PLACE', seen.join())
    assert.ok(!seen.includes('RESEEDING'), seen.join())
  })

  it('a disconnection shows DISCONNECTED but keeps the episode (a re-seed survives it)', () => {
    const w = mutableCluster({autoReseed: false})
    w.respond = false
    w.feed({type: 'ReseedRequested', op: 'op-1', force: true})
    assert.equal(modeOf(w.state), 'RESEEDING')
    w.feed({type: 'Disconnected', reason: 'test'})
    assert.equal(modeOf(w.state), 'DISCONNECTED')
    assert.equal(w.state.episode, 'RESEEDING')
    w.feed({type: 'Subscribed', frameworkId: w.state.frameworkId!})
    assert.equal(modeOf(w.state), 'RECONCILING')
  })
})

describe('StateConflict', () => {
  it('LOG error, FATAL EXIT_FATAL (last, nothing persisted), then STOPPED: every later event is ignored', () => {
    const w = mutableCluster()
    w.respond = false
    const acts = w.feed({type: 'StateConflict', message: 'zk node /etcd-mesos/etcd/state: another scheduler wrote the state'})
    assert.deepEqual(
      acts.map((a) => a.type),
      ['LOG', 'FATAL'],
    )
    const [l, f] = acts
    assert.ok(l?.type === 'LOG' && l.level === 'error' && /another scheduler/.test(l.msg))
    assert.ok(f?.type === 'FATAL' && f.exitCode === EXIT_FATAL && /another scheduler wrote the state/.test(f.message))
    assert.equal(modeOf(w.state), 'STOPPED')
    const before = w.state
    for (const ev of [
      {type: 'Tick'},
      {type: 'TimerFired', name: 'health'},
      {type: 'Disconnected'},
      {type: 'StateConflict', message: 'again'},
    ] as const) {
      assert.deepEqual(w.feed(ev), [], ev.type)
    }
    assert.deepEqual(w.state, before)
  })
})

describe('LeadershipLost', () => {
  it('another scheduler leads in ZooKeeper after our session expired: LOG error, FATAL EXIT_FATAL naming it, then STOPPED', () => {
    const w = mutableCluster()
    w.respond = false
    const acts = w.feed({type: 'LeadershipLost', leader: 'http://127.0.0.1:23401'})
    assert.deepEqual(
      acts.map((a) => a.type),
      ['LOG', 'FATAL'],
    )
    const [l, f] = acts
    assert.ok(l?.type === 'LOG' && l.level === 'error' && /another leader/.test(l.msg))
    assert.ok(f?.type === 'FATAL' && f.exitCode === EXIT_FATAL)
    assert.match(
      f.message,
      /another scheduler \(http:\/\/127\.0\.0\.1:23401\) leads this cluster in ZooKeeper after our ZooKeeper session expired/,
    )
    assert.equal(modeOf(w.state), 'STOPPED')
    const before = w.state
    for (const ev of [{type: 'Tick'}, {type: 'TimerFired', name: 'health'}, {type: 'LeadershipLost', leader: 'x'}] as const) {
      assert.deepEqual(w.feed(ev), [], ev.type)
    }
    assert.deepEqual(w.state, before)
  })
})
