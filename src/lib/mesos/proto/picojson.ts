/**
 * A JSON parser that fails exactly like Mesos' `JSON::parse` (stout json.hpp on top of picojson 1.3.0), so
 * that 400 bodies such as `Failed to parse body into JSON: syntax error at line 1 near: ` can be reproduced
 * byte for byte.
 *
 * picojson reads the input byte by byte with a one-byte push-back. On failure the message is
 * `syntax error at line <n> near: ` followed by the rest of the current line (bytes >= 0x20, up to '\n'),
 * starting at the byte that could not be consumed. stout then rejects trailing non-whitespace with
 * `Parsed JSON included non-whitespace trailing characters: <rest>`.
 *
 * Result values: null, boolean, number, string, JsonValue[] and null-prototype-free plain objects whose
 * duplicate keys keep the last value (picojson stores objects in a std::map).
 * Deviation: nesting deeper than MAX_DEPTH is reported as a syntax error instead of exhausting the stack.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | {[key: string]: JsonValue}

export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JsonSyntaxError'
  }
}

const MAX_DEPTH = 1000

/** Byte cursor mirroring picojson's `input<Iter>` (getc / ungetc / line counting). */
class Input {
  private cur = 0
  private consumed = false
  line = 1
  constructor(private readonly bytes: Uint8Array) {}

  getc(): number {
    if (this.consumed) {
      if (this.bytes[this.cur] === 0x0a) this.line++
      this.cur++
    }
    if (this.cur >= this.bytes.length) {
      this.consumed = false
      return -1
    }
    this.consumed = true
    return this.bytes[this.cur]!
  }

  ungetc(): void {
    this.consumed = false
  }

  /** Position just after the last consumed byte. */
  position(): number {
    return this.consumed ? this.cur + 1 : this.cur
  }

  skipWs(): void {
    for (;;) {
      const ch = this.getc()
      if (!(ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d)) {
        this.ungetc()
        return
      }
    }
  }

  expect(ch: number): boolean {
    this.skipWs()
    if (this.getc() !== ch) {
      this.ungetc()
      return false
    }
    return true
  }

  match(pattern: string): boolean {
    for (let i = 0; i < pattern.length; i++) {
      if (this.getc() !== pattern.charCodeAt(i)) {
        this.ungetc()
        return false
      }
    }
    return true
  }
}

const FAIL = Symbol('fail')
type Parsed = JsonValue | typeof FAIL

function setKey(obj: {[key: string]: JsonValue}, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, {value, enumerable: true, writable: true, configurable: true})
  else obj[key] = value
}

function parseQuadHex(inp: Input): number {
  let v = 0
  for (let i = 0; i < 4; i++) {
    const h = inp.getc()
    if (h === -1) return -1
    let d: number
    if (h >= 0x30 && h <= 0x39) d = h - 0x30
    else if (h >= 0x41 && h <= 0x46) d = h - 0x41 + 10
    else if (h >= 0x61 && h <= 0x66) d = h - 0x61 + 10
    else {
      inp.ungetc()
      return -1
    }
    v = v * 16 + d
  }
  return v
}

function parseString(inp: Input): string | typeof FAIL {
  const out: number[] = []
  const pushCodepoint = (cp: number): void => {
    for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out.push(b)
  }
  for (;;) {
    let ch = inp.getc()
    if (ch < 0x20) {
      inp.ungetc()
      return FAIL
    }
    if (ch === 0x22) return Buffer.from(out).toString('utf8')
    if (ch !== 0x5c) {
      out.push(ch)
      continue
    }
    ch = inp.getc()
    switch (ch) {
      case -1:
        return FAIL
      case 0x22:
        out.push(0x22)
        break
      case 0x5c:
        out.push(0x5c)
        break
      case 0x2f:
        out.push(0x2f)
        break
      case 0x62:
        out.push(0x08)
        break
      case 0x66:
        out.push(0x0c)
        break
      case 0x6e:
        out.push(0x0a)
        break
      case 0x72:
        out.push(0x0d)
        break
      case 0x74:
        out.push(0x09)
        break
      case 0x75: {
        let cp = parseQuadHex(inp)
        if (cp === -1) return FAIL
        if (cp >= 0xd800 && cp <= 0xdfff) {
          if (cp >= 0xdc00) return FAIL
          if (inp.getc() !== 0x5c || inp.getc() !== 0x75) {
            inp.ungetc()
            return FAIL
          }
          const second = parseQuadHex(inp)
          if (!(second >= 0xdc00 && second <= 0xdfff)) return FAIL
          cp = (((cp - 0xd800) << 10) | ((second - 0xdc00) & 0x3ff)) + 0x10000
        }
        pushCodepoint(cp)
        break
      }
      default:
        return FAIL
    }
  }
}

function parseNumber(inp: Input): Parsed {
  let text = ''
  for (;;) {
    const ch = inp.getc()
    if ((ch >= 0x30 && ch <= 0x39) || ch === 0x2b || ch === 0x2d || ch === 0x65 || ch === 0x45 || ch === 0x2e) {
      text += String.fromCharCode(ch)
    } else {
      inp.ungetc()
      break
    }
  }
  // picojson uses strtoimax / strtod and requires the whole token to be consumed.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return FAIL
  const n = Number(text)
  return Number.isFinite(n) ? n : FAIL
}

function parseValue(inp: Input, depth: number): Parsed {
  if (depth > MAX_DEPTH) return FAIL
  inp.skipWs()
  const ch = inp.getc()
  switch (ch) {
    case 0x6e:
      return inp.match('ull') ? null : FAIL
    case 0x66:
      return inp.match('alse') ? false : FAIL
    case 0x74:
      return inp.match('rue') ? true : FAIL
    case 0x22:
      return parseString(inp)
    case 0x5b: {
      const arr: JsonValue[] = []
      if (inp.expect(0x5d)) return arr
      do {
        const v = parseValue(inp, depth + 1)
        if (v === FAIL) return FAIL
        arr.push(v)
      } while (inp.expect(0x2c))
      return inp.expect(0x5d) ? arr : FAIL
    }
    case 0x7b: {
      const obj: {[key: string]: JsonValue} = {}
      if (inp.expect(0x7d)) return obj
      do {
        if (!inp.expect(0x22)) return FAIL
        const key = parseString(inp)
        if (key === FAIL || !inp.expect(0x3a)) return FAIL
        const v = parseValue(inp, depth + 1)
        if (v === FAIL) return FAIL
        setKey(obj, key, v)
      } while (inp.expect(0x2c))
      return inp.expect(0x7d) ? obj : FAIL
    }
    default:
      if ((ch >= 0x30 && ch <= 0x39) || ch === 0x2d) {
        inp.ungetc()
        return parseNumber(inp)
      }
  }
  inp.ungetc()
  return FAIL
}

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d
}

/**
 * Whether picojson yields the value JSON.parse built: every number finite (picojson fails on 1e400), every
 * string and key well-formed UTF-16 (picojson fails on an escaped lone surrogate, `"\ud800"`), no value nested
 * deeper than MAX_DEPTH. Everything else JSON.parse accepts, picojson accepts with the same value (it accepts
 * more: `01`, `1.`, `-.5`; those fail JSON.parse and go to picojson).
 */
/** A surrogate code unit not part of a pair (with the u flag a pair is one code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u

function picojsonAgrees(v: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v)
    case 'string':
      return !LONE_SURROGATE.test(v)
    case 'object': {
      if (v === null) return true
      if (Array.isArray(v)) {
        for (const x of v) if (!picojsonAgrees(x, depth + 1)) return false
        return true
      }
      for (const k in v) if (LONE_SURROGATE.test(k) || !picojsonAgrees((v as Record<string, unknown>)[k], depth + 1)) return false
      return true
    }
    default:
      return true
  }
}

/** Parse like stout `JSON::parse(string)`; throws JsonSyntaxError with Mesos' exact error text. */
export function parseMesosJson(input: Uint8Array | string): JsonValue {
  // Fast path: V8's JSON.parse, when picojson would give the same value. The byte-by-byte parser below allocates
  // per string and number (a 6.6 MB OFFERS event of 10,000 offers: ~1.6 s and a few hundred MB of garbage).
  // Anything JSON.parse refuses goes to it, for Mesos' error text.
  try {
    const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8')
    const value = JSON.parse(text) as JsonValue
    if (picojsonAgrees(value, 0)) return value
  } catch {
    // picojson below reports it (or accepts what JSON does not, e.g. `01`)
  }
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
  const inp = new Input(bytes)
  const value = parseValue(inp, 0)
  if (value === FAIL) {
    const near: number[] = []
    for (;;) {
      const ch = inp.getc()
      if (ch === -1 || ch === 0x0a) break
      if (ch >= 0x20) near.push(ch)
    }
    throw new JsonSyntaxError(`syntax error at line ${inp.line} near: ${Buffer.from(near).toString('utf8')}`)
  }
  let last = bytes.length - 1
  while (last >= 0 && isWs(bytes[last]!)) last--
  const end = inp.position()
  if (end !== last + 1) {
    const rest = Buffer.from(bytes.subarray(end, last + 1)).toString('utf8')
    throw new JsonSyntaxError(`Parsed JSON included non-whitespace trailing characters: ${rest}`)
  }
  return value
}
