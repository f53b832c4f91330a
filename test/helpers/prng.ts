/**
 * A small seeded PRNG (mulberry32) and generators for the property/fuzz tests: every run with the same
 * seed produces the same cases, so a failure is reproducible from the printed seed and case number.
 * Seed override: FUZZ_SEED=<uint32> in the environment.
 */

export function fuzzSeed(fallback: number): number {
  const env = process.env.FUZZ_SEED
  if (env !== undefined && /^[0-9]+$/.test(env)) return Number(env) >>> 0
  return fallback >>> 0
}

export class Prng {
  private state: number
  constructor(readonly seed: number) {
    this.state = seed >>> 0
  }

  /** mulberry32: a uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty list')
    return xs[this.int(xs.length)]!
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }

  /** A string of `n` characters drawn from `alphabet`. */
  stringOf(alphabet: string, n: number): string {
    const chars = [...alphabet]
    let s = ''
    for (let i = 0; i < n; i++) s += this.pick(chars)
    return s
  }

  /** Printable-ish noise: ASCII, control characters, shell metacharacters and some non-ASCII code points. */
  junkString(maxLen: number): string {
    const n = this.int(maxLen + 1)
    let s = ''
    for (let i = 0; i < n; i++) {
      const k = this.int(10)
      if (k < 5) s += String.fromCharCode(this.range(0x20, 0x7e))
      else if (k < 6) s += String.fromCharCode(this.int(0x20))
      else if (k < 8) s += this.pick([' ', '"', "'", '$(', ')', '`', ';', '|', '&', '\n', '\\', '%', '@', ':', '/', '..', ',', '='])
      else if (k < 9) s += String.fromCodePoint(this.pick([0xe9, 0x3b1, 0x4e2d, 0x1f600, 0xfeff, 0x202e, 0xd800 + this.int(0x800)]))
      else s += String(this.int(100000))
    }
    return s
  }

  /** Random JSON-compatible value (depth-bounded). */
  jsonValue(depth = 3): unknown {
    const k = this.int(depth <= 0 ? 6 : 8)
    switch (k) {
      case 0:
        return null
      case 1:
        return this.chance(0.5)
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -1e-308, 2 ** 53, 2 ** 64, this.int(1e6) - 5e5])
      case 3:
        return this.junkString(12)
      case 4:
        return this.pick(['', 'SUBSCRIBED', 'OFFERS', 'ERROR', 'HEARTBEAT', 'UPDATE', 'SUBSCRIBE', 'LAUNCH', 'TASK_RUNNING', 'value'])
      case 5:
        return this.int(100)
      case 6: {
        const n = this.int(4)
        return Array.from({length: n}, () => this.jsonValue(depth - 1))
      }
      default: {
        const o: Record<string, unknown> = {}
        const keys = [
          'type',
          'value',
          'subscribed',
          'offers',
          'update',
          'status',
          'message',
          'error',
          'framework_id',
          'agent_id',
          'task_id',
          'state',
          'resources',
          'name',
          'scalar',
          'ranges',
          'range',
          'begin',
          'end',
          'id',
          'hostname',
          'uuid',
          'data',
          'x',
        ]
        const n = this.int(5)
        for (let i = 0; i < n; i++) o[this.pick(keys)] = this.jsonValue(depth - 1)
        return o
      }
    }
  }

  /** Byte-level mutation: flip, insert, delete, duplicate or truncate, 1-4 times. */
  mutateBytes(input: Uint8Array): Buffer {
    let b = Buffer.from(input)
    const times = this.range(1, 4)
    for (let t = 0; t < times; t++) {
      const op = this.int(5)
      const at = this.int(b.length + 1)
      if (op === 0 && b.length > 0) {
        const i = Math.min(at, b.length - 1)
        b[i] = b[i]! ^ (1 << this.int(8))
      } else if (op === 1) {
        b = Buffer.concat([b.subarray(0, at), this.bytes(this.range(1, 4)), b.subarray(at)])
      } else if (op === 2 && b.length > 0) {
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + this.range(1, 4)))])
      } else if (op === 3) {
        const len = this.range(1, 8)
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)])
      } else {
        b = b.subarray(0, at)
      }
    }
    return Buffer.from(b)
  }

  /** String-level mutation (on code units) with characters that matter to parsers. */
  mutateString(input: string): string {
    let s = input
    const times = this.range(1, 3)
    for (let t = 0; t < times; t++) {
      const at = this.int(s.length + 1)
      const op = this.int(4)
      const ins = this.pick([
        '@',
        ':',
        '/',
        ',',
        '[',
        ']',
        ' ',
        '\n',
        '%',
        '?',
        '#',
        '..',
        '0',
        '99999',
        '-',
        '.',
        '$(',
        '"',
        'é',
        '\u0000',
        ':pw@',
      ])
      if (op === 0) s = s.slice(0, at) + ins + s.slice(at)
      else if (op === 1) s = s.slice(0, at) + s.slice(at + this.range(1, 3))
      else if (op === 2) s = s.slice(0, at) + ins + s.slice(at + 1)
      else s = s.slice(0, at) + s.slice(at, at + this.range(1, 6)) + s.slice(at)
    }
    return s
  }

  /** Splits `buf` into chunks at random points (some empty chunks, some single bytes). */
  chunk(buf: Uint8Array): Buffer[] {
    const out: Buffer[] = []
    let i = 0
    while (i < buf.length) {
      const n = this.chance(0.1) ? 0 : this.chance(0.3) ? 1 : this.range(1, Math.max(1, Math.ceil(buf.length / 3)))
      out.push(Buffer.from(buf.subarray(i, i + n)))
      i += n
    }
    if (this.chance(0.2)) out.push(Buffer.alloc(0))
    return out
  }
}
