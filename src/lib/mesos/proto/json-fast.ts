/**
 * The fast path of `normalise` (json-form.ts): one walk over the value that writes the Mesos JSON form directly,
 * driven by a field table computed once per protobuf Type (fields in .proto declaration order, which is the
 * output order, with their sub-message type and explicit default). It builds no per-message Map and sorts no
 * keys: a 10,000-offer OFFERS event made ~200 MB of garbage through the general path (sorted key lists, a Map per
 * message, output copies), which a serve under an offer storm paid for in resident memory.
 *
 * It yields the same value as the general path or nothing: anything it does not take on (a value of the wrong
 * kind, a missing required field, a nested array, or any ConvertError) returns FALLBACK and the caller runs the
 * general path, which reports Mesos' exact error text for the first problem in sorted key order. A message with a
 * map field set is normalised by the general path (`slow`), which is compositional: the form of a sub-message
 * does not depend on its parent.
 * Equivalence rests on: each own enumerable key names at most one field and is applied once, so the order keys
 * are visited in changes no value; the per-value conversions are the same functions (json-scalar.ts).
 */
import protobuf from 'protobufjs'
import {hasExplicitDefault, isPlainObject, type NormaliseMode, type PlainObject, scalarValue} from './json-scalar.js'

export const FALLBACK: unique symbol = Symbol('normalise: take the general path')

export type SlowNormalise = (type: protobuf.Type, value: PlainObject, mode: NormaliseMode) => PlainObject

interface FieldEntry {
  readonly field: protobuf.Field
  readonly name: string
  /** The sub-message type of a message field (undefined for scalars and enums). */
  readonly sub: protobuf.Type | undefined
  readonly repeated: boolean
  readonly required: boolean
  /** The value printed when the field is unset (an explicit, non-deprecated default), if any. */
  readonly hasDefault: boolean
  readonly defaultValue: unknown
}

interface Table {
  readonly fields: readonly FieldEntry[]
  /** Names of map fields: a message with one of them set goes to the general path. */
  readonly maps: readonly string[]
}

const tables = new WeakMap<protobuf.Type, Table>()

function tableOf(type: protobuf.Type): Table {
  let t = tables.get(type)
  if (t === undefined) {
    const fields: FieldEntry[] = []
    const maps: string[] = []
    for (const f of type.fieldsArray) {
      if (f.map) {
        maps.push(f.name)
        continue
      }
      const hasDefault = hasExplicitDefault(f)
      fields.push({
        field: f,
        name: f.name,
        sub: f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined,
        repeated: f.repeated,
        required: f.required,
        hasDefault,
        defaultValue: hasDefault ? (f.options as Record<string, unknown>).default : undefined,
      })
    }
    t = {fields, maps}
    tables.set(type, t)
  }
  return t
}

const isOwnEnumerable = (obj: object, key: string): boolean => Object.prototype.propertyIsEnumerable.call(obj, key)

/** One element of a field's value (not an array): its form, undefined when dropped, or FALLBACK. */
function element(e: FieldEntry, v: unknown, mode: NormaliseMode, slow: SlowNormalise): unknown {
  if (v === null || v === undefined) return undefined
  if (Array.isArray(v)) return FALLBACK
  if (isPlainObject(v)) return e.sub === undefined ? FALLBACK : message(e.sub, v, mode, slow)
  return scalarValue(e.field, v, mode)
}

function message(type: protobuf.Type, obj: PlainObject, mode: NormaliseMode, slow: SlowNormalise): PlainObject | typeof FALLBACK {
  const table = tableOf(type)
  for (const m of table.maps) if (obj[m] !== undefined && obj[m] !== null && isOwnEnumerable(obj, m)) return slow(type, obj, mode)
  const out: PlainObject = {}
  for (const e of table.fields) {
    const v = obj[e.name]
    const set = v !== undefined && v !== null && isOwnEnumerable(obj, e.name)
    if (!set) {
      if (e.required) return FALLBACK
      if (e.hasDefault) out[e.name] = e.defaultValue
      continue
    }
    if (e.repeated) {
      const arr: unknown[] = []
      if (Array.isArray(v)) {
        for (const x of v) {
          const y = element(e, x, mode, slow)
          if (y === FALLBACK) return FALLBACK
          if (y !== undefined) arr.push(y)
        }
      } else {
        const y = element(e, v, mode, slow)
        if (y === FALLBACK) return FALLBACK
        if (y !== undefined) arr.push(y)
      }
      if (arr.length > 0) out[e.name] = arr
      else if (e.required) return FALLBACK
      continue
    }
    if (Array.isArray(v)) return FALLBACK
    const y = element(e, v, mode, slow)
    if (y === FALLBACK) return FALLBACK
    if (y !== undefined) out[e.name] = y
    else if (e.required) return FALLBACK
    else if (e.hasDefault) out[e.name] = e.defaultValue
  }
  return out
}

/**
 * The Mesos JSON form of `value` (a plain object) as `type`, or FALLBACK when the general path must decide
 * (including every error). Never throws a ConvertError.
 */
export function normaliseFast(
  type: protobuf.Type,
  value: PlainObject,
  mode: NormaliseMode,
  slow: SlowNormalise,
): PlainObject | typeof FALLBACK {
  try {
    return message(type, value, mode, slow)
  } catch {
    return FALLBACK
  }
}
