/**
 * The per-field pieces of Mesos' JSON <-> protobuf rules (json-form.ts has the whole picture), shared by the
 * general normaliser (json-form.ts) and its fast path (json-fast.ts): ConvertError with Mesos' texts, the
 * conversion of one scalar JSON value for a field (enum names, numeric strings, base64 bytes, 64-bit clamping),
 * and whether an unset field is printed with its explicit default.
 */
import protobuf from 'protobufjs'
import {parseMesosJson, type JsonValue} from './picojson.js'

export type NormaliseMode = 'json' | 'object' | 'proto'

/** A conversion failure; `message` is the text Mesos would put after "Failed to convert JSON into X protobuf: ". */
export class ConvertError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConvertError'
  }
}

export type PlainObject = Record<string, unknown>

const B64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

export function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** stout base64::decode: stops at '=', skips whitespace, rejects other non-alphabet characters. */
function stoutBase64Decode(s: string, field: string): Buffer {
  let clean = ''
  for (const c of s) {
    if (c === '=') break
    if (/\s/.test(c)) continue
    if (!B64_CHARS.includes(c)) throw new ConvertError(`Failed to base64 decode bytes field '${field}': Invalid character '${c}'`)
    clean += c
  }
  // A dangling single sextet yields no byte in stout; Buffer ignores it too.
  return Buffer.from(clean, 'base64')
}

/** Largest doubles below 2^63 and 2^64 (2^63 - 1 and 2^64 - 1 are not representable as doubles). */
const INT64_MAX_DOUBLE = 2 ** 63 - 1024
const UINT64_MAX_DOUBLE = 2 ** 64 - 2048
function clamp(v: number, lo: number, hi: number): number {
  return Number.isNaN(v) ? 0 : Math.min(Math.max(v, lo), hi)
}

function convertNumber(field: protobuf.Field, n: number): number {
  switch (field.type) {
    case 'double':
      return n
    case 'float':
      return Math.fround(n)
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Math.trunc(n) | 0
    case 'uint32':
    case 'fixed32':
      return Math.trunc(n) >>> 0
    // Out-of-range 64-bit values are clamped to the largest doubles that survive a protobuf round trip.
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return clamp(Math.trunc(n), -(2 ** 63), INT64_MAX_DOUBLE)
    case 'uint64':
    case 'fixed64': {
      const t = Math.trunc(n)
      return clamp(t < 0 ? t + 2 ** 64 : t, 0, UINT64_MAX_DOUBLE)
    }
    default:
      throw new ConvertError(`Not expecting a JSON number for field '${field.name}'`)
  }
}

const NUMERIC = new Set([
  'double',
  'float',
  'int32',
  'sint32',
  'sfixed32',
  'uint32',
  'fixed32',
  'int64',
  'sint64',
  'sfixed64',
  'uint64',
  'fixed64',
])

function parseEmbedded(text: string, what: 'number' | 'boolean', field: string): number | boolean {
  let v: JsonValue
  try {
    v = parseMesosJson(text)
  } catch (e) {
    throw new ConvertError(`Failed to parse '${text}' as a JSON ${what} for field '${field}': ${(e as Error).message}`)
  }
  if (typeof v !== what)
    throw new ConvertError(`Failed to parse '${text}' as a JSON ${what} for field '${field}': Unexpected JSON type parsed`)
  return v as number | boolean
}

/** Convert one JSON value for `field`; returns undefined when the value is dropped (null, unknown enum). */
export function scalarValue(field: protobuf.Field, value: unknown, mode: NormaliseMode): unknown {
  const name = field.name
  const enumType = field.resolvedType instanceof protobuf.Enum ? field.resolvedType : null
  if (typeof value === 'string') {
    if (field.resolvedType instanceof protobuf.Type) throw new ConvertError(`Not expecting a JSON string for field '${name}'`)
    if (enumType) {
      if (Object.hasOwn(enumType.values, value)) return value
      if (field.required) throw new ConvertError(`Failed to find enum for '${value}'`)
      return undefined
    }
    if (field.type === 'string') return value
    if (field.type === 'bytes') return stoutBase64Decode(value, name).toString('base64')
    if (field.type === 'bool') return parseEmbedded(value, 'boolean', name)
    if (NUMERIC.has(field.type)) {
      if ((field.type === 'double' || field.type === 'float') && (value === 'Infinity' || value === '-Infinity')) {
        return value === 'Infinity' ? Infinity : -Infinity
      }
      return convertNumber(field, parseEmbedded(value, 'number', name) as number)
    }
    throw new ConvertError(`Not expecting a JSON string for field '${name}'`)
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value)
    if (enumType && mode === 'proto') {
      const known = enumType.valuesById[n]
      if (known !== undefined) return known
      if (field.required) throw new ConvertError(`Unknown value ${n} for enum field '${name}'`)
      return undefined
    }
    if (typeof value === 'bigint' && mode === 'json') throw new ConvertError(`Not expecting a JSON number for field '${name}'`)
    return convertNumber(field, n)
  }
  if (typeof value === 'boolean') {
    if (field.type === 'bool') return value
    throw new ConvertError(`Not expecting a JSON boolean for field '${name}'`)
  }
  if (value instanceof Uint8Array && mode !== 'json' && field.type === 'bytes') {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  }
  throw new ConvertError(`Unexpected ${typeof value} value for field '${name}'`)
}

export function hasExplicitDefault(f: protobuf.Field): boolean {
  const opts = f.options as Record<string, unknown> | undefined
  return opts !== undefined && 'default' in opts && opts.deprecated !== true
}
