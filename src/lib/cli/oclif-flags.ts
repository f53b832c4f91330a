/** oclif flags from plain flag specs (flag-spec.ts): what the oclif command declares, built from the one table. */
import {Flags, type Interfaces} from '@oclif/core'
import type {FlagSpec, FlagSpecs, SpecValue} from './flag-spec.js'

export type OclifFlagsOf<T extends FlagSpecs> = {
  [K in keyof T]: T[K] extends {type: 'boolean'} ? Interfaces.BooleanFlag<SpecValue<T[K]>> : Interfaces.OptionFlag<SpecValue<T[K]>>
}

function oclifFlag(spec: FlagSpec) {
  const {type, ...rest} = spec
  const opts = {...rest, ...(rest.aliases ? {aliases: [...rest.aliases]} : {})}
  if (spec.type === 'boolean') return Flags.boolean(opts as Parameters<typeof Flags.boolean>[0])
  if (spec.type === 'integer') return Flags.integer(opts as Parameters<typeof Flags.integer>[0])
  return Flags.string(opts as Parameters<typeof Flags.string>[0])
}

export function oclifFlags<T extends FlagSpecs>(specs: T): OclifFlagsOf<T> {
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(specs)) out[name] = oclifFlag(spec)
  return out as OclifFlagsOf<T>
}
