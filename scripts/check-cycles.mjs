#!/usr/bin/env node
// Fails (exit 1) when the relative imports of src/ form a cycle. Every import counts, `import type`
// included: a module graph without cycles is one a reader can follow from the leaves up.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const root = resolve(process.argv[2] ?? 'src')
const files = []
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n)
    if (statSync(p).isDirectory()) walk(p)
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p)
  }
}
walk(root)
const spec = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g
const graph = new Map()
for (const f of files) {
  const deps = new Set()
  for (const m of readFileSync(f, 'utf8').matchAll(spec)) {
    const target = resolve(dirname(f), (m[1] ?? m[2]).replace(/\.js$/, '.ts'))
    if (files.includes(target)) deps.add(target)
  }
  graph.set(f, [...deps].sort())
}
const state = new Map()
const cycles = []
const stack = []
const visit = (f) => {
  state.set(f, 'open')
  stack.push(f)
  for (const d of graph.get(f)) {
    if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d])
    else if (!state.has(d)) visit(d)
  }
  stack.pop()
  state.set(f, 'done')
}
for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f)
const rel = (f) => relative(process.cwd(), f)
for (const c of cycles) console.error(`import cycle: ${c.map(rel).join(' -> ')}`)
if (cycles.length > 0) {
  console.error(`${cycles.length} import cycle(s) in ${rel(root)}/`)
  process.exit(1)
}
console.log(`no import cycle among ${files.length} modules in ${rel(root)}/`)
