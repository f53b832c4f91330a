/**
 * stout Duration strings (Mesos flags and executor environment variables such as
 * MESOS_RECOVERY_TIMEOUT=15mins, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs) <-> milliseconds.
 *
 * Grammar, as in stout/duration.hpp `Duration::parse`: a non-negative decimal number (digits and '.')
 * immediately followed by exactly one unit of `ns us ms secs mins hrs days weeks`. No sign, no space
 * between number and unit, no unit-less numbers. Leading/trailing whitespace is tolerated here.
 * `formatDuration` mirrors stout's `operator<<`: the largest unit that gives a whole number.
 */

export class DurationParseError extends Error {
  readonly input: string
  constructor(input: string, message: string) {
    super(message)
    this.name = 'DurationParseError'
    this.input = input
  }
}

/** Milliseconds per unit. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
}

const DURATION_RE = /^([0-9]*\.?[0-9]*)([a-z]+)$/

/** Parse a stout Duration string into milliseconds (may be fractional for ns/us). */
export function parseDuration(input: string): number {
  if (typeof input !== 'string') throw new DurationParseError(String(input), `invalid duration ${JSON.stringify(input)}: not a string`)
  const s = input.trim()
  const m = DURATION_RE.exec(s)
  if (!m) {
    throw new DurationParseError(input, `invalid duration ${JSON.stringify(input)}: expected <number><unit>, e.g. 5secs, 250ms, 15mins`)
  }
  const [, num, unit] = m as unknown as [string, string, string]
  if (num === '' || num === '.') throw new DurationParseError(input, `invalid duration ${JSON.stringify(input)}: missing number`)
  const perUnit = UNIT_MS[unit]
  if (perUnit === undefined) {
    throw new DurationParseError(
      input,
      `invalid duration ${JSON.stringify(input)}: unknown unit '${unit}' (one of ${Object.keys(UNIT_MS).join(' ')})`,
    )
  }
  const value = Number(num)
  if (!Number.isFinite(value)) throw new DurationParseError(input, `invalid duration ${JSON.stringify(input)}: bad number '${num}'`)
  const ms = value * perUnit
  if (!Number.isFinite(ms)) throw new DurationParseError(input, `invalid duration ${JSON.stringify(input)}: out of range`)
  // Avoid binary-float noise such as 1.1secs -> 1100.0000000000002.
  return Number(ms.toPrecision(15))
}

const FORMAT_UNITS: readonly [string, bigint][] = [
  ['weeks', 604_800_000_000_000n],
  ['days', 86_400_000_000_000n],
  ['hrs', 3_600_000_000_000n],
  ['mins', 60_000_000_000n],
  ['secs', 1_000_000_000n],
  ['ms', 1_000_000n],
  ['us', 1_000n],
]

/** Format milliseconds as stout would print the Duration (e.g. 300000 -> "5mins", 1500 -> "1500ms"). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot format duration ${String(ms)} ms`)
  const ns = BigInt(Math.round(ms * 1e6))
  if (ns === 0n) return '0ns'
  for (const [unit, size] of FORMAT_UNITS) {
    if (ns >= size && ns % size === 0n) return `${ns / size}${unit}`
  }
  return `${ns}ns`
}
