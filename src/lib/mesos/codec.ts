/**
 * JSON / protobuf codecs for the Mesos v1 messages in our .proto subset (proto/*.ts).
 *
 * The in-memory form is always Mesos' JSON form (see types.ts). `decode` of JSON follows Mesos' own parsing
 * (proto/picojson.ts + proto/json-form.ts) and produces the same 400 texts as a real master / agent:
 *   - `Failed to parse body into JSON: syntax error at line 1 near: ...`          (kind 'parse')
 *   - `Failed to convert JSON into Call protobuf: Expecting a JSON object`         (kind 'convert')
 *   - `Failed to convert JSON into Call protobuf: Missing required fields: ...`    (kind 'convert')
 *   - `Failed to parse body into Call protobuf`  (undecodable protobuf body)       (kind 'parse')
 * For non-Call messages "Call" is replaced by the message's short name (Event, Response, TaskInfo, ...).
 * `encode`/`toJsonForm` apply the same rules to objects built by our code; failures there are kind 'validate'.
 * Round trips are stable: decode(encode(x, ct), ct) deep-equals toJsonForm(x) for both content types.
 */
import protobuf from 'protobufjs'
import type {ContentType} from './types.js'
import {ConvertError, normalise, toJsonText, type NormaliseMode} from './proto/json-form.js'
import {JsonSyntaxError, parseMesosJson} from './proto/picojson.js'
import {MESOS_PROTO} from './proto/mesos.js'
import {SCHEDULER_PROTO} from './proto/scheduler.js'
import {EXECUTOR_PROTO} from './proto/executor.js'
import {MASTER_PROTO} from './proto/master.js'

export type MessageName =
  | 'scheduler.Call'
  | 'scheduler.Event'
  | 'executor.Call'
  | 'executor.Event'
  | 'master.Call'
  | 'master.Response'
  | 'mesos.TaskInfo'
  | 'mesos.TaskStatus'
  | 'mesos.MasterInfo'
  | 'mesos.FrameworkInfo'
  | 'mesos.Offer'

export type CodecErrorKind = 'parse' | 'convert' | 'validate'

export class CodecError extends Error {
  readonly kind: CodecErrorKind
  constructor(kind: CodecErrorKind, message: string) {
    super(message)
    this.name = 'CodecError'
    this.kind = kind
  }
}

const JSON_CT = 'application/json'
const PROTOBUF_CT = 'application/x-protobuf'

type Package = 'mesos' | 'scheduler' | 'executor' | 'master'
const SOURCES: Record<Package, string> = {mesos: MESOS_PROTO, scheduler: SCHEDULER_PROTO, executor: EXECUTOR_PROTO, master: MASTER_PROTO}

let root: protobuf.Root | undefined
const parsed = new Set<Package>()
const types = new Map<MessageName, protobuf.Type>()

/**
 * The protobufjs Root holding the packages asked for so far: mesos.v1 always, the others (scheduler, executor,
 * master) parsed into it on first use. An executor never parses the scheduler's and master's protos, serve never
 * the master's; the mesos.v1 package alone is most of the ~40-60 ms (more under load) of building the types.
 */
export function mesosProtoRoot(...packages: Package[]): protobuf.Root {
  const r = root ?? new protobuf.Root()
  root = r
  let added = false
  for (const pkg of ['mesos', ...packages] as Package[]) {
    if (parsed.has(pkg)) continue
    protobuf.parse(SOURCES[pkg], r, {keepCase: true})
    parsed.add(pkg)
    added = true
  }
  if (added) r.resolveAll()
  return r
}

/** The protobufjs Type for a message name (its package built on first use). */
export function messageType(name: MessageName): protobuf.Type {
  let t = types.get(name)
  if (t === undefined) {
    const [pkg, msg] = name.split('.') as [Package, string]
    t = mesosProtoRoot(pkg).lookupType(pkg === 'mesos' ? `mesos.v1.${msg}` : `mesos.v1.${pkg}.${msg}`)
    types.set(name, t)
  }
  return t
}

function shortName(name: MessageName): string {
  return name.slice(name.indexOf('.') + 1)
}

function checkContentType(contentType: string): void {
  if (contentType !== JSON_CT && contentType !== PROTOBUF_CT) {
    throw new CodecError('validate', `Unsupported content type '${contentType}': expecting ${JSON_CT} or ${PROTOBUF_CT}`)
  }
}

function normaliseOrThrow(
  name: MessageName,
  value: unknown,
  mode: NormaliseMode,
  kind: CodecErrorKind,
  prefix: string,
): Record<string, unknown> {
  try {
    return normalise(messageType(name), value, mode)
  } catch (e) {
    if (e instanceof ConvertError) throw new CodecError(kind, `${prefix}${e.message}`)
    throw e
  }
}

/** Normalise a JS object to Mesos JSON form (drop unknown keys, check types and required fields, add defaults). */
export function toJsonForm<T = unknown>(name: MessageName, obj: object): T {
  return normaliseOrThrow(name, obj, 'object', 'validate', `Invalid ${name}: `) as T
}

/**
 * Serialise a message in JSON (compact, Mesos key order, defaults, doubles written as `15.0`, non-finite
 * doubles as "Infinity") or binary protobuf.
 */
export function encode(name: MessageName, obj: object, contentType: ContentType): Buffer {
  checkContentType(contentType)
  const form = toJsonForm<Record<string, unknown>>(name, obj)
  if (contentType === JSON_CT) return Buffer.from(toJsonText(messageType(name), form), 'utf8')
  const type = messageType(name)
  return Buffer.from(type.encode(type.fromObject(form)).finish())
}

/** Parse a body / record into Mesos JSON form; throws CodecError carrying the real Mesos 400 text. */
export function decode<T = unknown>(name: MessageName, bytes: Uint8Array, contentType: ContentType): T {
  checkContentType(contentType)
  const short = shortName(name)
  if (contentType === JSON_CT) {
    let value: unknown
    try {
      value = parseMesosJson(bytes)
    } catch (e) {
      if (e instanceof JsonSyntaxError) throw new CodecError('parse', `Failed to parse body into JSON: ${e.message}`)
      throw e
    }
    return normaliseOrThrow(name, value, 'json', 'convert', `Failed to convert JSON into ${short} protobuf: `) as T
  }
  const type = messageType(name)
  let obj: Record<string, unknown>
  try {
    obj = type.toObject(type.decode(bytes), {enums: String, bytes: String, longs: Number, defaults: false})
  } catch {
    throw new CodecError('parse', `Failed to parse body into ${short} protobuf`)
  }
  try {
    return normalise(type, obj, 'proto') as T
  } catch (e) {
    // e.g. an unknown value of a required enum: protobuf's ParseFromString fails without detail.
    if (e instanceof ConvertError) throw new CodecError('parse', `Failed to parse body into ${short} protobuf`)
    throw e
  }
}
