/**
 * Mesos' JSON <-> protobuf rules (stout protobuf.hpp `protobuf::parse` and `JSON::protobuf`), driven by the
 * protobufjs reflection of our .proto subset. `normalise(type, value, mode)` yields the Mesos JSON form of a
 * message, i.e. what Mesos would print after parsing `value` into a protobuf:
 *
 *  1. parse   — JSON object keys are visited in sorted order (stout uses std::map); unknown keys are
 *               ignored; null means unset; a value for a repeated field may be a single element or a (nested)
 *               array; enums must be names (unknown names: dropped if optional, error if required); numeric
 *               fields accept numbers or numeric strings; bools accept booleans or "true"/"false"; bytes are
 *               standard base64 (re-encoded canonically); maps are objects. Errors carry Mesos' exact texts.
 *  2. check   — proto2 `required` fields, reported like protobuf's InitializationErrorString:
 *               `Missing required fields: a, b.c, d[0].e`.
 *  3. output  — keys in .proto declaration order: set fields, non-empty repeated/map fields, and unset
 *               optional fields that have a non-deprecated `[default = ...]`.
 *
 * Modes: 'json' (a value produced by parsing JSON text), 'object' (a JS object from our own code: also accepts
 * Uint8Array for bytes, bigint for integers, undefined as unset) and 'proto' (protobufjs toObject output:
 * unknown enum numbers are dropped like proto2 does, or fail a required field).
 */
import protobuf from 'protobufjs'
import {FALLBACK, normaliseFast} from './json-fast.js'
import {ConvertError, hasExplicitDefault, isPlainObject, type NormaliseMode, type PlainObject, scalarValue} from './json-scalar.js'

export {ConvertError, type NormaliseMode} from './json-scalar.js'

type Parsed = Map<string, unknown>

function applyValue(type: protobuf.Type, field: protobuf.Field, value: unknown, parsed: Parsed, mode: NormaliseMode): void {
  if (value === null || value === undefined) return
  if (Array.isArray(value)) {
    if (!field.repeated && !field.map) throw new ConvertError(`Not expecting a JSON array for field '${field.name}'`)
    for (const v of value) applyValue(type, field, v, parsed, mode)
    return
  }
  if (isPlainObject(value)) {
    if (field.map) {
      const map = (parsed.get(field.name) as PlainObject | undefined) ?? {}
      const valueField = new protobuf.Field('value', 2, field.type)
      valueField.resolvedType = field.resolvedType
      for (const key of Object.keys(value).sort()) {
        const sink: Parsed = new Map()
        applyValue(type, valueField, value[key], sink, mode)
        // A map entry whose value was dropped still exists in Mesos (with the value unset).
        Object.defineProperty(map, key, {
          value: sink.has('value') ? sink.get('value') : defaultFor(valueField),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      parsed.set(field.name, map)
      return
    }
    if (!(field.resolvedType instanceof protobuf.Type)) throw new ConvertError(`Not expecting a JSON object for field '${field.name}'`)
    const sub = parseMessage(field.resolvedType, value, mode)
    if (field.repeated) {
      const arr = (parsed.get(field.name) as unknown[] | undefined) ?? []
      arr.push(sub)
      parsed.set(field.name, arr)
    } else {
      parsed.set(field.name, sub)
    }
    return
  }
  const v = scalarValue(field, value, mode)
  if (v === undefined) return
  if (field.repeated) {
    const arr = (parsed.get(field.name) as unknown[] | undefined) ?? []
    arr.push(v)
    parsed.set(field.name, arr)
  } else if (field.map) {
    throw new ConvertError(`Not expecting a JSON ${typeof value} for field '${field.name}'`)
  } else {
    parsed.set(field.name, v)
  }
}

function parseMessage(type: protobuf.Type, obj: PlainObject, mode: NormaliseMode): Parsed {
  const parsed: Parsed = new Map()
  for (const key of Object.keys(obj).sort()) {
    const field = type.fields[key]
    if (field === undefined || !Object.hasOwn(type.fields, key)) continue
    applyValue(type, field, obj[key], parsed, mode)
  }
  return parsed
}

/** Per message type: its required fields, and its message-typed fields by field number (computed once). */
interface Shape {
  required: protobuf.Field[]
  messages: protobuf.Field[]
}
const shapes = new WeakMap<protobuf.Type, Shape>()
function shapeOf(type: protobuf.Type): Shape {
  let shape = shapes.get(type)
  if (shape === undefined) {
    shape = {
      required: type.fieldsArray.filter((f) => f.required),
      messages: type.fieldsArray.filter((f) => f.resolvedType instanceof protobuf.Type).sort((a, b) => a.id - b.id),
    }
    shapes.set(type, shape)
  }
  return shape
}

/** Whether every required field is set, at every depth (allocates nothing: a 10,000-offer event is checked
 *  without building a path string per sub-message; collectMissing names what is missing). */
function complete(type: protobuf.Type, parsed: Parsed): boolean {
  const {required, messages} = shapeOf(type)
  for (const f of required) if (!parsed.has(f.name)) return false
  for (const f of messages) {
    const v = parsed.get(f.name)
    if (v === undefined) continue
    const sub = f.resolvedType as protobuf.Type
    if (f.map) {
      for (const k in v as PlainObject) if (!complete(sub, (v as PlainObject)[k] as Parsed)) return false
    } else if (f.repeated) {
      for (const m of v as Parsed[]) if (!complete(sub, m)) return false
    } else if (!complete(sub, v as Parsed)) return false
  }
  return true
}

function collectMissing(type: protobuf.Type, parsed: Parsed, prefix: string, out: string[]): void {
  for (const f of type.fieldsArray) if (f.required && !parsed.has(f.name)) out.push(prefix + f.name)
  for (const f of shapeOf(type).messages) {
    if (!parsed.has(f.name)) continue
    const sub = f.resolvedType as protobuf.Type
    const v = parsed.get(f.name)
    if (f.map) {
      Object.values(v as PlainObject).forEach((m, i) => {
        collectMissing(sub, m as Parsed, `${prefix}${f.name}[${i}].value.`, out)
      })
    } else if (f.repeated) {
      ;(v as Parsed[]).forEach((m, i) => {
        collectMissing(sub, m, `${prefix}${f.name}[${i}].`, out)
      })
    } else {
      collectMissing(sub, v as Parsed, `${prefix}${f.name}.`, out)
    }
  }
}

function defaultFor(f: protobuf.Field): unknown {
  if (f.resolvedType instanceof protobuf.Type) return new Map()
  const opts = f.options as Record<string, unknown> | undefined
  if (opts && 'default' in opts) return opts.default
  if (f.resolvedType instanceof protobuf.Enum) return f.resolvedType.valuesById[Object.values(f.resolvedType.values)[0]!]
  if (f.type === 'string' || f.type === 'bytes') return ''
  if (f.type === 'bool') return false
  return 0
}

function outputValue(f: protobuf.Field, v: unknown): unknown {
  return f.resolvedType instanceof protobuf.Type ? output(f.resolvedType, v as Parsed) : v
}

function output(type: protobuf.Type, parsed: Parsed): PlainObject {
  const out: PlainObject = {}
  for (const f of type.fieldsArray) {
    const v = parsed.get(f.name)
    if (f.map) {
      if (v === undefined || Object.keys(v as PlainObject).length === 0) continue
      const m: PlainObject = {}
      for (const [k, mv] of Object.entries(v as PlainObject)) {
        Object.defineProperty(m, k, {value: outputValue(f, mv), enumerable: true, writable: true, configurable: true})
      }
      out[f.name] = m
    } else if (f.repeated) {
      if (v !== undefined && (v as unknown[]).length > 0) out[f.name] = (v as unknown[]).map((e) => outputValue(f, e))
    } else if (v !== undefined) {
      out[f.name] = outputValue(f, v)
    } else if (hasExplicitDefault(f)) {
      out[f.name] = (f.options as Record<string, unknown>).default
    }
  }
  return out
}

/**
 * Normalise `value` to the Mesos JSON form of `type`. Throws ConvertError with Mesos' text:
 * `Expecting a JSON object`, `Not expecting a JSON number for field 'type'`, `Missing required fields: ...`.
 */
export function normalise(type: protobuf.Type, value: unknown, mode: NormaliseMode): PlainObject {
  if (!isPlainObject(value)) throw new ConvertError('Expecting a JSON object')
  const fast = normaliseFast(type, value, mode, normaliseSlow)
  return fast === FALLBACK ? normaliseSlow(type, value, mode) : fast
}

/** The general path of `normalise` (no fast path): a Map per message, keys in sorted order, then the output. */
export function normaliseSlow(type: protobuf.Type, value: unknown, mode: NormaliseMode): PlainObject {
  if (!isPlainObject(value)) throw new ConvertError('Expecting a JSON object')
  const parsed = parseMessage(type, value, mode)
  if (!complete(type, parsed)) {
    const missing: string[] = []
    collectMissing(type, parsed, '', missing)
    throw new ConvertError(`Missing required fields: ${missing.join(', ')}`)
  }
  return output(type, parsed)
}

/** Mesos writes doubles in shortest form but always with a decimal point (15.0); non-finite as "Infinity". */
function formatDouble(v: number): string {
  if (!Number.isFinite(v)) return JSON.stringify(Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity')
  const s = String(v)
  return /[.e]/.test(s) ? s : `${s}.0`
}

function isDouble(f: protobuf.Field): boolean {
  return f.type === 'double' || f.type === 'float'
}

function valueText(f: protobuf.Field, x: unknown): string {
  if (f.resolvedType instanceof protobuf.Type) return toJsonText(f.resolvedType, x as PlainObject)
  return isDouble(f) ? formatDouble(x as number) : JSON.stringify(x)
}

/**
 * Compact JSON text of a normalised form, formatted like Mesos' own writer (key order kept, doubles as 1.0).
 * One string appended to (no entry arrays, closures or joins: a DECLINE of 1000 offers allocated ~1 MB for 24 KB).
 */
export function toJsonText(type: protobuf.Type, form: PlainObject): string {
  let s = '{'
  let sep = ''
  for (const key of Object.keys(form)) {
    const f = type.fields[key]!
    const v = form[key]
    s += `${sep}${JSON.stringify(key)}:`
    sep = ','
    if (f.map) {
      const m = v as PlainObject
      let msep = ''
      s += '{'
      for (const k of Object.keys(m)) {
        s += `${msep}${JSON.stringify(k)}:${valueText(f, m[k])}`
        msep = ','
      }
      s += '}'
    } else if (f.repeated) {
      const arr = v as unknown[]
      s += '['
      for (let i = 0; i < arr.length; i++) s += (i === 0 ? '' : ',') + valueText(f, arr[i])
      s += ']'
    } else {
      s += valueText(f, v)
    }
  }
  return `${s}}`
}
