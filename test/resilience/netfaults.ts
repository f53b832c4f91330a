/**
 * Network faults for the resilience scenarios through real TCP proxies (netproxy.ts), without product
 * changes: a scenario sets `etcdBin: netEtcdBin`, so serve's `--etcd-bin` is a per-scenario launcher
 * script (<workDir>/netctl/etcd-wrapper.sh) that runs etcd-wrapper.ts in front of the real etcd. Each
 * member then has a proxy on its advertised peer port and one on its advertised client port; the
 * functions here switch their modes through the control files in <workDir>/netctl/ and wait until the
 * member's wrapper acknowledged the change (its <member>.state.json carries the written seq).
 *
 * The client proxy carries ALL client traffic of the member: the writer's, the scheduler's probes and
 * member operations, and the executor's own health check.
 */
import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {alive} from '../helpers/serve.js'
import {waitFor} from '../helpers/ports.js'
import type {Ctx} from './harness.js'
import {modeString, type ProxyMode} from './netproxy.js'

export type {ProxyMode} from './netproxy.js'

const WRAPPER = fileURLToPath(new URL('./etcd-wrapper.ts', import.meta.url))
const TSX_LOADER = createRequire(import.meta.url).resolve('tsx')
const REAL_ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd'

type Kind = 'peer' | 'client'
interface ControlDoc {
  seq: number
  peer?: ProxyMode
  client?: ProxyMode
}

let seq = 0

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

export function controlDir(ctx: Ctx): string {
  if (!ctx.workDir) throw new Error('the scenario has no work dir yet (netfaults need Ctx.setup to have started)')
  return path.join(ctx.workDir, 'netctl')
}

/** For ScenarioDef.etcdBin: writes the launcher script and returns its path. */
export async function netEtcdBin(ctx: Ctx): Promise<string> {
  const dir = controlDir(ctx)
  await fs.promises.mkdir(dir, {recursive: true})
  const file = path.join(dir, 'etcd-wrapper.sh')
  const script = `#!/bin/sh\n# etcd behind controllable TCP proxies (test/resilience/etcd-wrapper.ts)\nexec ${q(process.execPath)} --import ${q(`file://${TSX_LOADER}`)} ${q(WRAPPER)} --control-dir ${q(dir)} --etcd ${q(REAL_ETCD)} -- "$@"\n`
  await fs.promises.writeFile(file, script, {mode: 0o755})
  return file
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T
  } catch {
    return null
  }
}

/** Members whose wrapper runs now (state file written by a live wrapper). */
export function wrappedMembers(ctx: Ctx): string[] {
  const dir = controlDir(ctx)
  let names: string[] = []
  try {
    names = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.state.json'))
      .map((f) => f.slice(0, -'.state.json'.length))
  } catch {
    return []
  }
  return names
    .filter((n) => {
      const st = readJson<{pid?: number}>(path.join(dir, `${n}.state.json`))
      return typeof st?.pid === 'number' && alive(st.pid)
    })
    .sort()
}

/** Writes `member`'s control file with `modes` merged in; resolves once its wrapper acknowledged it. */
async function setModes(ctx: Ctx, member: string, modes: Partial<Record<Kind, ProxyMode>>): Promise<void> {
  const dir = controlDir(ctx)
  const file = path.join(dir, `${member}.json`)
  const doc: ControlDoc = {...(readJson<ControlDoc>(file) ?? {}), ...modes, seq: ++seq}
  const tmp = `${file}.tmp`
  await fs.promises.writeFile(tmp, JSON.stringify(doc))
  await fs.promises.rename(tmp, file)
  const state = path.join(dir, `${member}.state.json`)
  const what = Object.entries(modes)
    .map(([k, m]) => `${k} ${modeString(m)}`)
    .join(', ')
  await waitFor(
    `the proxy wrapper of ${member} to apply ${what}`,
    () => {
      const st = readJson<{seq?: number; pid?: number}>(state)
      if (typeof st?.pid === 'number' && !alive(st.pid)) throw new Error(`the proxy wrapper of ${member} (pid ${st.pid}) is gone`)
      return (st?.seq ?? -1) >= doc.seq
    },
    5000,
    25,
  )
  ctx.note(`net: ${member} ${what} at +${((Date.now() - ctx.faultAt) / 1000).toFixed(1)} s`)
}

const setMode = (ctx: Ctx, member: string, kind: Kind, mode: ProxyMode): Promise<void> => setModes(ctx, member, {[kind]: mode})

/** Switches the proxy on `member`'s peer port; resolves once its wrapper applied it. */
export function setPeerMode(ctx: Ctx, member: string, mode: ProxyMode): Promise<void> {
  return setMode(ctx, member, 'peer', mode)
}

/** Switches the proxy on the client port of `member` (or of every member whose wrapper runs now). */
export async function setClientMode(ctx: Ctx, member: string | 'all', mode: ProxyMode): Promise<void> {
  const targets = member === 'all' ? wrappedMembers(ctx) : [member]
  if (targets.length === 0) throw new Error('no member runs behind a proxy wrapper (does the scenario set etcdBin: netEtcdBin?)')
  await Promise.all(targets.map((m) => setMode(ctx, m, 'client', mode)))
}

/** Every proxy of every live wrapper back to normal. */
export async function resetNet(ctx: Ctx): Promise<void> {
  await Promise.all(wrappedMembers(ctx).map((m) => setModes(ctx, m, {peer: {mode: 'normal'}, client: {mode: 'normal'}})))
}

/**
 * Waits until an armed drop-responses-after fired on the `kind` proxy of any wrapped member; resolves with
 * that member and the time it fired (the wrapper's clock: same host).
 */
export async function waitTriggered(ctx: Ctx, kind: Kind, timeoutMs: number): Promise<{member: string; at: number}> {
  const dir = controlDir(ctx)
  const hit = await waitFor(
    `an armed ${kind} proxy to see its match`,
    () => {
      for (const m of wrappedMembers(ctx)) {
        const at = readJson<{triggered?: Partial<Record<Kind, number>>}>(path.join(dir, `${m}.state.json`))?.triggered?.[kind]
        if (typeof at === 'number') return {member: m, at}
      }
      return null
    },
    timeoutMs,
    20,
  )
  return hit!
}
