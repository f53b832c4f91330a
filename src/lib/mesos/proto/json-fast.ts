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
 *
 * In place: for a value decoded by us ('json' and 'proto' modes: the parse tree nobody else holds), an object
 * whose keys are already its set fields in output order and whose values are already normal (Object.is) is its
 * own normal form and is returned as it is, and so is such an array; only what differs is copied. A decoded event
 * is then not held twice (parse tree + form) while it is normalised. 'object' mode (our own objects, which the
 * caller may still change) always gets fresh objects.
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
  /** Field name -> its position in `fields` (the output order). */
  readonly index: ReadonlyMap<string, number>
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
    t = {fields, index: new Map(fields.map((e, i) => [e.name, i])), maps}
    tables.set(type, t)
  }
  return t
}

const isOwnEnumerable = (obj: object, key: string): boolean => Object.prototype.propertyIsEnumerable.call(obj, key)

/**
 * Whether `obj`'s keys are set fields (none null) in output order: then, if every value is already in normal form
 * too, `obj` is its own normal form. A plain object only (for...in sees inherited enumerable keys otherwise).
 */
function inOutputOrder(table: Table, obj: PlainObject): boolean {
  if (Object.getPrototypeOf(obj) !== Object.prototype) return false
  let last = -1
  for (const k in obj) {
    const i = table.index.get(k)
    if (i === undefined || i <= last) return false
    const v = obj[k]
    if (v === null || v === undefined) return false
    last = i
  }
  return true
}

/** One element of a field's value (not an array): its form, undefined when dropped, or FALLBACK. */
function element(e: FieldEntry, v: unknown, mode: NormaliseMode, reuse: boolean, slow: SlowNormalise): unknown {
  if (v === null || v === undefined) return undefined
  if (Array.isArray(v)) return FALLBACK
  if (isPlainObject(v)) return e.sub === undefined ? FALLBACK : message(e.sub, v, mode, reuse, slow)
  return scalarValue(e.field, v, mode)
}

/** A repeated field's form: an array (`v` itself when reusing and nothing changed), undefined when empty, or FALLBACK. */
function repeated(e: FieldEntry, v: unknown, mode: NormaliseMode, reuse: boolean, slow: SlowNormalise): unknown {
  if (!Array.isArray(v)) {
    const y = element(e, v, mode, reuse, slow)
    return y === FALLBACK ? FALLBACK : y === undefined ? undefined : [y]
  }
  let arr: unknown[] | undefined = reuse ? undefined : []
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i]
    const y = element(e, x, mode, reuse, slow)
    if (y === FALLBACK) return FALLBACK
    if (arr === undefined) {
      if (y !== undefined && Object.is(y, x)) continue
      arr = v.slice(0, i)
    }
    if (y !== undefined) arr.push(y)
  }
  const out = arr ?? v
  return out.length > 0 ? out : undefined
}

/**
 * The normal form of `obj` as `type`, or FALLBACK. With `reuse` (values decoded by us, which nobody else holds),
 * an object or array already in normal form is returned itself instead of copied, at any depth.
 */
function message(
  type: protobuf.Type,
  obj: PlainObject,
  mode: NormaliseMode,
  reuse: boolean,
  slow: SlowNormalise,
): PlainObject | typeof FALLBACK {
  const table = tableOf(type)
  for (const m of table.maps) if (obj[m] !== undefined && obj[m] !== null && isOwnEnumerable(obj, m)) return slow(type, obj, mode)
  const reusing = reuse && inOutputOrder(table, obj)
  // While undefined, every field so far equals obj's own: obj is the output unless a later field differs.
  let out: PlainObject | undefined = reusing ? undefined : {}
  const fields = table.fields
  for (let i = 0; i < fields.length; i++) {
    const e = fields[i]!
    const v = obj[e.name]
    let y: unknown
    if (v === undefined || v === null || !isOwnEnumerable(obj, e.name)) {
      if (e.required) return FALLBACK
      y = e.hasDefault ? e.defaultValue : undefined
    } else {
      if (!e.repeated && Array.isArray(v)) return FALLBACK
      y = e.repeated ? repeated(e, v, mode, reuse, slow) : element(e, v, mode, reuse, slow)
      if (y === FALLBACK) return FALLBACK
      if (y === undefined) {
        if (e.required) return FALLBACK
        if (!e.repeated && e.hasDefault) y = e.defaultValue
      }
    }
    if (out === undefined) {
      if (Object.is(y, v)) continue
      out = {}
      for (let j = 0; j < i; j++) {
        const name = fields[j]!.name
        if (obj[name] !== undefined) out[name] = obj[name]
      }
    }
    if (y !== undefined) out[e.name] = y
  }
  return out ?? obj
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
    return message(type, value, mode, mode !== 'object', slow)
  } catch {
    return FALLBACK
  }
}
