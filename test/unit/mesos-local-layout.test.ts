/**
 * The shape of the embedded local Mesos (src/mesos-local/cluster.ts describes it): the master (master/) and the
 * agent (agent/) meet only through link.ts; the modules that work on a master's or an agent's state receive its
 * plain record (master/state.ts, agent/state.ts) and never import the class that serves it (LocalMaster,
 * LocalAgent), which is what once tied them into import cycles.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/mesos-local')
const SPEC = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g

/** Every module under src/mesos-local (path relative to it) with the modules it imports (same form). */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (p.endsWith('.ts')) {
        const deps = [...fs.readFileSync(p, 'utf8').matchAll(SPEC)]
          .map((m) => path.relative(ROOT, path.resolve(path.dirname(p), (m[1] ?? m[2])!.replace(/\.js$/, '.ts'))))
          .filter((d) => !d.startsWith('..'))
        out.set(path.relative(ROOT, p), deps)
      }
    }
  }
  walk(ROOT)
  return out
}

const half = (f: string): string => (f.includes('/') ? f.split('/')[0]! : 'shared')

describe('local Mesos layout', () => {
  const g = graph()

  it('has a master/ and an agent/ half and the public entry cluster.ts', () => {
    for (const f of ['cluster.ts', 'link.ts', 'master/state.ts', 'master/local-master.ts', 'agent/state.ts', 'agent/local-agent.ts']) {
      assert.ok(g.has(f), `src/mesos-local/${f} exists`)
    }
  })

  it('the master and the agent import nothing of each other (they meet through link.ts)', () => {
    const crossing = [...g].flatMap(([f, deps]) =>
      deps.filter((d) => half(f) !== 'shared' && half(d) !== 'shared' && half(d) !== half(f)).map((d) => `${f} -> ${d}`),
    )
    assert.deepEqual(crossing, [])
  })

  it('shared modules import neither half', () => {
    const up = [...g]
      .filter(([f]) => half(f) === 'shared' && f !== 'cluster.ts')
      .flatMap(([f, deps]) => deps.filter((d) => half(d) !== 'shared').map((d) => `${f} -> ${d}`))
    assert.deepEqual(up, [])
  })

  it('only cluster.ts imports LocalMaster and LocalAgent: the other modules take the state record', () => {
    const owners = ['master/local-master.ts', 'agent/local-agent.ts']
    const back = [...g]
      .filter(([f]) => f !== 'cluster.ts')
      .flatMap(([f, deps]) => deps.filter((d) => owners.includes(d)).map((d) => `${f} -> ${d}`))
    assert.deepEqual(back, [])
  })

  it('state records import no module of their half except as types', () => {
    for (const f of ['master/state.ts', 'agent/state.ts']) {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8')
      const runtime = [...text.matchAll(/^import\s+(?!type\b)[^'"]*from\s+'(\.\/[^']+)'/gm)].map((m) => m[1])
      // master/state.ts makes the allocator (a pure leaf: filters and the per-cycle decision) for a new master.
      assert.deepEqual(
        runtime.filter((r) => r !== './allocator.js'),
        [],
        `${f} runtime imports`,
      )
    }
  })
})
