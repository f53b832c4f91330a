/**
 * Flags as plain data, for commands that bin/run.js may start without loading oclif (`serve`): one table is
 * both the oclif command's flags (oclif-flags.ts builds them) and what the fast path parses (parseFlagSpecs).
 * A spec holds only what both understand: string, integer (min/max) and boolean (allowNo) flags with an
 * environment variable, a default, aliases and a one-letter char; anything richer (options, relationships,
 * multiple) is not expressible here on purpose.
 *
 * parseFlagSpecs takes only invocations whose result is certain to be oclif's and returns undefined for the
 * rest (oclif then parses them and prints its own usage errors): `--name value`, `--name=value`, `--flag`,
 * `--no-flag` (allowNo), each flag at most once; no arguments, `--`, single-dash forms, empty or dash-led
 * values, values oclif would reject (an integer out of its range), or environment values other than what
 * oclif reads the same way. Values come from argv, else the flag's environment variable when non-empty
 * (a boolean's is true for 1/true/y/yes, as oclif reads it), else the default. Pure.
 */

interface Common {
  summary: string
  description?: string
  env?: string
  aliases?: readonly string[]
  char?: 'v'
  helpGroup?: string
}
export interface StringSpec extends Common {
  type: 'string'
  default?: string
}
export interface IntegerSpec extends Common {
  type: 'integer'
  default?: number
  min?: number
  max?: number
}
export interface BooleanSpec extends Common {
  type: 'boolean'
  default?: boolean
  allowNo?: boolean
}
export type FlagSpec = StringSpec | IntegerSpec | BooleanSpec
export type FlagSpecs = Record<string, FlagSpec>

/** The parsed value of one spec, as oclif types it: a default makes it always present. */
export type SpecValue<S> = S extends {type: 'boolean'}
  ? S extends {default: boolean}
    ? boolean
    : boolean | undefined
  : S extends {type: 'integer'}
    ? S extends {default: number}
      ? number
      : number | undefined
    : S extends {default: string}
      ? string
      : string | undefined
export type SpecValues<T extends FlagSpecs> = {[K in keyof T]: SpecValue<T[K]>}

/** Typed spec builders (keep literal default types for SpecValue). */
export const str = <S extends Omit<StringSpec, 'type'>>(s: S): S & {type: 'string'} => ({type: 'string', ...s})
export const int = <S extends Omit<IntegerSpec, 'type'>>(s: S): S & {type: 'integer'} => ({type: 'integer', ...s})
export const bool = <S extends Omit<BooleanSpec, 'type'>>(s: S): S & {type: 'boolean'} => ({type: 'boolean', ...s})

/** An integer as oclif's integer flag accepts it, or undefined (oclif would refuse it, or might read it otherwise). */
function integerValue(spec: IntegerSpec, text: string): number | undefined {
  if (!/^\d{1,15}$/.test(text)) return undefined
  const n = Number.parseInt(text, 10)
  if (spec.min !== undefined && n < spec.min) return undefined
  if (spec.max !== undefined && n > spec.max) return undefined
  return n
}

const TRUTHY = ['1', 'true', 'y', 'yes']

/** The flags `argv` (the words after the command) sets with `specs`, when certain to match oclif; else undefined. */
export function parseFlagSpecs<T extends FlagSpecs>(specs: T, argv: readonly string[], env: NodeJS.ProcessEnv): SpecValues<T> | undefined {
  const byName = new Map<string, string>()
  for (const [name, spec] of Object.entries(specs)) {
    byName.set(name, name)
    for (const a of spec.aliases ?? []) byName.set(a, name)
  }
  const given = new Map<string, string | boolean>()
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z][a-z0-9-]*)(=.*)?$/s.exec(argv[i]!)
    if (!m) return undefined
    const [, word = '', eq] = m
    let name = byName.get(word)
    let negated = false
    if (name === undefined && word.startsWith('no-')) {
      name = byName.get(word.slice(3))
      negated = true
    }
    if (name === undefined || given.has(name)) return undefined
    const spec = specs[name]!
    if (spec.type === 'boolean') {
      if (eq !== undefined || (negated && !spec.allowNo)) return undefined
      given.set(name, !negated)
      continue
    }
    if (negated) return undefined
    const value = eq !== undefined ? eq.slice(1) : argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    given.set(name, value)
  }
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = spec.env !== undefined && env[spec.env] ? env[spec.env] : undefined
    const raw = given.has(name) ? given.get(name) : fromEnv
    if (spec.type === 'boolean') {
      out[name] = typeof raw === 'boolean' ? raw : raw !== undefined ? TRUTHY.includes(raw.toLowerCase()) : spec.default
    } else if (raw === undefined) {
      out[name] = spec.default
    } else if (typeof raw === 'boolean') {
      return undefined
    } else if (spec.type === 'integer') {
      const n = integerValue(spec, raw)
      if (n === undefined) return undefined
      out[name] = n
    } else {
      out[name] = raw
    }
  }
  return out as SpecValues<T>
}
